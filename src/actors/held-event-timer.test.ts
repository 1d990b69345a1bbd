import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { HeldEventTimer } from './held-event-timer.js';

const clockOf = (sim: SimulatedClock) => ({
  now: () => sim.now(),
  setTimeout: (fn: () => void, ms: number) => sim.setTimeout(fn, ms),
  clearTimeout: (id: unknown) => sim.clearTimeout(id as number),
});

test('re-armed for the latest nextAt only, disarmed by undefined or stop, at least 1 ms ahead', () => {
  const sim = new SimulatedClock();
  let fired = 0;
  const t = new HeldEventTimer(clockOf(sim), () => fired++);
  t.arm(100);
  t.arm(50); // replaces the wait for 100
  sim.increment(49);
  assert.equal(fired, 0);
  sim.increment(1);
  assert.equal(fired, 1, 'fires at 50');
  sim.increment(100);
  assert.equal(fired, 1, 'the wait for 100 was replaced');
  t.arm(300);
  t.arm(undefined);
  sim.increment(300);
  assert.equal(fired, 1, 'disarmed');
  t.arm(sim.now()); // due now: waits a millisecond, never fires inside arm()
  assert.equal(fired, 1);
  sim.increment(1);
  assert.equal(fired, 2);
  t.arm(sim.now() + 10);
  t.stop();
  sim.increment(50);
  assert.equal(fired, 2, 'stopped');
});
