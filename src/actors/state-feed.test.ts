import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../../simulations/lib/clock.js';
import type { CoordBus } from './coord-ports.js';
import type { Transition } from './coordinator.js';
import { StateFeed } from './state-feed.js';
import { decodeFeed, decodeSnapshot } from '../codecs/state-feed.js';
import { FeedCoalescer, type FeedMessage, type SnapshotMessage } from '../domain/state-feed.js';
import { feedSubject, snapshotRequestSubject, snapshotSubject } from '../domain/subjects.js';

function fakeBus() {
  const sent: Array<{ subject: string; data: Uint8Array; at: number }> = [];
  const subs = new Map<string, (s: string, d: Uint8Array) => void>();
  let now = () => 0;
  const bus: CoordBus = {
    publish: (subject, data) => sent.push({ subject, data, at: now() }),
    subscribe: (subject, cb) => {
      subs.set(subject, cb);
      return () => subs.delete(subject);
    },
    onStatus: () => () => {},
    isUp: () => true,
  };
  return { bus, sent, subs, setNow: (f: () => number) => (now = f) };
}

const tr = (i: number, at: number, to: Transition['to'] = 'announcing'): Transition => ({
  at,
  node: 'node-a',
  ip: `203.0.${Math.floor(i / 250)}.${i % 250}`,
  service: `default/svc-${i}`,
  from: 'standby',
  to,
  reason: undefined,
  epoch: 1,
  event: 'election.changed',
});

function setup() {
  const clock = new SimClock();
  const b = fakeBus();
  b.setNow(() => clock.now());
  const feed = new StateFeed({ cluster: 'c1', node: 'node-a', inc: 7, bus: b.bus, clock });
  feed.start();
  const feeds = () =>
    b.sent
      .filter((m) => m.subject === feedSubject('c1', 'node-a'))
      .map((m) => {
        const r = decodeFeed(m.data);
        assert.ok(r.ok);
        return { at: m.at, msg: r.value as FeedMessage };
      });
  const snaps = () =>
    b.sent
      .filter((m) => m.subject === snapshotSubject('c1', 'node-a'))
      .map((m) => {
        const r = decodeSnapshot(m.data);
        assert.ok(r.ok);
        return r.value as SnapshotMessage;
      });
  return { clock, b, feed, feeds, snaps };
}

test('a burst of 1,000 take-overs is a few messages, every record in order; at rest nothing is sent', async () => {
  const { clock, feed, feeds } = setup();
  for (let i = 0; i < 1000; i++) feed.serviceIp(tr(i, clock.now()));
  await clock.advance(1000);
  const burst = feeds();
  assert.ok(burst.length >= 2 && burst.length <= 3, `messages for the burst: ${burst.length}`);
  assert.deepEqual(
    burst.map((m) => m.msg.seq),
    burst.map((_, i) => i + 1),
  );
  const ids = burst.flatMap((m) => m.msg.transitions.map((t) => t.id));
  assert.equal(ids.length, 1000);
  assert.equal(ids[999], tr(999, 0).ip);
  assert.equal(burst[0]?.msg.transitions[0]?.event, 'election.changed');
  // 1,000 IPs at rest for a minute: no message at all (≤ 1 message/s/node is the bar).
  await clock.advance(60_000);
  const rest = feeds().length - burst.length;
  assert.ok(rest / 60 <= 1, `${rest} messages in 60 s at rest`);
  assert.equal(rest, 0);
});

test('transitions spread over time are batched per window, never more than 10 messages a second', async () => {
  const { clock, feed, feeds } = setup();
  for (let i = 0; i < 2000; i++) {
    feed.serviceIp(tr(i % 50, clock.now(), i % 2 ? 'announcing' : 'standby'));
    await clock.advance(1); // one transition every ms for 2 s
  }
  await clock.advance(500);
  const msgs = feeds();
  assert.equal(
    msgs.reduce((n, m) => n + m.msg.transitions.length, 0),
    2000,
  );
  for (let i = 1; i < msgs.length; i++) assert.ok((msgs[i]?.at ?? 0) - (msgs[i - 1]?.at ?? 0) >= 100, 'two messages closer than 100 ms');
});

test('a snapshot answers with every machine at its last state, consistent with the feed seq, rate-limited', async () => {
  const { clock, b, feed, feeds, snaps } = setup();
  for (let i = 0; i < 1000; i++) feed.serviceIp(tr(i, clock.now()));
  feed.serviceIp(tr(3, clock.now(), 'withdrawing'));
  feed.peerEvent({ event: 'sessionDown', peer: 'router', reason: 'holdTimerExpired', detail: '' });
  feed.peerEvent({ event: 'stateChanged', peer: 'router', from: 'established', to: 'idle' });
  const ask = b.subs.get(snapshotRequestSubject('c1', 'node-a'));
  assert.ok(ask, 'subscribed to its snapshot requests');
  for (let i = 0; i < 10; i++) ask('', new Uint8Array());
  await clock.advance(10);
  const s = snaps();
  assert.equal(s.length, 1, 'ten requests in 10 ms: one snapshot');
  const snap = s[0] as SnapshotMessage;
  assert.equal(snap.machines.length, 1001);
  assert.equal(snap.machines.find((m) => m.id === tr(3, 0).ip)?.state, 'withdrawing');
  const bgp = snap.machines.find((m) => m.machine === 'bgpSession');
  assert.deepEqual([bgp?.state, bgp?.reason], ['idle', 'holdTimerExpired']);
  // Everything pending went out before the snapshot: its seq covers every record.
  assert.equal(snap.seq, feeds().at(-1)?.msg.seq);
  assert.equal(
    feeds().reduce((n, m) => n + m.msg.transitions.length, 0),
    1002,
  );
  ask('', new Uint8Array());
  await clock.advance(500);
  assert.equal(snaps().length, 1, 'no second snapshot within the gap');
  await clock.advance(600);
  assert.equal(snaps().length, 2);
});

test('the coalescer drops the oldest records beyond maxPending and says how many', () => {
  const c = new FeedCoalescer('n', 1, { maxPending: 10, maxBatch: 100 });
  for (let i = 0; i < 25; i++) c.add({ machine: 'serviceIp', id: String(i), node: 'n', from: 'a', to: 'b', at: i }, 0);
  const { message } = c.take(100);
  assert.equal(message?.dropped, 15);
  assert.deepEqual(
    message?.transitions.map((t) => t.id),
    Array.from({ length: 10 }, (_, i) => String(i + 15)),
  );
  assert.equal(c.take(200).message, undefined);
});

test('decoders refuse what is not a v1 feed payload, never throwing', () => {
  const enc = new TextEncoder();
  for (const bad of [
    '',
    '{',
    '[]',
    '{"v":2,"node":"a","inc":1,"seq":1,"transitions":[]}',
    '{"v":1,"node":"a","inc":1,"seq":1,"transitions":[{}]}',
  ])
    assert.equal(decodeFeed(enc.encode(bad)).ok, false, bad);
  assert.equal(decodeSnapshot(enc.encode('{"v":1,"node":"a","inc":1,"seq":1,"at":0,"machines":[{"machine":"x"}]}')).ok, false);
});

test('allocations are records of the Service key, from the old IPs to the new, with the pool', async () => {
  const { clock, feed, feeds } = setup();
  feed.allocation('default/web', ['203.0.113.5'], 'pool-a');
  feed.allocation('default/web', ['203.0.113.6'], undefined);
  await clock.advance(200);
  const recs = feeds().flatMap((m) => m.msg.transitions);
  assert.deepEqual(
    recs.map((r) => [r.machine, r.id, r.from, r.to, r.reason]),
    [
      ['allocation', 'default/web', '', '203.0.113.5', 'pool pool-a'],
      ['allocation', 'default/web', '203.0.113.5', '203.0.113.6', undefined],
    ],
  );
});

test('with sources, a snapshot lists every machine as it is now: the ones that never moved, and none that left', async () => {
  const { clock, b, feed, snaps } = setup();
  const ips = [
    { ip: '203.0.113.1', state: 'announcing', reason: undefined },
    { ip: '203.0.113.2', state: 'standby', reason: 'notOwner' },
  ];
  let sessions = [
    { machine: 'bgpSession' as const, id: 'router', state: 'established' },
    { machine: 'bfdSession' as const, id: 'router 198.51.100.1', state: 'up' },
    { machine: 'bgpSession' as const, id: 'backup', state: 'idle' },
  ];
  feed.addSource(['serviceIp'], () =>
    ips.map((m) => ({
      machine: 'serviceIp' as const,
      id: m.ip,
      state: m.state,
      ...(m.reason ? { reason: m.reason } : {}),
      service: 'ns/web',
      epoch: 1,
    })),
  );
  feed.addSource(['bgpSession', 'bfdSession'], () => sessions);
  await clock.advance(50);
  // One recorded transition (its time is kept as `since`), a machine recorded but gone since.
  feed.serviceIp({ ...tr(0, clock.now()), ip: '203.0.113.1', service: 'ns/web', from: 'standby', to: 'announcing' });
  feed.serviceIp({ ...tr(0, clock.now()), ip: '203.0.113.99', service: 'ns/gone', from: 'standby', to: 'announcing' });
  feed.allocation('ns/web', ['203.0.113.1'], 'pool-a');
  feed.peerEvent({ event: 'sessionDown', peer: 'backup', reason: 'connectFailed', detail: 'ECONNREFUSED' });
  await clock.advance(1000);
  const ask = b.subs.get(snapshotRequestSubject('c1', 'node-a'));
  ask?.('', new Uint8Array());
  await clock.advance(10);
  const snap = snaps()[0] as SnapshotMessage;
  const byId = new Map(snap.machines.map((m) => [`${m.machine} ${m.id}`, m]));
  assert.deepEqual([...byId.keys()].sort(), [
    'allocation ns/web',
    'bfdSession router 198.51.100.1',
    'bgpSession backup',
    'bgpSession router',
    'serviceIp 203.0.113.1',
    'serviceIp 203.0.113.2',
  ]);
  assert.equal(byId.get('serviceIp 203.0.113.1')?.since, 50, 'since: its last record');
  assert.deepEqual(
    [byId.get('serviceIp 203.0.113.2')?.state, byId.get('serviceIp 203.0.113.2')?.reason, byId.get('serviceIp 203.0.113.2')?.since],
    ['standby', 'notOwner', snap.at],
  );
  assert.equal(byId.get('bgpSession backup')?.reason, 'connectFailed: ECONNREFUSED', 'the last down reason of a session never up');
  assert.equal(byId.get('bgpSession router')?.reason, undefined);
  // A session removed from the configuration leaves the next snapshot.
  sessions = sessions.filter((s) => s.id !== 'backup');
  await clock.advance(1000);
  ask?.('', new Uint8Array());
  await clock.advance(10);
  const next = snaps()[1] as SnapshotMessage;
  assert.deepEqual(
    next.machines.filter((m) => m.machine === 'bgpSession').map((m) => m.id),
    ['router'],
  );
});

test('changed(): machines never told of are recorded as added, gone ones as removed, one window later', async () => {
  const { clock, feed, feeds } = setup();
  let ips = ['203.0.113.1', '203.0.113.2'];
  feed.addSource(['serviceIp'], () =>
    ips.map((ip) => ({ machine: 'serviceIp' as const, id: ip, state: 'standby', reason: 'notOwner', service: 'ns/web', epoch: 0 })),
  );
  // .1 moved here (its transition is told); .2 never did.
  feed.serviceIp({ ...tr(0, clock.now()), ip: '203.0.113.1', from: 'idle', to: 'standby', reason: 'notOwner' });
  feed.changed();
  feed.changed();
  await clock.advance(1000);
  const told = () => feeds().flatMap((m) => m.msg.transitions.map((t) => `${t.id} ${t.from}>${t.to} ${t.event} ${t.reason ?? ''}`));
  assert.deepEqual(told(), ['203.0.113.1 idle>standby election.changed notOwner', '203.0.113.2 none>standby machine.added notOwner']);
  ips = ['203.0.113.1'];
  feed.changed();
  await clock.advance(1000);
  assert.equal(told().at(-1), '203.0.113.2 standby>gone machine.removed ');
  // Nothing new: nothing sent.
  const n = feeds().length;
  feed.changed();
  await clock.advance(1000);
  assert.equal(feeds().length, n);
});
