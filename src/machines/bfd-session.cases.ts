// The bfdSession clause tests, one per RFC rule, written once and run against every way the
// machine is driven: an XState actor (bfd-session.machine.test.ts) and the shared-timer session
// runner (actors/bfd-session-runner.test.ts). Time is XState's SimulatedClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { BfdDiag, BfdState, type BfdControlPacket, type BfdStateCode } from '../codecs/bfd/control-packet.js';
import {
  bfdSessionMachine,
  sessionStateOf,
  type BfdSessionEvent,
  type BfdSessionInput,
  type BfdSessionMachine,
} from './bfd-session.machine.js';

export const LOCAL = 0x1001;
export const REMOTE = 0x2002;

interface Sent {
  t: number;
  p: BfdControlPacket;
}

/** A running session as the cases drive it. */
export interface SessionUnderTest {
  send(event: BfdSessionEvent): void;
  getSnapshot(): { value: unknown; context: ReturnType<BfdSessionMachine['getInitialSnapshot']>['context'] };
}

/** Starts `machine` with `input` on `clock`; every packet the session sends goes to `onSend`. */
export type StartSession = (
  clock: SimulatedClock,
  input: BfdSessionInput,
  onSend: (p: BfdControlPacket) => void,
  machine: BfdSessionMachine,
) => SessionUnderTest;

export function peerPacket(p: Partial<BfdControlPacket> & { state: BfdStateCode }): BfdControlPacket {
  return {
    version: 1,
    diag: 0,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscr: REMOTE,
    yourDiscr: LOCAL,
    desiredMinTxUs: 100_000,
    requiredMinRxUs: 100_000,
    requiredMinEchoRxUs: 0,
    ...p,
  };
}

export function bfdSessionCases(start: StartSession): void {
  function harness(input: Partial<BfdSessionInput> = {}, machine: BfdSessionMachine = bfdSessionMachine) {
    const clock = new SimulatedClock();
    const sent: Sent[] = [];
    const actor = start(
      clock,
      { localDiscr: LOCAL, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, seed: 7, ...input },
      (packet) => {
        sent.push({ t: clock.now(), p: packet });
      },
      machine,
    );
    const h = {
      clock,
      sent,
      actor,
      state: () => sessionStateOf(actor.getSnapshot().value),
      ctx: () => actor.getSnapshot().context,
      /** Advances simulated time in 1 ms steps so timers re-armed on the way fire on time. */
      advance(ms: number) {
        for (let i = 0; i < ms; i++) clock.increment(1);
      },
      rx(p: Partial<BfdControlPacket> & { state: BfdStateCode }) {
        actor.send({ type: 'bfd.packet.received', packet: peerPacket(p) });
      },
      last: () => sent[sent.length - 1]?.p,
      /** Drives the three-way handshake as the peer would (peer at 100 ms × 3 after its own Poll). */
      bringUp() {
        h.rx({ state: BfdState.down, yourDiscr: 0 });
        assert.equal(h.state(), 'init');
        h.rx({ state: BfdState.up });
        assert.equal(h.state(), 'up');
      },
    };
    return h;
  }

  test('§6.8.3 starts Down and transmits slowly (≥ 1 s advertised, 750–1000 ms apart)', () => {
    const h = harness();
    assert.equal(h.state(), 'down');
    h.advance(3000);
    assert.ok(h.sent.length >= 3 && h.sent.length <= 4, `sent ${h.sent.length}`);
    for (const s of h.sent) {
      assert.equal(s.p.state, BfdState.down);
      assert.equal(s.p.yourDiscr, 0);
      assert.equal(s.p.myDiscr, LOCAL);
      assert.equal(s.p.desiredMinTxUs, 1_000_000);
      assert.equal(s.p.requiredMinRxUs, 100_000);
      assert.equal(s.p.requiredMinEchoRxUs, 0);
    }
    for (let i = 1; i < h.sent.length; i++) {
      const gap = h.sent[i]!.t - h.sent[i - 1]!.t;
      assert.ok(gap >= 750 && gap <= 1000, `gap ${gap}`);
    }
  });

  test('§6.8.6 state table: Down + Down → Init, Init + Up → Up; discriminators learned', () => {
    const h = harness();
    // A peer that is not Up transmits at ≥ 1 s (§6.8.3).
    h.rx({ state: BfdState.down, yourDiscr: 0, desiredMinTxUs: 1_000_000 });
    assert.equal(h.state(), 'init');
    assert.equal(h.ctx().remoteDiscr, REMOTE);
    h.advance(1000);
    assert.equal(h.last()?.state, BfdState.init);
    assert.equal(h.last()?.yourDiscr, REMOTE);
    h.rx({ state: BfdState.up });
    assert.equal(h.state(), 'up');
    assert.equal(h.ctx().localDiag, BfdDiag.none);
  });

  test('§6.8.6 state table: Down + Init → Up directly', () => {
    const h = harness();
    h.rx({ state: BfdState.init });
    assert.equal(h.state(), 'up');
  });

  test('§6.8.6 state table: Down + Up stays Down; Init + Down stays Init', () => {
    const h = harness();
    h.rx({ state: BfdState.up });
    assert.equal(h.state(), 'down');
    h.rx({ state: BfdState.down, yourDiscr: 0 });
    assert.equal(h.state(), 'init');
    h.rx({ state: BfdState.down });
    assert.equal(h.state(), 'init');
  });

  test('§6.8.3 on Up a Poll Sequence moves to the profile interval; Final ends it', () => {
    const h = harness();
    h.bringUp();
    h.advance(100);
    const polls = h.sent.filter((s) => s.p.poll);
    assert.ok(polls.length >= 1, 'a Poll went out on the faster timer');
    assert.equal(polls[0]!.p.desiredMinTxUs, 100_000);
    assert.equal(polls[0]!.p.state, BfdState.up);
    assert.equal(polls[0]!.p.final, false);
    assert.equal(h.ctx().pollActive, true);
    h.rx({ state: BfdState.up, final: true });
    assert.equal(h.ctx().pollActive, false);
    const n = h.sent.length;
    for (let i = 0; i < 5; i++) {
      h.advance(100);
      h.rx({ state: BfdState.up });
    }
    assert.equal(h.state(), 'up');
    const after = h.sent.slice(n);
    assert.ok(after.length >= 5, `sent ${after.length} in 500 ms`);
    assert.ok(
      after.every((s) => !s.p.poll),
      'no Poll after the Final',
    );
  });

  test('§6.8.6 a Poll is answered with a Final at once (no time passes) and the TX timer re-armed', () => {
    const h = harness();
    h.bringUp();
    h.rx({ state: BfdState.up, final: true });
    const n = h.sent.length;
    h.rx({ state: BfdState.up, poll: true, desiredMinTxUs: 50_000, requiredMinRxUs: 300_000 });
    assert.equal(h.sent.length, n + 1);
    const f = h.last()!;
    assert.equal(f.final, true);
    assert.equal(f.poll, false, 'P and F never both set');
    assert.equal(f.state, BfdState.up);
    // The peer now wants packets no faster than 300 ms: next periodic packet ≥ 225 ms later.
    const t0 = h.clock.now();
    h.advance(400);
    const next = h.sent.slice(n + 1);
    assert.ok(next.length >= 1);
    assert.ok(next[0]!.t - t0 >= 225, `next after ${next[0]!.t - t0} ms`);
  });

  test('§6.8.4 detection time expiry: Up → Down with diag 1, remote discriminator forgotten', () => {
    const h = harness();
    h.bringUp();
    h.rx({ state: BfdState.up, final: true });
    h.advance(299);
    assert.equal(h.state(), 'up', 'still Up just before 3 × 100 ms');
    h.advance(2);
    assert.equal(h.state(), 'down');
    assert.equal(h.ctx().localDiag, BfdDiag.controlDetectionTimeExpired);
    assert.equal(h.ctx().downReason, 'detectTimeExpired');
    assert.equal(h.ctx().remoteDiscr, 0);
    // §6.8.3: back to slow transmission once not Up.
    h.advance(1000);
    assert.equal(h.last()?.desiredMinTxUs, 1_000_000);
    assert.equal(h.last()?.state, BfdState.down);
    assert.equal(h.last()?.diag, BfdDiag.controlDetectionTimeExpired);
  });

  test('§6.8.4 a packet delivered at the deadline (before the I/O grace turn) keeps the session Up', () => {
    // ioGrace is 0 in production (one event-loop turn); 1 ms here so the test can land a packet in it.
    const h = harness({ seed: 1 }, bfdSessionMachine.provide({ delays: { ioGrace: 1 } }));
    h.rx({ state: BfdState.init });
    h.advance(300);
    assert.equal((h.actor.getSnapshot().value as { detect: string }).detect, 'expiring');
    h.rx({ state: BfdState.up });
    h.advance(5);
    assert.equal(h.state(), 'up');
    h.advance(302);
    assert.equal(h.state(), 'down', 'and expires normally when nothing arrives');
  });

  test('§6.8.4 every accepted packet resets the detection timer', () => {
    const h = harness();
    h.bringUp();
    for (let i = 0; i < 20; i++) {
      h.advance(250);
      h.rx({ state: BfdState.up });
    }
    assert.equal(h.state(), 'up');
  });

  test('§6.8.4 detection time = remote Detect Mult × max(our RequiredMinRx, remote DesiredMinTx)', () => {
    const h = harness();
    h.rx({ state: BfdState.init, detectMult: 5, desiredMinTxUs: 200_000 });
    assert.equal(h.state(), 'up');
    h.advance(999);
    assert.equal(h.state(), 'up');
    h.advance(2);
    assert.equal(h.state(), 'down');
  });

  test('§6.8.4 detection in Init: Init → Down with diag 1', () => {
    const h = harness();
    h.rx({ state: BfdState.down, yourDiscr: 0, desiredMinTxUs: 1_000_000 });
    assert.equal(h.state(), 'init');
    h.advance(3001);
    assert.equal(h.state(), 'down');
    assert.equal(h.ctx().localDiag, BfdDiag.controlDetectionTimeExpired);
  });

  test('§6.8.6 Up + remote Down → Down with diag 3 (neighbor signaled session down)', () => {
    const h = harness();
    h.bringUp();
    h.rx({ state: BfdState.down, diag: BfdDiag.controlDetectionTimeExpired });
    assert.equal(h.state(), 'down');
    assert.equal(h.ctx().localDiag, BfdDiag.neighborSignaledSessionDown);
    assert.equal(h.ctx().downReason, 'neighborDown');
  });

  test('§6.8.6 remote AdminDown: Up/Init → Down with diag 3, reason neighborAdminDown; Down stays Down', () => {
    const h = harness();
    h.bringUp();
    h.rx({ state: BfdState.adminDown, diag: BfdDiag.administrativelyDown });
    assert.equal(h.state(), 'down');
    assert.equal(h.ctx().localDiag, BfdDiag.neighborSignaledSessionDown);
    assert.equal(h.ctx().downReason, 'neighborAdminDown');
    h.rx({ state: BfdState.adminDown });
    assert.equal(h.state(), 'down');
    const i = harness();
    i.rx({ state: BfdState.down, yourDiscr: 0 });
    i.rx({ state: BfdState.adminDown });
    assert.equal(i.state(), 'down');
  });

  test('§6.8.16 local admin down: AdminDown packets with diag 7; received packets discarded; admin up → Down', () => {
    const h = harness();
    h.bringUp();
    h.actor.send({ type: 'bfd.admin.down' });
    assert.equal(h.state(), 'adminDown');
    h.advance(1000);
    assert.equal(h.last()?.state, BfdState.adminDown);
    assert.equal(h.last()?.diag, BfdDiag.administrativelyDown);
    h.rx({ state: BfdState.up });
    h.rx({ state: BfdState.init });
    assert.equal(h.state(), 'adminDown', '§6.8.6: AdminDown discards received packets');
    h.advance(5000);
    assert.equal(h.state(), 'adminDown', 'no detection timer in AdminDown');
    h.actor.send({ type: 'bfd.admin.up' });
    assert.equal(h.state(), 'down');
    assert.equal(h.ctx().localDiag, BfdDiag.none);
  });

  test('§6.8.16 a session can start AdminDown', () => {
    const h = harness({ adminDown: true });
    assert.equal(h.state(), 'adminDown');
    h.actor.send({ type: 'bfd.admin.up' });
    assert.equal(h.state(), 'down');
  });

  test('§6.1/§6.8.7 passive: silent until the remote discriminator is known, then answers', () => {
    const h = harness({ passive: true });
    h.advance(5000);
    assert.equal(h.sent.length, 0);
    h.rx({ state: BfdState.down, yourDiscr: 0 });
    h.advance(1000);
    assert.ok(h.sent.length >= 1);
    assert.equal(h.last()?.state, BfdState.init);
    assert.equal(h.last()?.yourDiscr, REMOTE);
    // Detection time passes: the remote discriminator is zeroed and the passive side falls silent.
    h.advance(3001);
    const n = h.sent.length;
    h.advance(5000);
    assert.equal(h.sent.length, n);
  });

  test('§6.8.7 no periodic packets while the remote RequiredMinRxInterval is zero; a Final still goes', () => {
    const h = harness();
    h.bringUp();
    h.rx({ state: BfdState.up, requiredMinRxUs: 0 });
    const n = h.sent.length;
    h.advance(250);
    h.rx({ state: BfdState.up, requiredMinRxUs: 0 });
    h.advance(250);
    assert.equal(h.sent.length, n);
    h.rx({ state: BfdState.up, requiredMinRxUs: 0, poll: true });
    assert.equal(h.sent.length, n + 1);
    assert.equal(h.last()?.final, true);
  });

  test('§6.8.6 session-level discards: Your Discriminator mismatch, A bit without authentication', () => {
    const h = harness();
    h.rx({ state: BfdState.down, yourDiscr: 0x9999 });
    assert.equal(h.state(), 'down');
    assert.equal(h.ctx().remoteDiscr, 0);
    h.rx({ state: BfdState.down, yourDiscr: 0, auth: { type: 1, length: 3, data: new Uint8Array([1]) } });
    assert.equal(h.state(), 'down');
    assert.equal(h.ctx().remoteDiscr, 0);
  });

  test('§6.8.6 a Final without an outstanding Poll does not end a Poll Sequence not yet sent', () => {
    const h = harness();
    h.bringUp();
    // Poll armed but not sent yet (the faster timer has not fired).
    assert.equal(h.ctx().pollActive, true);
    assert.equal(h.ctx().pollSent, false);
    h.rx({ state: BfdState.up, final: true });
    assert.equal(h.ctx().pollActive, true);
  });

  test('§6.8.7 jitter: periodic gaps within 75–100 % of the interval', () => {
    const h = harness({ seed: 99 });
    h.bringUp();
    h.rx({ state: BfdState.up, final: true });
    // Keep the session alive; record our gaps at 100 ms.
    const start = h.sent.length;
    for (let i = 0; i < 40; i++) {
      h.advance(50);
      h.rx({ state: BfdState.up });
    }
    const s = h.sent.slice(start + 1);
    const gaps = s.slice(1).map((x, i) => x.t - s[i]!.t);
    assert.ok(gaps.length >= 15);
    for (const g of gaps) assert.ok(g >= 75 && g <= 100, `gap ${g}`);
    assert.ok(new Set(gaps).size > 3, 'gaps vary');
  });

  test('§6.8.7 jitter with Detect Mult 1: gaps within 75–90 %', () => {
    const h = harness({ detectMult: 1, seed: 3 });
    h.bringUp();
    h.rx({ state: BfdState.up, final: true });
    const start = h.sent.length;
    for (let i = 0; i < 40; i++) {
      h.advance(50);
      h.rx({ state: BfdState.up });
    }
    const s = h.sent.slice(start + 1);
    const gaps = s.slice(1).map((x, i) => x.t - s[i]!.t);
    assert.ok(gaps.length >= 15);
    for (const g of gaps) assert.ok(g >= 75 && g <= 90, `gap ${g}`);
  });

  test('jitter is reproducible from the seed', () => {
    const times = (seed: number) => {
      const h = harness({ seed });
      h.advance(10_000);
      return h.sent.map((s) => s.t);
    };
    assert.deepEqual(times(5), times(5));
    assert.notDeepEqual(times(5), times(6));
  });

  test('§6.8.3 config change while Up: slower TX waits for the Final, faster RX detection too', () => {
    const h = harness();
    h.bringUp();
    h.rx({ state: BfdState.up, final: true });
    h.actor.send({ type: 'bfd.config.changed', desiredMinTxUs: 300_000, requiredMinRxUs: 50_000, detectMult: 3, passive: false });
    const c = h.ctx();
    assert.equal(c.pollActive, true);
    assert.equal(c.desiredMinTxUs, 300_000);
    assert.equal(c.txInEffectUs, 100_000, 'slower TX not applied before the Final');
    assert.equal(c.rxInEffectUs, 100_000, 'faster RX not applied before the Final');
    h.advance(100);
    assert.ok(h.sent.some((s) => s.p.poll && s.p.desiredMinTxUs === 300_000 && s.p.requiredMinRxUs === 50_000));
    h.rx({ state: BfdState.up, final: true });
    assert.equal(h.ctx().txInEffectUs, 300_000);
    assert.equal(h.ctx().rxInEffectUs, 50_000);
    assert.equal(h.ctx().pollActive, false);
  });

  test('config change while Down applies at once, still slow until Up', () => {
    const h = harness();
    h.actor.send({ type: 'bfd.config.changed', desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 5, passive: false });
    assert.equal(h.ctx().pollActive, false);
    h.advance(1000);
    assert.equal(h.last()?.desiredMinTxUs, 1_000_000);
    assert.equal(h.last()?.requiredMinRxUs, 50_000);
    assert.equal(h.last()?.detectMult, 5);
  });
}
