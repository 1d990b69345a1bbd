import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import type { Clock } from './clock.js';
import type { EventSink, EventTarget } from './kube-ports.js';
import { SessionStatusReporter, type SessionCounters, type SessionStateSink } from './session-status.js';
import type { BGPSessionStateStatus } from '../api/mooring.js';

function harness(leftOver: string[] = []) {
  const sim = new SimulatedClock();
  const clock: Clock = {
    now: () => sim.now(),
    setTimeout: (fn, ms) => sim.setTimeout(fn, ms),
    clearTimeout: (id) => sim.clearTimeout(id as never),
  };
  const objects = new Map<string, BGPSessionStateStatus>(leftOver.map((n) => [n, {}]));
  const writes: string[] = [];
  const sink: SessionStateSink = {
    list: () => Promise.resolve([...objects.keys()]),
    write: (name, _node, _peer, status) => {
      writes.push(name);
      objects.set(name, status);
      return Promise.resolve();
    },
    remove: (name) => {
      objects.delete(name);
      return Promise.resolve();
    },
  };
  const recorded: Array<{ target: EventTarget; type: string; reason: string; message: string }> = [];
  const events: EventSink = {
    record: (target, type, reason, message) => recorded.push({ target, type, reason, message }),
    flush: () => Promise.resolve(),
  };
  const peers: Array<{
    peer: string;
    address: string;
    port: number;
    metrics: { metallb_bgp_announced_prefixes_total: number; mooring_bgp_received_prefixes?: number };
  }> = [
    {
      peer: 'tor',
      address: '198.51.100.1',
      port: 179,
      metrics: { metallb_bgp_announced_prefixes_total: 0, mooring_bgp_received_prefixes: 0 },
    },
  ];
  const counters: SessionCounters = { metrics: () => peers };
  let wall = 0;
  const r = new SessionStatusReporter({
    node: 'n1',
    namespace: 'metallb-system',
    sink,
    events,
    peers: counters,
    clock,
    wallTime: () => new Date(Date.UTC(2026, 11, 7, 10, 0, wall)).toISOString().replace(/\.\d+Z$/, 'Z'),
    hash: (s) => s.length.toString(16).padStart(10, '0'),
    minIntervalMs: 1_000,
    pollMs: 5_000,
  });
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i += 100) {
      wall = Math.floor((sim.now() + 100) / 1000);
      sim.increment(100);
      await r.settled();
    }
  };
  return { r, objects, writes, recorded, peers, advance };
}

test('writes the session state on change only, at most once per interval, and the last state always', async () => {
  const h = harness();
  h.r.start();
  await h.advance(100);
  assert.equal(h.writes.length, 1, 'the first poll writes the Idle state');
  const name = h.writes[0] as string;
  assert.equal(h.objects.get(name)?.bgpStatus, 'Idle');
  // A burst of transitions inside one interval: one more write, with the last state.
  h.r.peerEvent({ event: 'stateChanged', peer: 'tor', to: 'connect' } as never);
  h.r.peerEvent({ event: 'stateChanged', peer: 'tor', to: 'openSent' } as never);
  h.r.peerEvent({ event: 'stateChanged', peer: 'tor', to: 'openConfirm' } as never);
  h.peers[0]!.metrics.metallb_bgp_announced_prefixes_total = 4;
  h.r.peerEvent({ event: 'sessionUp', peer: 'tor' } as never);
  await h.advance(1_000);
  assert.equal(h.writes.length, 2);
  assert.deepEqual(
    [h.objects.get(name)?.bgpStatus, h.objects.get(name)?.prefixesSent, h.objects.get(name)?.peerAddress],
    ['Established', 4, '198.51.100.1:179'],
  );
  // Nothing changed: polls write nothing.
  await h.advance(20_000);
  assert.equal(h.writes.length, 2);
  // Received prefixes move without an event: the poll notices.
  h.peers[0]!.metrics.mooring_bgp_received_prefixes = 2;
  await h.advance(5_000);
  assert.equal(h.writes.length, 3);
  assert.equal(h.objects.get(name)?.prefixesReceived, 2);
  h.r.stop();
});

test('session down and up are Events on the BGPPeer with the typed reason; a flap is rate limited, not lost', async () => {
  const h = harness();
  h.r.start();
  h.r.peerEvent({ event: 'sessionUp', peer: 'tor' } as never);
  h.r.peerEvent({ event: 'sessionDown', peer: 'tor', reason: 'notificationReceived', detail: 'Cease / Administrative Shutdown' } as never);
  await h.advance(2_000);
  assert.deepEqual(
    h.recorded.map((e) => [e.target.kind, e.target.name, e.target.namespace, e.type, e.reason]),
    [
      ['BGPPeer', 'tor', 'metallb-system', 'Normal', 'BGPSessionUp'],
      ['BGPPeer', 'tor', 'metallb-system', 'Warning', 'BGPSessionDown'],
    ],
  );
  assert.match(h.recorded[1]?.message ?? '', /down: notificationReceived: Cease \/ Administrative Shutdown$/);
  const st = [...h.objects.values()][0];
  assert.deepEqual([st?.lastDownReason, st?.lastDownDetail], ['notificationReceived', 'Cease / Administrative Shutdown']);
  // Ten more flaps at once: the per-peer-and-reason bucket (3, then one a minute) holds the rest;
  // the newest held one goes out later with the count of the ones it replaced.
  for (let i = 0; i < 10; i++) h.r.peerEvent({ event: 'sessionDown', peer: 'tor', reason: 'holdTimerExpired', detail: `#${i}` } as never);
  await h.advance(1_000);
  const downs = () => h.recorded.filter((e) => e.reason === 'BGPSessionDown');
  assert.equal(downs().length, 3);
  await h.advance(60_000);
  assert.equal(downs().length, 4);
  assert.match(downs()[3]?.message ?? '', /#9 \(\d+ earlier changes not reported: rate limit\)$/);
  h.r.stop();
});

test('objects of peers gone from the supervisor, and those an earlier run left, are deleted', async () => {
  const h = harness(['n1-old-peer-0000000000']);
  h.r.start();
  await h.advance(5_100);
  assert.deepEqual(
    [...h.objects.values()].map((s) => s.peer),
    ['tor'],
    'the left-over object is gone',
  );
  h.peers.length = 0;
  await h.advance(5_000);
  assert.equal(h.objects.size, 0, "the removed peer's object is gone");
  h.r.stop();
});
