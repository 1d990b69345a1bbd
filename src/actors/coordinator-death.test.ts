// The death fast path's timing in the coordinator, on a clock that fires timers as Node does:
// `now()` is fractional (hrtime) while timers count whole loop milliseconds, so a 20 ms timer set
// at 1000.6 fires at 1020.0–1020.1, before the confirmation's deadline (1020.6). The verdict must
// still come at the deadline (not at the next routine sweep, up to an interval later), and never
// before it: a connection that comes back within the confirmation moves nothing. The takeover
// follows the verdict in the same loop turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coordinator, type ServiceSpec } from './coordinator.js';
import type { Clock, CoordBus } from './coord-ports.js';
import type { CarrierChange, L2AnnouncerPort, L2Conflict } from './l2-port.js';
import { encodeClaims, encodeHeartbeat } from '../codecs/coord.js';
import { encodeConnAdvisory } from '../codecs/nats-advisory.js';
import { claimsSubject, heartbeatSubject, presenceSubjects, subjectMatches } from '../domain/subjects.js';
import { goneConfirmMs, DEFAULT_MEMBERSHIP } from '../domain/membership.js';

const ACCOUNT = 'ACC';
const STEP = 0.1; // ms of "real" time per tick
const CONFIRM = goneConfirmMs(DEFAULT_MEMBERSHIP);

/**
 * Node's timer semantics on virtual time: `setTimeout(fn, ms)` is due at the loop's whole
 * millisecond plus `ms` (so up to 1 ms before `now() + ms`); `setTimeoutAt` as realClock does it.
 */
class NodeLikeClock implements Clock {
  private ticks = 0;
  private seq = 0;
  private timers: Array<{ due: number; seq: number; fn: () => void }> = [];
  now(): number {
    return this.ticks * STEP;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { due: Math.floor(this.now()) + Math.max(1, Math.trunc(ms)), seq: this.seq++, fn };
    this.timers.push(t);
    return t;
  }
  setTimeoutAt(fn: () => void, at: number): unknown {
    return this.setTimeout(fn, Math.max(1, Math.ceil(at) - Math.floor(this.now())));
  }
  clearTimeout(id: unknown): void {
    this.timers = this.timers.filter((t) => t !== id);
  }
  /** setImmediate: after what is due now, without waiting for the next millisecond. */
  afterIo(fn: () => void): void {
    this.timers.push({ due: this.now(), seq: this.seq++, fn });
  }
  /** Advances `ms` in steps of STEP, running due timers in (due, creation) order. */
  async advance(ms: number): Promise<void> {
    const end = Math.round((this.now() + ms) / STEP);
    while (this.ticks < end) {
      this.ticks++;
      for (;;) {
        const now = this.now();
        const due = this.timers.filter((t) => t.due <= now + 1e-9).sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
        if (!due) break;
        this.timers = this.timers.filter((t) => t !== due);
        due.fn();
        for (let k = 0; k < 5; k++) await Promise.resolve();
      }
    }
  }
  /** Advances to the next time whose fractional part is `frac` (e.g. 0.6). */
  async toFraction(frac: number): Promise<void> {
    const now = this.now();
    let target = Math.floor(now) + frac;
    if (target <= now + 1e-9) target += 1;
    await this.advance(target - now);
  }
}

/** Every message reaches every matching subscription (the publisher's too) at once. */
class Bus implements CoordBus {
  private readonly subs: Array<{ pattern: string; cb: (subject: string, data: Uint8Array) => void }> = [];
  publish(subject: string, data: Uint8Array): void {
    for (const s of [...this.subs]) if (subjectMatches(s.pattern, subject)) s.cb(subject, data);
  }
  subscribe(pattern: string, cb: (subject: string, data: Uint8Array) => void): () => void {
    const s = { pattern, cb };
    this.subs.push(s);
    return () => void this.subs.splice(this.subs.indexOf(s), 1);
  }
  onStatus(): () => void {
    return () => {};
  }
  isUp(): boolean {
    return true;
  }
}

class FakeL2 implements L2AnnouncerPort {
  readonly on = new Map<string, number>();
  constructor(private readonly clock: Clock) {}
  announce(ip: string): void {
    if (!this.on.has(ip)) this.on.set(ip, this.clock.now());
  }
  withdraw(ip: string): void {
    this.on.delete(ip);
  }
  announced(): readonly string[] {
    return [...this.on.keys()];
  }
  onConflict(_cb: (ev: L2Conflict) => void): () => void {
    return () => {};
  }
  onCarrier(_cb: (ev: CarrierChange) => void): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

const IPS = Array.from({ length: 12 }, (_, i) => `203.0.113.${10 + i}`);
const B_CONNS = [
  { s: 'S1', c: 7, n: 'b' },
  { s: 'S2', c: 9, n: 'b-mirror' },
];

/** Node `a` (under test) with the fast path on, peer `b` fed by hand: heartbeats listing two servers' connections, and its claims. */
async function setup() {
  const clock = new NodeLikeClock();
  const bus = new Bus();
  const l2 = new FakeL2(clock);
  const deaths: Array<{ at: number; cause: unknown }> = [];
  const coord = new Coordinator({
    cluster: 'c',
    node: 'a',
    inc: 1,
    clock,
    bus,
    l2,
    presenceAccount: ACCOUNT,
    log: (r) => {
      if (r.event === 'peer.dead' && r.peer === 'b') deaths.push({ at: clock.now(), cause: r.cause });
    },
  });
  const services: ServiceSpec[] = IPS.map((ip, i) => ({
    key: `default/s${i}`,
    ips: [ip],
    ads: [{ name: 'l2' }],
    etpLocal: false,
    endpointNodes: new Set(['a', 'b']),
  }));
  coord.setCluster({
    nodes: [
      { name: 'a', labels: {} },
      { name: 'b', labels: {} },
    ],
    services,
  });
  coord.start();
  let seq = 0;
  let alive = true;
  const beat = () => {
    if (!alive) return;
    bus.publish(
      heartbeatSubject('c', 'b'),
      encodeHeartbeat({ v: 1, node: 'b', inc: 1, seq: ++seq, intervalMs: 100, l2Ready: true, draining: false, conns: B_CONNS }),
    );
  };
  const beating = () => {
    beat();
    clock.setTimeout(beating, 100);
  };
  beating();
  await clock.advance(600); // past a's resync window
  const bIps = IPS.filter((ip) => coord.explain(ip).owner === 'b');
  assert.ok(bIps.length > 0 && bIps.length < IPS.length, 'both nodes own some IPs');
  bus.publish(claimsSubject('c', 'b'), encodeClaims({ v: 1, node: 'b', inc: 1, seq: 1, claims: bIps.map((ip) => ({ ip, epoch: 1 })) }));
  await clock.advance(50);
  assert.deepEqual(
    IPS.filter((ip) => l2.on.has(ip)),
    IPS.filter((ip) => !bIps.includes(ip)),
  );
  const advisory = (kind: 'connect' | 'disconnect', conn: (typeof B_CONNS)[number]) => {
    const subj = presenceSubjects(ACCOUNT);
    bus.publish(kind === 'connect' ? subj.connect : subj.disconnect, encodeConnAdvisory({ kind, conn, reason: 'Client Closed' }));
  };
  const kill = () => {
    alive = false;
    for (const c of B_CONNS) advisory('disconnect', c);
  };
  return { clock, coord, l2, deaths, bIps, kill, advisory };
}

test('SIGKILL at a fractional ms: the verdict comes at the end of the confirmation, not at the next routine sweep', async () => {
  for (const frac of [0.1, 0.5, 0.9]) {
    const { clock, l2, deaths, bIps, kill } = await setup();
    await clock.advance(37); // somewhere between two of b's heartbeats
    await clock.toFraction(frac);
    const at = clock.now();
    kill();
    await clock.advance(400);
    assert.equal(deaths.length, 1, `frac ${frac}`);
    const d = deaths[0] as { at: number; cause: unknown };
    assert.equal(d.cause, 'connections');
    assert.ok(d.at >= at + CONFIRM, `frac ${frac}: verdict ${d.at - at} ms after the advisory, before the confirmation`);
    assert.ok(
      d.at < at + CONFIRM + 2,
      `frac ${frac}: verdict ${(d.at - at).toFixed(1)} ms after the advisory (confirmation ${CONFIRM} ms)`,
    );
    // Taken over in the verdict's own loop turn (after the waiting I/O), not a 0 ms timer later.
    for (const ip of bIps) assert.equal(l2.on.get(ip), d.at, ip);
  }
});

test('a connection back within the confirmation (also at a fractional ms): nothing moves, nobody is declared dead', async () => {
  const { clock, l2, deaths, bIps, kill, advisory } = await setup();
  await clock.toFraction(0.7);
  kill();
  await clock.advance(CONFIRM - 1);
  advisory('connect', { s: 'S3', c: 11, n: 'b' });
  await clock.advance(20);
  assert.deepEqual(deaths, []);
  for (const ip of bIps) assert.equal(l2.on.has(ip), false, ip);
});
