// Property: decoding never throws, for random bytes and for mutations of valid messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Framer, unframe } from './header.js';
import { decodeMessage } from './message.js';
import { decodeUpdate, buildAnnouncements, endOfRib } from './update.js';
import { decodeOpen, encodeOpen } from './open.js';
import { keepalive, encodeNotification, encodeRouteRefresh } from './simple.js';
import { Afi } from './types.js';
import { must } from './test-helpers.js';

const valid: Uint8Array[] = [
  keepalive(),
  encodeNotification({ code: 6, subcode: 4 }),
  encodeRouteRefresh({ afi: 1, safi: 1 }),
  endOfRib(Afi.ipv4),
  endOfRib(Afi.ipv6),
  ...must(
    buildAnnouncements(
      Afi.ipv4,
      ['203.0.113.129/32', '203.0.113.128/27'],
      {
        origin: 0,
        asPath: [{ type: 2, asns: [64512, 4200000001] }],
        nextHop: '198.51.100.2',
        localPref: 50,
        communities: [1],
        largeCommunities: [[1, 2, 3]],
      },
      { as4: true },
    ),
  ),
  ...must(buildAnnouncements(Afi.ipv6, ['2001:db8:4:ff::1/128'], { origin: 0, asPath: [], nextHop: '2001:db8:4::2' }, { as4: false })),
];
const openBody = encodeOpen({
  asn: 64512,
  holdTime: 90,
  routerId: '198.51.100.2',
  capabilities: {
    multiprotocol: [{ afi: 1, safi: 1 }],
    routeRefresh: true,
    gracefulRestart: { restarting: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: false }] },
  },
});

function decodeAll(b: Uint8Array): void {
  const f = new Framer();
  for (const r of f.push(b)) {
    assert.equal(typeof r.ok, 'boolean');
    if (r.ok) for (const as4 of [true, false]) decodeMessage(r.value, { as4 });
  }
  unframe(b);
  decodeUpdate(b, { as4: true });
  decodeUpdate(b, { as4: false, ebgp: true });
  decodeOpen(b);
}

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      decodeAll(b);
    }),
    { numRuns: 3000 },
  );
});

test('mutated valid messages never throw', () => {
  const pool = [...valid, Uint8Array.from([...new Uint8Array(16).fill(0xff), 0, 19 + openBody.length, 1, ...openBody])];
  fc.assert(
    fc.property(
      fc.constantFrom(...pool),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(40),
      (msg, muts, cut) => {
        const b = msg.slice(0, Math.max(0, msg.length - (cut % 5 === 0 ? cut : 0)));
        for (const [at, v] of muts) if (b.length > 0) b[at % b.length] = v;
        decodeAll(b);
        decodeAll(b.subarray(19));
        decodeOpen(b.subarray(19));
      },
    ),
    { numRuns: 5000 },
  );
});
