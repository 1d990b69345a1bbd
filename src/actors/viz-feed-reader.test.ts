import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../../simulations/lib/clock.js';
import type { CoordBus } from './coord-ports.js';
import { FeedReader } from './viz-feed-reader.js';
import { encodeFeed } from '../codecs/state-feed.js';
import { encodeHeartbeat } from '../codecs/coord.js';
import { feedSubject, heartbeatSubject, snapshotRequestSubject, snapshotSubject } from '../domain/subjects.js';
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
