// Failback on the deterministic simulator: a killed owner comes back and wins its IPs back (the
// election's hash order puts it first again). The move is a planned handover, not a failure:
// the interim owner answers until the returning node is settled, then stops and releases; the
// returning node announces on that release. Watched at the segment's every change (exact
// simulated times, not samples): never two announcers, never none for longer than one message
// delivery; and a node dying mid-handover still ends in a takeover by the heartbeat path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster, services } from './lib/cluster.js';
import { decodeEpochRecord } from '../src/codecs/coord.js';
import { epochKey } from '../src/domain/subjects.js';

const NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
/** One NATS delivery in these runs; a 1 ms default would hide an extra hop. */
const LATENCY = 5;

async function cluster(seed: number) {
  const c = new SimCluster({ seed, nodes: NODES.map((name) => ({ name })), services: services(20, {}, NODES), latencyMs: LATENCY });
  await c.start();
  return c;
}

function ownersOf(c: SimCluster, node: string): string[] {
  return c.allIps().filter((ip) => c.announcers(ip).includes(node));
}

/** From now on, for `ips`: the longest time with no announcer and the most announcers at once. */
function watch(c: SimCluster, ips: readonly string[]) {
  const set = new Set(ips);
  const zeroSince = new Map<string, number>();
  let maxGap = 0;
  let maxAnnouncers = 0;
  for (const ip of ips) {
    const n = c.announcers(ip).length;
    maxAnnouncers = Math.max(maxAnnouncers, n);
    if (n === 0) zeroSince.set(ip, c.clock.now());
  }
  const stop = c.seg.watch((ip, n, at) => {
    if (!set.has(ip)) return;
    maxAnnouncers = Math.max(maxAnnouncers, n);
    const since = zeroSince.get(ip);
    if (n === 0) {
      if (since === undefined) zeroSince.set(ip, at);
      return;
    }
    if (since !== undefined) {
      maxGap = Math.max(maxGap, at - since);
      zeroSince.delete(ip);
    }
  });
  return {
    result: () => {
      stop();
      for (const since of zeroSince.values()) maxGap = Math.max(maxGap, c.clock.now() - since);
      return { maxGap, maxAnnouncers };
    },
  };
}

/** Kill `victim`, let the others take over, note who holds its IPs (and at which epoch). */
async function killAndTakeOver(c: SimCluster, victim: string) {
  const lost = ownersOf(c, victim);
  assert.ok(lost.length > 0, 'victim owns something');
  c.kill(victim);
  await c.run(3000);
  const interim = new Map(lost.map((ip) => [ip, c.announcers(ip)[0] as string]));
  for (const ip of lost) assert.notEqual(interim.get(ip), undefined, `${ip} taken over`);
  const epochs = new Map(lost.map((ip) => [ip, c.coordinator(interim.get(ip) as string)?.stateOf(ip).epoch ?? 0]));
  return { lost, interim, epochs };
}

test('failback: the restarted owner wins its IPs back in one step, never two announcers, never none for longer than one delivery; its epoch is above the interim owner’s, in the claims and the KV', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const c = await cluster(seed);
    const victim = NODES[seed % NODES.length] as string;
    const { lost, epochs } = await killAndTakeOver(c, victim);
    const w = watch(c, lost);
    c.restart(victim);
    await c.run(3000);
    const r = w.result();
    assert.equal(r.maxAnnouncers, 1, `seed ${seed}: two nodes announced an IP at once`);
    assert.ok(r.maxGap <= LATENCY, `seed ${seed}: an IP had no announcer for ${r.maxGap} ms (one delivery is ${LATENCY} ms)`);
    for (const ip of lost) {
      assert.deepEqual(c.announcers(ip), [victim], `${ip} back on ${victim}`);
      const epoch = c.coordinator(victim)?.stateOf(ip).epoch ?? 0;
      assert.ok(epoch > (epochs.get(ip) ?? 0), `${ip}: epoch ${epoch} not above the interim owner’s ${epochs.get(ip)}`);
      const rec = c.kv.peek(epochKey(ip));
      const d = rec && decodeEpochRecord(rec.value);
      assert.deepEqual(d?.ok ? d.value : d, { epoch, node: victim }, `${ip}: KV records the failback`);
    }
    assert.equal(c.failovers.filter((f) => f.cause === `restart ${victim}`).length, lost.length, 'each IP moved back once');
    assert.deepEqual(c.violations, [], c.violations.join('\n'));
    assert.ok(c.steadyChecks > 0);
  }
});

/**
 * The handover's instants in an undisturbed run of `seed` (simulated time since the restart):
 * when the interim owner released the first IP and when the restarted node announced it.
 */
async function handoverTimes(seed: number, victim: string) {
  const c = await cluster(seed);
  const { lost, interim } = await killAndTakeOver(c, victim);
  const t0 = c.clock.now();
  c.restart(victim);
  await c.run(3000);
  const ip = lost[0] as string;
  const released = c.transitions.find((t) => t.at >= t0 && t.ip === ip && t.node === interim.get(ip) && t.from === 'announcing');
  const announced = c.transitions.find((t) => t.at >= t0 && t.ip === ip && t.node === victim && t.to === 'announcing');
  assert.ok(released && announced && announced.at - released.at === LATENCY, 'the release is one delivery before the announce');
  return { release: released.at - t0, announce: announced.at - t0, interim: interim.get(ip) as string };
}

/** Offsets (ms after the restart) to kill at: coarse before, 1 ms steps across the handover. */
function offsets(h: { release: number; announce: number }): number[] {
  const out = [50, 150, 250];
  for (let t = h.release - 8; t <= h.announce + 3; t++) out.push(t);
  return out;
}

test('failback: the restarted node dies at any instant of the handover: never two announcers, the interim owner takes the IPs over again', async () => {
  const seed = 2;
  const victim = NODES[seed % NODES.length] as string;
  const h = await handoverTimes(seed, victim);
  for (const at of offsets(h)) {
    const c = await cluster(seed);
    const { lost } = await killAndTakeOver(c, victim);
    const w = watch(c, lost);
    c.restart(victim);
    await c.run(at);
    c.kill(victim);
    await c.run(3000);
    const r = w.result();
    const msg = `killed ${at} ms after the restart (release at ${h.release}, announce at ${h.announce})`;
    assert.ok(r.maxAnnouncers <= 1, `${msg}: two nodes announced an IP at once`);
    // Only a death leaves an IP dark, and then no longer than detection + one delivery.
    assert.ok(r.maxGap <= 400, `${msg}: an IP had no announcer for ${r.maxGap} ms`);
    for (const ip of lost) assert.deepEqual(c.announcers(ip), [c.expectedOwner(ip)], `${msg}: ${ip}`);
    assert.deepEqual(c.violations, [], `${msg}\n${c.violations.join('\n')}`);
  }
});

test('failback: the interim owner dies at any instant of the handover: never two announcers, the restarted node gets the IPs', async () => {
  const seed = 3;
  const victim = NODES[seed % NODES.length] as string;
  const h = await handoverTimes(seed, victim);
  for (const at of offsets(h)) {
    const c = await cluster(seed);
    const { lost, interim } = await killAndTakeOver(c, victim);
    const w = watch(c, lost);
    c.restart(victim);
    await c.run(at);
    c.kill(h.interim);
    await c.run(3000);
    const r = w.result();
    const msg = `${h.interim} killed ${at} ms after ${victim}'s restart (release at ${h.release}, announce at ${h.announce})`;
    assert.ok(r.maxAnnouncers <= 1, `${msg}: two nodes announced an IP at once`);
    assert.ok(r.maxGap <= 400, `${msg}: an IP had no announcer for ${r.maxGap} ms`);
    for (const ip of lost) assert.deepEqual(c.announcers(ip), [victim], `${msg}: ${ip}`);
    // The IPs the restarted node did not win back moved nowhere else.
    for (const ip of lost) assert.ok(interim.has(ip));
    assert.deepEqual(c.violations, [], `${msg}\n${c.violations.join('\n')}`);
  }
});
