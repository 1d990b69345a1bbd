import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { BfdState, type BfdControlPacket } from '../codecs/bfd/control-packet.js';
import { bfdSessionMachine, BFD_AFTER, type BfdSessionEvent } from '../machines/bfd-session.machine.js';
import { bfdSessionCases, LOCAL, peerPacket } from '../machines/bfd-session.cases.js';
import { BfdSessionRunner } from './bfd-session-runner.js';
import { TimerQueue } from './timer-queue.js';
import { nextRandom } from '../domain/prng.js';

// Every clause test of the machine, with the session driven by the runner (fast paths on).
bfdSessionCases((clock, input, onSend, machine) =>
  new BfdSessionRunner({ input, send: onSend, timers: new TimerQueue(clock), machine }).start(),
);

test("the after-event names the runner relies on are the machine's", () => {
  const after = (id: string) => (bfdSessionMachine.getStateNodeById(id).after as Array<{ eventType: string }>).map((t) => t.eventType);
  assert.deepEqual(after('bfdSession.tx.waiting'), [BFD_AFTER.tx]);
  assert.deepEqual(after('bfdSession.detect.armed'), [BFD_AFTER.detect]);
  assert.deepEqual(after('bfdSession.detect.expiring'), [BFD_AFTER.ioGrace]);
});

/**
 * A scripted peer: handshake, long steady stretches, Polls, a config change, a silence long
 * enough to expire, AdminDown from the peer, a local admin down/up — random gaps from a seed.
 */
function script(seed: number): Array<{ at: number; ev: BfdSessionEvent }> {
  let rng = seed >>> 0;
  const rand = (): number => {
    const [r, n] = nextRandom(rng);
    rng = n;
    return r;
  };
  const out: Array<{ at: number; ev: BfdSessionEvent }> = [];
  let t = 10;
  const rx = (p: Partial<BfdControlPacket> & { state: 0 | 1 | 2 | 3 }) =>
    out.push({ at: t, ev: { type: 'bfd.packet.received', packet: peerPacket(p) } });
  for (let round = 0; round < 4; round++) {
    rx({ state: BfdState.down, yourDiscr: 0 });
    t += 20;
    rx({ state: BfdState.up, final: true });
    const steady = 50 + Math.floor(rand() * 100);
    for (let i = 0; i < steady; i++) {
      t += 60 + Math.floor(rand() * 40);
      const k = rand();
      if (k < 0.03) rx({ state: BfdState.up, poll: true });
      else if (k < 0.05) rx({ state: BfdState.up, final: true });
      else if (k < 0.06) rx({ state: BfdState.up, desiredMinTxUs: 50_000 });
      else if (k < 0.065)
        out.push({
          at: t,
          ev: { type: 'bfd.config.changed', desiredMinTxUs: 80_000, requiredMinRxUs: 120_000, detectMult: 4, passive: false },
        });
      else rx({ state: BfdState.up });
    }
    const end = rand();
    if (end < 0.4)
      t += 1000; // silence: detection expires
    else if (end < 0.7) {
      t += 50;
      rx({ state: BfdState.adminDown });
      t += 500;
    } else {
      t += 50;
      out.push({ at: t, ev: { type: 'bfd.admin.down' } });
      t += 700;
      out.push({ at: t, ev: { type: 'bfd.admin.up' } });
      t += 100;
    }
  }
  return out;
}

function run(seed: number, fastPath: boolean, txSlotMs = 0) {
  const clock = new SimulatedClock();
  const sent: Array<{ t: number; p: BfdControlPacket }> = [];
  const states: Array<{ t: number; v: string }> = [];
  const r = new BfdSessionRunner({
    input: { localDiscr: LOCAL, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, seed },
    send: (p) => sent.push({ t: clock.now(), p }),
    timers: new TimerQueue(clock),
    fastPath,
    txSlotMs,
  });
  r.subscribe((s) => {
    const v = JSON.stringify(s.value);
    if (states[states.length - 1]?.v !== v) states.push({ t: clock.now(), v });
  });
  r.start();
  const evs = script(seed);
  for (const { at, ev } of evs) {
    while (clock.now() < at) clock.increment(1);
    r.send(ev);
  }
  clock.increment(2000);
  const s = r.getSnapshot();
  return { sent, states, value: s.value, context: s.context, counts: r.counts };
}

test('fast paths are invisible: same packets at the same times, same states, same final snapshot', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    const slow = run(seed, false);
    const fast = run(seed, true);
    assert.ok(fast.counts.fastRx > 100 && fast.counts.fastTx > 100, `fast paths taken: ${JSON.stringify(fast.counts)}`);
    assert.equal(slow.counts.fastRx + slow.counts.fastTx, 0);
    assert.deepEqual(fast.sent, slow.sent, `seed ${seed}: packets`);
    assert.deepEqual(fast.states, slow.states, `seed ${seed}: states`);
    assert.deepEqual(fast.value, slow.value);
    assert.deepEqual(fast.context, slow.context);
  }
});

test('one host timer for many sessions; stopped sessions fall silent', () => {
  const clock = new SimulatedClock();
  const timers = new TimerQueue(clock);
  const sent = new Map<number, number>();
  const runners = Array.from({ length: 50 }, (_, i) =>
    new BfdSessionRunner({
      input: { localDiscr: i + 1, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 3, seed: i },
      send: () => sent.set(i, (sent.get(i) ?? 0) + 1),
      timers,
    }).start(),
  );
  for (let i = 0; i < 3000; i++) clock.increment(1);
  assert.equal((clock as unknown as { timeouts: Map<number, unknown> }).timeouts.size, 1, 'one pending host timer');
  for (let i = 0; i < 50; i++) assert.ok((sent.get(i) ?? 0) >= 3, `session ${i} sent ${sent.get(i)}`);
  for (const r of runners) r.stop();
  const before = [...sent.values()].reduce((a, b) => a + b, 0);
  for (let i = 0; i < 3000; i++) clock.increment(1);
  assert.equal(
    [...sent.values()].reduce((a, b) => a + b, 0),
    before,
  );
});

test('txSlotMs: the same session states; periodic transmissions on the slot grid within 75–100 % of the interval', () => {
  for (const seed of [1, 2, 42]) {
    const plain = run(seed, true);
    const slotted = run(seed, true, 5);
    assert.deepEqual(slotted.states, plain.states, `seed ${seed}: states`);
  }
  const clock = new SimulatedClock();
  const sent: Array<{ t: number; p: BfdControlPacket }> = [];
  let polled = false;
  const r = new BfdSessionRunner({
    input: { localDiscr: LOCAL, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 3, seed: 7 },
    send: (p) => {
      sent.push({ t: clock.now(), p });
      if (p.poll) polled = true;
    },
    timers: new TimerQueue(clock),
    txSlotMs: 2,
  }).start();
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i++) clock.increment(1);
  };
  advance(10);
  r.receive(peerPacket({ state: BfdState.down, yourDiscr: 0, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000 }));
  advance(10);
  r.receive(peerPacket({ state: BfdState.up, final: true, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000 }));
  for (let t = 0; t < 5000; t += 40) {
    advance(40);
    // The peer answers our Poll (the 50 ms timers installed on Up) with a Final.
    r.receive(peerPacket({ state: BfdState.up, final: polled, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000 }));
    polled = false;
  }
  assert.ok(r.counts.fastTx > 80, `fast transmissions: ${r.counts.fastTx}`);
  const periodic = sent.filter((x) => x.t > 2000 && !x.p.poll && !x.p.final);
  for (let i = 1; i < periodic.length; i++) {
    const gap = periodic[i]!.t - periodic[i - 1]!.t;
    assert.ok(gap >= 37.5 && gap <= 50, `gap ${gap} ms at ${periodic[i]!.t}`);
    assert.equal(periodic[i]!.t % 2, 0, `on the grid: ${periodic[i]!.t}`);
  }
});
