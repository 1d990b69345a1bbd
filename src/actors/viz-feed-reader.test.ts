import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../../simulations/lib/clock.js';
import type { CoordBus } from './coord-ports.js';
import { FeedReader } from './viz-feed-reader.js';
import { encodeFeed } from '../codecs/state-feed.js';
import { encodeHeartbeat } from '../codecs/coord.js';
import { CONTROLLER_FEED_ID, feedSubject, heartbeatSubject, snapshotRequestSubject, snapshotSubject } from '../domain/subjects.js';
import type { VizInput } from '../domain/viz-model.js';

function setup() {
  const clock = new SimClock();
  const subs = new Map<string, (s: string, d: Uint8Array) => void>();
  const published: string[] = [];
  const bus: CoordBus = {
    publish: (s) => published.push(s),
    subscribe: (s, cb) => {
      subs.set(s, cb);
      return () => subs.delete(s);
    },
    onStatus: () => () => {},
    isUp: () => true,
  };
  const got: VizInput[] = [];
  const r = new FeedReader({ cluster: 'c', bus, clock, stamp: () => clock.now(), onInput: (x) => got.push(x) });
  r.start();
  // At start, the controller is asked for its allocations (it sends no heartbeats).
  assert.deepEqual(published.splice(0), [snapshotRequestSubject('c', CONTROLLER_FEED_ID)]);
  const deliver = (subject: string, data: Uint8Array) => {
    const kind = subject.split('.')[3];
    subs.get(`mooring.v1.c.${kind}.*`)?.(subject, data);
  };
  const hb = (node: string, seq: number, inc = 1) =>
    deliver(heartbeatSubject('c', node), encodeHeartbeat({ v: 1, node, inc, seq, intervalMs: 100, l2Ready: true, draining: false }));
  // The feed's incarnation differs from the heartbeats' (StateFeed and Coordinator each take their own).
  const feed = (node: string, seq: number, ids: string[], inc = 7) =>
    deliver(
      feedSubject('c', node),
      encodeFeed({
        v: 1,
        node,
        inc,
        seq,
        transitions: ids.map((id) => ({ machine: 'serviceIp', id, node, from: 'standby', to: 'announcing', at: 1 })),
      }),
    );
  return { clock, got, published, hb, feed, deliver, r };
}

test('a new node is up and asked for a snapshot; duplicate feed copies are dropped; a gap asks again', () => {
  const { got, published, hb, feed } = setup();
  hb('n1', 1);
  assert.deepEqual(
    got.map((x) => x.t),
    ['node'],
  );
  assert.deepEqual(published, [snapshotRequestSubject('c', 'n1')]);
  feed('n1', 1, ['a']);
  assert.equal(published.length, 2, 'the first feed message of an incarnation: a snapshot request');
  feed('n1', 1, ['a']); // the mirror connection's copy
  feed('n1', 2, ['b']);
  feed('n1', 2, ['b']);
  const trs = got.filter((x) => x.t === 'tr').map((x) => (x.t === 'tr' ? x.r.id : ''));
  assert.deepEqual(trs, ['a', 'b']);
  assert.equal(published.length, 2, 'no gap, no request');
  feed('n1', 5, ['c']);
  assert.equal(published.length, 3, 'seq 2 → 5: a gap, a snapshot request');
});

test('a node silent for 3 heartbeat intervals is down; its next heartbeat brings it back with a snapshot request', async () => {
  const { clock, got, published, hb, deliver } = setup();
  hb('n1', 1);
  await clock.advance(250);
  assert.equal(got.filter((x) => x.t === 'node').length, 1);
  await clock.advance(200);
  const down = got.filter((x) => x.t === 'node').at(-1);
  assert.ok(down?.t === 'node' && down.up === false);
  hb('n1', 2);
  const up = got.filter((x) => x.t === 'node').at(-1);
  assert.ok(up?.t === 'node' && up.up === true);
  assert.equal(published.length, 2);
  deliver(
    snapshotSubject('c', 'n1'),
    encodeFeed({ v: 1, node: 'n1', inc: 1, seq: 0, at: 5, machines: [{ machine: 'bgpSession', id: 'r', state: 'established', since: 1 }] }),
  );
  assert.equal(got.at(-1)?.t, 'snap');
});

test('the controller’s allocation feed: passed on; a new lease term (incarnation) or a gap asks for its snapshot', () => {
  const { got, published, deliver } = setup();
  const alloc = (seq: number, inc: number, service: string) =>
    deliver(
      feedSubject('c', CONTROLLER_FEED_ID),
      encodeFeed({
        v: 1,
        node: CONTROLLER_FEED_ID,
        inc,
        seq,
        transitions: [
          { machine: 'allocation', id: service, node: CONTROLLER_FEED_ID, from: '', to: '203.0.113.1', reason: 'pool p', at: 1 },
        ],
      }),
    );
  alloc(1, 9, 'ns/a');
  assert.deepEqual(published.splice(0), [snapshotRequestSubject('c', CONTROLLER_FEED_ID)], 'a new incarnation: ask');
  alloc(2, 9, 'ns/b');
  alloc(2, 9, 'ns/b');
  assert.deepEqual(published, []);
  alloc(4, 9, 'ns/c');
  assert.deepEqual(published.splice(0), [snapshotRequestSubject('c', CONTROLLER_FEED_ID)], 'a gap: ask');
  assert.deepEqual(
    got.flatMap((x) => (x.t === 'tr' ? [x.r.id] : [])),
    ['ns/a', 'ns/b', 'ns/c'],
  );
  deliver(
    snapshotSubject('c', CONTROLLER_FEED_ID),
    encodeFeed({
      v: 1,
      node: CONTROLLER_FEED_ID,
      inc: 9,
      seq: 4,
      at: 5,
      machines: [{ machine: 'allocation', id: 'ns/a', state: '', since: 1 }],
    }),
  );
  assert.equal(got.at(-1)?.t, 'snap');
  assert.equal(got.filter((x) => x.t === 'node').length, 0, 'the controller is no node');
});
