import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../../simulations/lib/clock.js';
import { ClusterPoller } from './viz-cluster.js';
import type { ClusterObjects } from '../domain/cluster-status.js';
import type { VizInput } from '../domain/viz-model.js';

const empty: ClusterObjects = { nodes: [], configurationStates: [], pools: [], services: [], l2Statuses: [], bgpStatuses: [] };

test('the apiserver is read every interval; a report goes out only when it changed; a failed read is reported, then retried', async () => {
  const clock = new SimClock();
  let objects: ClusterObjects = empty;
  let fail = false;
  let sessions: unknown[] = [];
  const got: VizInput[] = [];
  const errors: unknown[] = [];
  const p = new ClusterPoller({
    read: async () => {
      if (fail) throw new Error('connection refused');
      return { objects, problems: [], sessions };
    },
    clock,
    intervalMs: 10_000,
    stamp: () => clock.now(),
    onInput: (x) => got.push(x),
    onError: (e) => errors.push(e),
  });
  p.start();
  await clock.advance(0);
  assert.equal(got.length, 1);
  await clock.advance(30_000);
  assert.equal(p.reads, 4);
  assert.equal(got.length, 1, 'unchanged: nothing sent');
  objects = { ...empty, nodes: [{ metadata: { name: 'n1' } }] };
  fail = true;
  await clock.advance(10_000);
  assert.equal(errors.length, 1);
  fail = false;
  await clock.advance(10_000);
  assert.equal(got.length, 2);
  const last = got.at(-1);
  assert.ok(last?.t === 'cluster');
  assert.deepEqual(
    last.status.nodes.map((n) => n.name),
    ['n1'],
  );
  assert.deepEqual(last.sessions, [], 'no sessions read: none');
  sessions = [{ status: { node: 'n1', peer: 'router', bgpStatus: 'Established', prefixesSent: 2, prefixesReceived: 0 } }];
  await clock.advance(10_000);
  assert.equal(got.length, 3, 'a session changed: a report goes out');
  const withSessions = got.at(-1);
  assert.ok(withSessions?.t === 'cluster');
  assert.deepEqual(
    withSessions.sessions?.map((x) => [x.node, x.peer, x.bgp, x.prefixesSent]),
    [['n1', 'router', 'Established', 2]],
  );
  p.stop();
  await clock.advance(60_000);
  assert.equal(p.reads, 6, 'stopped: no more reads');
});
