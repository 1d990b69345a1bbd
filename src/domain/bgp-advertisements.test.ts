import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  desiredRoutes,
  diffRoutes,
  attrsKey,
  originatedAsPath,
  sessionLocalAsn,
  type AdvPeer,
  type AdvService,
  type AdvSpec,
  type RouteAttrs,
} from './bgp-advertisements.js';

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const node = { name: 'node-a', labels: { zone: 'a' } };
const ebgp: AdvPeer = { name: 'r-ebgp', myAsn: 64512, peerAsn: 64513 };
const ibgp: AdvPeer = { name: 'r-ibgp', myAsn: 64512, peerAsn: 64512 };
const web: AdvService = { key: 'default/web', ips: ['203.0.113.129', '2001:db8:4:ff::1'], pool: 'p1' };

test('desired routes table', () => {
  const cases: Array<{
    desc: string;
    peers?: AdvPeer[];
    advs: AdvSpec[];
    services?: AdvService[];
    want: Record<string, Record<string, RouteAttrs>>;
  }> = [
    {
      desc: 'default /32 and /128, no attributes',
      advs: [{ name: 'a' }],
      want: {
        'r-ebgp': {
          '203.0.113.129/32': { communities: [], largeCommunities: [] },
          '2001:db8:4:ff::1/128': { communities: [], largeCommunities: [] },
        },
      },
    },
    {
      desc: 'aggregation lengths',
      advs: [{ name: 'a', aggregationLength: 27, aggregationLengthV6: 64 }],
      want: {
        'r-ebgp': {
          '203.0.113.128/27': { communities: [], largeCommunities: [] },
          '2001:db8:4:ff::/64': { communities: [], largeCommunities: [] },
        },
      },
    },
    {
      desc: 'localPref only on iBGP, communities on both',
      peers: [ebgp, ibgp],
      advs: [{ name: 'a', localPref: 150, communities: ['65000:100', 'NO_ADVERTISE', 'large:1:2:3'] }],
      services: [{ ...web, ips: ['203.0.113.129'] }],
      want: {
        'r-ebgp': { '203.0.113.129/32': { communities: [65000 * 65536 + 100, 0xffffff02], largeCommunities: [[1, 2, 3]] } },
        'r-ibgp': { '203.0.113.129/32': { localPref: 150, communities: [65000 * 65536 + 100, 0xffffff02], largeCommunities: [[1, 2, 3]] } },
      },
    },
    {
      desc: 'asPathPrepend on eBGP and iBGP; a different prepend is a different attribute set',
      peers: [ebgp, ibgp],
      advs: [{ name: 'a', asPathPrepend: 3 }],
      services: [{ ...web, ips: ['203.0.113.129'] }],
      want: {
        'r-ebgp': { '203.0.113.129/32': { asPathPrepend: 3, communities: [], largeCommunities: [] } },
        'r-ibgp': { '203.0.113.129/32': { asPathPrepend: 3, communities: [], largeCommunities: [] } },
      },
    },
    {
      desc: 'peers list restricts; pools restrict; communities merge across advertisements',
      peers: [ebgp, ibgp],
      advs: [
        { name: 'a', peers: ['r-ibgp'], communities: ['1:1'] },
        { name: 'b', peers: ['r-ibgp'], communities: ['2:2'] },
        { name: 'c', pools: ['other'] },
      ],
      services: [{ ...web, ips: ['203.0.113.129'] }],
      want: { 'r-ebgp': {}, 'r-ibgp': { '203.0.113.129/32': { communities: [65537, 131074], largeCommunities: [] } } },
    },
    {
      desc: 'nodeSelectors on the advertisement and on the peer',
      peers: [ebgp, { ...ibgp, nodeSelectors: [{ matchLabels: { zone: 'b' } }] }],
      advs: [
        { name: 'a', nodeSelectors: [{ matchLabels: { zone: 'a' } }] },
        { name: 'b', nodeSelectors: [{ matchLabels: { zone: 'b' } }], communities: ['9:9'] },
      ],
      services: [{ ...web, ips: ['203.0.113.129'] }],
      want: { 'r-ebgp': { '203.0.113.129/32': { communities: [], largeCommunities: [] } }, 'r-ibgp': {} },
    },
    {
      desc: 'ETP=Local without local endpoints is not announced; serviceSelectors',
      advs: [{ name: 'a', serviceSelectors: [{ matchLabels: { tier: 'front' } }] }],
      services: [
        {
          key: 'ns/local-none',
          ips: ['203.0.113.130'],
          pool: 'p1',
          labels: { tier: 'front' },
          externalTrafficPolicyLocal: true,
          hasLocalEndpoints: false,
        },
        {
          key: 'ns/local-yes',
          ips: ['203.0.113.131'],
          pool: 'p1',
          labels: { tier: 'front' },
          externalTrafficPolicyLocal: true,
          hasLocalEndpoints: true,
        },
        { key: 'ns/back', ips: ['203.0.113.132'], pool: 'p1', labels: { tier: 'back' } },
      ],
      want: { 'r-ebgp': { '203.0.113.131/32': { communities: [], largeCommunities: [] } } },
    },
  ];
  for (const c of cases) {
    const input = deepFreeze({ node, peers: c.peers ?? [ebgp], advertisements: c.advs, services: c.services ?? [web] });
    const got = desiredRoutes(input);
    const asObj = Object.fromEntries([...got].map(([p, m]) => [p, Object.fromEntries(m)]));
    assert.deepEqual(asObj, c.want, c.desc);
  }
});

test('diff: sequential steps on one peer (announce, change attributes, withdraw), deterministic under shuffling', () => {
  const A: RouteAttrs = { communities: [], largeCommunities: [] };
  const B: RouteAttrs = { communities: [1], largeCommunities: [] };
  const sent = new Map<string, string>();
  const apply = (d: ReturnType<typeof diffRoutes>) => {
    for (const g of d.announce) for (const p of g.prefixes) sent.set(p, attrsKey(g.attrs));
    for (const p of d.withdraw) sent.delete(p);
  };
  const steps: Array<{
    desc: string;
    desired: Array<[string, RouteAttrs]>;
    want: { announce: Array<[RouteAttrs, string[]]>; withdraw: string[] };
  }> = [
    {
      desc: 'initial',
      desired: [
        ['203.0.113.130/32', A],
        ['203.0.113.129/32', A],
        ['203.0.113.131/32', B],
      ],
      want: {
        announce: [
          [B, ['203.0.113.131/32']],
          [A, ['203.0.113.129/32', '203.0.113.130/32']],
        ],
        withdraw: [],
      },
    },
    {
      desc: 'nothing changed',
      desired: [
        ['203.0.113.129/32', A],
        ['203.0.113.130/32', A],
        ['203.0.113.131/32', B],
      ],
      want: { announce: [], withdraw: [] },
    },
    {
      desc: 'attribute change re-announces',
      desired: [
        ['203.0.113.129/32', B],
        ['203.0.113.130/32', A],
        ['203.0.113.131/32', B],
      ],
      want: { announce: [[B, ['203.0.113.129/32']]], withdraw: [] },
    },
    { desc: 'withdraw', desired: [['203.0.113.131/32', B]], want: { announce: [], withdraw: ['203.0.113.129/32', '203.0.113.130/32'] } },
  ];
  for (const s of steps) {
    const d1 = diffRoutes(sent, new Map(s.desired));
    const d2 = diffRoutes(sent, new Map([...s.desired].reverse()));
    assert.deepEqual(d1, d2, `${s.desc}: order independent`);
    assert.deepEqual({ announce: d1.announce.map((g) => [g.attrs, g.prefixes]), withdraw: d1.withdraw }, s.want, s.desc);
    apply(d1);
  }
});

test('originatedAsPath: eBGP prepends the local AS once plus asPathPrepend times; iBGP only the prepends (table)', () => {
  const cases: Array<[number, boolean, number | undefined, number[][]]> = [
    [64512, true, undefined, [[64512]]],
    [64512, false, undefined, []],
    [64512, true, 3, [[64512, 64512, 64512, 64512]]],
    [64512, false, 2, [[64512, 64512]]],
    [4200000000, true, 10, [Array.from({ length: 11 }, () => 4200000000)]],
  ];
  for (const [asn, ebgpSession, prepend, want] of cases)
    assert.deepEqual(
      originatedAsPath(asn, ebgpSession, prepend).map((seg) => {
        assert.equal(seg.type, 2, 'AS_SEQUENCE');
        return [...seg.asns];
      }),
      want,
      `${asn} ${ebgpSession} ${prepend}`,
    );
});

test('sessionLocalAsn: localASN replaces myASN for the session; desiredRoutes decides iBGP against it', () => {
  assert.equal(sessionLocalAsn({ myASN: 64512 }), 64512);
  assert.equal(sessionLocalAsn({ myASN: 64512, localASN: 64999 }), 64999);
  // myASN 64512 towards a 64999 router is eBGP, but with localASN 64999 the session is iBGP: LOCAL_PREF goes out.
  const local: AdvPeer = { name: 'r', myAsn: sessionLocalAsn({ myASN: 64512, localASN: 64999 }), peerAsn: 64999 };
  const routes = desiredRoutes({
    node,
    peers: [local],
    advertisements: [{ name: 'a', localPref: 120 }],
    services: [{ ...web, ips: ['203.0.113.129'] }],
  });
  assert.equal(routes.get('r')?.get('203.0.113.129/32')?.localPref, 120);
});

test('attrsKey: asPathPrepend changes the key (a changed prepend is re-announced)', () => {
  const base: RouteAttrs = { communities: [], largeCommunities: [] };
  assert.notEqual(attrsKey(base), attrsKey({ ...base, asPathPrepend: 1 }));
  assert.notEqual(attrsKey({ ...base, asPathPrepend: 1 }), attrsKey({ ...base, asPathPrepend: 2 }));
  const d = diffRoutes(new Map([['203.0.113.129/32', attrsKey(base)]]), new Map([['203.0.113.129/32', { ...base, asPathPrepend: 2 }]]));
  assert.deepEqual(
    d.announce.map((g) => [g.attrs.asPathPrepend, g.prefixes]),
    [[2, ['203.0.113.129/32']]],
  );
});
