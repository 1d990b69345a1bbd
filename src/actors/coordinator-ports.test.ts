// The coordinator against fake ports: an in-memory loopback bus (our own heartbeats echo back),
// a recording L2 port and a scripted epoch store. Time is XState's SimulatedClock.
//   - epoch store failures: a KV outage defers the write and counts as an outage (the IP stays);
//     a lost compare-and-set re-reads, and a newer epoch of a live claimer stands us down;
//   - L2Advertisement interface changes reach the L2 port through the serviceIp machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { Coordinator, type ClusterSpec, type ServiceSpec } from './coordinator.js';
import type { CoordBus, EpochStore, KvEntry, KvRead, KvWrite } from './coord-ports.js';
import type { CarrierChange, L2AnnouncerPort, L2Conflict } from './l2-port.js';
import { decodeEpochRecord, encodeClaims, encodeEpochRecord, encodeHeartbeat } from '../codecs/coord.js';
import { claimsSubject, epochKey, heartbeatSubject, STORE_PROBE_KEY, subjectMatches } from '../domain/subjects.js';

const IP = '203.0.113.10';

/** Core NATS stand-in: every message reaches every matching subscription (publisher included) 1 ms later. */
class LoopBus implements CoordBus {
  private readonly subs: Array<{ pattern: string; cb: (subject: string, data: Uint8Array) => void }> = [];
  constructor(private readonly clock: SimulatedClock) {}
  publish(subject: string, data: Uint8Array): void {
    this.clock.setTimeout(() => {
      for (const s of [...this.subs]) if (subjectMatches(s.pattern, subject)) s.cb(subject, data);
    }, 1);
  }
  subscribe(pattern: string, cb: (subject: string, data: Uint8Array) => void): () => void {
    const s = { pattern, cb };
    this.subs.push(s);
    return () => {
      this.subs.splice(this.subs.indexOf(s), 1);
    };
  }
  private up = true;
  private readonly statusCbs = new Set<(up: boolean) => void>();
  onStatus(cb: (up: boolean) => void): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }
  isUp(): boolean {
    return this.up;
  }
  /** The client's connection status changes (a NATS disconnect / reconnect). */
  setUp(up: boolean): void {
    this.up = up;
    for (const cb of this.statusCbs) cb(up);
  }
}

class FakeL2 implements L2AnnouncerPort {
  readonly calls: string[] = [];
  private readonly on = new Set<string>();
  announce(ip: string, ifaces?: readonly string[]): void {
    this.on.add(ip);
    this.calls.push(`announce ${ip} ${ifaces?.join(',') ?? '*'}`);
  }
  withdraw(ip: string): void {
    this.on.delete(ip);
    this.calls.push(`withdraw ${ip}`);
  }
  announced(): readonly string[] {
    return [...this.on];
  }
  onConflict(_cb: (ev: L2Conflict) => void): () => void {
    return () => {};
  }
  onCarrier(_cb: (ev: CarrierChange) => void): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

/** A CAS store whose next answers can be scripted: `unavailable`, or a race lost to another writer. */
class ScriptedKv implements EpochStore {
  readonly data = new Map<string, KvEntry>();
  private rev = 0;
  available = true;
  /** Before the next create/update lands, this writer gets there first (the CAS then loses). */
  rival: ((key: string) => void) | undefined;
  /** Operations on IP keys (the coordinator's reads of the probe key are counted apart). */
  readonly ops: string[] = [];
  probes = 0;
  async get(key: string): Promise<KvRead> {
    if (key === STORE_PROBE_KEY) this.probes++;
    else this.ops.push('get');
    if (!this.available) return { ok: false, kind: 'unavailable', error: 'TimeoutError: timeout' };
    return { ok: true, entry: this.data.get(key) ?? null };
  }
  async create(key: string, value: Uint8Array): Promise<KvWrite> {
    this.ops.push('create');
    return this.write(key, value, 0);
  }
  async update(key: string, value: Uint8Array, revision: number): Promise<KvWrite> {
    this.ops.push('update');
    return this.write(key, value, revision);
  }
  put(key: string, value: Uint8Array): void {
    this.data.set(key, { value, revision: ++this.rev });
  }
  private write(key: string, value: Uint8Array, revision: number): KvWrite {
    if (!this.available) return { ok: false, kind: 'unavailable', error: 'NoRespondersError: no responders' };
    const rival = this.rival;
    this.rival = undefined;
    rival?.(key);
    if ((this.data.get(key)?.revision ?? 0) !== revision)
      return { ok: false, kind: 'conflict', error: 'JetStreamApiError: wrong last sequence' };
    this.put(key, value);
    return { ok: true, revision: this.rev };
  }
}

function svc(interfaces?: readonly string[]): ServiceSpec {
  return {
    key: 'default/web',
    ips: [IP],
    ads: [{ name: 'l2' }],
    etpLocal: false,
    endpointNodes: new Set(['a', 'b']),
    ...(interfaces ? { interfaces } : {}),
  };
}

/** Node `a` (eligible) and `b` (NetworkUnavailable: never elected, but it may still claim). */
function setup(interfaces?: readonly string[], opts: { kvAvailable?: boolean } = {}) {
  const clock = new SimulatedClock();
  const bus = new LoopBus(clock);
  const l2 = new FakeL2();
  const kv = new ScriptedKv();
  kv.available = opts.kvAvailable ?? true;
  const logs: Array<Record<string, unknown>> = [];
  const coord = new Coordinator({
    cluster: 'c',
    node: 'a',
    inc: 1,
    clock,
    bus,
    l2,
    epochs: kv,
    claimsRefreshMs: 1000,
    log: (r) => logs.push(r),
  });
  const spec = (ifs?: readonly string[]): ClusterSpec => ({
    nodes: [
      { name: 'a', labels: {} },
      { name: 'b', labels: {}, networkUnavailable: true },
    ],
    services: [svc(ifs)],
  });
  coord.setCluster(spec(interfaces));
  coord.start();
  /** Runs virtual time 1 ms at a time, letting the store's promises settle in between. */
  const run = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock.increment(1);
      for (let k = 0; k < 10; k++) await Promise.resolve();
    }
  };
  let bSeq = 0;
  let bClaims = 0;
  /** Node b: alive (one heartbeat now), and its claims. */
  const bBeats = () =>
    bus.publish(
      heartbeatSubject('c', 'b'),
      encodeHeartbeat({ v: 1, node: 'b', inc: 1, seq: ++bSeq, intervalMs: 100, l2Ready: true, draining: false }),
    );
  const bClaim = (claims: Array<{ ip: string; epoch: number }>) =>
    bus.publish(claimsSubject('c', 'b'), encodeClaims({ v: 1, node: 'b', inc: 1, seq: ++bClaims, claims }));
  const record = () => {
    const e = kv.data.get(epochKey(IP));
    const r = e ? decodeEpochRecord(e.value) : undefined;
    return r?.ok ? r.value : undefined;
  };
  return { clock, bus, l2, kv, logs, coord, spec, run, bBeats, bClaim, record };
}

test('settles, announces and records its epoch in the KV', async () => {
  const t = setup();
  await t.run(400);
  assert.equal(t.coord.natsPath(), 'up');
  assert.deepEqual(t.coord.owned(), [IP]);
  assert.deepEqual(t.record(), { epoch: 1, node: 'a' });
  assert.deepEqual(t.coord.kvFailures(), { racesLost: 0, outages: 0 });
  assert.deepEqual(
    t.logs.filter((l) => l.machine === 'natsPath').map((l) => `${l.from}>${l.to}:${l.reason}:${l.event}`),
    ['resyncing>up:resynced:nats.settled'],
  );
});

test('KV unavailable: the IP stays announced, the write is deferred as an outage (not a race) and retried', async () => {
  const t = setup();
  // The store answered once since start (the NATS cluster is formed), then goes away.
  await t.run(50);
  t.kv.available = false;
  await t.run(350);
  assert.deepEqual(t.coord.owned(), [IP], 'a KV outage never drops an IP');
  assert.equal(t.record(), undefined);
  assert.deepEqual(t.coord.kvFailures(), { racesLost: 0, outages: 1 });
  const deferred = t.logs.filter((l) => l.event === 'epoch.deferred');
  assert.equal(deferred.length, 1);
  assert.equal(deferred[0]?.kind, 'unavailable');
  assert.deepEqual(t.kv.ops, ['get'], 'one read, no write attempts against a dead KV');
  // Still out at the next claims refresh: one more outage. Then back: recorded on the next one.
  await t.run(1000);
  assert.deepEqual(t.coord.kvFailures(), { racesLost: 0, outages: 2 });
  t.kv.available = true;
  await t.run(1000);
  assert.deepEqual(t.record(), { epoch: 1, node: 'a' });
  assert.deepEqual(t.coord.owned(), [IP]);
  assert.equal(t.coord.kvFailures().racesLost, 0);
});

test('a store that has not answered since start holds the first takeover; its first answer settles it', async () => {
  const t = setup(undefined, { kvAvailable: false });
  await t.run(1000);
  // A fresh install: the NATS servers are not clustered yet, peers on another server are unheard.
  assert.equal(t.coord.natsPath(), 'awaitingStore');
  assert.deepEqual(t.coord.owned(), [], 'no takeover while the store has never answered');
  assert.deepEqual(t.coord.stateOf(IP), { state: 'standby', reason: 'natsSettling', epoch: 0 }, 'connected: not “disconnected”');
  assert.ok(t.kv.probes >= 4, `probed every 200 ms: ${t.kv.probes}`);
  assert.deepEqual(t.kv.ops, []);
  assert.equal(t.logs.filter((l) => l.event === 'kv.waiting').length, 1, 'the wait is logged once, not per probe');
  t.kv.available = true;
  await t.run(250);
  assert.equal(t.coord.natsPath(), 'resyncing', 'one more resync window: peers just became audible');
  assert.deepEqual(t.coord.owned(), []);
  await t.run(400);
  assert.equal(t.coord.natsPath(), 'up');
  assert.deepEqual(t.coord.owned(), [IP]);
  assert.deepEqual(t.record(), { epoch: 1, node: 'a' });
  assert.equal(t.logs.filter((l) => l.event === 'kv.ready').length, 1);
  const probes = t.kv.probes;
  // Once answered, never probed again: a later KV outage holds nothing up.
  t.bus.setUp(false);
  t.bus.setUp(true);
  await t.run(1000);
  assert.equal(t.kv.probes, probes);
  assert.equal(t.coord.natsPath(), 'up');
});

test('a restart while the store is out: a settled peer’s heartbeat stands for it, nothing waits', async () => {
  const t = setup(undefined, { kvAvailable: false });
  t.bBeats(); // b is past its resync window: the cluster ran before us
  await t.run(400);
  assert.equal(t.coord.natsPath(), 'up');
  assert.deepEqual(t.coord.owned(), [IP]);
  assert.equal(t.kv.probes, 1, 'no probing once the cluster is known formed');
});

test('KV unavailable on the write itself (after a good read): an outage, not a race', async () => {
  const t = setup();
  // The read succeeds, then the create times out.
  const create = t.kv.create.bind(t.kv);
  let once = true;
  t.kv.create = async (k, v) => {
    if (!once) return create(k, v);
    once = false;
    t.kv.ops.push('create');
    return { ok: false, kind: 'unavailable', error: 'TimeoutError: timeout' };
  };
  await t.run(400);
  assert.deepEqual(t.kv.ops, ['get', 'create']);
  assert.deepEqual(t.coord.kvFailures(), { racesLost: 0, outages: 1 });
  assert.deepEqual(t.coord.owned(), [IP]);
});

test('lost race to a dead writer: re-read, then overwrite with a higher epoch (and adopt it)', async () => {
  const t = setup();
  // b creates the key first with epoch 7, but b is not live: its record does not fence us.
  t.kv.rival = (key) => t.kv.put(key, encodeEpochRecord({ epoch: 7, node: 'b' }));
  await t.run(400);
  assert.deepEqual(t.kv.ops, ['get', 'create', 'get', 'update']);
  assert.deepEqual(t.record(), { epoch: 8, node: 'a' });
  assert.equal(t.coord.stateOf(IP).epoch, 8);
  assert.deepEqual(t.coord.owned(), [IP]);
  assert.deepEqual(t.coord.kvFailures(), { racesLost: 1, outages: 0 });
});

test('lost race to a live claimer with a newer epoch: stand down (fenced)', async () => {
  const t = setup();
  // b is live and claims the IP (a stale claim, epoch 0: it does not fence us by itself).
  const beat = () => {
    t.bBeats();
    t.clock.setTimeout(beat, 100);
  };
  beat();
  t.bClaim([{ ip: IP, epoch: 0 }]);
  t.kv.rival = (key) => t.kv.put(key, encodeEpochRecord({ epoch: 7, node: 'b' }));
  // a wins the election but b claims the IP: a waits for b's release (failback handover), which
  // never comes, and takes over when the handover times out (2 s), then loses the KV race.
  await t.run(2600);
  assert.deepEqual(t.kv.ops.slice(0, 3), ['get', 'create', 'get']);
  assert.deepEqual(t.record(), { epoch: 7, node: 'b' }, 'b’s newer record stands');
  assert.deepEqual(t.coord.owned(), []);
  assert.deepEqual(t.coord.stateOf(IP), { state: 'standby', reason: 'fencedByEpoch', epoch: 1 });
  assert.deepEqual(t.coord.kvFailures(), { racesLost: 1, outages: 0 });
  assert.deepEqual(t.l2.calls, [`announce ${IP} *`, `withdraw ${IP}`]);
});

test('every attempt loses the race: deferred as contention, still announcing, retried later', async () => {
  const t = setup();
  // A writer that always gets there first and deletes again (so every read sees an empty key).
  const create = t.kv.create.bind(t.kv);
  let races = 0;
  t.kv.create = async (k, v) => {
    if (races < 3) {
      races++;
      t.kv.ops.push('create');
      return { ok: false, kind: 'conflict', error: 'JetStreamApiError: wrong last sequence' };
    }
    return create(k, v);
  };
  await t.run(400);
  assert.deepEqual(t.kv.ops, ['get', 'create', 'get', 'create', 'get', 'create']);
  assert.deepEqual(t.coord.kvFailures(), { racesLost: 3, outages: 0 });
  const deferred = t.logs.filter((l) => l.event === 'epoch.deferred');
  assert.deepEqual(
    deferred.map((l) => l.kind),
    ['conflict'],
  );
  assert.deepEqual(t.coord.owned(), [IP]);
  await t.run(1000);
  assert.deepEqual(t.record(), { epoch: 1, node: 'a' });
});

test('L2Advertisement interfaces: announced on them; a change while announcing re-announces on the new set in the same tick', async () => {
  const t = setup(['eth0']);
  await t.run(400);
  assert.deepEqual(t.l2.calls, [`announce ${IP} eth0`]);
  t.coord.setCluster(t.spec(['eth0', 'eth1']));
  assert.deepEqual(t.l2.calls.slice(1), [`announce ${IP} eth0,eth1`], 'sent at once, before any reconcile');
  await t.run(50);
  // The same set again (other order) or a new spec with equal interfaces: nothing.
  t.coord.setCluster(t.spec(['eth1', 'eth0']));
  await t.run(50);
  assert.equal(t.l2.calls.length, 2);
  // Back to every eligible interface (none listed).
  t.coord.setCluster(t.spec());
  assert.deepEqual(t.l2.calls.slice(2), [`announce ${IP} *`]);
  await t.run(50);
  assert.deepEqual(t.coord.owned(), [IP]);
  assert.equal(t.l2.calls.filter((c) => c.startsWith('withdraw')).length, 0, 'never withdrawn');
  assert.equal(t.coord.stateOf(IP).epoch, 1, 'same epoch: not a takeover');
});

test('L2Advertisement interfaces changed while standing by: used at the next announce', async () => {
  const t = setup(['eth0']);
  await t.run(400);
  t.coord.setDraining(true); // elects around us; nobody else is eligible, so the IP is simply withdrawn
  await t.run(50);
  assert.deepEqual(t.coord.owned(), []);
  t.coord.setCluster(t.spec(['eth2']));
  await t.run(50);
  assert.equal(t.l2.calls.filter((c) => c.includes('eth2')).length, 0, 'not announced while standing by');
  t.coord.setDraining(false);
  await t.run(50);
  assert.deepEqual(t.coord.owned(), [IP]);
  assert.equal(t.l2.calls.at(-1), `announce ${IP} eth2`);
});

test('machines() lists every IP of the configuration, the ones never elected here too (the state feed snapshot)', async () => {
  const t = setup();
  const b = new Coordinator({ cluster: 'c', node: 'b', inc: 1, clock: t.clock, bus: t.bus, l2: new FakeL2(), claimsRefreshMs: 1000 });
  const moved: string[] = [];
  b.onTransition((tr) => moved.push(`${tr.from}>${tr.to}`));
  b.setCluster(t.spec());
  b.start();
  await t.run(400);
  assert.deepEqual(t.coord.machines(), [{ ip: IP, service: 'default/web', state: 'announcing', reason: undefined, epoch: 1 }]);
  // b (NetworkUnavailable) is never elected: no actor, no transition, yet it has a state and a reason.
  assert.deepEqual(moved, []);
  const [m] = b.machines();
  assert.deepEqual([m?.ip, m?.service, m?.state], [IP, 'default/web', 'standby']);
  assert.equal(m?.reason, b.stateOf(IP).reason);
  assert.ok(m?.reason, 'a reason for not announcing');
  b.halt();
  t.coord.halt();
});
