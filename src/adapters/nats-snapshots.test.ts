// askSnapshots against an in-memory bus: it subscribes before it asks, keeps each node's own
// snapshot (a malformed one or another node's is ignored) and returns once every node answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { askSnapshots, type SnapshotBus } from './nats-snapshots.js';
import { encodeFeed } from '../codecs/state-feed.js';
import { snapshotRequestSubject, snapshotSubject } from '../domain/subjects.js';
import type { SnapshotMessage } from '../domain/state-feed.js';

const snap = (node: string): SnapshotMessage => ({
  v: 1,
  node,
  inc: 1,
  seq: 3,
  at: 10,
  machines: [{ machine: 'serviceIp', id: '203.0.113.1', state: 'announcing', service: 'app/web', since: 5 }],
});

test('every node asked, every answer collected, strays ignored', async () => {
  const subs = new Map<string, (s: string, d: Uint8Array) => void>();
  const asked: string[] = [];
  const bus: SnapshotBus = {
    subscribe(subject, cb) {
      subs.set(subject, cb);
      return () => subs.delete(subject);
    },
    publish(subject) {
      asked.push(subject);
      const node = subject.split('.').at(-1) as string;
      const deliver = subs.get(snapshotSubject('c', node));
      assert.ok(deliver, `subscribed to ${node}'s snapshots before asking`);
      deliver(snapshotSubject('c', node), new TextEncoder().encode('{not json'));
      deliver(snapshotSubject('c', node), encodeFeed(snap(node === 'n1' ? 'n2' : node))); // another node's: ignored for n1
      if (node !== 'n1') return;
      deliver(snapshotSubject('c', node), encodeFeed(snap('n1')));
    },
  };
  const got = await askSnapshots(bus, 'c', ['n1', 'n2'], 60_000);
  assert.deepEqual(asked, [snapshotRequestSubject('c', 'n1'), snapshotRequestSubject('c', 'n2')]);
  assert.deepEqual(got.map((s) => s.node).sort(), ['n1', 'n2']);
  assert.deepEqual(
    got.find((s) => s.node === 'n1'),
    snap('n1'),
  );
  assert.equal(subs.size, 0, 'unsubscribed');
  assert.deepEqual(await askSnapshots(bus, 'c', [], 60_000), []);
});
