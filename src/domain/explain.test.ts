// explainService on fixtures: one per case the operator asks about (allocated and announced, an
// exhausted pool, no advertisement, ETP Local without local endpoints, a node excluded, the owner
// killed, a BGP session refused for a wrong ASN, NATS unreachable), each report checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainService, formatExplain, type ExplainInput } from './explain.js';
import { EXCLUDE_LB_LABEL } from './election.js';
import type { MachineState, SnapshotMessage } from './state-feed.js';

const NS = 'metallb-system';
const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: NS, ...extra });
const pool = (name: string, addresses: string[]) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: meta(name),
  spec: { addresses },
});
const config = [
  pool('web', ['203.0.113.0/30']),
  pool('one', ['203.0.113.8/32']),
  pool('bare', ['203.0.113.16/30']),
  pool('routed', ['203.0.113.32/29']),
  { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: meta('l2'), spec: { ipAddressPools: ['web', 'one'] } },
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'BGPAdvertisement',
    metadata: meta('bgp'),
    spec: { ipAddressPools: ['routed'], localPref: 150, communities: ['65000:100'] },
  },
  {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: meta('router'),
    spec: { myASN: 64512, peerASN: 64512, peerAddress: '198.51.100.1' },
  },
];
const node = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});
const svc = (name: string, ip: string | undefined, extra: { etp?: string; annotations?: Record<string, string> } = {}) => ({
  metadata: { name, namespace: 'app', ...(extra.annotations ? { annotations: extra.annotations } : {}) },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ...(extra.etp ? { externalTrafficPolicy: extra.etp } : {}) },
  status: { loadBalancer: { ingress: ip ? [{ ip }] : [] } },
});
const slice = (service: string, nodes: string[]) => ({
  metadata: { name: `${service}-x`, namespace: 'app', labels: { 'kubernetes.io/service-name': service } },
  endpoints: nodes.map((n, i) => ({ addresses: [`198.51.100.${50 + i}`], nodeName: n, conditions: { ready: true } })),
});
const snap = (n: string, machines: MachineState[]): SnapshotMessage => ({ v: 1, node: n, inc: 1, seq: 0, at: 0, machines });
const ipMachine = (ip: string, state: string, reason?: string): MachineState => ({
  machine: 'serviceIp',
  id: ip,
  state,
  since: 0,
  service: 'app/web',
  ...(reason ? { reason } : {}),
});

function input(over: Partial<ExplainInput> & { service: string }): ExplainInput {
  return {
    services: [svc('web', '203.0.113.1')],
    endpointSlices: [slice('web', ['n1', 'n2', 'n3'])],
    nodes: [node('n1'), node('n2'), node('n3')],
    config,
    namespaces: [],
    l2Statuses: [],
    bgpStatuses: [],
    events: [],
    namespace: NS,
    live: { snapshots: ['n1', 'n2', 'n3'].map((n) => snap(n, [])) },
    ...over,
  };
}

test('allocated and announced: pool and why, every node eligible, the order, the owner and its machine', () => {
  const r = explainService(
    input({
      service: 'app/web',
      l2Statuses: [{ status: { serviceName: 'web', serviceNamespace: 'app', node: 'n2' } }],
      live: {
        snapshots: [
          snap('n1', [ipMachine('203.0.113.1', 'standby', 'notOwner')]),
          snap('n2', [ipMachine('203.0.113.1', 'announcing')]),
          snap('n3', [ipMachine('203.0.113.1', 'standby', 'notOwner')]),
        ],
      },
    }),
  );
  assert.deepEqual(r.allocation, {
    state: 'allocated',
    pool: 'web',
    why: 'auto-assigned: the first pool in MetalLB order with a free address',
  });
  assert.deepEqual(
    r.nodes.map((n) => [n.name, n.speaker, n.l2, n.machines.map((m) => `${m.state}/${m.reason ?? ''}`).join()]),
    [
      ['n1', true, '', 'standby/notOwner'],
      ['n2', true, '', 'announcing/'],
      ['n3', true, '', 'standby/notOwner'],
    ],
  );
  assert.equal(r.election?.order.length, 3);
  assert.equal(r.election?.statusOwner, 'n2');
  assert.deepEqual(r.election?.announcing, ['n2']);
  assert.deepEqual(r.verdict, ['L2: 203.0.113.1 answered by n2']);
  const text = formatExplain(r);
  assert.match(text, /^Service app\/web: LoadBalancer, IPs 203\.0\.113\.1\n {2}=> L2: 203\.0\.113\.1 answered by n2\n/);
  assert.match(text, /^allocation: allocated, pool web: auto-assigned/m);
  assert.match(text, /^n2 +up +eligible +- +203\.0\.113\.1 announcing$/m);
});

test('an exhausted pool: no IP, and the allocator says why (replayed against the other Services)', () => {
  const r = explainService(
    input({
      service: 'app/second',
      services: [
        svc('first', '203.0.113.8', { annotations: { 'metallb.io/address-pool': 'one' } }),
        svc('second', undefined, { annotations: { 'metallb.io/address-pool': 'one' } }),
      ],
    }),
  );
  assert.equal(r.allocation.state, 'pending');
  assert.match(r.allocation.why, /^\w+: .*one/);
  assert.match(r.verdict[0] ?? '', /^no IP: /);
  assert.equal(r.election, undefined);
});

test('no advertisement: the IP is allocated and announced nowhere, with the reason', () => {
  const r = explainService(input({ service: 'app/web', services: [svc('web', '203.0.113.17')] }));
  assert.equal(r.allocation.pool, 'bare');
  assert.deepEqual(r.verdict, [
    '203.0.113.17 announced nowhere: noMatchingAdvertisement: no L2Advertisement or BGPAdvertisement selects pool "bare" for this service',
  ]);
  assert.deepEqual(
    r.nodes.map((n) => n.l2),
    [undefined, undefined, undefined],
  );
});

test('ETP Local without local endpoints: only the endpoint node is eligible; the others say noLocalEndpoints', () => {
  const r = explainService(
    input({ service: 'app/web', services: [svc('web', '203.0.113.1', { etp: 'Local' })], endpointSlices: [slice('web', ['n3'])] }),
  );
  assert.deepEqual(
    r.nodes.map((n) => [n.name, n.l2]),
    [
      ['n1', 'noLocalEndpoints'],
      ['n2', 'noLocalEndpoints'],
      ['n3', ''],
    ],
  );
  assert.deepEqual(r.election?.order, ['n3']);
  assert.deepEqual(r.verdict, ['L2: n3 should announce it, none does yet']);
  assert.deepEqual(
    explainService(input({ service: 'app/web', services: [svc('web', '203.0.113.1', { etp: 'Local' })], endpointSlices: [] })).verdict,
    ['L2: no node may announce it (noServingEndpoints)'],
  );
});

test('a node excluded by label, or NetworkUnavailable, is not eligible, with the reason', () => {
  const r = explainService(input({ service: 'app/web', nodes: [node('n1', { [EXCLUDE_LB_LABEL]: '' }), node('n2'), node('n3')] }));
  assert.deepEqual(
    r.nodes.map((n) => n.l2),
    ['nodeExcluded', '', ''],
  );
  assert.ok(!r.election?.order.includes('n1'));
  const down = { ...node('n2'), status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] } };
  assert.deepEqual(
    explainService(input({ service: 'app/web', nodes: [node('n1'), down, node('n3')] })).nodes.map((n) => n.l2),
    ['', 'networkUnavailable', ''],
  );
});

test('the owner killed: its speaker is silent, it leaves the order, the status still names it', () => {
  const r = explainService(
    input({
      service: 'app/web',
      l2Statuses: [{ status: { serviceName: 'web', serviceNamespace: 'app', node: 'n2' } }],
      live: {
        snapshots: [snap('n1', [ipMachine('203.0.113.1', 'announcing')]), snap('n3', [ipMachine('203.0.113.1', 'standby', 'notOwner')])],
      },
    }),
  );
  assert.deepEqual(
    r.nodes.map((n) => [n.name, n.speaker, n.l2]),
    [
      ['n1', true, ''],
      ['n2', false, 'speakerNotAnswering'],
      ['n3', true, ''],
    ],
  );
  assert.deepEqual(r.election?.order.includes('n2'), false);
  assert.deepEqual(r.verdict, ['L2: 203.0.113.1 answered by n1', 'no answer from the speaker on n2']);
  assert.match(formatExplain(r), /^n2 +silent +speakerNotAnswering/m);
});

test('BGP: the prefixes planned per peer with their attributes, and a session refused for a wrong ASN', () => {
  const bgpSvc = { ...svc('web', '203.0.113.33'), metadata: { name: 'web', namespace: 'app' } };
  const down = (n: string): SnapshotMessage =>
    snap(n, [{ machine: 'bgpSession', id: 'router', state: 'active', reason: 'notificationReceived: OPEN: bad peer AS', since: 0 }]);
  const r = explainService(input({ service: 'app/web', services: [bgpSvc], live: { snapshots: [down('n1'), down('n2'), down('n3')] } }));
  assert.deepEqual(r.advertisements.bgp, ['bgp']);
  assert.equal(r.peers.length, 3);
  assert.deepEqual(r.peers[0], {
    node: 'n1',
    peer: 'router',
    address: '198.51.100.1',
    asn: '64512→64512',
    state: 'active',
    reason: 'notificationReceived: OPEN: bad peer AS',
    prefixes: [{ prefix: '203.0.113.33/32', localPref: 150, communities: ['65000:100'], largeCommunities: [] }],
  });
  assert.deepEqual(
    r.nodes.map((n) => n.bgp),
    ['', '', ''],
  );
  assert.match(
    r.verdict[0] ?? '',
    /^BGP: planned for 3 session\(s\), 0 established: n1→router active \(notificationReceived: OPEN: bad peer AS\)/,
  );
  assert.match(
    formatExplain(r),
    /^n1 +router +198\.51\.100\.1 +64512→64512 +active \(notificationReceived: OPEN: bad peer AS\) +- +203\.0\.113\.33\/32 localPref 150 communities 65000:100$/m,
  );
  // An excluded node plans nothing for its peers and says why.
  const ex = explainService(
    input({ service: 'app/web', services: [bgpSvc], nodes: [node('n1', { [EXCLUDE_LB_LABEL]: '' }), node('n2'), node('n3')] }),
  );
  assert.match(ex.nodes[0]?.bgp ?? '', /^nodeExcluded: /);
  assert.deepEqual(ex.peers[0]?.prefixes, []);
});

test('NATS unreachable: the apiserver part is shown and the report says the speakers were not asked', () => {
  const r = explainService(
    input({
      service: 'app/web',
      l2Statuses: [{ status: { serviceName: 'web', serviceNamespace: 'app', node: 'n2' } }],
      live: { error: 'cannot connect to nats://198.51.100.9:4222: ECONNREFUSED' },
    }),
  );
  assert.equal(r.nats.reachable, false);
  assert.deepEqual(
    r.nodes.map((n) => [n.speaker, n.l2]),
    [
      [undefined, ''],
      [undefined, ''],
      [undefined, ''],
    ],
  );
  assert.deepEqual(r.verdict, [
    'L2: ServiceL2Status names n2 (speakers not asked: NATS unreachable)',
    'speakers not asked: cannot connect to nats://198.51.100.9:4222: ECONNREFUSED',
  ]);
  assert.match(formatExplain(r), /the above is the apiserver's part only\n$/);
});

test('a Service that does not exist, and one that is not ours', () => {
  assert.deepEqual(explainService(input({ service: 'app/nope' })).verdict, ['Service app/nope does not exist']);
  const cip = { ...svc('web', undefined), spec: { type: 'ClusterIP' } };
  assert.deepEqual(explainService(input({ service: 'app/web', services: [cip] })).verdict, [
    'not handled by Mooring: type ClusterIP: not a LoadBalancer Service',
  ]);
});
