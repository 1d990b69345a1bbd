import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ioModeAfterPoll, ioModeStart, ioModeWindowMs, WINDOW_PERIODS, type BfdIoModeState } from './bfd-io-mode.js';

const P = 10; // period (ms)

/** Runs polls given as [time, readiness, datagrams] from a start state; returns every state. */
function run(s0: BfdIoModeState, polls: Array<[number, boolean, number]>): BfdIoModeState[] {
  const out: BfdIoModeState[] = [];
  let s = s0;
  for (const [t, readiness, datagrams] of polls) {
    s = ioModeAfterPoll(s, t, P, { readiness, datagrams });
    out.push(s);
  }
  return out;
}

test('readiness: a few wake-ups per window stay on readiness (an idle or light speaker)', () => {
  // One session at 300 ms: about 4 packets a second, each its own wake-up, for 10 s.
  const polls: Array<[number, boolean, number]> = [];
  for (let t = 0; t < 10_000; t += 75) polls.push([t, true, 1]);
  assert.ok(run(ioModeStart('readiness', 0), polls).every((s) => s.mode === 'readiness'));
});

test('readiness → tick as soon as readiness wake-ups reach half the grid rate within one window', () => {
  // 100 sessions at 50 ms: a wake-up every 0.5 ms.
  const polls: Array<[number, boolean, number]> = Array.from({ length: 40 }, (_, i) => [i * 0.5, true, 1]);
  const states = run(ioModeStart('readiness', 0), polls);
  const first = states.findIndex((s) => s.mode === 'tick');
  assert.equal(first, Math.ceil(WINDOW_PERIODS / 2) - 1);
  assert.ok(states[first]!.since === polls[first]![0] && states[first]!.datagrams === 0);
});

test('readiness: polls of timer passes do not count as wake-ups, however much they read', () => {
  const polls: Array<[number, boolean, number]> = Array.from({ length: 200 }, (_, i) => [i, false, 64]);
  assert.ok(run(ioModeStart('readiness', 0), polls).every((s) => s.mode === 'readiness' && s.wakeups === 0));
});

test('readiness: the count starts again in each window', () => {
  // Just under the threshold in every window: stays.
  const per = Math.ceil(WINDOW_PERIODS / 2) - 1;
  const w = ioModeWindowMs(P);
  const polls: Array<[number, boolean, number]> = [];
  for (let k = 0; k < 8; k++) for (let i = 0; i < per; i++) polls.push([k * w + i, true, 1]);
  assert.ok(run(ioModeStart('readiness', 0), polls).every((s) => s.mode === 'readiness'));
});

test('tick → readiness when a window closes with at most a quarter of the grid rate in datagrams', () => {
  const w = ioModeWindowMs(P);
  const polls: Array<[number, boolean, number]> = [];
  for (let t = P; t <= w; t += P) polls.push([t, false, t % 40 === 0 ? 1 : 0]);
  const states = run(ioModeStart('tick', 0), polls);
  assert.equal(states.at(-1)!.mode, 'readiness');
  assert.ok(
    states.slice(0, -1).every((s) => s.mode === 'tick'),
    'not before the window closes',
  );
});

test('tick stays while the datagrams are above a quarter of the grid rate', () => {
  const polls: Array<[number, boolean, number]> = [];
  for (let t = P; t <= 10_000; t += P) polls.push([t, false, 20]);
  assert.ok(run(ioModeStart('tick', 0), polls).every((s) => s.mode === 'tick'));
});

test('tick: the threshold is inclusive and the closing poll counts', () => {
  const w = ioModeWindowMs(P);
  const q = Math.floor(WINDOW_PERIODS / 4);
  const at = (extra: number) =>
    run(ioModeStart('tick', 0), [
      [1, false, q - 1],
      [w, false, extra],
    ]).at(-1)!.mode;
  assert.equal(at(1), 'readiness');
  assert.equal(at(2), 'tick');
});

test('a steady packet rate does not flap between the modes (hysteresis)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4000 }), fc.constantFrom<'readiness' | 'tick'>('readiness', 'tick'), (perSecond, start) => {
      // Readiness: one wake-up per packet (the worst case); tick: the packets land in the ticks.
      const gap = 1000 / perSecond;
      let s = ioModeStart(start, 0);
      let switches = 0;
      let nextPacket = 0;
      let t = 0;
      while (t < 5000) {
        const prev = s.mode;
        if (s.mode === 'readiness') {
          t = nextPacket;
          nextPacket += gap;
          s = ioModeAfterPoll(s, t, P, { readiness: true, datagrams: 1 });
        } else {
          t += P;
          let n = 0;
          while (nextPacket <= t) {
            n++;
            nextPacket += gap;
          }
          s = ioModeAfterPoll(s, t, P, { readiness: false, datagrams: n });
        }
        if (s.mode !== prev) switches++;
      }
      return switches <= 1;
    }),
  );
});
