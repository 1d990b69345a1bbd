// The death fast path in operator mode (decentralized JWT auth, as the controller sets it up): a
// 3-server nats-server cluster trusting an operator, with the MOORING and system accounts preloaded
// (src/adapters/nats-issuer.ts serverAuthConfig: the system account exports the MOORING account's
// connect/disconnect advisories, which the servers name by the account's public key). Each node
// mints its own user JWTs, one per connection, with a SHORT lifetime, and renews them in turns as
// the speaker does (src/adapters/nats-rotation.ts). Behaviour only, no timing assertions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../lib/netns.js';
import { CoordLab } from './coord-lab.js';

const VIPS = ['203.0.113.65', '203.0.113.66', '203.0.113.67', '203.0.113.68', '203.0.113.69', '203.0.113.70'];
const TTL_MS = 4000;
let lab: CoordLab;

before(async () => {
  lab = await CoordLab.startSettled({ vips: VIPS, announcer: 'pcap', intervalMs: 100, misses: 10, jwtTtlMs: TTL_MS });
});

after(async () => {
  await lab?.cleanup();
});

const since = (t: number, event: string) => lab.nodes.flatMap((n) => n.events.filter((e) => e.t >= t && e.event === event));
const transitionsSince = (t: number) =>
  lab.nodes.flatMap((n) =>
    n.events.filter((e) => e.t >= t && e.event === 'transition' && (e.to === 'announcing' || e.from === 'announcing')),
  );

test('the nodes subscribe to the advisories of the account the servers name by its public key', () => {
  const subs = since(0, 'presence.subscribed');
  assert.equal(subs.length, 3, JSON.stringify(subs));
  for (const s of subs) assert.match(String(s.account), /^A[A-Z2-7]{55}$/);
  assert.equal(new Set(subs.map((s) => s.account)).size, 1);
});

test('credentials expire every few seconds: each connection is renewed in turn, nobody is declared dead, nothing moves', async () => {
  const t0 = Date.now();
  const own = JSON.stringify([...lab.ownership()]);
  // Three lifetimes: every node re-establishes each of its two connections at least three times.
  const perNode = (slot: number) => lab.nodes.map((n) => n.events.filter((e) => e.t >= t0 && e.event === 'nats.credential.rotate' && e.slot === slot).length);
  await waitFor(
    'three rotations of each connection of each node',
    () => {
      assert.equal(JSON.stringify([...lab.ownership()]), own, 'ownership changed during credential rotation');
      return [...perNode(0), ...perNode(1)].every((c) => c >= 3);
    },
    10 * TTL_MS,
    50,
  );
  console.error(`rotations over ${Date.now() - t0} ms (ttl ${TTL_MS} ms): primary ${perNode(0).join(',')} mirror ${perNode(1).join(',')}`);
  assert.deepEqual(since(t0, 'peer.dead'), []);
  assert.deepEqual(transitionsSince(t0), []);
  assert.deepEqual(since(t0, 'nats.credential.renewFailed'), []);
  // No connection was ended by the server for an expired JWT: each was replaced before.
  const expired = lab.nodes.flatMap((n) => n.events.filter((e) => e.t >= t0 && /expired/i.test(JSON.stringify(e))));
  assert.deepEqual(expired, []);
  assert.ok(lab.nodes.every((n) => n.alive()));
});

test('SIGKILL of an owner with minted credentials: survivors learn it from the servers (cause: connections) and take its IPs', async () => {
  await waitFor('ownership settled', () => lab.settled(), 30000, 100);
  const own = lab.ownership();
  const victim = lab.nodes.find((n) => [...own.values()].some((o) => o[0] === n.name));
  assert.ok(victim);
  const lost = VIPS.filter((ip) => own.get(ip)?.[0] === victim.name);
  const t0 = Date.now();
  lab.killNode(victim.index);
  await waitFor('victim exited', () => !victim.alive(), 10000, 5);
  await waitFor(`${lost.join(',')} taken over`, () => lost.every((ip) => (lab.ownership().get(ip) ?? []).length === 1), 30000, 10);
  await waitFor('both survivors judged it', () => since(t0, 'peer.dead').filter((e) => e.peer === victim.name).length >= 2, 10000, 10);
  const verdicts = since(t0, 'peer.dead').filter((e) => e.peer === victim.name);
  console.error(`SIGKILL of ${victim.name} (JWT mode): ${verdicts.map((e) => `+${e.t - t0} ms ${e.node} ${String(e.cause)}`).join('; ')}`);
  assert.deepEqual(
    verdicts.map((e) => e.cause),
    ['connections', 'connections'],
  );
  for (const ip of lost) assert.notEqual(lab.ownership().get(ip)?.[0], victim.name);
  for (const ip of VIPS.filter((x) => !lost.includes(x))) assert.deepEqual(lab.ownership().get(ip), own.get(ip));
});
