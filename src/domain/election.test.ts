import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  decide,
  electionHash,
  electionOrder,
  HashOrder,
  ineligibility,
  preferenceScore,
  Reason,
  EXCLUDE_LB_LABEL,
  type ElectionNode,
  type LiveView,
  type ServiceIpView,
} from './election.js';

const allLive: LiveView = { isLive: () => true, carrierUp: () => true, draining: () => false };
const liveExcept = (dead: string[], extra: Partial<LiveView> = {}): LiveView => ({
  ...allLive,
  isLive: (n) => !dead.includes(n),
  ...extra,
});

function nodesOf(list: ElectionNode[]): Map<string, ElectionNode> {
  return new Map(list.map((n) => [n.name, n]));
}
const plain = (name: string, labels: Record<string, string> = {}): ElectionNode => ({ name, labels });
const svc = (over: Partial<ServiceIpView> = {}): ServiceIpView => ({
  firstIp: '203.0.113.10',
  ads: [{ name: 'l2' }],
  etpLocal: false,
  endpointNodes: new Set(['n1']),
  ...over,
});
const byHash = (names: string[], ip: string): string[] => [...names].sort((a, b) => (electionHash(a, ip) < electionHash(b, ip) ? -1 : 1));

test('electionHash is sha256(node#ip) in hex, as MetalLB hashes', () => {
  assert.equal(electionHash('node-a', '203.0.113.10'), createHash('sha256').update('node-a#203.0.113.10').digest('hex'));
  // Fixed vector, computed independently: printf 'node-a#203.0.113.10' | sha256sum
  assert.equal(electionHash('node-a', '203.0.113.10'), '939733108e705e1c953f95ec29eaeffd206635e3ba16b242cd13b2d122424376');
});

test('hex order equals byte order of the digests (bytes.Compare in MetalLB)', () => {
  for (let i = 0; i < 200; i++) {
    const a = createHash('sha256').update(`a${i}`).digest();
    const b = createHash('sha256').update(`b${i}`).digest();
    assert.equal(Math.sign(Buffer.compare(a, b)), a.toString('hex') < b.toString('hex') ? -1 : 1);
  }
});

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
const ip = '203.0.113.10';
const order = byHash(names, ip);
const [first, second] = order as [string, string];

const cases: Array<{ desc: string; nodes: ElectionNode[]; svc: ServiceIpView; live: LiveView; want: string | undefined }> = [
  { desc: 'lowest hash wins when all eligible', nodes: names.map((n) => plain(n)), svc: svc(), live: allLive, want: first },
  { desc: 'dead owner: next in hash order', nodes: names.map((n) => plain(n)), svc: svc(), live: liveExcept([first]), want: second },
  {
    desc: 'excluded label removes the node',
    nodes: names.map((n) => plain(n, n === first ? { [EXCLUDE_LB_LABEL]: '' } : {})),
    svc: svc(),
    live: allLive,
    want: second,
  },
  {
    desc: 'NetworkUnavailable removes the node',
    nodes: names.map((n) => ({ ...plain(n), networkUnavailable: n === first })),
    svc: svc(),
    live: allLive,
    want: second,
  },
  {
    desc: 'carrier down removes the node',
    nodes: names.map((n) => plain(n)),
    svc: svc(),
    live: { ...allLive, carrierUp: (n) => n !== first },
    want: second,
  },
  {
    desc: 'draining node is not elected',
    nodes: names.map((n) => plain(n)),
    svc: svc(),
    live: { ...allLive, draining: (n) => n === first },
    want: second,
  },
  {
    desc: 'node selectors restrict',
    nodes: names.map((n) => plain(n, n === 'n3' ? { lb: 'yes' } : {})),
    svc: svc({ ads: [{ name: 'a', nodeSelectors: [{ matchLabels: { lb: 'yes' } }] }] }),
    live: allLive,
    want: 'n3',
  },
  {
    desc: 'any of several ads selects',
    nodes: names.map((n) => plain(n, { zone: n })),
    svc: svc({
      ads: [
        { name: 'a', nodeSelectors: [{ matchLabels: { zone: 'n4' } }] },
        { name: 'b', nodeSelectors: [{ matchLabels: { zone: 'n2' } }] },
      ],
    }),
    live: allLive,
    want: byHash(['n2', 'n4'], ip)[0],
  },
  {
    desc: 'ETP=Local: only nodes with serving endpoints',
    nodes: names.map((n) => plain(n)),
    svc: svc({ etpLocal: true, endpointNodes: new Set(['n2', 'n5']) }),
    live: allLive,
    want: byHash(['n2', 'n5'], ip)[0],
  },
  {
    desc: 'no serving endpoints anywhere: nobody',
    nodes: names.map((n) => plain(n)),
    svc: svc({ endpointNodes: new Set() }),
    live: allLive,
    want: undefined,
  },
  { desc: 'no ads: nobody', nodes: names.map((n) => plain(n)), svc: svc({ ads: [] }), live: allLive, want: undefined },
  { desc: 'all dead but me: me', nodes: names.map((n) => plain(n)), svc: svc(), live: liveExcept(names), want: 'n1' },
  {
    desc: 'preferred node outranks the hash',
    nodes: names.map((n) => plain(n, n === order[4] ? { edge: 'true' } : {})),
    svc: svc({ ads: [{ name: 'p', preferredNodeSelectors: [{ weight: 100, preference: { matchLabels: { edge: 'true' } } }] }] }),
    live: allLive,
    want: order[4],
  },
  {
    desc: 'preferred node dead: hash order among the rest',
    nodes: names.map((n) => plain(n, n === order[4] ? { edge: 'true' } : {})),
    svc: svc({ ads: [{ name: 'p', preferredNodeSelectors: [{ weight: 100, preference: { matchLabels: { edge: 'true' } } }] }] }),
    live: liveExcept([order[4] as string]),
    want: first,
  },
  {
    desc: 'weights add up within an ad: 60+50 beats 100',
    nodes: [plain('n1', { zone: 'primary', gpu: 'true' }), plain('n2', { tier: 'top' }), plain('n3')],
    svc: svc({
      ads: [
        {
          name: 'p',
          preferredNodeSelectors: [
            { weight: 60, preference: { matchLabels: { zone: 'primary' } } },
            { weight: 50, preference: { matchLabels: { gpu: 'true' } } },
            { weight: 100, preference: { matchLabels: { tier: 'top' } } },
          ],
        },
      ],
    }),
    live: allLive,
    want: 'n1',
  },
  {
    desc: 'an ad does not lift nodes outside its own nodeSelectors',
    nodes: [plain('n1', { role: 'lb', zone: 'primary' }), plain('n2', { role: 'gpu' })],
    svc: svc({
      ads: [
        { name: 'lb', nodeSelectors: [{ matchLabels: { role: 'lb' } }] },
        {
          name: 'gpu',
          nodeSelectors: [{ matchLabels: { role: 'gpu' } }],
          preferredNodeSelectors: [{ weight: 100, preference: { matchLabels: { zone: 'primary' } } }],
        },
      ],
    }),
    live: allLive,
    want: byHash(['n1', 'n2'], ip)[0],
  },
  {
    desc: 'cordoned owner (kubectl drain): the next uncordoned node in hash order',
    nodes: names.map((n) => (n === first ? { ...plain(n), unschedulable: true } : plain(n))),
    svc: svc(),
    live: allLive,
    want: second,
  },
  {
    desc: 'every node cordoned: the hash order as without cordons',
    nodes: names.map((n) => ({ ...plain(n), unschedulable: true })),
    svc: svc(),
    live: allLive,
    want: first,
  },
  {
    desc: 'cordoned node with the best preference score: an uncordoned one still wins',
    nodes: names.map((n) => (n === first ? { ...plain(n, { edge: 'true' }), unschedulable: true } : plain(n))),
    svc: svc({ ads: [{ name: 'p', preferredNodeSelectors: [{ weight: 100, preference: { matchLabels: { edge: 'true' } } }] }] }),
    live: allLive,
    want: second,
  },
];

for (const c of cases) {
  test(`decide: ${c.desc}`, () => {
    const nodes = nodesOf(c.nodes);
    const ns = c.nodes.map((n) => n.name);
    const d = decide({ svc: c.svc, nodes, live: c.live, me: 'n1', order: new HashOrder(), names: ns });
    assert.equal(d.owner, c.want);
    assert.equal(d.reason === undefined, c.want === 'n1');
    // The full order agrees with the fast path.
    const full = electionOrder(c.svc, nodes, { ...c.live, isLive: (n) => n === 'n1' || c.live.isLive(n) });
    assert.equal(full[0], c.want);
  });
}

test('reasons for my own node, first failing check wins', () => {
  const me = plain('n1', { [EXCLUDE_LB_LABEL]: 'true' });
  assert.equal(ineligibility(svc({ endpointNodes: new Set() }), me, allLive), Reason.noServingEndpoints);
  assert.equal(
    ineligibility(svc({ ads: [{ name: 'a', nodeSelectors: [{ matchLabels: { x: 'y' } }] }] }), me, allLive),
    Reason.noMatchingAdvertisement,
  );
  assert.equal(ineligibility(svc(), { ...me, networkUnavailable: true }, allLive), Reason.networkUnavailable);
  assert.equal(ineligibility(svc(), me, allLive), Reason.nodeExcluded);
  assert.equal(ineligibility(svc(), me, allLive, { ignoreExcludeLB: true }), undefined);
  assert.equal(ineligibility(svc({ etpLocal: true, endpointNodes: new Set(['n2']) }), plain('n1'), allLive), Reason.noLocalEndpoints);
  assert.equal(ineligibility(svc(), plain('n1'), { ...allLive, carrierUp: () => false }), Reason.carrierDown);
  const d = decide({
    svc: svc(),
    nodes: nodesOf(names.map((n) => plain(n))),
    live: allLive,
    me: first === 'n1' ? 'n2' : 'n1',
    order: new HashOrder(),
    names,
  });
  assert.equal(d.reason, Reason.notOwner);
});

test('preferenceScore sums weights of matching preferences', () => {
  const s = svc({
    ads: [
      { name: 'a', preferredNodeSelectors: [{ weight: 70, preference: { matchLabels: { z: 'p' } } }] },
      { name: 'b', preferredNodeSelectors: [{ weight: 30, preference: { matchLabels: { g: 't' } } }] },
    ],
  });
  assert.equal(preferenceScore(s, plain('x', { z: 'p', g: 't' })), 100);
  assert.equal(preferenceScore(s, plain('x', { z: 'p' })), 70);
  assert.equal(preferenceScore(s, plain('x')), 0);
});

test('determinism: shuffled node lists and map orders give the same owner for every IP', () => {
  // Seeded LCG shuffle (no Math.random in tests either: failures must reproduce).
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const all = Array.from({ length: 40 }, (_, i) => plain(`node-${i}.example.org`, { zone: `z${i % 3}` }));
  const s = (i: number): ServiceIpView =>
    svc({
      firstIp: `203.0.113.${i}`,
      ads: [
        {
          name: 'a',
          nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z0', 'z1'] }] }],
          preferredNodeSelectors: i % 4 === 0 ? [{ weight: 10, preference: { matchLabels: { zone: 'z1' } } }] : [],
        },
      ],
      endpointNodes: new Set(all.map((n) => n.name)),
    });
  const live = liveExcept(['node-3.example.org', 'node-7.example.org']);
  const ref = Array.from(
    { length: 50 },
    (_, i) =>
      decide({ svc: s(i), nodes: nodesOf(all), live, me: 'node-0.example.org', order: new HashOrder(), names: all.map((n) => n.name) })
        .owner,
  );
  for (let round = 0; round < 10; round++) {
    const shuffled = [...all];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j] as ElectionNode, shuffled[i] as ElectionNode];
    }
    const got = Array.from(
      { length: 50 },
      (_, i) =>
        decide({
          svc: s(i),
          nodes: nodesOf(shuffled),
          live,
          me: 'node-0.example.org',
          order: new HashOrder(),
          names: shuffled.map((n) => n.name),
        }).owner,
    );
    assert.deepEqual(got, ref);
  }
  // Spread: with 38 live eligible nodes (z0/z1 only), more than a few distinct owners over 50 IPs.
  assert.ok(new Set(ref).size > 10);
});

test('HashOrder memoises per IP and recomputes when the node list changes', () => {
  const o = new HashOrder();
  const a = ['x', 'y', 'z'];
  const r1 = o.ranked('203.0.113.1', a);
  assert.equal(o.ranked('203.0.113.1', a), r1);
  const b = [...a, 'w'];
  assert.equal(o.ranked('203.0.113.1', b).length, 4);
  assert.deepEqual([...r1], byHash(a, '203.0.113.1'));
});

test('HashOrder keeps the best few in one pass and walks past them on demand', () => {
  const names = Array.from({ length: 40 }, (_, i) => `node-${i}`);
  for (const ip of ['203.0.113.7', '2001:db8::7']) {
    const full = byHash(names, ip);
    assert.deepEqual([...new HashOrder().ranked(ip, names, 1)], full.slice(0, 8));
    assert.deepEqual([...new HashOrder().ranked(ip, names)], full);
    // Only the 20th node in hash order is live: the election walks past the kept prefix.
    const only = full[19] as string;
    const live: LiveView = { ...allLive, isLive: (n) => n === only };
    const d = decide({
      svc: svc({ firstIp: ip }),
      nodes: nodesOf(names.map((n) => plain(n))),
      live,
      me: 'nobody',
      order: new HashOrder(),
      names,
    });
    assert.equal(d.owner, only);
  }
});
