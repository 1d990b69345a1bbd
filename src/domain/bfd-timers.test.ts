import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advertisedTxUs, detectTimeUs, jitteredMs, nextRandom, txIntervalUs } from './bfd-timers.js';

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
