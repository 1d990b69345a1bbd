// ServiceReconciler over the in-memory API store on a fake clock, in the style of MetalLB's
// controller_test.go: rows run in order on one instance; each applies objects, lets the
// reconciler settle, and checks every Service's status and pool annotation and the Events since
// the previous row. Separate tables cover a restart, a lost lease, failed writes and the pool
// status writer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_KINDS } from '../api/metallb.js';
import { ApiStore, type StoredObject } from '../adapters/memory/api-store.js';
import { createLogger } from '../adapters/log.js';
import { DEPRECATED_POOL_ANNOTATION, ingressIps, POOL_ANNOTATION } from '../domain/lb-service.js';
import type { Clock } from './coord-ports.js';
import { fifoLimiter, ServiceReconciler, type AllocationDecision, type Limiter, type Service } from './service-reconciler.js';

const NS = 'metallb-system';

/** Timers on virtual time; advance() runs them in (due, creation) order, settling promises after each. */
class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.timers.set(++this.seq, { due: this.t + Math.max(0, ms), fn });
    return this.seq;
  }
  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      let next: [number, { due: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].due <= until && (!next || e[1].due < next[1].due)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].due;
      next[1].fn();
      await new Promise(setImmediate);
    }
    this.t = until;
  }
}

const pool = (name: string, addresses: string[], labels?: Record<string, string>): StoredObject => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
  spec: { addresses },
});
const svc = (
  name: string,
  o: { annotations?: Record<string, string>; type?: string; lbClass?: string; ingress?: string[]; ipv6?: boolean } = {},
): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'apps', ...(o.annotations ? { annotations: o.annotations } : {}) },
  spec: {
    type: o.type ?? 'LoadBalancer',
    ports: [{ port: 80, protocol: 'TCP' }],
    ...(o.lbClass ? { loadBalancerClass: o.lbClass } : {}),
    ...(o.ipv6 ? { ipFamilies: ['IPv6'] } : {}),
  },
  ...(o.ingress ? { status: { loadBalancer: { ingress: o.ingress.map((ip) => ({ ip, ipMode: 'VIP' })) } } } : {}),
});

/** A Service as the rows see it: ingress IPs, the pool annotation, the deprecated one (older MetalLB). */
type View = { ips: string[]; pool?: string; deprecatedPool?: string };

function harness(o: { limit?: Limiter; onAllocation?: (d: AllocationDecision) => void } = {}) {
  const store = new ApiStore();
  const clock = new FakeClock();
  const writer = store.serviceWriter();
  const events = store.eventSink();
  const status = store.statusSink();
  const services = store.source<Service>('Service');
  const namespaces = store.source('Namespace');
  const config = CONFIG_KINDS.map((kind) => ({ kind, source: store.source(kind) }));
  const log = createLogger({ component: 'controller' }, { write: () => {} });
  const make = () =>
    new ServiceReconciler({
      services,
      namespaces,
      config,
      writer,
      events,
      status,
      clock,
      log,
      namespace: NS,
      ...(o.limit ? { limit: o.limit } : {}),
      ...(o.onAllocation ? { onAllocation: o.onAllocation } : {}),
    });
  let seen = 0;
  const h = {
    store,
    clock,
    writer,
    events,
    status,
    make,
    /** Lets the reconciler finish everything due now (passes, writes, timers at the current time). */
    async settle(r: ServiceReconciler): Promise<void> {
      await r.idle();
      await clock.advance(0);
      await r.idle();
    },
    /** Every Service: its ingress IPs and pool annotation. */
    view(): Record<string, View> {
      return Object.fromEntries(
        store.list<Service>('Service').map((s) => {
          const p = s.metadata?.annotations?.[POOL_ANNOTATION];
          const d = s.metadata?.annotations?.[DEPRECATED_POOL_ANNOTATION];
          return [
            s.metadata?.name ?? '',
            { ips: ingressIps(s), ...(p !== undefined ? { pool: p } : {}), ...(d !== undefined ? { deprecatedPool: d } : {}) },
          ];
        }),
      );
    },
    /** Events since the last call, as "name Type Reason". */
    newEvents(): string[] {
      const out = events.events.slice(seen).map((e) => `${e.target.name} ${e.type} ${e.reason}`);
      seen = events.events.length;
      return out;
    },
  };
  return h;
}
type H = ReturnType<typeof harness>;

interface Row {
  desc: string;
  apply?: StoredObject[];
  remove?: Array<[kind: string, name: string, namespace?: string]>;
  want: Record<string, View>;
  events?: string[];
  /** The Event messages to check, by "name reason". */
  messages?: Record<string, string>;
  config?: { valid: boolean; error?: RegExp };
}

async function runRows(h: H, r: ServiceReconciler, rows: Row[]): Promise<void> {
  for (const row of rows) {
    for (const o of row.apply ?? []) h.store.apply(o);
    for (const [kind, name, ns] of row.remove ?? []) assert.ok(h.store.delete(kind, name, ns), `${row.desc}: ${kind} ${name} to delete`);
    await h.settle(r);
    const from = h.events.events.length;
    assert.deepEqual(h.view(), row.want, row.desc);
    assert.deepEqual(h.newEvents(), row.events ?? [], `${row.desc}: events`);
    for (const [k, msg] of Object.entries(row.messages ?? {})) {
      const [name, reason] = k.split(' ');
      const e = h.events.events
        .slice(0, from)
        .reverse()
        .find((x) => x.target.name === name && x.reason === reason);
      assert.equal(e?.message, msg, `${row.desc}: message of ${k}`);
    }
    if (row.config) {
      const st = h.status.configurationStates.get('controller');
      assert.equal(st?.valid, row.config.valid, `${row.desc}: ConfigurationState`);
      if (row.config.error) assert.match(st?.errorSummary ?? '', row.config.error, `${row.desc}: errorSummary`);
    }
  }
}

/** pool-a holds two addresses: .10 and .11. */
const BASE: Row[] = [
  { desc: 'config: one pool, no services', apply: [pool('pool-a', ['198.51.100.10/31'])], want: {}, config: { valid: true } },
  {
    desc: 'allocate from the pool',
    apply: [svc('a')],
    want: { a: { ips: ['198.51.100.10'], pool: 'pool-a' } },
    events: ['a Normal IPAllocated'],
    messages: { 'a IPAllocated': 'Assigned IP ["198.51.100.10"]' },
  },
  {
    desc: 'requested IP annotation',
    apply: [svc('b', { annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.11' } })],
    want: { a: { ips: ['198.51.100.10'], pool: 'pool-a' }, b: { ips: ['198.51.100.11'], pool: 'pool-a' } },
    events: ['b Normal IPAllocated'],
  },
  {
    desc: 'pool exhausted: AllocationFailed, nothing written',
    apply: [svc('c')],
    want: { a: { ips: ['198.51.100.10'], pool: 'pool-a' }, b: { ips: ['198.51.100.11'], pool: 'pool-a' }, c: { ips: [] } },
    events: ['c Warning AllocationFailed'],
  },
  {
    desc: 'a deleted: its address is released and c gets it',
    remove: [['Service', 'a', 'apps']],
    want: { b: { ips: ['198.51.100.11'], pool: 'pool-a' }, c: { ips: ['198.51.100.10'], pool: 'pool-a' } },
    events: ['c Normal IPAllocated'],
  },
  {
    desc: 'invalid config (overlapping pools): ConfigurationState invalid, services kept',
    apply: [pool('pool-b', ['198.51.100.10/32'])],
    want: { b: { ips: ['198.51.100.11'], pool: 'pool-a' }, c: { ips: ['198.51.100.10'], pool: 'pool-a' } },
    config: { valid: false, error: /IPAddressPool\/pool-b: .*overlaps with already defined CIDR "198\.51\.100\.10\/31" in pool "pool-a"/ },
  },
  {
    desc: 'while invalid, the last valid config serves: b deleted, d gets .11 from pool-a',
    remove: [['Service', 'b', 'apps']],
    apply: [svc('d')],
    want: { c: { ips: ['198.51.100.10'], pool: 'pool-a' }, d: { ips: ['198.51.100.11'], pool: 'pool-a' } },
    events: ['d Normal IPAllocated'],
    config: { valid: false },
  },
  {
    desc: 'config fixed: valid again, nothing moves',
    remove: [['IPAddressPool', 'pool-b', NS]],
    want: { c: { ips: ['198.51.100.10'], pool: 'pool-a' }, d: { ips: ['198.51.100.11'], pool: 'pool-a' } },
    config: { valid: true },
  },
  {
    desc: 'c becomes ClusterIP: released with ClearAssignment, status and annotation cleared',
    apply: [svc('c', { type: 'ClusterIP', ingress: ['198.51.100.10'], annotations: { [POOL_ANNOTATION]: 'pool-a' } })],
    want: { c: { ips: [] }, d: { ips: ['198.51.100.11'], pool: 'pool-a' } },
    events: ['c Normal ClearAssignment'],
    messages: { 'c ClearAssignment': 'cleared IP ["198.51.100.10"] for "apps/c": not a LoadBalancer (type ClusterIP)' },
  },
  {
    desc: 'another loadBalancerClass: not ours, untouched',
    apply: [svc('other', { lbClass: 'example.com/other' })],
    want: { c: { ips: [] }, d: { ips: ['198.51.100.11'], pool: 'pool-a' }, other: { ips: [] } },
  },
  {
    desc: 'deprecated annotation: IPAllocated and deprecatedAnnotation',
    apply: [svc('e', { annotations: { 'metallb.universe.tf/address-pool': 'pool-a' } })],
    want: {
      c: { ips: [] },
      d: { ips: ['198.51.100.11'], pool: 'pool-a' },
      e: { ips: ['198.51.100.10'], pool: 'pool-a' },
      other: { ips: [] },
    },
    events: ['e Normal IPAllocated', 'e Warning deprecatedAnnotation'],
    messages: { 'e deprecatedAnnotation': 'Service uses deprecated annotation metallb.universe.tf/address-pool' },
  },
];

const DEP = { [DEPRECATED_POOL_ANNOTATION]: 'pool-a' };
/** Services an older MetalLB wrote (metallb.universe.tf/ip-allocated-from-pool): migrated as MetalLB v0.16 does. */
const MIGRATION: Row[] = [
  {
    desc: 'at start (an upgrade): only the deprecated pool annotation -> metallb.io/ip-allocated-from-pool, the old one removed; both -> the old one removed',
    want: { old: { ips: ['198.51.100.8'], pool: 'pool-a' }, both: { ips: ['198.51.100.9'], pool: 'pool-a' } },
    events: ['old Warning deprecatedAnnotation', 'both Warning deprecatedAnnotation'],
    messages: { 'old deprecatedAnnotation': 'Service uses deprecated annotation metallb.universe.tf/ip-allocated-from-pool' },
    config: { valid: true },
  },
  {
    desc: 'a new service carrying it: allocated, migrated in the same write',
    apply: [svc('fresh', { annotations: DEP })],
    want: {
      old: { ips: ['198.51.100.8'], pool: 'pool-a' },
      both: { ips: ['198.51.100.9'], pool: 'pool-a' },
      fresh: { ips: ['198.51.100.10'], pool: 'pool-a' },
    },
    events: ['fresh Normal IPAllocated', 'fresh Warning deprecatedAnnotation'],
  },
  {
    desc: 'not a LoadBalancer: the deprecated annotation is cleared too; another class keeps its own',
    apply: [svc('cip', { type: 'ClusterIP', annotations: DEP }), svc('other', { lbClass: 'example.com/other', annotations: DEP })],
    want: {
      old: { ips: ['198.51.100.8'], pool: 'pool-a' },
      both: { ips: ['198.51.100.9'], pool: 'pool-a' },
      fresh: { ips: ['198.51.100.10'], pool: 'pool-a' },
      cip: { ips: [] },
      other: { ips: [], deprecatedPool: 'pool-a' },
    },
    events: ['cip Warning deprecatedAnnotation'],
  },
];

describe('ServiceReconciler', () => {
  it('converges services row by row (allocate, request, exhaust/release, invalid config, not ours, deprecated annotation)', async () => {
    const h = harness();
    const r = h.make();
    r.start();
    await runRows(h, r, BASE);
    await r.stop();
  });

  it('migrates the deprecated pool annotation when it writes the service (MetalLB v0.16), and reports it', async () => {
    const h = harness();
    h.store.apply(pool('pool-a', ['198.51.100.8/30']));
    h.store.apply(svc('old', { ingress: ['198.51.100.8'], annotations: DEP }));
    h.store.apply(svc('both', { ingress: ['198.51.100.9'], annotations: { ...DEP, [POOL_ANNOTATION]: 'pool-a' } }));
    const r = h.make();
    r.start();
    await runRows(h, r, MIGRATION);
    const writes = h.writer.ops.filter((o) => o.op !== 'poolStatus').length;
    // Converged: another pass writes nothing more.
    h.store.apply(pool('pool-a', ['198.51.100.8/30'], { touched: 'yes' }));
    await h.settle(r);
    assert.equal(h.writer.ops.filter((o) => o.op !== 'poolStatus').length, writes, 'no write once migrated');
    assert.deepEqual(h.newEvents(), []);
    await r.stop();
  });

  it('a new instance (restart, next lease term) re-claims from status and moves nothing', async () => {
    const h = harness();
    const first = h.make();
    first.start();
    await runRows(h, first, BASE);
    await first.stop();
    const before = h.view();
    const writes = h.writer.ops.length;
    h.store.apply(svc('late'));
    const second = h.make();
    second.start();
    await h.settle(second);
    assert.deepEqual(h.view(), { ...before, late: { ips: [] } }, 'nothing moved, the pool is full');
    assert.deepEqual(h.newEvents(), ['late Warning AllocationFailed']);
    assert.deepEqual(
      h.writer.ops.slice(writes).filter((o) => o.op !== 'poolStatus'),
      [],
      'no Service written',
    );
    h.store.delete('Service', 'd', 'apps');
    await h.settle(second);
    assert.deepEqual(h.view().late, { ips: ['198.51.100.11'], pool: 'pool-a' });
    await second.stop();
    assert.equal(h.store.listenerCount('Service'), 1, 'terms share one subscription per source');
  });

  it('a lost lease stops writes at once: queued writes dropped, no Events; the next term picks up', async () => {
    const h = harness({ limit: fifoLimiter(1) });
    h.store.apply(pool('pool-a', ['198.51.100.8/30']));
    const a = h.make();
    a.start();
    await h.settle(a);
    h.writer.pause();
    h.store.apply(svc('x'));
    h.store.apply(svc('y'));
    // Wait until x's write is in flight (held by the pause) and y's is queued behind the limit.
    while (!h.events.events.some((e) => e.target.name === 'y')) await new Promise(setImmediate);
    const stopping = a.stop();
    h.store.apply(svc('z'));
    h.writer.resume();
    await stopping;
    await h.clock.advance(5000);
    const written = h.writer.ops.filter((o) => o.op === 'serviceStatus').map((o) => o.name);
    assert.deepEqual(written, ['x'], 'only the write already in flight went out');
    assert.deepEqual(h.newEvents(), ['x Normal IPAllocated', 'y Normal IPAllocated'], 'nothing recorded after the lease was lost');
    const b = h.make();
    b.start();
    await h.settle(b);
    assert.deepEqual(h.view(), {
      x: { ips: ['198.51.100.8'], pool: 'pool-a' },
      y: { ips: ['198.51.100.9'], pool: 'pool-a' },
      z: { ips: ['198.51.100.10'], pool: 'pool-a' },
    });
    // Services that wait for an address when a term starts get it in the start-up re-claim, which
    // records no Event (as the controller always did): only x's is checked, it must not move.
    assert.deepEqual(
      h.newEvents().filter((e) => e.startsWith('x ')),
      [],
    );
    await b.stop();
  });

  it('a failed write is retried after the retry delay, with one IPAllocated', async () => {
    const h = harness();
    h.store.apply(pool('pool-a', ['198.51.100.8/30']));
    let failures = 2;
    h.writer.fail = (op) => (op.op === 'serviceStatus' && failures-- > 0 ? new Error('etcdserver: request timed out') : undefined);
    const r = h.make();
    r.start();
    await h.settle(r);
    h.store.apply(svc('s'));
    await h.settle(r);
    assert.deepEqual(h.view(), { s: { ips: [] } }, 'first attempt failed');
    await h.clock.advance(1000);
    await h.settle(r);
    assert.deepEqual(h.view(), { s: { ips: [] } }, 'second attempt failed');
    await h.clock.advance(1000);
    await h.settle(r);
    assert.deepEqual(h.view(), { s: { ips: ['198.51.100.8'], pool: 'pool-a' } });
    assert.deepEqual(
      h.writer.ops.filter((o) => o.op === 'serviceStatus').map((o) => o.ok),
      [false, false, true],
    );
    assert.deepEqual(h.newEvents(), ['s Normal IPAllocated']);
    await r.stop();
  });

  it('pool status: one round per second of clock time; its own status writes cause no config pass', async () => {
    const h = harness();
    h.store.apply(pool('pool-a', ['198.51.100.8/30']));
    const r = h.make();
    r.start();
    h.store.apply(svc('s1'));
    await h.settle(r);
    const assigned = () => (h.store.get('IPAddressPool', 'pool-a', NS)?.status as { assignedIPv4?: number } | undefined)?.assignedIPv4;
    assert.equal(assigned(), 1);
    assert.deepEqual(h.store.get('IPAddressPool', 'pool-a', NS)?.status, {
      assignedIPv4: 1,
      assignedIPv6: 0,
      availableIPv4: 3,
      availableIPv6: 0,
    });
    const passes = h.status.configurationCalls.length;
    h.store.apply(svc('s2'));
    await h.settle(r);
    assert.equal(assigned(), 1, 'the next round waits for the interval');
    await h.clock.advance(999);
    await h.settle(r);
    assert.equal(assigned(), 1, 'still within the interval');
    await h.clock.advance(1);
    await h.settle(r);
    assert.equal(assigned(), 2);
    assert.equal(h.writer.ops.filter((o) => o.op === 'poolStatus').length, 2, 'one write per round');
    assert.equal(h.status.configurationCalls.length, passes, 'status-only pool updates do not re-parse the config');
    h.store.apply(pool('pool-a', ['198.51.100.8/30'], { team: 'x' }));
    await h.settle(r);
    assert.equal(h.status.configurationCalls.length, passes + 1, 'a label change does');
    await r.stop();
  });

  it('a failed pool status write is retried a second later', async () => {
    const h = harness();
    h.store.apply(pool('pool-a', ['198.51.100.8/30']));
    let failures = 1;
    h.writer.fail = (op) => (op.op === 'poolStatus' && failures-- > 0 ? new Error('conflict') : undefined);
    const r = h.make();
    r.start();
    h.store.apply(svc('s1'));
    await h.settle(r);
    assert.equal(h.store.get('IPAddressPool', 'pool-a', NS)?.status, undefined);
    await h.clock.advance(1000);
    await h.settle(r);
    assert.deepEqual(h.store.get('IPAddressPool', 'pool-a', NS)?.status, {
      assignedIPv4: 1,
      assignedIPv6: 0,
      availableIPv4: 3,
      availableIPv6: 0,
    });
    await r.stop();
  });

  it('converges 1,200 services in one pass (yielding every 500), one write each', async () => {
    const h = harness();
    h.store.apply(pool('pool-a', ['2001:db8:1::/112']));
    for (let i = 0; i < 1200; i++) h.store.apply(svc(`s${i}`, { ipv6: true }));
    const r = h.make();
    r.start();
    await h.settle(r);
    const v = Object.values(h.view());
    assert.equal(v.filter((s) => s.ips.length === 1 && s.pool === 'pool-a').length, 1200);
    assert.equal(new Set(v.map((s) => s.ips[0])).size, 1200, 'distinct addresses');
    assert.equal(h.writer.ops.filter((o) => o.op === 'serviceStatus').length, 1200, 'one write per service');
    await r.stop();
  });

  it('a newer wanted state replaces a queued write: the stale one is never sent', async () => {
    const h = harness({ limit: fifoLimiter(1) });
    h.store.apply(pool('pool-a', ['198.51.100.8/30']));
    const r = h.make();
    r.start();
    await h.settle(r);
    h.writer.pause();
    h.store.apply(svc('x'));
    h.store.apply(svc('y'));
    while (!h.events.events.some((e) => e.target.name === 'y')) await new Promise(setImmediate);
    // y's write (198.51.100.9) waits behind x's; y now asks for .11.
    h.store.apply(svc('y', { annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.11' } }));
    while (h.events.events.filter((e) => e.target.name === 'y').length < 2) await new Promise(setImmediate);
    h.writer.resume();
    await h.settle(r);
    const ys = h.writer.ops.filter((o) => o.op === 'serviceStatus' && o.name === 'y');
    assert.deepEqual(
      ys.map((o) => o.op === 'serviceStatus' && o.ingress.map((i) => i.ip)),
      [['198.51.100.11']],
    );
    assert.deepEqual(h.view(), { x: { ips: ['198.51.100.8'], pool: 'pool-a' }, y: { ips: ['198.51.100.11'], pool: 'pool-a' } });
    await r.stop();
  });

  it('tells each allocation decision with its pool and why, or why none, once; allocations() lists them all', async () => {
    const told: AllocationDecision[] = [];
    const h = harness({ onAllocation: (d) => told.push(d) });
    const r = h.make();
    r.start();
    h.store.apply(pool('p1', ['198.51.100.10/32']));
    h.store.apply(pool('p2', ['203.0.113.0/30']));
    h.store.apply(svc('a'));
    await h.settle(r);
    h.store.apply(svc('b', { annotations: { 'metallb.io/address-pool': 'p1' } }));
    h.store.apply(svc('c', { annotations: { 'metallb.io/loadBalancerIPs': '203.0.113.2' } }));
    await h.settle(r);
    const why = (d: AllocationDecision) => `${d.service} [${d.ips.join(',')}] ${d.pool ?? '-'} ${d.why}`;
    assert.deepEqual(told.map(why), [
      'apps/a [198.51.100.10] p1 pool p1: auto-assigned (first pool by priority with a free address)',
      'apps/b [] - no IP: exhausted: ' + (told[1]?.why.split(': ').slice(2).join(': ') ?? ''),
      'apps/c [203.0.113.2] p2 pool p2: the IPs the Service requested',
    ]);
    assert.match(told[1]?.why ?? '', /^no IP: exhausted: .+/);
    // Settling again tells nothing new; a deletion tells the release.
    await h.clock.advance(5000);
    await h.settle(r);
    assert.equal(told.length, 3);
    assert.deepEqual(
      r
        .allocations()
        .map((d) => d.service)
        .sort(),
      ['apps/a', 'apps/b', 'apps/c'],
    );
    h.store.delete('Service', 'a', 'apps');
    await h.settle(r);
    assert.equal(why(told[3] as AllocationDecision), 'apps/a [] - released: the Service was deleted');
    await r.stop();
    // A new term re-claims from status: allocations() lists them without a decision told.
    const r2 = h.make();
    r2.start();
    await h.settle(r2);
    const c = r2.allocations().find((d) => d.service === 'apps/c');
    assert.deepEqual([c?.ips, c?.pool], [['203.0.113.2'], 'p2']);
    await r2.stop();
  });
});
