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
  // Every node is up (a late one takes its share of the IPs) and has heard every other's connections.
  await waitFor(
    'every node ready, the IPs settled',
    () => lab.nodes.every((n) => n.events.some((e) => e.event === 'ready')) && lab.settled(),
    60000,
    50,
  );
  await new Promise((r) => setTimeout(r, 1000));
  await waitFor('the IPs settled', () => lab.settled(), 30000, 50);
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
  let changed = '';
  // Three lifetimes: every connection of every node is re-established with a renewed JWT (at half
  // its life) at least six times.
  const perNode = (slot: number) =>
    lab.nodes.map((n) => n.events.filter((e) => e.t >= t0 && e.event === 'nats.credential.rotate' && e.slot === slot).length);
  await waitFor(
    'six rotations of each connection of each node',
    () => {
      const now = JSON.stringify([...lab.ownership()]);
      if (now !== own) changed ||= now;
      return [...perNode(0), ...perNode(1)].every((c) => c >= 6);
    },
    20 * TTL_MS,
    50,
  );
  assert.equal(changed, '', 'ownership changed during credential rotation');
  console.error(`rotations over ${Date.now() - t0} ms (ttl ${TTL_MS} ms): primary ${perNode(0).join(',')} mirror ${perNode(1).join(',')}`);
  const dead = since(t0, 'peer.dead');
  if (dead.length > 0) {
    const at = dead[0]?.t ?? 0;
    const around = lab.nodes
      .flatMap((n) => n.events.filter((e) => e.t >= at - 600 && e.t <= at + 100 && e.event !== 'transition'))
      .sort((a, b) => a.t - b.t)
      .map((e) => `${e.t - at} ${JSON.stringify(e)}`);
    console.error(around.join('\n'));
  }
  assert.deepEqual(dead, []);
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
  // While one of its connections is being re-established (about 100 ms per rotation, every quarter
  // lifetime: here each second, in production every 15 min) a node's heartbeats list one server
  // only, and peers fall back to missed heartbeats for it (the safe, slower path). Kill it between
  // rotations: once one has completed and its heartbeats list both connections again (a few
  // beats; the next rotation is a quarter lifetime away).
  const tr = Date.now();
  await waitFor(
    'a rotation of the victim completed',
    () => victim.events.some((e) => e.t >= tr && e.event === 'nats.credential.rotated'),
    2 * TTL_MS,
    5,
  );
  await new Promise((r) => setTimeout(r, 300));
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

test('control: a node that never renews (its two JWTs, minted together, expire together) IS judged dead while alive', async () => {
  const victim = lab.nodes.find((n) => !n.alive());
  assert.ok(victim);
  const t0 = Date.now();
  lab.startNode(victim.index, ['--no-rotation']);
  await waitFor(
    'the node is back and owns IPs',
    () => lab.settled() && [...lab.ownership().values()].some((o) => o[0] === victim.name),
    60000,
    100,
  );
  await waitFor(
    'survivors judged it dead',
    () => since(t0, 'peer.dead').filter((e) => e.peer === victim.name).length >= 2,
    10 * TTL_MS,
    20,
  );
  const verdicts = since(t0, 'peer.dead').filter((e) => e.peer === victim.name);
  console.error(
    `no rotation: ${victim.name} judged dead ${verdicts.map((e) => `+${e.t - t0} ms ${e.node} ${String(e.cause)}`).join('; ')}`,
  );
  // By the advisories when both JWTs expire in the same second (JWT expiry has a one-second
  // resolution), else by missed heartbeats once the second one has: dead either way.
  assert.equal(new Set(verdicts.map((e) => e.node)).size, 2, JSON.stringify(verdicts));
  assert.ok(victim.alive(), 'it is alive: its credentials expired, nothing else');
});
