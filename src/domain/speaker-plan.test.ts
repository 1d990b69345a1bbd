import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type Config, type RawObject } from './config.js';
import { planSpeaker, PlanReason, type ServiceObj, type EndpointSliceObj, type NodeObj } from './speaker-plan.js';

const o = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>, v = 'v1beta1'): RawObject => ({
  apiVersion: `metallb.io/${v}`,
  kind,
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});
function config(objs: RawObject[]): Config {
  const r = parseConfig({ objects: objs });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
const base = [
  o('IPAddressPool', 'l2pool', { addresses: ['198.51.100.0/28'] }),
  o('IPAddressPool', 'bgppool', { addresses: ['203.0.113.0/28', '2001:db8:9::/120'] }),
  o('L2Advertisement', 'l2', { ipAddressPools: ['l2pool'], interfaces: ['eth1'] }),
  o('L2Advertisement', 'l2-web', { ipAddressPools: ['l2pool'], serviceSelectors: [{ matchLabels: { app: 'web' } }], interfaces: ['eth2'] }),
  o('BGPAdvertisement', 'bgp', { ipAddressPools: ['bgppool'], communities: ['gold'], localPref: 50 }),
  o('Community', 'c', { communities: [{ name: 'gold', value: '64512:1' }] }),
  o(
    'BGPPeer',
    'tor',
    { myASN: 64512, peerASN: 64500, peerAddress: '198.51.100.254', nodeSelectors: [{ matchLabels: { rack: 'a' } }] },
    undefined,
    'v1beta2',
  ),
];
const svc = (
  name: string,
  ips: string[],
  extra: Partial<ServiceObj['spec']> = {},
  labels?: Record<string, string>,
  annotations?: Record<string, string>,
): ServiceObj => ({
  metadata: { name, namespace: 'ns', ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
  spec: { type: 'LoadBalancer', ...extra },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});
const slice = (svcName: string, eps: Array<[string, boolean | undefined]>): EndpointSliceObj => ({
  metadata: { namespace: 'ns', labels: { 'kubernetes.io/service-name': svcName } },
  endpoints: eps.map(([nodeName, ready]) => ({ nodeName, conditions: ready === undefined ? {} : { ready } })),
});
const nodes: NodeObj[] = [
  { metadata: { name: 'n2', labels: { rack: 'b' } } },
  { metadata: { name: 'n1', labels: { rack: 'a' } } },
  { metadata: { name: 'n3', labels: { rack: 'a', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } } },
  { metadata: { name: 'n4', labels: { rack: 'a' } }, status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] } },
];
const plan = (services: ServiceObj[], opts: { node?: string; slices?: EndpointSliceObj[]; lbClass?: string } = {}) =>
  planSpeaker({
    node: opts.node ?? 'n1',
    config: config(base),
    services,
    endpointSlices: opts.slices ?? [],
    nodes,
    ...(opts.lbClass ? { loadBalancerClass: opts.lbClass } : {}),
  });

test('services without an IP are ignored; non-LB services and other classes are reasons', () => {
  const p = plan([
    svc('pending', []),
    { ...svc('cip', ['198.51.100.1']), spec: { type: 'ClusterIP' } },
    svc('other', ['198.51.100.2'], { loadBalancerClass: 'x.io/lb' }),
  ]);
  assert.deepEqual(p.services, []);
  assert.deepEqual(
    p.notAnnounced.map((n) => [n.service, n.reason]),
    [
      ['ns/cip', PlanReason.notLoadBalancer],
      ['ns/other', PlanReason.otherLoadBalancerClass],
    ],
  );
});

test('with --lb-class only that class is handled', () => {
  const p = plan([svc('other', ['198.51.100.2'], { loadBalancerClass: 'x.io/lb' }), svc('plain', ['198.51.100.3'])], {
    lbClass: 'x.io/lb',
  });
  assert.deepEqual(
    p.services.map((s) => s.key),
    ['ns/other'],
  );
  assert.deepEqual(
    p.notAnnounced.map((n) => [n.service, n.reason]),
    [['ns/plain', PlanReason.otherLoadBalancerClass]],
  );
});

test('pool from the annotation, else from the ranges; an IP in no pool is a reason', () => {
  const p = plan([
    svc('a', ['198.51.100.5']),
    svc('b', ['203.0.113.200'], {}, undefined, { 'metallb.io/ip-allocated-from-pool': 'bgppool' }),
    svc('c', ['192.0.2.99']),
  ]);
  assert.deepEqual(
    p.services.map((s) => [s.key, s.pool]),
    [
      ['ns/a', 'l2pool'],
      ['ns/b', 'bgppool'],
    ],
  );
  assert.deepEqual(
    p.notAnnounced.map((n) => [n.service, n.ip, n.reason]),
    [['ns/c', '192.0.2.99', PlanReason.noPool]],
  );
});

test('L2 advertisements by pool and service selectors; interfaces union', () => {
  const p = plan([svc('api', ['198.51.100.1']), svc('web', ['198.51.100.2'], {}, { app: 'web' })]);
  assert.deepEqual(
    p.services.map((s) => [s.key, s.l2Ads.map((a) => a.name), s.l2Interfaces]),
    [
      ['ns/api', ['l2'], ['eth1']],
      ['ns/web', ['l2', 'l2-web'], ['eth1', 'eth2']],
    ],
  );
  assert.deepEqual(
    p.l2.services.map((s) => [s.key, s.interfaces]),
    [
      ['ns/api', ['eth1']],
      ['ns/web', ['eth1', 'eth2']],
    ],
  );
  assert.deepEqual(
    p.l2.nodes.map((n) => [n.name, n.networkUnavailable]),
    [
      ['n1', false],
      ['n2', false],
      ['n3', false],
      ['n4', true],
    ],
  );
});

test('an L2 advertisement without interfaces allows all: the coordinator spec has none', () => {
  const all = [
    ...base.filter((x) => x.kind !== 'L2Advertisement'),
    o('L2Advertisement', 'l2', { ipAddressPools: ['l2pool'] }),
    o('L2Advertisement', 'l2-eth', { ipAddressPools: ['l2pool'], interfaces: ['eth1'] }),
  ];
  const p = planSpeaker({ node: 'n1', config: config(all), services: [svc('api', ['198.51.100.1'])], endpointSlices: [], nodes });
  assert.deepEqual(p.services[0]?.l2Interfaces, []);
  assert.equal(p.l2.services[0]?.interfaces, undefined);
});

test('ETP=Local endpoint nodes from EndpointSlices (ready=false excluded, unset counts as ready)', () => {
  const p = plan([svc('web', ['198.51.100.2'], { externalTrafficPolicy: 'Local' })], {
    slices: [
      slice('web', [
        ['n2', true],
        ['n3', false],
        ['n1', undefined],
      ]),
      slice('other', [['n4', true]]),
    ],
  });
  assert.deepEqual(p.services[0]?.endpointNodes, ['n1', 'n2']);
  assert.equal(p.services[0]?.etpLocal, true);
});

test('BGP: peers selecting this node, advertisements with resolved communities', () => {
  const p = plan([svc('b', ['203.0.113.1', '2001:db8:9::1'])]);
  assert.deepEqual(
    p.bgp.peers.map((x) => x.name),
    ['tor'],
  );
  assert.deepEqual(p.bgp.advPeers, [{ name: 'tor', myAsn: 64512, peerAsn: 64500, nodeSelectors: [{ matchLabels: { rack: 'a' } }] }]);
  assert.deepEqual(p.bgp.advertisements[0]?.communities, ['64512:1']);
  assert.deepEqual(
    p.bgp.services.map((s) => [s.key, s.ips, s.hasLocalEndpoints]),
    [['ns/b', ['203.0.113.1', '2001:db8:9::1'], false]],
  );
  assert.deepEqual(p.notAnnounced, []);
});

test('BGP reasons: excluded node, NetworkUnavailable, no local endpoints, no peer', () => {
  const s = svc('b', ['203.0.113.1'], { externalTrafficPolicy: 'Local' });
  const sl = [slice('b', [['n2', true]])];
  assert.deepEqual(
    plan([s], { node: 'n3', slices: sl }).notAnnounced.map((n) => n.reason),
    [PlanReason.nodeExcluded],
  );
  assert.deepEqual(
    plan([s], { node: 'n4', slices: sl }).notAnnounced.map((n) => n.reason),
    [PlanReason.networkUnavailable],
  );
  assert.deepEqual(
    plan([s], { node: 'n1', slices: sl }).notAnnounced.map((n) => n.reason),
    [PlanReason.noLocalEndpoints],
  );
  assert.deepEqual(
    plan([s], { node: 'n2', slices: sl }).notAnnounced.map((n) => n.reason),
    [PlanReason.noMatchingPeer],
  );
});

test('a pool with no advertisement is a reason', () => {
  const cfg = config([o('IPAddressPool', 'lonely', { addresses: ['198.51.100.64/28'] })]);
  const p = planSpeaker({ node: 'n1', config: cfg, services: [svc('x', ['198.51.100.65'])], endpointSlices: [], nodes });
  assert.deepEqual(
    p.notAnnounced.map((n) => [n.reason, n.detail]),
    [[PlanReason.noMatchingAdvertisement, 'no L2Advertisement or BGPAdvertisement selects pool "lonely" for this service']],
  );
});
