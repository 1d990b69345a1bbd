// The death fast path (src/domain/presence.ts) on the deterministic simulator: NATS servers
// report connections opened and closed, coordinators treat "every connection of a node closed" as
// its death after a short confirmation. Each safety property of the heartbeat-only design is
// checked again with it on: a NATS server's death moves nothing, a connection that drops and
// comes back moves nothing, a late report from a stalled server moves nothing, a link cut is still
// judged by heartbeats, and epochs still fence a node declared dead while it lived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster, services } from './lib/cluster.js';
import { epochKey } from '../src/domain/subjects.js';
import { decodeEpochRecord } from '../src/codecs/coord.js';

const NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
const DETECT_MS = 300; // 100 ms × 3, the default heartbeat window

async function cluster(seed: number, over: Partial<ConstructorParameters<typeof SimCluster>[0]> = {}) {
  const c = new SimCluster({
    seed,
    nodes: NODES.map((name) => ({ name })),
    services: services(20, {}, NODES),
    natsServers: 3,
    mirror: true,
    presence: true,
    ...over,
  });
  await c.start();
  return c;
}

const ownersOf = (c: SimCluster, node: string): string[] => c.allIps().filter((ip) => c.announcers(ip).includes(node));

function assertClean(c: SimCluster): void {
  assert.deepEqual(c.violations, [], `${c.violations.join('\n')}\n${c.log.map((l) => `${l.at} ${l.text}`).join('\n')}`);
  for (const ip of c.allIps()) assert.deepEqual(c.announcers(ip), [c.expectedOwner(ip)], ip);
}

function moves(c: SimCluster, cause: string): number {
  return c.failovers.filter((f) => f.cause === cause).length;
}

test('owner killed: peers learn it from the servers and take over well inside the heartbeat window', async () => {
  for (const seed of [1, 2, 3]) {
    const c = await cluster(seed);
    const victim = NODES[seed % NODES.length] as string;
    const lost = ownersOf(c, victim);
    assert.ok(lost.length > 0);
    const t0 = c.clock.now();
    c.kill(victim);
    await c.run(3000);
    const deaths = c.coordEvents.filter((e) => e.at >= t0 && e.event === 'peer.dead' && e.peer === victim);
    assert.equal(deaths.length, NODES.length - 1, 'every survivor declared it dead');
    assert.deepEqual(new Set(deaths.map((e) => e.cause)), new Set(['connections']));
    const m = c.failovers.filter((f) => f.cause === `kill ${victim}`);
    assert.equal(m.length, lost.length, 'only the victim’s IPs move');
    for (const f of m) assert.ok(f.afterMs < DETECT_MS / 2, `${f.ip} after ${f.afterMs} ms of virtual time`);
    assertClean(c);
  }
});

test('without the fast path the same kill waits for the heartbeat window (the comparison above is meaningful)', async () => {
  const c = await cluster(1, { presence: false });
  const victim = NODES[1] as string;
  c.kill(victim);
  await c.run(3000);
  const m = c.failovers.filter((f) => f.cause === `kill ${victim}`);
  assert.ok(m.length > 0);
  for (const f of m) assert.ok(f.afterMs >= DETECT_MS, `${f.afterMs}`);
  assert.ok(c.coordEvents.some((e) => e.event === 'peer.dead' && e.cause === 'heartbeat'));
});

test('NATS server killed: its clients lose a connection each, keep their mirror; nothing moves, nobody is declared dead', async () => {
  for (const server of [0, 1, 2]) {
    const c = await cluster(10 + server);
    const t0 = c.clock.now();
    c.killNatsServer(server, 600);
    await c.run(3000);
    c.restartNatsServer(server);
    await c.run(3000);
    assert.equal(moves(c, `kill NATS server ${server}`), 0);
    assert.deepEqual(
      c.coordEvents.filter((e) => e.at >= t0 && e.event === 'peer.dead'),
      [],
    );
    assertClean(c);
  }
});

test('one connection drops (primary or mirror) and comes back at once: nothing moves', async () => {
  for (const which of ['primary', 'mirror'] as const) {
    const c = await cluster(20);
    const victim = 'node-b';
    c.dropConnection(victim, which, 5);
    await c.run(3000);
    assert.equal(moves(c, `drop ${which} NATS connection of ${victim} (back after 5 ms)`), 0);
    assert.deepEqual(
      c.coordEvents.filter((e) => e.event === 'peer.connectionsGone' || e.event === 'peer.dead'),
      [],
    );
    assertClean(c);
  }
});

test('both connections drop and come back inside the confirmation: suspected, not declared dead, nothing moves', async () => {
  const c = await cluster(21);
  const victim = 'node-c';
  c.dropConnection(victim, 'both', 5);
  await c.run(3000);
  assert.ok(
    c.coordEvents.some((e) => e.event === 'peer.connectionsGone' && e.peer === victim),
    'the fast path was reached (else this shows nothing)',
  );
  assert.deepEqual(
    c.coordEvents.filter((e) => e.event === 'peer.dead'),
    [],
  );
  assert.equal(moves(c, `drop both NATS connection of ${victim} (back after 5 ms)`), 0);
  assertClean(c);
});

test('a stalled server reports a connection closed long after its client reconnected elsewhere: nothing moves', async () => {
  const c = await cluster(22);
  const victim = 'node-d';
  c.dropConnection(victim, 'primary', 5, 2003);
  await c.run(2000);
  // Now its mirror drops and comes back too, and the late report of the old primary arrives in
  // between: a count of closes would see both connections gone; the new primary keeps it present.
  c.dropConnection(victim, 'mirror', 5);
  await c.run(3000);
  assert.deepEqual(
    c.coordEvents.filter((e) => e.event === 'peer.dead'),
    [],
  );
  assertClean(c);
});

test('link cut (no server sees a close): judged by heartbeats only, as before', async () => {
  const c = await cluster(23);
  const victim = 'node-a';
  const t0 = c.clock.now();
  c.setLink(victim, false);
  await c.run(3000);
  const deaths = c.coordEvents.filter((e) => e.at >= t0 && e.event === 'peer.dead' && e.peer === victim);
  assert.ok(deaths.length > 0);
  assert.deepEqual(new Set(deaths.map((e) => e.cause)), new Set(['heartbeat']));
  c.setLink(victim, true);
  await c.run(6000);
  assertClean(c);
});

test('both connections gone for longer than the confirmation while the process lives: its IPs move with a higher epoch, then come back fenced and clean', async () => {
  const c = await cluster(24);
  const victim = 'node-e';
  const lost = ownersOf(c, victim);
  assert.ok(lost.length > 0);
  const epochOf = (ip: string): number => {
    const e = c.kv.peek(epochKey(ip));
    const r = e ? decodeEpochRecord(e.value) : undefined;
    return r?.ok ? r.value.epoch : 0;
  };
  const before = new Map(lost.map((ip) => [ip, epochOf(ip)]));
  c.dropConnection(victim, 'both', 200);
  await c.run(150);
  assert.ok(
    c.coordEvents.some((e) => e.event === 'peer.dead' && e.peer === victim && e.cause === 'connections'),
    'declared dead by the fast path',
  );
  await c.run(8000);
  // Back: the election gives it its IPs again, each takeover recorded with a higher epoch.
  for (const ip of lost) assert.ok(epochOf(ip) >= (before.get(ip) ?? 0) + 2, `${ip}: ${before.get(ip)} → ${epochOf(ip)}`);
  assertClean(c);
});
