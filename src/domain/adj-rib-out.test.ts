// mooringctl routes' per-route view, shared by the native speaker and the FRR backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjRibOutRoutes, communityText } from './adj-rib-out.js';
import type { RouteAttrs } from './bgp-advertisements.js';

const tagged: RouteAttrs = { localPref: 150, asPathPrepend: 2, communities: [0xfde80064, 0xffffff01], largeCommunities: [[64500, 7, 9]] };
const plain: RouteAttrs = { communities: [], largeCommunities: [] };
const routes: Array<[string, RouteAttrs]> = [
  ['203.0.113.9/32', plain],
  ['2001:db8:5::1/128', tagged],
  ['203.0.113.10/32', tagged],
];

test('eBGP: the local AS originated and prepended, no LOCAL_PREF, communities as hi:lo, sorted by prefix', () => {
  const nh = (p: string) => (p.includes(':') ? '2001:db8:4::11' : '198.51.100.11');
  assert.deepEqual(adjRibOutRoutes(routes, { localAsn: 64500, ebgp: true, nextHop: nh }), [
    {
      prefix: '2001:db8:5::1/128',
      nextHop: '2001:db8:4::11',
      origin: 'igp',
      asPath: [64500, 64500, 64500],
      communities: ['65000:100', '65535:65281'],
      largeCommunities: ['64500:7:9'],
    },
    {
      prefix: '203.0.113.10/32',
      nextHop: '198.51.100.11',
      origin: 'igp',
      asPath: [64500, 64500, 64500],
      communities: ['65000:100', '65535:65281'],
      largeCommunities: ['64500:7:9'],
    },
    { prefix: '203.0.113.9/32', nextHop: '198.51.100.11', origin: 'igp', asPath: [64500], communities: [], largeCommunities: [] },
  ]);
});

test('iBGP: an empty AS_PATH unless prepended, LOCAL_PREF (100 by default)', () => {
  const r = adjRibOutRoutes(routes, { localAsn: 64500, ebgp: false, nextHop: () => '' });
  assert.deepEqual(
    r.map((x) => [x.prefix, x.asPath, x.localPref, x.nextHop]),
    [
      ['2001:db8:5::1/128', [64500, 64500], 150, ''],
      ['203.0.113.10/32', [64500, 64500], 150, ''],
      ['203.0.113.9/32', [], 100, ''],
    ],
  );
  // The key order of a route is what `mooringctl routes -o json` prints.
  assert.deepEqual(Object.keys(r[2]!), ['prefix', 'nextHop', 'origin', 'asPath', 'localPref', 'communities', 'largeCommunities']);
  assert.equal(communityText(0), '0:0');
});
