import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VizModel, apiSessionText, apiSessions, traceInputs, type ApiSession, type VizInput } from './viz-model.js';
import type { TransitionRecord } from './state-feed.js';
import { clusterStatus } from './cluster-status.js';

const ip = (node: string, from: string, to: string, at: number, reason?: string): VizInput => ({
  t: 'tr',
  r: { machine: 'serviceIp', id: '203.0.113.1', node, from, to, at, service: 'default/web', ...(reason ? { reason } : {}) },
});

test('owner, standby order with reasons, and a failover timed from the kill to the new owner announcing', () => {
  const m = new VizModel();
  for (const x of [
    ip('a', 'idle', 'announcing', 10),
    ip('b', 'idle', 'standby', 11, 'notOwner'),
    ip('c', 'idle', 'standby', 12, 'noLocalEndpoints'),
    { t: 'order', ip: '203.0.113.1', nodes: ['a', 'c', 'b'] } as VizInput,
  ])
    m.apply(x);
  assert.deepEqual(m.owners('203.0.113.1'), ['a']);
  const row = m.ipRow('203.0.113.1');
  assert.equal(row.service, 'default/web');
  assert.deepEqual(row.others, [
    { node: 'c', state: 'standby', reason: 'noLocalEndpoints' },
    { node: 'b', state: 'standby', reason: 'notOwner' },
  ]);
  m.apply({ t: 'cause', at: 1000, text: 'kill a' });
  assert.deepEqual(m.owners('203.0.113.1'), [], 'a dead node announces nothing');
  assert.equal(m.ipRow('203.0.113.1').others[0]?.reason, 'nodeDown');
  m.apply(ip('b', 'standby', 'announcing', 1250));
  const f = m.timeline.find((t) => t.kind === 'failover');
  assert.deepEqual([f?.ip, f?.node, f?.ms], ['203.0.113.1', 'b', 250]);
  // a returns and wins its IP back: a move (a release), not a failover.
  m.apply({ t: 'cause', at: 2000, text: 'restart a' });
  m.apply(ip('b', 'announcing', 'withdrawing', 2100));
  m.apply(ip('a', 'standby', 'announcing', 2101));
  assert.equal(m.timeline.filter((t) => t.kind === 'failover').length, 1);
  assert.equal(m.timeline.filter((t) => t.kind === 'move').length, 1);
  assert.deepEqual(m.ownerHistory.get('203.0.113.1'), ['a', 'b', 'a']);
});

test('a BGP flap carries its down reason and ends when the session is established again; NATS outages are timed', () => {
  const m = new VizModel();
  const bgp = (from: string, to: string, at: number, reason?: string): VizInput => ({
    t: 'tr',
    r: { machine: 'bgpSession', id: 'router', node: 'a', from, to, at, ...(reason ? { reason } : {}) } as TransitionRecord,
  });
  m.apply(bgp('openConfirm', 'established', 5));
  m.apply(bgp('established', 'idle', 10, 'notificationReceived: cease'));
  const flap = m.timeline.find((t) => t.kind === 'flap');
  assert.match(flap?.text ?? '', /notificationReceived/);
  assert.equal(flap?.until, undefined);
  m.apply(bgp('openConfirm', 'established', 90));
  assert.equal(flap?.until, 90);
  assert.equal(m.view('a', 'bgpSession', 'router')?.history.length, 3);
  m.apply({ t: 'cause', at: 100, text: 'NATS down' });
  m.apply({ t: 'cause', at: 400, text: 'NATS up' });
  const out = m.timeline.find((t) => t.kind === 'nats');
  assert.deepEqual([out?.at, out?.until], [100, 400]);
});

test('a chaos trace becomes inputs: transitions as serviceIp records, causes as causes, the rest ignored', () => {
  const xs = traceInputs([
    { type: 'run', seed: 1 },
    { type: 'fault', at: 5, kind: 'kill', node: 'a' },
    { type: 'log', at: 0, kind: 'cause', text: 'start' },
    { type: 'log', at: 3, kind: 'transition', node: 'a', ip: '203.0.113.1', from: 'idle', to: 'announcing', reason: null, epoch: 1 },
    'garbage',
  ]);
  assert.deepEqual(
    xs.map((x) => x.t),
    ['cause', 'tr'],
  );
  const tr = xs[1];
  assert.ok(tr?.t === 'tr');
  assert.deepEqual([tr.r.machine, tr.r.id, tr.r.to, tr.r.reason], ['serviceIp', '203.0.113.1', 'announcing', undefined]);
});

test('a snapshot is its node’s every machine: idle ones shown at once, unlisted ones gone; machine.removed removes one', () => {
  const m = new VizModel();
  m.apply(ip('a', 'idle', 'announcing', 10));
  m.apply({
    t: 'snap',
    node: 'b',
    at: 20,
    machines: [
      { machine: 'serviceIp', id: '203.0.113.1', state: 'standby', reason: 'notOwner', service: 'default/web', since: 20 },
      { machine: 'serviceIp', id: '203.0.113.9', state: 'standby', reason: 'notOwner', service: 'default/old', since: 20 },
      { machine: 'bfdSession', id: 'router 198.51.100.1', state: 'down', since: 20 },
    ],
  });
  assert.deepEqual(m.ipRow('203.0.113.1').others, [{ node: 'b', state: 'standby', reason: 'notOwner' }]);
  assert.deepEqual(m.ips(), ['203.0.113.1', '203.0.113.9']);
  assert.deepEqual(
    m.ofKind('b', 'bfdSession').map((v) => v.state),
    ['down'],
  );
  m.apply({
    t: 'snap',
    node: 'b',
    at: 30,
    machines: [{ machine: 'serviceIp', id: '203.0.113.1', state: 'standby', reason: 'notOwner', service: 'default/web', since: 20 }],
  });
  assert.deepEqual(m.ips(), ['203.0.113.1'], 'the IP no snapshot lists any more is gone');
  assert.deepEqual(m.ofKind('b', 'bfdSession'), []);
  m.apply({
    t: 'tr',
    r: { machine: 'serviceIp', id: '203.0.113.1', node: 'b', from: 'standby', to: 'gone', event: 'machine.removed', at: 40 },
  });
  assert.equal(m.view('b', 'serviceIp', '203.0.113.1'), undefined);
  assert.deepEqual(m.owners('203.0.113.1'), ['a']);
});

test('the apiserver view: Service names and pools, a BGP-only node and Service shown with why they have no feed', () => {
  const m = new VizModel();
  m.apply(ip('a', 'idle', 'announcing', 10));
  m.apply({ t: 'node', node: 'a', at: 10, up: true });
  const status = clusterStatus({
    nodes: ['a', 'b'].map((name) => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })),
    configurationStates: ['a', 'b'].map((n) => ({ metadata: { name: `speaker-${n}` }, status: { result: 'Valid' } })),
    pools: [{ metadata: { name: 'p1' }, spec: { addresses: ['203.0.113.0/24'] }, status: { assignedIPv4: 2, availableIPv4: 254 } }],
    services: [
      {
        metadata: { name: 'web', namespace: 'default', annotations: { 'metallb.io/ip-allocated-from-pool': 'p1' } },
        spec: { type: 'LoadBalancer' },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
      },
      {
        metadata: { name: 'api', namespace: 'prod', annotations: { 'metallb.io/ip-allocated-from-pool': 'p1' } },
        spec: { type: 'LoadBalancer' },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.2' }] } },
      },
    ],
    l2Statuses: [{ status: { serviceName: 'web', serviceNamespace: 'default', node: 'a' } }],
    bgpStatuses: [{ status: { serviceName: 'api', serviceNamespace: 'prod', node: 'b', peers: ['router'] } }],
  });
  const sessions = apiSessions([
    {
      status: {
        node: 'b',
        peer: 'router',
        peerAddress: '198.51.100.1:179',
        vrf: '',
        bgpStatus: 'Established',
        since: '2026-12-07T12:00:00Z',
        lastDownReason: 'holdTimerExpired',
        lastDownDetail: 'no KEEPALIVE in 90 s',
        lastDownTime: '2026-12-07T11:59:00Z',
        prefixesSent: 1,
        prefixesReceived: 0,
        bfdStatus: 'up',
      },
    },
    { status: { node: 'b', peer: 'backup', bgpStatus: 'Active', prefixesSent: 0, prefixesReceived: 0, bfdStatus: '' } },
    { status: { node: 'a', peer: 'router', bgpStatus: 'Established', prefixesSent: 1, prefixesReceived: 0 } },
    { status: { peer: 'no node' } },
    {},
  ]);
  assert.deepEqual(
    sessions.map((x) => `${x.node}/${x.peer}`),
    ['a/router', 'b/backup', 'b/router'],
    'by node then peer; one without a node or status skipped',
  );
  m.apply({ t: 'cluster', at: 20, status, problems: [], sessions });
  assert.deepEqual(m.nodeNames(), ['a', 'b']);
  assert.equal(m.nodeInfo('a').noFeed, undefined);
  assert.equal(m.nodeInfo('a').sessions, undefined, 'a node with a feed: its sessions are its machines');
  const b = m.nodeInfo('b');
  assert.match(b.noFeed ?? '', /^BGP-only node: no NATS feed/);
  assert.deepEqual(
    b.sessions?.map((x) => [x.peer, x.bgp, x.bfd]),
    [
      ['backup', 'Active', ''],
      ['router', 'Established', 'up'],
    ],
  );
  assert.equal(
    apiSessionText(b.sessions?.[1] as ApiSession),
    'Established since 2026-12-07T12:00:00Z; prefixes sent 1, received 0; BFD up; last down: holdTimerExpired (no KEEPALIVE in 90 s) at 2026-12-07T11:59:00Z',
  );
  assert.equal(apiSessionText(b.sessions?.[0] as ApiSession), 'Active; prefixes sent 0, received 0; BFD none');
  m.apply({ t: 'cluster', at: 30, status, problems: [] });
  assert.deepEqual(m.nodeInfo('b').sessions, [], 'a report without sessions replaces the last one');
  m.apply({ t: 'cluster', at: 40, status, problems: [], sessions });
  assert.deepEqual(m.ips(), ['203.0.113.1', '203.0.113.2']);
  const web = m.ipRow('203.0.113.1');
  assert.deepEqual([web.service, web.pool, web.l2Status, web.owners, web.note], ['default/web', 'p1', 'a', ['a'], undefined]);
  const api = m.ipRow('203.0.113.2');
  assert.deepEqual([api.service, api.pool, api.bgp, api.others], ['prod/api', 'p1', ['b (router)'], []]);
  assert.match(api.note ?? '', /^BGP-only Service/);
});
