import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { SpeakerNode, type SpeakerCoordinator, type SpeakerPeers } from './speaker-node.js';
import type { ClusterSpec, Transition } from './coordinator.js';
import type { Clock } from './coord-ports.js';
import type { ChangeType, DesiredStatus, EventSink, KubeObject, ObjectSource, StatusSink } from './kube-ports.js';
import type { PeerSpec } from './bgp-peers.js';
import type { RouteAttrs } from '../domain/bgp-advertisements.js';
import type { Explained } from '../domain/speaker-status.js';
import type { EventLimits } from '../domain/event-limiter.js';
import type { L2Conflict, NoInterface } from './l2-port.js';

/** An in-memory ObjectSource. */
class Source implements ObjectSource {
  private readonly items = new Map<string, KubeObject>();
  private readonly cbs: Array<(ev: { type: ChangeType; obj: KubeObject }) => void> = [];
  readonly synced = Promise.resolve();
  constructor(readonly name: string) {}
  isSynced(): boolean {
    return true;
  }
  list(): readonly KubeObject[] {
    return [...this.items.values()];
  }
  get(name: string, namespace?: string): KubeObject | undefined {
    return this.items.get(`${namespace ?? ''}/${name}`);
  }
  onChange(cb: (ev: { type: ChangeType; obj: KubeObject }) => void): void {
    this.cbs.push(cb);
  }
  put(o: KubeObject): void {
    const type = this.items.has(this.key(o)) ? 'update' : 'add';
    this.items.set(this.key(o), o);
    for (const cb of this.cbs) cb({ type, obj: o });
  }
  private key(o: KubeObject): string {
    return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  }
}

const mlb = (kind: string, name: string, spec: Record<string, unknown>, v = 'v1beta1'): KubeObject & { spec: unknown } => ({
  apiVersion: `metallb.io/${v}`,
  kind,
  metadata: { name, namespace: 'metallb-system', uid: `${kind}/${name}`, generation: 1 },
  spec,
});
const svc = (name: string, ip: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'web', uid: `svc/${name}` },
    spec: { type: 'LoadBalancer' },
    status: { loadBalancer: { ingress: [{ ip }] } },
  }) as KubeObject;

function harness(eventLimits?: EventLimits) {
  const sim = new SimulatedClock();
  const clock: Clock = {
    now: () => sim.now(),
    setTimeout: (fn, ms) => sim.setTimeout(fn, ms),
    clearTimeout: (id) => sim.clearTimeout(id as never),
  };
  const pools = new Source('ipaddresspools');
  const ads = new Source('l2advertisements');
  const services = new Source('services');
  const nodes = new Source('nodes');
  const sources = {
    services,
    endpointSlices: new Source('endpointslices'),
    nodes,
    namespaces: new Source('namespaces'),
    secrets: new Source('secrets'),
    config: [pools, ads],
  };

  const owned = new Set<string>();
  /** What explain() says for an IP this node does not own (default: notOwner, owner n2). */
  const why = new Map<string, Explained>();
  const conflictCbs: Array<(c: L2Conflict) => void> = [];
  const noIfaceCbs: Array<(p: NoInterface) => void> = [];
  const transitions: Array<(t: Transition) => void> = [];
  const clusters: ClusterSpec[] = [];
  const calls: string[] = [];
  const coordinator: SpeakerCoordinator = {
    start: () => calls.push('coord.start'),
    setCluster: (spec) => clusters.push(spec),
    owned: () => [...owned],
    explain: (ip) =>
      owned.has(ip)
        ? { owner: 'n1', state: 'announcing', reason: undefined }
        : (why.get(ip) ?? { owner: 'n2', state: 'standby', reason: 'notOwner' }),
    stateOf: (ip) => ({ state: owned.has(ip) ? 'announcing' : 'standby' }),
    onTransition: (cb) => {
      transitions.push(cb);
      return () => undefined;
    },
    onConflict: (cb) => {
      conflictCbs.push(cb);
      return () => undefined;
    },
    onNoInterface: (cb) => {
      noIfaceCbs.push(cb);
      return () => undefined;
    },
    setDraining: (on) => {
      calls.push(`drain ${on}`);
      sim.setTimeout(() => owned.clear(), 120);
    },
    shutdown: () => calls.push('coord.shutdown'),
  };
  const reconciled: PeerSpec[][] = [];
  const routes: Array<Map<string, Map<string, RouteAttrs>>> = [];
  const peers: SpeakerPeers = {
    reconcile: (s) => {
      reconciled.push([...s]);
    },
    setRoutes: (r) => {
      routes.push(r);
    },
    stop: async (graceful) => {
      calls.push(`peers.stop ${graceful}`);
    },
  };
  const events: Array<{ name: string; type: string; reason: string; message: string }> = [];
  const sink: EventSink = {
    record: (t, type, reason, message) => events.push({ name: t.name, type, reason, message }),
    flush: async () => undefined,
  };
  const configStates: Array<[string, boolean, string]> = [];
  const writes: Array<[string, DesiredStatus[]]> = [];
  const status: StatusSink = {
    configurationState: async (name, valid, err) => {
      configStates.push([name, valid, err]);
    },
    reconcile: async (plural, _node, desired) => {
      writes.push([plural, [...desired]]);
    },
  };
  const logs: Array<Record<string, unknown>> = [];
  const log = {
    info: (_m: string, f?: Record<string, unknown>) => logs.push({ ...f }),
    warn: (_m: string, f?: Record<string, unknown>) => logs.push({ ...f }),
    error: (_m: string, f?: Record<string, unknown>) => logs.push({ ...f }),
  };
  const speaker = new SpeakerNode({
    node: 'n1',
    namespace: 'metallb-system',
    sources,
    coordinator,
    peers,
    events: sink,
    status,
    clock,
    log,
    ...(eventLimits ? { eventLimits } : {}),
  });
  const settle = () => new Promise<void>((r) => setImmediate(r));
  const advance = async (ms: number) => {
    await settle();
    for (let i = 0; i < ms; i++) {
      sim.increment(1);
      await Promise.resolve();
    }
    await settle();
  };
  const transition = (t: Partial<Transition> & { ip: string; from: Transition['from']; to: Transition['to'] }) => {
    for (const cb of transitions) cb({ at: sim.now(), node: 'n1', service: 'web/web', reason: undefined, epoch: 1, ...t });
  };
  const lastWrite = (plural: string) => [...writes].reverse().find(([p]) => p === plural)?.[1];
  /** Starts the speaker, then delivers the first list as add events (as an informer does). */
  const start = () => {
    speaker.start();
    pools.put(mlb('IPAddressPool', 'p', { addresses: ['198.51.100.0/28'] }));
    ads.put(mlb('L2Advertisement', 'l2', { ipAddressPools: ['p'], interfaces: ['eth1'] }));
    services.put(svc('web', '198.51.100.1'));
    services.put(svc('lost', '192.0.2.9'));
    nodes.put({ metadata: { name: 'n1', uid: 'n1', labels: {} } });
  };
  return {
    start,
    sim,
    speaker,
    sources,
    pools,
    services,
    owned,
    why,
    conflict: (c: L2Conflict) => conflictCbs.forEach((cb) => cb(c)),
    noInterface: (p: NoInterface) => noIfaceCbs.forEach((cb) => cb(p)),
    clusters,
    calls,
    reconciled,
    routes,
    events,
    configStates,
    writes,
    logs,
    advance,
    transition,
    lastWrite,
  };
}

test("reconciles once synced: the coordinator gets the L2 view with the ads' interfaces; ConfigurationState valid; notAnnounced once", async () => {
  const h = harness();
  h.start();
  await h.advance(50);
  assert.deepEqual(h.calls, ['coord.start']);
  assert.deepEqual(
    h.clusters.at(-1)?.services.map((s) => [s.key, s.ips, s.interfaces]),
    [['web/web', ['198.51.100.1'], ['eth1']]],
  );
  assert.deepEqual(h.configStates, [['speaker-n1', true, '']]);
  assert.deepEqual(
    h.events.map((e) => [e.name, e.reason]),
    [['lost', 'notAnnounced']],
  );
  assert.match(h.events[0]?.message ?? '', /node n1 does not announce 192\.0\.2\.9: noPool/);
  assert.deepEqual(h.reconciled.at(-1), []);
  // A change that matters reconciles again; the same reason is not reported twice.
  h.services.put(svc('web', '198.51.100.2'));
  await h.advance(50);
  assert.deepEqual(
    h.clusters.at(-1)?.services.map((s) => s.ips),
    [['198.51.100.2']],
  );
  assert.equal(h.events.length, 1);
});

test('an update that changes nothing the speaker reads does not reconcile', async () => {
  const h = harness();
  h.start();
  await h.advance(50);
  const n = h.clusters.length;
  const pool = h.pools.list()[0] as KubeObject & { spec: unknown; status?: unknown };
  h.pools.put({ ...pool, status: { assignedIPv4: 3 } } as KubeObject);
  await h.advance(50);
  assert.equal(h.clusters.length, n);
  h.pools.put({ ...pool, metadata: { ...pool.metadata, generation: 2 }, spec: { addresses: ['198.51.100.0/27'] } } as KubeObject);
  await h.advance(50);
  assert.equal(h.clusters.length, n + 1);
});

test('an invalid config keeps the last good one and says why', async () => {
  const h = harness();
  h.start();
  await h.advance(50);
  h.pools.put(mlb('IPAddressPool', 'p', { addresses: ['not-a-range'] }));
  await h.advance(50);
  const [name, valid, err] = h.configStates.at(-1) ?? [];
  assert.deepEqual([name, valid], ['speaker-n1', false]);
  assert.ok(err && err.length > 0);
  assert.equal(h.speaker.isStale(), true);
  assert.ok(h.logs.some((l) => l.event === 'config.invalid' && l.stale === true));
  assert.deepEqual(
    h.clusters.at(-1)?.services.map((s) => s.ips),
    [['198.51.100.1']],
    'still the last good plan',
  );
});

test('a take-over: nodeAssigned, L2 status written once for a burst; stop drains, stops peers, withdraws, clears status', async () => {
  const h = harness();
  h.start();
  await h.advance(50);
  const before = h.writes.filter(([p]) => p === 'servicel2statuses').length;
  h.owned.add('198.51.100.1');
  h.transition({ ip: '198.51.100.1', from: 'idle', to: 'standby' });
  h.transition({ ip: '198.51.100.1', from: 'standby', to: 'announcing' });
  h.transition({ ip: '198.51.100.1', from: 'standby', to: 'announcing' });
  await h.advance(30);
  assert.deepEqual(
    h.events.filter((e) => e.reason === 'nodeAssigned').map((e) => [e.name, e.message]),
    [
      ['web', 'announcing from node "n1" with protocol "layer2"'],
      ['web', 'announcing from node "n1" with protocol "layer2"'],
    ],
  );
  assert.equal(h.writes.filter(([p]) => p === 'servicel2statuses').length, before + 1);
  assert.deepEqual(h.lastWrite('servicel2statuses'), [
    { serviceKey: 'web/web', status: { node: 'n1', serviceName: 'web', serviceNamespace: 'web', interfaces: [{ name: 'eth1' }] } },
  ]);
  const stopped = h.speaker.stop();
  await h.advance(400);
  await stopped;
  assert.deepEqual(h.calls, ['coord.start', 'drain true', 'peers.stop true', 'coord.shutdown']);
  assert.deepEqual(h.lastWrite('servicel2statuses'), []);
});

test('BGPPeers with fields the native backend cannot honour get no session: logged, an Event on the BGPPeer, and ConfigurationState says so (table)', async () => {
  const base = { myASN: 64512, peerASN: 64500 };
  const cases: Array<[string, Record<string, unknown>, string | undefined]> = [
    ['ok', { ...base, peerAddress: '198.51.100.20' }, undefined],
    ['in-vrf', { ...base, peerAddress: '198.51.100.21', vrf: 'red' }, 'spec.vrf'],
    ['vrf-unnumbered', { ...base, interface: 'eth1', vrf: 'blue' }, 'spec.vrf'],
    // BGP unnumbered runs on the native backend: no refusal.
    ['unnumbered', { ...base, interface: 'eth1' }, undefined],
  ];
  const h = harness();
  h.start();
  for (const [name, spec] of cases) h.pools.put(mlb('BGPPeer', name, spec, 'v1beta2'));
  await h.advance(50);
  assert.deepEqual(
    h.reconciled.at(-1)?.map((s) => s.bgp.name),
    cases.filter(([, , f]) => !f).map(([n]) => n),
  );
  const [, valid, summary] = h.configStates.at(-1) ?? [];
  assert.equal(valid, false);
  const refusedLogs = h.logs.filter((l) => l.event === 'bgp.peerRefused');
  for (const [name, spec, field] of cases) {
    if (!field) {
      assert.doesNotMatch(summary ?? '', new RegExp(`BGPPeer/${name}:`));
      continue;
    }
    const value = String(spec[field.slice('spec.'.length)]);
    assert.match(
      summary ?? '',
      new RegExp(`BGPPeer/${name}: ${field.replace('.', '\\.')}: "${value}": refused on this node: .*(FRR mode)`),
    );
    const l = refusedLogs.find((x) => x.name === name);
    assert.deepEqual([l?.kind, l?.field, l?.value], ['BGPPeer', field, value], name);
    assert.match(String(l?.reason), /not (supported|implemented) by the native BGP backend/);
  }
  assert.equal(refusedLogs.length, 2);
  // A Warning Event on each refused BGPPeer names the field and points to the FRR backend.
  const refusedEvents = h.events.filter((e) => e.reason === 'peerRefused');
  assert.deepEqual(refusedEvents.map((e) => [e.name, e.type]).sort(), [
    ['in-vrf', 'Warning'],
    ['vrf-unnumbered', 'Warning'],
  ]);
  assert.match(
    refusedEvents.find((e) => e.name === 'in-vrf')?.message ?? '',
    /^refused on node "n1": spec\.vrf: "red": .*--bgp-backend=frr/,
  );
  assert.match(
    refusedEvents.find((e) => e.name === 'vrf-unnumbered')?.message ?? '',
    /^refused on node "n1": spec\.vrf: "blue": .*--bgp-backend=frr/,
  );
  // The same refusals are not logged again; fixing the peers makes the state valid.
  h.pools.put(mlb('BGPPeer', 'in-vrf', { ...base, peerAddress: '198.51.100.21' }, 'v1beta2'));
  h.pools.put(mlb('BGPPeer', 'vrf-unnumbered', { ...base, interface: 'eth2' }, 'v1beta2'));
  await h.advance(50);
  assert.deepEqual(h.configStates.at(-1), ['speaker-n1', true, '']);
  assert.deepEqual(
    h.reconciled
      .at(-1)
      ?.map((s) => s.bgp.name)
      .sort(),
    ['in-vrf', 'ok', 'unnumbered', 'vrf-unnumbered'],
  );
  assert.equal(h.logs.filter((l) => l.event === 'bgp.peerRefused').length, 2);
  assert.equal(h.events.filter((e) => e.reason === 'peerRefused').length, 2, 'no Event again once fixed');
});

test('Events follow take-overs and releases: notOwner after a move, then fencedByEpoch, natsDisconnected (no reconcile needed)', async () => {
  const h = harness();
  h.start();
  await h.advance(50);
  const ip = '198.51.100.1';
  h.events.length = 0;
  h.owned.add(ip);
  h.transition({ ip, from: 'standby', to: 'announcing' });
  await h.advance(30);
  h.owned.delete(ip);
  h.transition({ ip, from: 'announcing', to: 'standby' });
  await h.advance(30);
  h.why.set(ip, { owner: 'n2', state: 'standby', reason: 'fencedByEpoch' });
  h.transition({ ip, from: 'standby', to: 'awaitingRelease' });
  await h.advance(30);
  h.why.set(ip, { owner: 'n1', state: 'standby', reason: 'natsDisconnected' });
  h.transition({ ip, from: 'awaitingRelease', to: 'standby' });
  await h.advance(30);
  assert.deepEqual(
    h.events.map((e) => [e.name, e.type, e.reason, e.message.split(': ').slice(0, 2).join(': ')]),
    [
      ['web', 'Normal', 'nodeAssigned', 'announcing from node "n1" with protocol "layer2"'],
      ['web', 'Normal', 'notAnnounced', 'node n1 no longer announces 198.51.100.1 by layer2: notOwner'],
      ['web', 'Warning', 'notAnnounced', 'node n1 does not announce 198.51.100.1 by layer2: fencedByEpoch'],
      ['web', 'Warning', 'notAnnounced', 'node n1 does not announce 198.51.100.1 by layer2: natsDisconnected'],
    ],
  );
});

test('l2Conflict and interfaceNotFound: one Event per sighting, again only after a quiet period', async () => {
  const h = harness();
  h.start();
  await h.advance(50);
  h.events.length = 0;
  const c = { ip: '198.51.100.1', mac: '02:00:00:00:00:02', iface: 'eth1' };
  h.conflict(c);
  h.conflict(c);
  h.conflict({ ...c, ip: '203.0.113.77' }); // not a Service IP of ours: nothing to say it on
  h.noInterface({ ip: '198.51.100.1', wanted: ['eth1'], eligible: ['eth0'] });
  h.noInterface({ ip: '198.51.100.1', wanted: ['eth1'], eligible: ['eth0'] });
  await h.advance(1);
  assert.deepEqual(
    h.events.map((e) => [e.name, e.type, e.reason]),
    [
      ['web', 'Warning', 'l2Conflict'],
      ['web', 'Warning', 'interfaceNotFound'],
    ],
  );
  assert.match(h.events[0]?.message ?? '', /another station \(MAC 02:00:00:00:00:02\).*strictARP: true/);
  assert.match(h.events[1]?.message ?? '', /L2Advertisement l2 allows eth1, this node can announce on eth0/);
  h.sim.increment(600_000);
  h.conflict(c);
  await h.advance(1);
  assert.deepEqual(
    h.events.map((e) => e.reason),
    ['l2Conflict', 'interfaceNotFound', 'l2Conflict'],
  );
});

test('rate limit: a flapping reason gets its burst, the rest waits and goes out later with a count, if still true', async () => {
  const h = harness({ perKey: { burst: 1, intervalMs: 1000 }, total: { burst: 100, intervalMs: 1 } });
  h.start();
  await h.advance(50);
  h.events.length = 0;
  const ip = '198.51.100.1';
  const flip = async (reason: string) => {
    h.why.set(ip, { owner: 'n2', state: 'standby', reason });
    h.transition({ ip, from: 'standby', to: 'awaitingRelease' });
    await h.advance(25);
    h.transition({ ip, from: 'awaitingRelease', to: 'standby' });
    await h.advance(25);
  };
  await flip('fencedByEpoch'); // sent
  await flip('natsDisconnected'); // its own bucket: sent
  await flip('fencedByEpoch'); // bucket empty: held
  await flip('natsDisconnected'); // held fencedByEpoch no longer true: dropped; natsDisconnected held
  await flip('fencedByEpoch'); // held
  assert.deepEqual(
    h.events.map((e) => /: (\w+): /.exec(e.message)?.[1]),
    ['fencedByEpoch', 'natsDisconnected'],
  );
  await h.advance(1000);
  assert.deepEqual(
    h.events.map((e) => /: (\w+): /.exec(e.message)?.[1]),
    ['fencedByEpoch', 'natsDisconnected', 'fencedByEpoch'],
  );
  assert.match(h.events[2]?.message ?? '', /\(1 earlier change of this reason not reported: rate limit\)$/);
});
