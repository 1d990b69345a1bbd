import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  MAX_UNHEARD,
  natsPathConnected,
  natsPathMachine,
  NatsPathReason,
  type NatsPathEvent,
  type NatsPathState,
} from './nats-path.machine.js';

const DETECT = 300;
const RESYNC = 300;

const STORE_WAIT = 5_000;

function start(connected = true, resyncMs = RESYNC, awaitStore = false) {
  const clock = new SimulatedClock();
  const actor = createActor(natsPathMachine, {
    clock,
    input: { connected, now: clock.now(), detectMs: DETECT, resyncMs, awaitStore, storeWaitMs: STORE_WAIT },
  });
  const seen: Array<{ from: NatsPathState; to: NatsPathState; reason: string }> = [];
  let last = actor.getSnapshot().value as NatsPathState;
  actor.subscribe((s) => {
    const to = s.value as NatsPathState;
    if (to !== last) seen.push({ from: last, to, reason: s.context.reason });
    last = to;
  });
  actor.start();
  let seq = 0;
  const send = (e: NatsPathEvent) => actor.send(e);
  const state = () => actor.getSnapshot().value as NatsPathState;
  const ctx = () => actor.getSnapshot().context;
  /** Publishes one heartbeat of ours now; returns its seq. */
  const sent = () => {
    send({ type: 'hb.sent', seq: ++seq, at: clock.now() });
    return seq;
  };
  const heard = (s: number) => send({ type: 'echo.heard', seq: s, at: clock.now() });
  const check = () => send({ type: 'echo.check', at: clock.now() });
  return { actor, clock, send, state, ctx, sent, heard, check, seen };
}

test('connected at start: resyncing for one window, then up', () => {
  const m = start(true);
  assert.equal(m.state(), 'resyncing');
  assert.equal(m.ctx().reason, NatsPathReason.started);
  m.clock.increment(RESYNC - 1);
  assert.equal(m.state(), 'resyncing');
  m.clock.increment(1);
  assert.equal(m.state(), 'up');
  assert.equal(m.ctx().reason, NatsPathReason.resynced);
  assert.deepEqual(m.seen, [{ from: 'resyncing', to: 'up', reason: 'resynced' }]);
});

test('with a store: the first takeover waits until it answers once, then one more resync window', () => {
  const m = start(true, RESYNC, true);
  m.clock.increment(RESYNC);
  // Peers on a server not yet clustered with ours are unheard: no takeover on silence alone.
  assert.equal(m.state(), 'awaitingStore');
  assert.ok(natsPathConnected(m.state()), 'heartbeats flow and epochs are written meanwhile');
  m.clock.increment(STORE_WAIT / 2);
  m.send({ type: 'store.ready' });
  assert.equal(m.state(), 'resyncing');
  assert.equal(m.ctx().reason, NatsPathReason.storeReady);
  m.clock.increment(RESYNC - 1);
  assert.equal(m.state(), 'resyncing', 'the window restarts when the cluster answers: peers just became audible');
  m.clock.increment(1);
  assert.equal(m.state(), 'up');
  // Only the first time: after a reconnect, a KV outage (a NATS server killed) holds nothing up.
  m.send({ type: 'bus.down' });
  m.send({ type: 'bus.up', at: m.clock.now() });
  m.clock.increment(RESYNC);
  assert.equal(m.state(), 'up');
  assert.deepEqual(
    m.seen.map((t) => `${t.from}>${t.to}:${t.reason}`),
    [
      'resyncing>awaitingStore:started',
      'awaitingStore>resyncing:storeReady',
      'resyncing>up:resynced',
      'up>down:busDisconnected',
      'down>resyncing:busConnected',
      'resyncing>up:resynced',
    ],
  );
});

test('with a store: an answer inside the first window does not extend it; a settled peer counts as formed; a store that never answers is given up on', () => {
  const early = start(true, RESYNC, true);
  early.send({ type: 'store.ready' });
  early.clock.increment(RESYNC);
  assert.equal(early.state(), 'up');
  assert.equal(early.ctx().reason, NatsPathReason.resynced);

  const never = start(true, RESYNC, true);
  never.clock.increment(RESYNC);
  never.clock.increment(STORE_WAIT - 1);
  assert.equal(never.state(), 'awaitingStore');
  never.clock.increment(1);
  assert.equal(never.state(), 'up');
  assert.equal(never.ctx().reason, NatsPathReason.storeTimeout);
  // Only the first time: after giving up, a reconnect settles after one resync window.
  never.send({ type: 'bus.down' });
  never.send({ type: 'bus.up', at: never.clock.now() });
  never.clock.increment(RESYNC);
  assert.equal(never.state(), 'up');

  // A restart while the store is out: a settled peer says the cluster ran before us.
  const restart = start(true, RESYNC, true);
  restart.clock.increment(RESYNC);
  assert.equal(restart.state(), 'awaitingStore');
  restart.send({ type: 'peer.settled' });
  assert.equal(restart.state(), 'resyncing');
  assert.equal(restart.ctx().reason, NatsPathReason.peerSettled);
  restart.clock.increment(RESYNC);
  assert.equal(restart.state(), 'up');
  const heardEarly = start(true, RESYNC, true);
  heardEarly.send({ type: 'peer.settled' });
  heardEarly.clock.increment(RESYNC);
  assert.equal(heardEarly.state(), 'up', 'heard within the first window: settles with it');

  // Cut off while waiting: down, and back to waiting for the store after the reconnect.
  const cut = start(true, RESYNC, true);
  cut.clock.increment(RESYNC);
  cut.send({ type: 'bus.down' });
  assert.equal(cut.state(), 'down');
  cut.send({ type: 'bus.up', at: cut.clock.now() });
  cut.clock.increment(RESYNC);
  assert.equal(cut.state(), 'awaitingStore');
});

test('not connected at start: connecting until the client connects; silence is not judged meanwhile', () => {
  const m = start(false);
  assert.equal(m.state(), 'connecting');
  m.sent();
  m.clock.increment(10 * DETECT);
  m.check();
  m.send({ type: 'bus.down' });
  assert.equal(m.state(), 'connecting');
  m.send({ type: 'bus.up', at: m.clock.now() });
  assert.equal(m.state(), 'resyncing');
  assert.equal(m.ctx().reason, NatsPathReason.busConnected);
  assert.deepEqual(m.ctx().unheard, [], 'a fresh echo window: what was sent before is not expected back');
  assert.equal(m.ctx().lastEcho, m.clock.now());
  m.clock.increment(RESYNC);
  assert.equal(m.state(), 'up');
});

test('up → down when the client disconnects, down → resyncing → up when it reconnects', () => {
  const m = start();
  m.clock.increment(RESYNC);
  m.send({ type: 'bus.down' });
  assert.equal(m.state(), 'down');
  assert.equal(m.ctx().reason, NatsPathReason.busDisconnected);
  // Cut off, our heartbeats are not heard: that says nothing new, the path is already down.
  const unheard = m.sent();
  m.clock.increment(10 * DETECT);
  m.check();
  assert.equal(m.state(), 'down');
  // A late echo (delivered before the client reported the reconnect) does not bring it back.
  m.heard(unheard);
  assert.equal(m.state(), 'down');
  m.send({ type: 'bus.up', at: m.clock.now() });
  assert.equal(m.state(), 'resyncing');
  assert.equal(m.ctx().reason, NatsPathReason.busConnected);
  m.clock.increment(RESYNC);
  assert.equal(m.state(), 'up');
  assert.deepEqual(
    m.seen.map((t) => `${t.from}>${t.to}:${t.reason}`),
    ['resyncing>up:resynced', 'up>down:busDisconnected', 'down>resyncing:busConnected', 'resyncing>up:resynced'],
  );
});

test('up → echoLost when a heartbeat of ours goes unheard past the detection time; its echo brings it back', () => {
  const m = start();
  m.clock.increment(RESYNC);
  const first = m.sent();
  m.clock.increment(50);
  m.heard(first);
  assert.deepEqual(m.ctx().unheard, []);
  assert.equal(m.ctx().lastEcho, m.clock.now());
  m.sent();
  m.clock.increment(DETECT);
  m.check();
  assert.equal(m.state(), 'up', 'exactly the detection time: not yet');
  m.clock.increment(1);
  m.check();
  assert.equal(m.state(), 'echoLost');
  assert.equal(m.ctx().reason, NatsPathReason.echoLost);
  assert.deepEqual(m.ctx().lost, { silentMs: DETECT + 1, unheardMs: DETECT + 1 });
  // Still "connected": more heartbeats go out; the first one heard back ends it.
  const later = m.sent();
  m.clock.increment(20);
  m.heard(later);
  assert.equal(m.state(), 'resyncing');
  assert.equal(m.ctx().reason, NatsPathReason.echoHeard);
  assert.deepEqual(m.ctx().unheard, [], 'an echo clears every heartbeat up to its seq');
  m.clock.increment(RESYNC);
  assert.equal(m.state(), 'up');
});

test('up: a repeated connected status opens a fresh echo window without leaving up', () => {
  const m = start();
  m.clock.increment(RESYNC);
  m.sent();
  m.clock.increment(DETECT);
  m.send({ type: 'bus.up', at: m.clock.now() });
  assert.equal(m.state(), 'up');
  assert.deepEqual(m.ctx().unheard, []);
  m.clock.increment(1);
  m.check();
  assert.equal(m.state(), 'up', 'the heartbeat sent before the fresh window is not expected back');
  assert.equal(m.seen.length, 1);
});

test('our own stall is not NATS down: silence is judged from heartbeats we sent, and none were sent', () => {
  const m = start();
  m.clock.increment(RESYNC);
  m.heard(m.sent());
  // The event loop stalls for three detection times: nothing is sent, nothing heard.
  m.clock.increment(3 * DETECT);
  m.check();
  assert.equal(m.state(), 'up');
  assert.equal(m.ctx().lastEcho, RESYNC, 'the last echo is old, but nothing of ours is missing');
});

test('resyncing → echoLost and resyncing → down; echoLost → down, echoLost → resyncing on reconnect', () => {
  const b = start();
  b.clock.increment(100);
  b.sent();
  b.send({ type: 'bus.up', at: b.clock.now() }); // a duplicate status: a fresh echo window, no transition
  assert.equal(b.state(), 'resyncing');
  assert.deepEqual(b.ctx().unheard, []);
  b.sent();
  b.clock.increment(150);
  b.send({ type: 'bus.down' });
  assert.equal(b.state(), 'down');
  assert.equal(b.ctx().reason, NatsPathReason.busDisconnected);

  // A resync window longer than the detection time, so the echo can be lost while resyncing.
  const c = start(false, 3 * DETECT);
  c.send({ type: 'bus.up', at: c.clock.now() });
  c.sent();
  c.clock.increment(DETECT);
  c.check();
  assert.equal(c.state(), 'resyncing');
  c.clock.increment(1);
  c.check();
  assert.equal(c.state(), 'echoLost');
  assert.deepEqual(
    c.seen.map((t) => `${t.from}>${t.to}:${t.reason}`),
    ['connecting>resyncing:busConnected', 'resyncing>echoLost:echoLost'],
  );
  c.clock.increment(3 * DETECT);
  assert.equal(c.state(), 'echoLost', 'the resync timer left with the state');
  c.send({ type: 'bus.down' });
  assert.equal(c.state(), 'down');
  c.send({ type: 'bus.up', at: c.clock.now() });
  assert.equal(c.state(), 'resyncing');

  const d = start();
  d.clock.increment(RESYNC);
  d.sent();
  d.clock.increment(DETECT + 1);
  d.check();
  assert.equal(d.state(), 'echoLost');
  d.send({ type: 'bus.up', at: d.clock.now() });
  assert.equal(d.state(), 'resyncing');
  assert.equal(d.ctx().reason, NatsPathReason.busConnected);
  assert.equal(d.ctx().lost, undefined);
});

test('a flap inside the resync window restarts it: the path settles one full window after the last connect', () => {
  const m = start();
  m.clock.increment(200);
  m.send({ type: 'bus.down' });
  m.clock.increment(50);
  m.send({ type: 'bus.up', at: m.clock.now() });
  m.clock.increment(RESYNC - 1);
  assert.equal(m.state(), 'resyncing', 'the first window would have ended at 300');
  m.clock.increment(1);
  assert.equal(m.state(), 'up');
});

test('unheard heartbeats are capped; echoes out of order only clear up to their seq', () => {
  const m = start();
  for (let i = 0; i < MAX_UNHEARD + 10; i++) m.sent();
  assert.equal(m.ctx().unheard.length, MAX_UNHEARD);
  assert.equal(m.ctx().unheard[0]?.seq, 11, 'the oldest are dropped');
  m.heard(20);
  assert.equal(m.ctx().unheard[0]?.seq, 21);
  m.heard(5); // a late copy of an old one
  assert.equal(m.ctx().unheard[0]?.seq, 21);
});

test('natsPathConnected: resyncing, awaitingStore and up are connected, the rest are not', () => {
  const want: Record<NatsPathState, boolean> = {
    connecting: false,
    resyncing: true,
    awaitingStore: true,
    up: true,
    down: false,
    echoLost: false,
  };
  for (const [s, v] of Object.entries(want)) assert.equal(natsPathConnected(s as NatsPathState), v, s);
});

test('xstate/graph: every state is reachable and every transition out of up carries a down reason', () => {
  const events: NatsPathEvent[] = [
    { type: 'bus.up', at: 0 },
    { type: 'bus.down' },
    { type: 'hb.sent', seq: 1, at: 0 },
    { type: 'echo.heard', seq: 1, at: 0 },
    { type: 'echo.check', at: DETECT + 1 },
    { type: 'store.ready' },
    { type: 'peer.settled' },
  ];
  for (const connected of [true, false]) {
    const paths = getShortestPaths(natsPathMachine, {
      events,
      input: { connected, now: 0, detectMs: DETECT, resyncMs: RESYNC },
      serializeState: (s) => JSON.stringify({ v: s.value, unheard: s.context.unheard.length > 0 }),
    });
    const reached = new Set(paths.map((p) => p.state.value as string));
    // `up` is reached through the resync delay, which graph traversal does not fire.
    const want = connected ? ['resyncing', 'down', 'echoLost'] : ['connecting', 'resyncing', 'down', 'echoLost'];
    for (const st of want) assert.ok(reached.has(st), `connected=${connected}: reached ${st}`);
    for (const p of paths) {
      if (p.state.value === 'down') assert.equal(p.state.context.reason, NatsPathReason.busDisconnected);
      if (p.state.value === 'echoLost') assert.equal(p.state.context.reason, NatsPathReason.echoLost);
    }
  }
});
