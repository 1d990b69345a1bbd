// mooringctl status's report from apiserver objects: nodes with their speaker's config state and
// what they announce, components, pool usage, services with their owner/announcers and state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterStatus, formatClusterStatus, type ClusterObjects } from './cluster-status.js';

const node = (name: string, ready: boolean, labels: Record<string, string> = {}, netUnavailable = false) => ({
  metadata: { name, labels },
  status: {
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False' },
      { type: 'NetworkUnavailable', status: netUnavailable ? 'True' : 'False' },
    ],
  },
});
const cs = (name: string, result: string, errorSummary = '') => ({ metadata: { name }, status: { result, errorSummary } });
const svc = (ns: string, name: string, ips: string[], pool?: string, type = 'LoadBalancer') => ({
  metadata: { name, namespace: ns, annotations: (pool ? { 'metallb.io/ip-allocated-from-pool': pool } : {}) as Record<string, string> },
  spec: { type },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});
const l2 = (node: string, ns: string, name: string, ifaces: string[]) => ({
  status: { node, serviceNamespace: ns, serviceName: name, interfaces: ifaces.map((i) => ({ name: i })) },
});
const bgp = (node: string, ns: string, name: string, peers: string[]) => ({
  status: { node, serviceNamespace: ns, serviceName: name, peers },
});

const OBJECTS: ClusterObjects = {
  nodes: [
    node('n2', true, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
    node('n1', true),
    node('n3', false, {}, true),
  ],
  configurationStates: [
    cs('speaker-n1', 'Valid'),
    cs('controller', 'Valid'),
    cs('speaker-n2', 'Invalid', 'BGPPeer/p: spec.vrf: "red": peering inside a VRF is not supported'),
  ],
  pools: [
    {
      metadata: { name: 'l2' },
      spec: { addresses: ['203.0.113.48/29'] },
      status: { assignedIPv4: 2, availableIPv4: 6, assignedIPv6: 0, availableIPv6: 0 },
    },
    {
      metadata: { name: 'dual' },
      spec: { addresses: ['198.51.100.0/30', '2001:db8::/126'], autoAssign: false },
      status: { assignedIPv4: 0, availableIPv4: 4, assignedIPv6: 1, availableIPv6: 3 },
    },
  ],
  services: [
    svc('web', 'a', ['203.0.113.49'], 'l2'),
    svc('web', 'b', ['203.0.113.50'], 'l2'),
    svc('web', 'pending', []),
    svc('web', 'bgp', ['198.51.100.1'], 'dual'),
    svc('web', 'cluster-ip', [], undefined, 'ClusterIP'),
  ],
  l2Statuses: [l2('n1', 'web', 'a', ['eth0'])],
  bgpStatuses: [bgp('n2', 'web', 'bgp', ['tor1', 'tor2']), bgp('n1', 'web', 'bgp', ['tor1'])],
  controllerLease: { spec: { holderIdentity: 'controller-7d9f', renewTime: '2026-12-07T08:00:00.000000Z' } },
};

test('the report: nodes, components, pools and services, sorted, with states', () => {
  const s = clusterStatus(OBJECTS);
  assert.deepEqual(s.controller, { leader: 'controller-7d9f', renewTime: '2026-12-07T08:00:00.000000Z' });
  assert.deepEqual(s.summary, { nodes: 3, readyNodes: 2, invalidComponents: 1, services: 4, pending: 1, notAnnounced: 1 });
  assert.deepEqual(
    s.nodes.map((n) => [n.name, n.ready, n.speaker, n.l2, n.bgp, n.excluded, n.networkUnavailable]),
    [
      ['n1', true, 'Valid', 1, 1, false, false],
      ['n2', true, 'Invalid', 0, 1, true, false],
      ['n3', false, 'missing', 0, 0, false, true],
    ],
  );
  assert.deepEqual(
    s.services.map((v) => [v.service, v.state, v.pool, v.l2Node, v.bgp.map((b) => b.node)]),
    [
      ['web/a', 'announced', 'l2', 'n1', []],
      ['web/b', 'notAnnounced', 'l2', undefined, []],
      ['web/bgp', 'announced', 'dual', undefined, ['n1', 'n2']],
      ['web/pending', 'pending', '', undefined, []],
    ],
  );
  assert.deepEqual(
    s.pools.map((p) => [p.name, p.autoAssign, p.assignedIPv4, p.availableIPv6]),
    [
      ['dual', false, 0, 3],
      ['l2', true, 2, 0],
    ],
  );
});

test('the text: a summary line and one table per part', () => {
  const text = formatClusterStatus(clusterStatus(OBJECTS));
  assert.equal(
    text,
    [
      'controller leader controller-7d9f (renewed 2026-12-07T08:00:00.000000Z); nodes 2/3 ready; 1 component with an invalid configuration; services 4: 1 pending, 1 not announced',
      '',
      'NODE  READY  SPEAKER CONFIG  L2 SERVICES  BGP SERVICES  NOTES',
      'n1    yes    Valid           1            1',
      'n2    yes    Invalid         0            1             excluded from load balancers',
      'n3    no     missing         0            0             NetworkUnavailable',
      '',
      'COMPONENT   CONFIG   ERRORS',
      'controller  Valid',
      'speaker-n1  Valid',
      'speaker-n2  Invalid  BGPPeer/p: spec.vrf: "red": peering inside a VRF is not supported',
      '',
      'POOL  AUTO  IPv4 USED  IPv6 USED  ADDRESSES',
      'dual  no    0/4        1/4        198.51.100.0/30,2001:db8::/126',
      'l2    yes   2/8        -          203.0.113.48/29',
      '',
      'SERVICE      IPS           POOL  STATE         LAYER2     BGP',
      'web/a        203.0.113.49  l2    announced     n1 (eth0)  -',
      'web/b        203.0.113.50  l2    notAnnounced  -          -',
      'web/bgp      198.51.100.1  dual  announced     -          n1→tor1 n2→tor1+tor2',
      'web/pending  <pending>     -     pending       -          -',
      '',
    ].join('\n'),
  );
});

test('empty and odd objects do not break it', () => {
  const s = clusterStatus({
    nodes: [{}],
    configurationStates: [{ metadata: { name: 'controller' } }],
    pools: [{ metadata: { name: 'p' }, spec: { addresses: 'not a list' as unknown as string[] }, status: { assignedIPv4: 'x' } }],
    services: [{ metadata: { name: 's', namespace: 'n' }, spec: { type: 'LoadBalancer' } }],
    l2Statuses: [{}],
    bgpStatuses: [{ status: { peers: 'x' } }],
  });
  assert.equal(s.components[0]?.result, 'Unknown');
  assert.equal(s.services[0]?.state, 'pending');
  assert.ok(formatClusterStatus(s).startsWith('controller leader (none); nodes 0/1 ready'));
});
