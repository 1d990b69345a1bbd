import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { advertisedTxUs, detectTimeUs, ioPollPeriodMs, jitteredMs, nextRandom, slotDeadline, txIntervalUs, txJitterBoundsMs } from './bfd-timers.js';

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

test('slotDeadline: on the slot grid at or before the drawn deadline, else the next slot', () => {
  // now 1000.3, drawn 40 ms → 1040.3 → slot 1040 (delay 39.7, within 37.5–50).
  assert.equal(slotDeadline(1000.3, 40, 37.5, 50, 2), 1040);
  // drawn 37.6 → 1037.9 → 1036 is below the lower bound (1037.8): next slot 1038.
  assert.equal(slotDeadline(1000.3, 37.6, 37.5, 50, 2), 1038);
  // no slot in the bounds (slot wider than the jitter span): unchanged.
  assert.equal(slotDeadline(1000.3, 40, 39.8, 40.5, 5), 1040.3);
  // slot 0: unchanged.
  assert.equal(slotDeadline(1000.3, 40, 37.5, 50, 0), 1040.3);
});

test('slotDeadline keeps every transmit delay within the §6.8.7 bounds and on the grid when it moves it', () => {
  fc.assert(fc.property(
    fc.double({ min: 0, max: 1e7, noNaN: true }), fc.integer({ min: 10_000, max: 1_000_000 }), fc.integer({ min: 1, max: 3 }),
    fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(1, 2, 5),
    (now, intervalUs, mult, r, slot) => {
      const { lo, hi } = txJitterBoundsMs(intervalUs, mult);
      const delay = jitteredMs(intervalUs, mult, r);
      const at = slotDeadline(now, delay, lo, hi, slot);
      const d = at - now;
      assert.ok(d >= lo - 1e-6 && d <= hi + 1e-6, `delay ${d} outside [${lo}, ${hi}]`);
      if (at !== now + delay) assert.equal(at % slot, 0);
    },
  ));
});

test('ioPollPeriodMs: a fiftieth of the shortest interval, 2–20 ms', () => {
  assert.equal(ioPollPeriodMs(10), 2);
  assert.equal(ioPollPeriodMs(50), 2);
  assert.equal(ioPollPeriodMs(100), 2);
  assert.equal(ioPollPeriodMs(300), 6);
  assert.equal(ioPollPeriodMs(60_000), 20);
  assert.equal(ioPollPeriodMs(NaN), 20);
});
