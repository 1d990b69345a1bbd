import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LazyPeers, type LoadedPeers } from './lazy-peers.js';
import type { PeerSpec } from './peer-specs.js';

const spec = (name: string): PeerSpec => ({
  bgp: {
    name,
    peerAddress: '198.51.100.1',
    peerPort: 179,
    myAsn: 64512,
    peerAsn: 64513,
    holdTime: 90,
    keepaliveTime: 30,
    ebgpMultiHop: false,
    enableGracefulRestart: false,
  },
});

function fake() {
  const calls: string[] = [];
  const real: LoadedPeers = {
    reconcile: (s) => void calls.push(`reconcile:${s.map((x) => x.bgp.name).join(',')}`),
    setRoutes: (r) => void calls.push(`routes:${[...r.keys()].join(',')}`),
    stop: async (g) => void calls.push(`stop:${g}`),
    states: () => new Map([['p', 'established']]),
    metrics: () => [],
    adjRibOut: () => [],
  };
  return { calls, real };
}

test('a node without BGP peers never loads the BGP runtime', async () => {
  let loads = 0;
  const p = new LazyPeers(async () => {
    loads++;
    return fake().real;
  });
  p.reconcile([]);
  p.setRoutes(new Map());
  assert.deepEqual(p.states(), new Map());
  assert.deepEqual(p.metrics(), []);
  await p.stop(true);
  assert.equal(loads, 0);
  assert.equal(p.loaded(), false);
});

test('the first peer loads it once; what came while loading is replayed, latest state only, then calls go straight through', async () => {
  const f = fake();
  let loads = 0;
  const p = new LazyPeers(async () => {
    loads++;
    return f.real;
  });
  p.reconcile([spec('a')]);
  p.setRoutes(new Map([['a', new Map()]]));
  p.reconcile([spec('a'), spec('b')]);
  await p.settled();
  assert.equal(loads, 1);
  assert.deepEqual(f.calls, ['reconcile:a,b', 'routes:a']);
  p.reconcile([]);
  assert.equal(f.calls.at(-1), 'reconcile:');
  assert.deepEqual(p.states(), new Map([['p', 'established']]));
  await p.stop(false);
  assert.equal(f.calls.at(-1), 'stop:false');
});

test('a failed load is reported and retried by the next reconcile with peers', async () => {
  const f = fake();
  const errors: unknown[] = [];
  let attempt = 0;
  const p = new LazyPeers(
    async () => {
      if (attempt++ === 0) throw new Error('no koffi');
      return f.real;
    },
    (e) => errors.push(e),
  );
  p.reconcile([spec('a')]);
  await p.settled();
  assert.equal(errors.length, 1);
  assert.equal(p.loaded(), false);
  p.reconcile([spec('a')]);
  await p.settled();
  assert.equal(p.loaded(), true);
  assert.deepEqual(f.calls, ['reconcile:a']);
});
