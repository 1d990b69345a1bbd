import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { TimerEntry, TimerQueue } from './timer-queue.js';

const step = (clock: SimulatedClock, ms: number) => {
  for (let i = 0; i < ms; i++) clock.increment(1);
};

test('entries fire at their deadlines, in deadline order, ties in arming order', () => {
  const clock = new SimulatedClock();
  const q = new TimerQueue(clock);
  const fired: Array<[string, number]> = [];
  const e = (name: string) => new TimerEntry(() => fired.push([name, clock.now()]));
  const a = e('a');
  const b = e('b');
  const c = e('c');
  q.arm(a, 30);
  q.arm(b, 10);
  q.arm(c, 10);
  step(clock, 50);
  assert.deepEqual(fired, [
    ['b', 10],
    ['c', 10],
    ['a', 30],
  ]);
});

test('re-arming later moves the deadline (lazily), earlier too; disarm stops it', () => {
  const clock = new SimulatedClock();
  const q = new TimerQueue(clock);
  const fired: number[] = [];
  const d = new TimerEntry(() => fired.push(clock.now()));
  q.arm(d, 100);
  for (let t = 0; t < 5; t++) {
    step(clock, 60);
    q.arm(d, 100);
  } // re-armed every 60 ms: never fires
  assert.deepEqual(fired, []);
  step(clock, 100);
  assert.deepEqual(fired, [400]);
  q.arm(d, 100);
  q.arm(d, 20);
  step(clock, 30);
  assert.deepEqual(fired, [400, 420]);
  q.arm(d, 10);
  q.disarm(d);
  step(clock, 200);
  assert.deepEqual(fired, [400, 420]);
  assert.ok(!d.armed);
});

test('an entry armed while the queue fires waits for the next host timer callback, even at delay 0', () => {
  const clock = new SimulatedClock();
  const q = new TimerQueue(clock);
  const order: string[] = [];
  const later = new TimerEntry(() => order.push('zero-delay'));
  const first = new TimerEntry(() => {
    order.push('first');
    q.arm(later, 0);
  });
  const second = new TimerEntry(() => order.push('second'));
  q.arm(first, 5);
  q.arm(second, 5);
  // Run the queue's host callback by hand to see one pass: both due entries, not the new one.
  step(clock, 4);
  const pending = (clock as unknown as { timeouts: Map<number, { fn: () => void }> }).timeouts;
  assert.equal(pending.size, 1);
  (clock as unknown as { _now: number })._now = 5;
  const [id, t] = [...pending][0]!;
  pending.delete(id);
  t.fn();
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(pending.size, 1, 'a new host timer for the zero-delay entry');
  [...pending][0]![1].fn();
  assert.deepEqual(order, ['first', 'second', 'zero-delay']);
});

test('armAt: absolute deadlines; pollers run before any due entry, entries they arm wait for the next pass', () => {
  const clock = new SimulatedClock();
  const q = new TimerQueue(clock);
  const log: string[] = [];
  const late = new TimerEntry(() => log.push(`late@${clock.now()}`));
  const d = new TimerEntry(() => log.push(`d@${clock.now()}`));
  q.armAt(d, 10);
  let polls = 0;
  const remove = q.addPoller(() => {
    polls++;
    log.push(`poll@${clock.now()}`);
    // A poller that re-arms to the same instant (a packet read just before the deadline):
    if (polls === 1) q.armAt(late, clock.now());
  });
  step(clock, 10);
  assert.deepEqual(log, ['poll@10', 'd@10']);
  step(clock, 1);
  assert.deepEqual(log, ['poll@10', 'd@10', 'poll@11', 'late@11']);
  remove();
  q.armAt(d, 20);
  step(clock, 10);
  assert.deepEqual(log.slice(4), ['d@20']);
});

test('a poller that re-arms the entry about to fire to a later deadline keeps it from firing', () => {
  const clock = new SimulatedClock();
  const q = new TimerQueue(clock);
  const fired: number[] = [];
  const detect = new TimerEntry(() => fired.push(clock.now()));
  q.arm(detect, 30);
  let packet = true;
  q.addPoller(() => {
    if (packet) {
      packet = false;
      q.arm(detect, 30);
    }
  });
  step(clock, 100);
  assert.deepEqual(fired, [60]);
});

test('a lazily re-armed entry costs no host wake-up at its old deadline', () => {
  const clock = new SimulatedClock();
  let wakes = 0;
  const q = new TimerQueue({
    now: () => clock.now(),
    setTimeout: (fn, ms) =>
      clock.setTimeout(() => {
        wakes++;
        fn();
      }, ms),
    clearTimeout: (h) => clock.clearTimeout(h as number),
  });
  let detectFired = 0;
  const detect = new TimerEntry(() => detectFired++);
  let txFired = 0;
  // The transmit timer fires every 50 ms; each time a "packet" re-arms detection to 120 ms.
  const tx: TimerEntry = new TimerEntry(() => {
    txFired++;
    q.arm(detect, 120);
    q.arm(tx, 50);
  });
  q.arm(tx, 50);
  q.arm(detect, 120);
  step(clock, 1000);
  assert.equal(detectFired, 0);
  assert.equal(txFired, 20);
  assert.equal(wakes, 20, 'one wake-up per transmission, none for the detection timer');
});

test('after-pass functions run once per pass, after the due entries, with `passing` true', () => {
  const clock = new SimulatedClock();
  const q = new TimerQueue(clock);
  const log: string[] = [];
  const a = new TimerEntry(() => log.push(`a@${clock.now()} passing=${q.passing}`));
  const b = new TimerEntry(() => log.push(`b@${clock.now()}`));
  const remove = q.addAfterPass(() => log.push(`after@${clock.now()} passing=${q.passing}`));
  q.arm(a, 10);
  q.arm(b, 10);
  assert.equal(q.passing, false);
  step(clock, 10);
  assert.deepEqual(log, ['a@10 passing=true', 'b@10', 'after@10 passing=true']);
  assert.equal(q.passing, false);
  remove();
  q.arm(a, 5);
  step(clock, 5);
  assert.deepEqual(log.slice(3), ['a@15 passing=true']);
});

test('a backend with setTimeoutAt is given the absolute deadline; entries re-armed from their own callbacks keep their order', () => {
  const clock = new SimulatedClock();
  const asked: number[] = [];
  const q = new TimerQueue({
    now: () => clock.now(),
    setTimeout: () => {
      throw new Error('setTimeoutAt is preferred');
    },
    clearTimeout: (h) => clock.clearTimeout(h as Parameters<SimulatedClock['clearTimeout']>[0]),
    setTimeoutAt: (fn, at) => {
      asked.push(at);
      return clock.setTimeout(fn, at - clock.now());
    },
  });
  const fired: Array<[string, number]> = [];
  const x = new TimerEntry(() => {
    fired.push(['x', clock.now()]);
    q.armAt(x, clock.now() + 7);
  });
  const y = new TimerEntry(() => {
    fired.push(['y', clock.now()]);
    q.armAt(y, clock.now() + 5);
  });
  q.armAt(x, 7);
  q.armAt(y, 5);
  step(clock, 21);
  assert.deepEqual(fired, [
    ['y', 5],
    ['x', 7],
    ['y', 10],
    ['x', 14],
    ['y', 15],
    ['y', 20],
    ['x', 21],
  ]);
  assert.deepEqual(asked.slice(0, 3), [7, 5, 7]);
  assert.equal(q.size, 2);
});
