import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  advertisedTxUs,
  detectTimeUs,
  ioPollPeriodMs,
  jitteredMs,
  nextRandom,
  slotDeadline,
  txIntervalUs,
  txJitterBoundsMs,
} from './bfd-timers.js';

test('§6.8.3 advertised DesiredMinTx is at least 1 s until Up', () => {
  assert.equal(advertisedTxUs(100_000, false), 1_000_000);
  assert.equal(advertisedTxUs(100_000, true), 100_000);
  assert.equal(advertisedTxUs(2_000_000, false), 2_000_000);
});

test('§6.8.7 transmit interval: the slower side decides', () => {
  assert.equal(txIntervalUs(50_000, 300_000), 300_000);
  assert.equal(txIntervalUs(300_000, 50_000), 300_000);
  assert.equal(txIntervalUs(100_000, 1), 100_000);
});

test('§6.8.4 detection time = remote Detect Mult × max(our RequiredMinRx, remote DesiredMinTx)', () => {
  assert.equal(detectTimeUs(3, 100_000, 100_000), 300_000);
  assert.equal(detectTimeUs(3, 100_000, 1_000_000), 3_000_000);
  assert.equal(detectTimeUs(5, 300_000, 50_000), 1_500_000);
});

test('§6.8.7 jitter bounds: 75–100 %, 75–90 % with Detect Mult 1', () => {
  assert.equal(jitteredMs(100_000, 3, 0), 75);
  assert.ok(jitteredMs(100_000, 3, 0.999999) < 100);
  assert.ok(jitteredMs(100_000, 3, 0.999999) > 99.9);
  assert.equal(jitteredMs(100_000, 1, 0), 75);
  assert.ok(jitteredMs(100_000, 1, 0.999999) < 90);
});

test('nextRandom: deterministic, in [0,1), spread', () => {
  let s = 12345;
  const seen: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const [r, n] = nextRandom(s);
    s = n;
    assert.ok(r >= 0 && r < 1);
    seen.push(r);
  }
  assert.deepEqual(nextRandom(12345), nextRandom(12345));
  const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
  assert.ok(mean > 0.45 && mean < 0.55, `mean ${mean}`);
  assert.ok(seen.filter((r) => r < 0.1).length > 800);
});

test('§6.8.7 jitter bounds: 75–100 % of the interval, 75–90 % with Detect Mult 1', () => {
  assert.deepEqual(txJitterBoundsMs(50_000, 3), { lo: 37.5, hi: 50 });
  assert.deepEqual(txJitterBoundsMs(100_000, 1), { lo: 75, hi: 90 });
});

test('slotDeadline: one of the slot boundaries inside the bounds, chosen by the draw', () => {
  // now 1000.3, bounds 37.5–50 → [1037.8, 1050.3]; 2 ms slots: 1038, 1040, …, 1050 (7 boundaries).
  assert.equal(slotDeadline(1000.3, 37.5, 37.5, 50, 2), 1038); // the lowest draw: the first
  assert.equal(slotDeadline(1000.3, 49.99, 37.5, 50, 2), 1050); // the highest: the last
  assert.equal(slotDeadline(1000.3, 43.75, 37.5, 50, 2), 1044); // the middle: the middle one
  // 10 ms slots from a pass on the grid: 40 or 50 ms, half the draws each.
  assert.equal(slotDeadline(1000, 40, 37.5, 50, 10), 1040);
  assert.equal(slotDeadline(1000, 44, 37.5, 50, 10), 1050);
  // one boundary inside (now off the grid): that one.
  assert.equal(slotDeadline(1005, 38, 37.5, 50, 10), 1050);
  // no slot in the bounds (slot wider than the jitter span): unchanged.
  assert.equal(slotDeadline(1000.3, 40, 39.8, 40.5, 5), 1040.3);
  // slot 0: unchanged.
  assert.equal(slotDeadline(1000.3, 40, 37.5, 50, 0), 1040.3);
});

test('slotDeadline keeps the jitter random: uniform draws spread evenly over the boundaries', () => {
  const counts = new Map<number, number>();
  for (let i = 0; i < 1000; i++) {
    const at = slotDeadline(2000, jitteredMs(50_000, 3, i / 1000), 37.5, 50, 10) - 2000;
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  assert.deepEqual(
    [...counts.keys()].sort((a, b) => a - b),
    [40, 50],
  );
  assert.equal(counts.get(40), 500);
});

test('slotDeadline keeps every transmit delay within the §6.8.7 bounds and on the grid when it moves it', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e7, noNaN: true }),
      fc.integer({ min: 10_000, max: 1_000_000 }),
      fc.integer({ min: 1, max: 3 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom(1, 2, 5, 10),
      (now, intervalUs, mult, r, slot) => {
        const { lo, hi } = txJitterBoundsMs(intervalUs, mult);
        const delay = jitteredMs(intervalUs, mult, r);
        const at = slotDeadline(now, delay, lo, hi, slot);
        const d = at - now;
        assert.ok(d >= lo - 1e-6 && d <= hi + 1e-6, `delay ${d} outside [${lo}, ${hi}]`);
        if (at !== now + delay) assert.equal(at % slot, 0);
      },
    ),
  );
});

test('ioPollPeriodMs: a fifth of the shortest interval, 2–10 ms', () => {
  assert.equal(ioPollPeriodMs(10), 2);
  assert.equal(ioPollPeriodMs(20), 4);
  assert.equal(ioPollPeriodMs(50), 10);
  assert.equal(ioPollPeriodMs(300), 10);
  assert.equal(ioPollPeriodMs(60_000), 10);
  assert.equal(ioPollPeriodMs(NaN), 10);
});
