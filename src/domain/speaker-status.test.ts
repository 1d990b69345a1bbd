import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteAttrs } from './bgp-advertisements.js';
import { PlanReason, type NotAnnounced, type SpeakerPlan } from './speaker-plan.js';
import { l2ConflictEvent, noInterfaceEvent, speakerStatus, type Explained, type StatusObject } from './speaker-status.js';

interface Svc {
  key: string;
  ips: string[];
  l2?: boolean;
  bgp?: boolean;
  interfaces?: string[];
}

function plan(services: Svc[], notAnnounced: NotAnnounced[] = []): SpeakerPlan {
  return {
    node: 'n1',
    services: services.map((s) => ({
      key: s.key,
      ips: s.ips,
      pool: 'p',
      labels: {},
      etpLocal: false,
      endpointNodes: [],
      l2Ads: s.l2 ? [{ name: 'l2', nodeSelectors: [], preferredNodeSelectors: [] }] : [],
      l2Interfaces: s.interfaces ?? [],
      bgpAds: s.bgp ? ['bgp'] : [],
    })),
    l2: {
      nodes: [
        { name: 'n1', labels: {} },
        { name: 'n2', labels: {} },
      ],
      services: services
        .filter((s) => s.l2)
        .map((s) => ({ key: s.key, ips: s.ips, ads: [], etpLocal: false, endpointNodes: new Set<string>() })),
    },
    bgp: {
      peers: [],
      advPeers: [],
      advertisements: [],
      services: services
        .filter((s) => s.bgp)
        .map((s) => ({ key: s.key, ips: s.ips, pool: 'p', labels: {}, externalTrafficPolicyLocal: false, hasLocalEndpoints: true })),
    },
    notAnnounced,
  };
}
const attrs: RouteAttrs = { communities: [], largeCommunities: [] };
const routes = (r: Record<string, string[]>) =>
  new Map(Object.entries(r).map(([peer, pfx]) => [peer, new Map(pfx.map((p) => [p, attrs] as const))]));
const announcing: Explained = { owner: 'n1', state: 'announcing', reason: undefined };
const standby = (reason: string, owner?: string): Explained => ({ owner, state: 'standby', reason });
const l2Status = (key: string, interfaces: string[] = []): StatusObject => {
  const [ns, name] = key.split('/');
  return {
    serviceKey: key,
    status: { node: 'n1', serviceName: name, serviceNamespace: ns, interfaces: interfaces.map((i) => ({ name: i })) },
  };
};
const bgpStatus = (key: string, peers: string[]): StatusObject => {
  const [ns, name] = key.split('/');
  return { serviceKey: key, status: { node: 'n1', serviceName: name, serviceNamespace: ns, peers } };
};

test('status objects', async (t) => {
  const rows: Array<{
    desc: string;
    input: { services: Svc[]; routes: Record<string, string[]>; owned: string[] };
    want: { bgp: StatusObject[]; l2: StatusObject[] };
  }> = [
    {
      desc: 'nothing owned, no routes: no status',
      input: { services: [{ key: 'ns/a', ips: ['198.51.100.1'], l2: true }], routes: {}, owned: [] },
      want: { bgp: [], l2: [] },
    },
    {
      desc: "an owned IP gives the service an L2 status with its ads' interfaces",
      input: {
        services: [
          { key: 'ns/a', ips: ['198.51.100.1'], l2: true, interfaces: ['eth1', 'eth2'] },
          { key: 'ns/b', ips: ['198.51.100.2'], l2: true },
        ],
        routes: {},
        owned: ['198.51.100.1'],
      },
      want: { bgp: [], l2: [l2Status('ns/a', ['eth1', 'eth2'])] },
    },
    {
      desc: 'a dual-stack service with one owned IP has an L2 status',
      input: { services: [{ key: 'ns/a', ips: ['198.51.100.1', '2001:db8::1'], l2: true }], routes: {}, owned: ['2001:db8::1'] },
      want: { bgp: [], l2: [l2Status('ns/a')] },
    },
    {
      desc: 'BGP status lists the peers whose routes cover an IP (sorted), and skips a service no peer gets',
      input: {
        services: [
          { key: 'ns/a', ips: ['203.0.113.1'], bgp: true },
          { key: 'ns/b', ips: ['203.0.113.9'], bgp: true },
        ],
        routes: { tor2: ['203.0.113.0/29'], tor1: ['203.0.113.1/32'], tor3: ['2001:db8::/64'] },
        owned: [],
      },
      want: { bgp: [bgpStatus('ns/a', ['tor1', 'tor2'])], l2: [] },
    },
  ];
  for (const r of rows) {
    await t.test(r.desc, () => {
      const got = speakerStatus({
        node: 'n1',
        plan: plan(r.input.services),
        routes: routes(r.input.routes),
        owned: new Set(r.input.owned),
        explained: new Map(),
        reported: new Map(),
      });
      assert.deepEqual({ bgp: got.bgp, l2: got.l2 }, r.want);
    });
  }
});

/** One reconcile: the services, the plan's reasons and the election's answers. */
interface Step {
  services: Svc[];
  notAnnounced?: NotAnnounced[];
  explained?: Record<string, Explained>;
}

test('notAnnounced Events: reported when the reason of a (service, ip, mode) changes', async (t) => {
  const a: Svc = { key: 'ns/a', ips: ['198.51.100.1'], l2: true };
  const noPool: NotAnnounced = {
    service: 'ns/c',
    ip: '192.0.2.9',
    mode: 'any',
    reason: PlanReason.noPool,
    detail: 'IP 192.0.2.9 is in no configured IPAddressPool',
  };
  const noPeer: NotAnnounced = {
    service: 'ns/b',
    ip: '203.0.113.1',
    mode: 'bgp',
    reason: PlanReason.noMatchingPeer,
    detail: 'no BGPPeer selects node n1',
  };
  const noLocal = standby('noLocalEndpoints', 'n2');
  const msgNoLocal = 'node n1 does not announce 198.51.100.1 by layer2: noLocalEndpoints: the layer2 election excludes node n1 (owner: n2)';
  const msgNoPool = 'node n1 does not announce 192.0.2.9: noPool: IP 192.0.2.9 is in no configured IPAddressPool';
  const rows: Array<{ desc: string; input: Step[]; want: Array<Array<[string, string]>> }> = [
    {
      desc: 'a plan reason is reported once while it stays',
      input: [
        { services: [], notAnnounced: [noPool] },
        { services: [], notAnnounced: [noPool] },
      ],
      want: [[['ns/c', msgNoPool]], []],
    },
    {
      desc: 'a BGP-mode reason names the protocol',
      input: [{ services: [], notAnnounced: [noPeer] }],
      want: [[['ns/b', 'node n1 does not announce 203.0.113.1 by BGP: noMatchingPeer: no BGPPeer selects node n1']]],
    },
    {
      desc: 'election reasons: every one (natsDisconnected too), but not notOwner at first sight and nothing while announcing',
      input: [
        {
          services: [
            a,
            { key: 'ns/d', ips: ['198.51.100.4'], l2: true },
            { key: 'ns/e', ips: ['198.51.100.5'], l2: true },
            { key: 'ns/f', ips: ['198.51.100.6'], l2: true },
          ],
          explained: {
            '198.51.100.1': noLocal,
            '198.51.100.4': standby('notOwner', 'n2'),
            '198.51.100.5': standby('natsDisconnected'),
            '198.51.100.6': announcing,
          },
        },
      ],
      want: [
        [
          ['ns/a', msgNoLocal],
          [
            'ns/e',
            'node n1 does not announce 198.51.100.5 by layer2: natsDisconnected: node n1 has no NATS connection: it takes over nothing until it reconnects (an owner keeps announcing what it has)',
          ],
        ],
      ],
    },
    {
      desc: 'notOwner is reported when it follows something: the IP moved away, or another reason went',
      input: [
        { services: [a], explained: { '198.51.100.1': announcing } },
        { services: [a], explained: { '198.51.100.1': standby('notOwner', 'n2') } },
        { services: [a], explained: { '198.51.100.1': noLocal } },
        { services: [a], explained: { '198.51.100.1': standby('notOwner', 'n2') } },
        { services: [a], explained: { '198.51.100.1': standby('fencedByEpoch', 'n2') } },
      ],
      want: [
        [],
        [['ns/a', 'node n1 no longer announces 198.51.100.1 by layer2: notOwner: the layer2 election picks node n2']],
        [['ns/a', msgNoLocal]],
        [['ns/a', 'node n1 does not announce 198.51.100.1 by layer2: notOwner: the layer2 election picks node n2']],
        [
          [
            'ns/a',
            'node n1 does not announce 198.51.100.1 by layer2: fencedByEpoch: a newer claim (higher epoch) for this IP exists: another node took it over and node n1 stands by',
          ],
        ],
      ],
    },
    {
      desc: 'no eligible node is said so',
      input: [{ services: [a], explained: { '198.51.100.1': standby('nodeExcluded') } }],
      want: [
        [
          [
            'ns/a',
            'node n1 does not announce 198.51.100.1 by layer2: nodeExcluded: the layer2 election excludes node n1 (no eligible node)',
          ],
        ],
      ],
    },
    {
      desc: 'a reason that goes away (announcing) and comes back is reported again',
      input: [
        { services: [a], explained: { '198.51.100.1': noLocal } },
        { services: [a], explained: { '198.51.100.1': announcing } },
        { services: [a], explained: { '198.51.100.1': noLocal } },
      ],
      want: [[['ns/a', msgNoLocal]], [], [['ns/a', msgNoLocal.replace('does not announce', 'no longer announces')]]],
    },
    {
      desc: 'a reason that comes back after another one is reported again',
      input: [
        { services: [a], explained: { '198.51.100.1': noLocal } },
        { services: [a], explained: { '198.51.100.1': standby('carrierDown', 'n2') } },
        { services: [a], explained: { '198.51.100.1': noLocal } },
      ],
      want: [
        [['ns/a', msgNoLocal]],
        [['ns/a', 'node n1 does not announce 198.51.100.1 by layer2: carrierDown: the layer2 election excludes node n1 (owner: n2)']],
        [['ns/a', msgNoLocal]],
      ],
    },
    {
      desc: 'a reason of a deleted service is forgotten: the service back with it is reported again',
      input: [{ services: [], notAnnounced: [noPool] }, { services: [] }, { services: [], notAnnounced: [noPool] }],
      want: [[['ns/c', msgNoPool]], [], [['ns/c', msgNoPool]]],
    },
    {
      desc: 'the same IP in another mode is its own report',
      input: [
        { services: [a], explained: { '198.51.100.1': noLocal } },
        {
          services: [a],
          explained: { '198.51.100.1': noLocal },
          notAnnounced: [
            { service: 'ns/a', ip: '198.51.100.1', mode: 'bgp', reason: PlanReason.noMatchingPeer, detail: 'no BGPPeer selects node n1' },
          ],
        },
      ],
      want: [
        [['ns/a', msgNoLocal]],
        [['ns/a', 'node n1 does not announce 198.51.100.1 by BGP: noMatchingPeer: no BGPPeer selects node n1']],
      ],
    },
  ];
  for (const r of rows) {
    await t.test(r.desc, () => {
      let reported: ReadonlyMap<string, string> = new Map();
      const got: Array<Array<[string, string]>> = [];
      for (const s of r.input) {
        const out = speakerStatus({
          node: 'n1',
          plan: plan(s.services, s.notAnnounced ?? []),
          routes: new Map(),
          owned: new Set(),
          explained: new Map(Object.entries(s.explained ?? {})),
          reported,
        });
        reported = out.reported;
        got.push(out.events.map((e) => [`${e.namespace}/${e.name}`, e.message]));
      }
      assert.deepEqual(got, r.want);
    });
  }
});

test('Event types: notOwner, handoverPending and draining are Normal, every other reason a Warning', () => {
  const a: Svc = { key: 'ns/a', ips: ['198.51.100.1'], l2: true };
  const types = (reason: string, before: string | undefined) =>
    speakerStatus({
      node: 'n1',
      plan: plan([a]),
      routes: new Map(),
      owned: new Set(),
      explained: new Map([['198.51.100.1', standby(reason, 'n2')]]),
      reported: new Map(before ? [['ns/a\n198.51.100.1\nl2', before]] : []),
    }).events.map((e) => [e.type, e.reason, e.why]);
  assert.deepEqual(types('notOwner', 'announcing'), [['Normal', 'notAnnounced', 'notOwner']]);
  assert.deepEqual(types('handoverPending', undefined), [['Normal', 'notAnnounced', 'handoverPending']]);
  assert.deepEqual(types('draining', undefined), [['Normal', 'notAnnounced', 'draining']]);
  assert.deepEqual(types('conflictDetected', undefined), [['Warning', 'notAnnounced', 'conflictDetected']]);
});

test('l2Conflict and interfaceNotFound Events: the other MAC with the strictARP pointer; the interfaces wanted and present', () => {
  const c = l2ConflictEvent('n1', 'ns/a', { ip: '198.51.100.1', mac: '02:00:00:00:00:02', iface: 'eth0' });
  assert.deepEqual([c.namespace, c.name, c.type, c.reason], ['ns', 'a', 'Warning', 'l2Conflict']);
  assert.match(
    c.message,
    /^node n1 announces 198\.51\.100\.1 on eth0 and another station \(MAC 02:00:00:00:00:02\) answers ARP\/NDP for it too/,
  );
  assert.match(c.message, /kube-proxy in IPVS mode .*strictARP: true/);
  const i = noInterfaceEvent('n1', 'ns/a', ['l2-eth9'], { ip: '198.51.100.1', wanted: ['eth9'], eligible: ['eth0', 'eth1'] });
  assert.deepEqual([i.type, i.reason], ['Warning', 'interfaceNotFound']);
  assert.equal(
    i.message,
    'node n1 owns 198.51.100.1 but answers ARP/NDP on no interface: L2Advertisement l2-eth9 allows eth9, this node can announce on eth0, eth1; fix spec.interfaces, or the nodeSelectors so that only nodes with those interfaces are elected',
  );
  const none = noInterfaceEvent('n1', 'ns/a', [], { ip: '198.51.100.1', wanted: [], eligible: [] });
  assert.match(none.message, /has no interface it can announce on/);
  assert.notEqual(c.slot, i.slot);
});
