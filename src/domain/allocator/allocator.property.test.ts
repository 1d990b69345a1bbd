// fast-check properties over random operation sequences (assign, release, pool changes, namespace
// changes) on small pools, so exhaustion, sharing and eviction are exercised constantly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Allocator } from './allocator.js';
import { readIntent } from './service.js';
import { buildPools, poolRefusal, type PoolState } from './pool.js';
import { deepFreeze, svc } from './test-helpers.js';
import type { AllocatorPool, ServiceRequest } from './types.js';

const POOLS: AllocatorPool[][] = deepFreeze([
  [
    { name: 'a', addresses: ['198.51.100.0/30'] },
    { name: 'b', avoidBuggyIPs: true, addresses: ['198.51.100.254-198.51.101.1', '2001:db8::/126'] },
    // The same addresses as "pin" below, under other rules: a switch of config must evict.
    { name: 'pin', serviceAllocation: { namespaces: ['n2'] }, addresses: ['203.0.113.8/30'] },
  ],
  [
    { name: 'a', addresses: ['198.51.100.1/32', '198.51.100.2/31'] },
    { name: 'c', addresses: ['2001:db8::2/127', '203.0.113.0/31'] },
    {
      name: 'pin',
      serviceAllocation: { priority: 1, namespaceSelectors: [{ matchLabels: { pin: 'yes' } }] },
      addresses: ['203.0.113.8/30', '2001:db8:1::/126'],
    },
  ],
  [
    { name: 'a', autoAssign: false, addresses: ['198.51.100.0/30'] },
    { name: 'b', addresses: ['2001:db8::/125', '198.51.101.1/32'] },
    { name: 'web', serviceAllocation: { serviceSelectors: [{ matchLabels: { app: 'web' } }] }, addresses: ['203.0.113.8/29'] },
  ],
]);

const FAMILIES = [
  { families: [4] as const },
  { families: [6] as const },
  { families: [4, 6] as const, policy: 'PreferDualStack' as const },
  { families: [6, 4] as const, policy: 'RequireDualStack' as const },
];
const REQUESTABLE = ['198.51.100.1', '198.51.100.2', '2001:db8::1', '203.0.113.9', '198.51.101.0'];

/** `arb` with probability pct%, else undefined. */
function sometimes<T>(arb: fc.Arbitrary<T>, pct: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 100 - pct, arbitrary: fc.constant(undefined) }, { weight: pct, arbitrary: arb });
}

const serviceArb: fc.Arbitrary<ServiceRequest> = fc
  .record({
    name: fc.constantFrom('s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'),
    ns: fc.constantFrom('n1', 'n2'),
    share: sometimes(fc.constantFrom('k1', 'k2'), 60),
    ports: fc.subarray(['TCP/80', 'TCP/443', 'UDP/53'], { minLength: 0 }),
    fam: fc.constantFrom(...FAMILIES),
    lbIP: sometimes(fc.constantFrom(...REQUESTABLE), 15),
    pool: sometimes(fc.constantFrom('a', 'b', 'c', 'web', 'nope'), 15),
    local: sometimes(fc.constantFrom({ app: 'x' }, { app: 'y' }), 25),
    web: fc.boolean(),
  })
  .map((r) =>
    deepFreeze(
      svc(r.name, {
        ns: r.ns,
        ports: r.ports,
        families: [...r.fam.families],
        ...(r.fam.policy ? { policy: r.fam.policy } : {}),
        ...(r.share ? { share: r.share } : {}),
        ...(r.lbIP ? { lbIP: r.lbIP } : {}),
        ...(r.pool ? { pool: r.pool } : {}),
        ...(r.local ? { local: r.local } : {}),
        labels: r.web ? { app: 'web' } : {},
      }),
    ),
  );

type Op =
  | { kind: 'assign'; svc: ServiceRequest }
  | { kind: 'release'; svc: ServiceRequest }
  | { kind: 'pools'; i: number }
  | { kind: 'ns'; pinned: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: serviceArb.map((s) => ({ kind: 'assign' as const, svc: s })) },
  { weight: 2, arbitrary: serviceArb.map((s) => ({ kind: 'release' as const, svc: s })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: POOLS.length - 1 }).map((i) => ({ kind: 'pools' as const, i })) },
  { weight: 2, arbitrary: fc.boolean().map((pinned) => ({ kind: 'ns' as const, pinned })) },
);

/** What the test knows about the allocator's world: the latest request per service, the config. */
interface World {
  latest: Map<string, ServiceRequest>;
  pools: number;
  pinned: boolean;
}

function world(pools: number): World {
  return { latest: new Map(), pools, pinned: false };
}

function apply(a: Allocator, op: Op, w: World): void {
  if (op.kind === 'assign') {
    w.latest.set(op.svc.key, op.svc);
    a.assign(op.svc);
  } else if (op.kind === 'release') a.release(op.svc.key);
  else if (op.kind === 'pools') {
    assert.ok(a.setPools(POOLS[op.i] as AllocatorPool[]).ok);
    w.pools = op.i;
  } else {
    a.setNamespaces({ n1: op.pinned ? { pin: 'yes' } : {}, n2: {} });
    w.pinned = op.pinned;
  }
}

/** The invariants that must hold after every step. */
function checkInvariants(a: Allocator, w: World): void {
  assert.deepEqual(a.audit(), [], 'internal indexes agree with the holdings');
  const latest = w.latest;
  const all = a.list();
  // Every holder is accepted by its pool's serviceAllocation under the current namespaces.
  const built = buildPools(POOLS[w.pools] as AllocatorPool[]);
  assert.ok(built.ok);
  const nsLabels = (ns: string): Record<string, string> => (ns === 'n1' && w.pinned ? { pin: 'yes' } : {});
  for (const al of all) {
    const pool: PoolState | undefined = built.pools.find((p) => p.name === al.pool);
    assert.ok(pool, `${al.key} is in unknown pool ${al.pool}`);
    assert.equal(poolRefusal(pool, latest.get(al.key) as ServiceRequest, nsLabels), undefined, `${al.key} not accepted by ${al.pool}`);
  }
  const holders = new Map<string, string[]>();
  for (const al of all) {
    const fams = al.ips.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4'));
    assert.equal(new Set(fams).size, fams.length, `${al.key} holds two addresses of one family`);
    for (const ip of al.ips) {
      assert.equal(a.poolOf(ip), al.pool, `${al.key}: ${ip} is not in its pool ${al.pool}`);
      holders.set(ip, [...(holders.get(ip) ?? []), al.key]);
    }
  }
  // No address held by two services unless sharing allows it.
  for (const [ip, keys] of holders) {
    assert.deepEqual([...keys].sort(), a.servicesOn(ip), `servicesOn(${ip})`);
    if (keys.length < 2) continue;
    const intents = keys.map((k) => {
      const r = readIntent(latest.get(k) as ServiceRequest);
      return r.ok ? r.value : (r.fallback as NonNullable<typeof r.fallback>);
    });
    const first = intents[0];
    assert.ok(first);
    for (const it of intents) {
      assert.notEqual(it.sharing, '', `${ip} shared by ${keys.join(',')} without a key`);
      assert.equal(it.sharing, first.sharing, `${ip}: sharing keys differ`);
      assert.equal(it.backend, first.backend, `${ip}: backend keys differ`);
    }
    const ports = intents.flatMap((it) => it.ports);
    assert.equal(new Set(ports).size, ports.length, `${ip}: ports overlap among ${keys.join(',')}`);
  }
  // Stats agree with the holdings.
  for (const st of a.stats()) {
    const mine = all.filter((x) => x.pool === st.pool);
    const v4 = new Set(mine.flatMap((x) => x.ips).filter((ip) => !ip.includes(':')));
    const v6 = new Set(mine.flatMap((x) => x.ips).filter((ip) => ip.includes(':')));
    assert.equal(st.services, mine.length, `${st.pool} services`);
    assert.equal(st.ipv4.assigned, v4.size, `${st.pool} IPv4 assigned`);
    assert.equal(st.ipv6.assigned, v6.size, `${st.pool} IPv6 assigned`);
    assert.equal(st.ipv4.available, st.ipv4.total - BigInt(v4.size));
    assert.equal(st.ipv6.available, st.ipv6.total - BigInt(v6.size));
  }
}

test('invariants hold after every step of any operation sequence', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: POOLS.length - 1 }), fc.boolean(), fc.array(opArb, { maxLength: 60 }), (p0, pinned, ops) => {
      const a = new Allocator();
      assert.ok(a.setPools(POOLS[p0] as AllocatorPool[]).ok);
      const w = world(p0);
      apply(a, { kind: 'ns', pinned }, w);
      for (const op of ops) {
        apply(a, op, w);
        checkInvariants(a, w);
      }
    }),
    { numRuns: 300 },
  );
});

test('assigning the same request twice changes nothing', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: POOLS.length - 1 }), fc.array(opArb, { maxLength: 40 }), serviceArb, (p0, ops, s) => {
      const a = new Allocator();
      assert.ok(a.setPools(POOLS[p0] as AllocatorPool[]).ok);
      const w = world(p0);
      for (const op of ops) apply(a, op, w);
      const first = a.assign(s);
      const snapshot = JSON.stringify([a.list(), a.stats()], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
      const second = a.assign(s);
      assert.equal(
        JSON.stringify([a.list(), a.stats()], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
        snapshot,
      );
      assert.deepEqual(second.ips, first.ips);
      assert.equal(second.ok, first.ok);
      if (second.ok) assert.equal(second.changed, false);
    }),
    { numRuns: 300 },
  );
});

test('release restores the counts exactly', () => {
  const fresh = serviceArb.map((s) => deepFreeze({ ...s, key: `${s.namespace}/fresh` }));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: POOLS.length - 1 }), fc.array(opArb, { maxLength: 40 }), fresh, (p0, ops, s) => {
      const a = new Allocator();
      assert.ok(a.setPools(POOLS[p0] as AllocatorPool[]).ok);
      const w = world(p0);
      for (const op of ops) apply(a, op, w);
      const before = a.stats();
      const beforeList = a.list();
      const r = a.assign(s);
      assert.equal(a.release(s.key), r.ok);
      assert.deepEqual(a.stats(), before);
      assert.deepEqual(a.list(), beforeList);
      // Nothing leaked: the same request gets the same answer again.
      const again = a.assign(s);
      assert.deepEqual([again.ok, again.ips], [r.ok, r.ips]);
    }),
    { numRuns: 300 },
  );
});

test('start-up: the outcome does not depend on the order services arrive in', () => {
  const entry = fc.record({
    svc: serviceArb,
    ips: fc.subarray(
      ['198.51.100.0', '198.51.100.1', '198.51.100.3', '198.51.101.1', '2001:db8::', '2001:db8::2', '203.0.113.9', '192.0.2.1'],
      { maxLength: 2 },
    ),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: POOLS.length - 1 }),
      fc.uniqueArray(entry, { maxLength: 10, selector: (e) => e.svc.key }),
      fc.boolean(),
      (p0, entries, pinned) => {
        const outcome = (order: typeof entries) => {
          const a = new Allocator();
          a.setNamespaces({ n1: pinned ? { pin: 'yes' } : {}, n2: {} });
          assert.ok(a.setPools(POOLS[p0] as AllocatorPool[]).ok);
          const rep = a.reclaim(deepFreeze(order.map((e) => ({ service: e.svc, ips: e.ips }))));
          return { list: a.list(), results: rep.results };
        };
        const base = outcome(entries);
        assert.deepEqual(outcome([...entries].reverse()), base);
        const rotated = entries.length > 1 ? [...entries.slice(1), entries[0] as (typeof entries)[number]] : entries;
        assert.deepEqual(outcome(rotated), base);
      },
    ),
    { numRuns: 300 },
  );
});

test('a restart re-claims exactly what was held (nothing moves)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: POOLS.length - 1 }), fc.array(opArb, { maxLength: 50 }), (p0, ops) => {
      const a = new Allocator();
      a.setNamespaces({ n1: {}, n2: {} });
      assert.ok(a.setPools(POOLS[p0] as AllocatorPool[]).ok);
      const w = world(p0);
      for (const op of ops) apply(a, op, w);
      const { latest, pools, pinned } = w;
      const held = a.list();
      // Services that hold an address and whose last request is satisfied by it.
      const entries = held
        .filter((h) => {
          const r = latest.get(h.key);
          return r && a.assign(r).ok;
        })
        .map((h) => ({ service: latest.get(h.key) as ServiceRequest, ips: a.get(h.key)?.ips ?? [] }));
      const want = a.list().filter((h) => entries.some((e) => e.service.key === h.key));
      const b = new Allocator();
      b.setNamespaces({ n1: pinned ? { pin: 'yes' } : {}, n2: {} });
      assert.ok(b.setPools(POOLS[pools] as AllocatorPool[]).ok);
      const rep = b.reclaim(deepFreeze([...entries].reverse()));
      assert.ok(
        rep.results.every((r) => r.kept),
        JSON.stringify(rep.results.filter((r) => !r.kept)),
      );
      assert.deepEqual(b.list(), want);
    }),
    { numRuns: 300 },
  );
});
