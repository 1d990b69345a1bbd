// The Event rate limit as sequential tables: each row is a call at a time with the Events offered
// and the slots still current; the Events written and the next wake-up are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLimiter, isNews, limitEvents, type EventLimits, type LimiterState, type Offered } from './event-limiter.js';

const LIMITS: EventLimits = { perKey: { burst: 2, intervalMs: 1000 }, total: { burst: 4, intervalMs: 100 } };
/** An Event `text` for Service `svc`, reason `reason`, slot `svc/ip`. */
const ev = (svc: string, reason: string, ip = '1'): Offered<string> => ({
  bucket: `${svc}/${reason}`,
  slot: `${svc}/${ip}`,
  event: `${svc} ${ip} ${reason}`,
});

interface Row {
  at: number;
  offer: Offered<string>[];
  /** Events still true (by text); default: all held ones. */
  current?: string[];
  sent: Array<[string, number]>;
  nextAt: number | undefined;
}

function run(rows: Row[]): void {
  let state: LimiterState<string> = emptyLimiter();
  rows.forEach((r, i) => {
    const out = limitEvents(state, r.offer, (o) => r.current === undefined || r.current.includes(o.event), r.at, LIMITS);
    assert.deepEqual(
      out.send.map((s) => [s.event, s.unreported]),
      r.sent,
      `row ${i} (t=${r.at}) sent`,
    );
    assert.equal(out.nextAt, r.nextAt, `row ${i} (t=${r.at}) nextAt`);
    state = out.state;
  });
}

test('per Service and reason: a burst, then one per interval; the held Event goes out later if still true', () => {
  run([
    {
      at: 0,
      offer: [ev('a', 'x', '1'), ev('a', 'x', '2'), ev('a', 'x', '3')],
      sent: [
        ['a 1 x', 0],
        ['a 2 x', 0],
      ],
      nextAt: 1000,
    },
    // Other Services and reasons have their own buckets.
    {
      at: 10,
      offer: [ev('b', 'x'), ev('a', 'y')],
      sent: [
        ['b 1 x', 0],
        ['a 1 y', 0],
      ],
      nextAt: 1000,
    },
    { at: 999, offer: [], sent: [], nextAt: 1000 },
    { at: 1000, offer: [], sent: [['a 3 x', 0]], nextAt: undefined },
  ]);
});

test('a held Event that is no longer true is dropped and counted; the next Event of its bucket says how many', () => {
  run([
    {
      at: 0,
      offer: [ev('a', 'x', '1'), ev('a', 'x', '2'), ev('a', 'x', '3')],
      sent: [
        ['a 1 x', 0],
        ['a 2 x', 0],
      ],
      nextAt: 1000,
    },
    { at: 200, offer: [], current: [], sent: [], nextAt: undefined },
    { at: 1600, offer: [ev('a', 'x', '4')], sent: [['a 4 x', 1]], nextAt: undefined },
  ]);
});

test('a newer Event for a held slot replaces it (the replaced one counts as unreported)', () => {
  run([
    {
      at: 0,
      offer: [ev('a', 'x', '1'), ev('a', 'x', '2')],
      sent: [
        ['a 1 x', 0],
        ['a 2 x', 0],
      ],
      nextAt: undefined,
    },
    { at: 100, offer: [ev('a', 'x', '1')], sent: [], nextAt: 1000 },
    { at: 200, offer: [ev('a', 'x', '1')], sent: [], nextAt: 1000 },
    { at: 1000, offer: [], sent: [['a 1 x', 1]], nextAt: undefined },
  ]);
});

test('the node-wide bucket: a burst over many Services (a NATS outage) trickles out, in order', () => {
  const many = ['s1', 's2', 's3', 's4', 's5', 's6'].map((s) => ev(s, 'natsDisconnected'));
  run([
    {
      at: 0,
      offer: many,
      sent: [
        ['s1 1 natsDisconnected', 0],
        ['s2 1 natsDisconnected', 0],
        ['s3 1 natsDisconnected', 0],
        ['s4 1 natsDisconnected', 0],
      ],
      nextAt: 100,
    },
    { at: 100, offer: [], sent: [['s5 1 natsDisconnected', 0]], nextAt: 200 },
    // NATS is back before s6's turn: its Event says nothing true any more.
    { at: 150, offer: [], current: [], sent: [], nextAt: undefined },
  ]);
});

test('memory: buckets that are full again are forgotten', () => {
  let state: LimiterState<string> = emptyLimiter();
  for (let i = 0; i < 1000; i++) state = limitEvents(state, [ev(`s${i}`, 'x')], () => true, i * 1000, LIMITS).state;
  assert.ok(state.buckets.size <= 2, `buckets: ${state.buckets.size}`);
  assert.equal(state.held.size, 0);
});

test('input state is not mutated', () => {
  const s0 = limitEvents(emptyLimiter<string>(), [ev('a', 'x', '1'), ev('a', 'x', '2'), ev('a', 'x', '3')], () => true, 0, LIMITS).state;
  const frozen = JSON.stringify([...s0.held.keys(), [...s0.buckets], s0.total]);
  limitEvents(s0, [ev('a', 'x', '4')], () => true, 5000, LIMITS);
  assert.equal(JSON.stringify([...s0.held.keys(), [...s0.buckets], s0.total]), frozen);
});

test('isNews: a repeated sighting is news only after a quiet period', () => {
  assert.equal(isNews(undefined, 5, 100), true);
  assert.equal(isNews(0, 99, 100), false);
  assert.equal(isNews(0, 100, 100), true);
});
