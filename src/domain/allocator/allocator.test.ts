// Sequential tables in the style of MetalLB's internal/allocator tests: each row is one step on
// the same allocator; every input is deep-frozen to prove the allocator never mutates it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Allocator } from './allocator.js';
import { run, svc, deepFreeze, type Step } from './test-helpers.js';

test('TestAssignment: requested IPs, idempotence, buggy IPs, sharing, pinned pools', () => {
  run([
    {
      desc: 'pools',
      pools: [
        { name: 'test', addresses: ['198.51.100.4/31', '2001:db8::4/127'] },
        { name: 'test2', avoidBuggyIPs: true, addresses: ['203.0.113.0/24', '2001:db8::4:0/120'] },
        { name: 'test3', avoidBuggyIPs: true, serviceAllocation: { namespaces: ['test-ns1'] }, addresses: ['198.51.100.64/26'] },
        {
          name: 'test4',
          serviceAllocation: { serviceSelectors: [{ matchLabels: { team: 'metallb' } }] },
          addresses: ['198.51.100.128/26'],
        },
      ],
    },
    { desc: 'assign s1', svc: svc('s1', { lbIP: '198.51.100.4' }), want: ['198.51.100.4'], changed: true },
    { desc: 's1 idempotent reassign', svc: svc('s1', { lbIP: '198.51.100.4' }), want: ['198.51.100.4'], changed: false },
    {
      desc: "s2 can't grab s1's IP",
      svc: svc('s2', { lbIP: '198.51.100.4' }),
      want: 'notShareable',
      reason: /^IP 198\.51\.100\.4 in use by default\/s1 and not shareable/,
    },
    { desc: 's2 can get the other IP', svc: svc('s2', { lbIP: '198.51.100.5' }), want: ['198.51.100.5'] },
    {
      desc: "s1 now can't grab s2's IP (and loses its own: the request changed)",
      svc: svc('s1', { lbIP: '198.51.100.5' }),
      want: 'notShareable',
    },
    { desc: 's1 holds nothing after the refusal', holds: { 'default/s1': [] } },
    { desc: "s2 moves to s1's former IP", svc: svc('s2', { lbIP: '198.51.100.4' }), want: ['198.51.100.4'], changed: true },
    { desc: "s1 takes s2's former IP", svc: svc('s1', { lbIP: '198.51.100.5' }), want: ['198.51.100.5'] },
    { desc: 's3 cannot grab a .0 buggy IP', svc: svc('s3', { lbIP: '203.0.113.0' }), want: 'notInPool', reason: /avoidBuggyIPs/ },
    { desc: 's3 cannot grab a .255 buggy IP', svc: svc('s3', { lbIP: '203.0.113.255' }), want: 'notInPool' },
    { desc: 's3 can grab another IP in that pool', svc: svc('s3', { lbIP: '203.0.113.254' }), want: ['203.0.113.254'], pool: 'test2' },
    {
      desc: 'an IP outside every pool',
      svc: svc('s9', { lbIP: '192.0.2.1' }),
      want: 'notInPool',
      reason: /^IP 192\.0\.2\.1 is not in any pool/,
    },
    {
      desc: 's4 takes an IP, with sharing',
      svc: svc('s4', { lbIP: '203.0.113.3', share: 'sharing', local: { app: 'x' } }),
      want: ['203.0.113.3'],
    },
    {
      desc: 's4 (sole owner) changes its sharing key in place',
      svc: svc('s4', { lbIP: '203.0.113.3', share: 'share', local: { app: 'x' } }),
      want: ['203.0.113.3'],
      changed: false,
    },
    {
      desc: "s3 can't share with s4 (port conflict)",
      svc: svc('s3', { lbIP: '203.0.113.3', share: 'share', local: { app: 'x' } }),
      want: 'notShareable',
      reason: /port TCP\/80 overlaps/,
    },
    {
      desc: "s3 can't share with s4 (wrong sharing key)",
      svc: svc('s3', { lbIP: '203.0.113.3', ports: ['TCP/443'], share: 'othershare', local: { app: 'x' } }),
      want: 'notShareable',
      reason: /key "othershare" does not match "share"/,
    },
    {
      desc: "s3 can't share with s4 (ETP Local, other selector)",
      svc: svc('s3', { lbIP: '203.0.113.3', ports: ['TCP/443'], share: 'share', local: { app: 'y' } }),
      want: 'notShareable',
      reason: /same pod selector/,
    },
    {
      desc: "s3 can't share with s4 (Cluster vs Local)",
      svc: svc('s3', { lbIP: '203.0.113.3', ports: ['TCP/443'], share: 'share' }),
      want: 'notShareable',
    },
    {
      desc: 's3 takes the same IP as s4',
      svc: svc('s3', { lbIP: '203.0.113.3', ports: ['TCP/443'], share: 'share', local: { app: 'x' } }),
      want: ['203.0.113.3'],
    },
    {
      desc: 's3 can change its ports while keeping the same IP',
      svc: svc('s3', { lbIP: '203.0.113.3', ports: ['UDP/53'], share: 'share', local: { app: 'x' } }),
      want: ['203.0.113.3'],
      changed: false,
    },
    { desc: 'the shared IP counts once', stats: { test2: { v4: [1, 253n], services: 2 } } },
    {
      desc: "s3 can't change its sharing key while sharing",
      svc: svc('s3', { lbIP: '203.0.113.3', ports: ['UDP/53'], share: 'othershare', local: { app: 'x' } }),
      want: 'notShareable',
    },
    { desc: 'ipv6 assign s5', svc: svc('s5', { families: [6], lbIP: '2001:db8::4' }), want: ['2001:db8::4'] },
    {
      desc: 'non-canonical spelling is canonicalised',
      svc: svc('s5', { families: [6], lbIP: '2001:0db8:0:0::4' }),
      want: ['2001:db8::4'],
      changed: false,
    },
    {
      desc: 'dual-stack requested pair from one pool',
      svc: svc('s6', { families: [4, 6], policy: 'RequireDualStack', lbIPs: '203.0.113.10,2001:db8::4:10' }),
      want: ['203.0.113.10', '2001:db8::4:10'],
    },
    {
      desc: 'dual-stack requested pair from different pools',
      svc: svc('s7', { families: [4, 6], policy: 'RequireDualStack', lbIPs: '203.0.113.11, 2001:db8::5' }),
      want: 'notInPool',
      reason: /different pools \("test2", "test"\)/,
    },
    {
      desc: 'pinned on the same namespace',
      svc: svc('s8', { ns: 'test-ns1', lbIP: '198.51.100.70' }),
      want: ['198.51.100.70'],
      pool: 'test3',
    },
    {
      desc: 'pinned on another namespace',
      svc: svc('s8', { ns: 'other', lbIP: '198.51.100.71' }),
      want: 'poolIncompatible',
      reason: /does not accept services from namespace "other"/,
    },
    {
      desc: 'service selector matches',
      svc: svc('s10', { labels: { team: 'metallb' }, lbIP: '198.51.100.130' }),
      want: ['198.51.100.130'],
      pool: 'test4',
    },
    {
      desc: 'service selector does not match',
      svc: svc('s11', { labels: { team: 'red' }, lbIP: '198.51.100.131' }),
      want: 'poolIncompatible',
      reason: /serviceSelectors/,
    },
  ]);
});

test('TestPoolAllocation: lowest free first, exhaustion, reuse, sharing packs onto one IP', () => {
  run([
    {
      desc: 'pool of 4 (range) + 2 (/31) + IPv6',
      pools: [{ name: 'p', addresses: ['198.51.100.10-198.51.100.13', '203.0.113.0/31', '2001:db8::/126'] }],
    },
    { desc: 's1', svc: svc('s1'), want: ['198.51.100.10'] },
    { desc: 's2', svc: svc('s2'), want: ['198.51.100.11'] },
    { desc: 's1 again is idempotent', svc: svc('s1'), want: ['198.51.100.10'], changed: false },
    { desc: 's3', svc: svc('s3'), want: ['198.51.100.12'] },
    { desc: 's4', svc: svc('s4'), want: ['198.51.100.13'] },
    { desc: 's5 spills into the second range', svc: svc('s5'), want: ['203.0.113.0'] },
    { desc: 's6', svc: svc('s6'), want: ['203.0.113.1'] },
    {
      desc: 's7: exhausted',
      svc: svc('s7'),
      want: 'exhausted',
      reason: /^no available IPv4 address; pools tried: "p" \(IPv4 6\/6 in use\)$/,
    },
    { desc: 'release s2', release: 'default/s2' },
    { desc: 'release s2 twice', release: 'default/s2', want: false },
    { desc: "s7 gets s2's address (the lowest free)", svc: svc('s7'), want: ['198.51.100.11'] },
    { desc: 'v6 service', svc: svc('v1', { families: [6] }), want: ['2001:db8::'] },
    { desc: 'release s3, s5', release: 'default/s3' },
    { desc: 'release s5', release: 'default/s5' },
    { desc: 'a sharing service takes the lowest free', svc: svc('k1', { share: 'k', ports: ['TCP/80'] }), want: ['198.51.100.12'] },
    {
      desc: 'same key, other port: packed onto the same IP (MetalLB behaviour)',
      svc: svc('k2', { share: 'k', ports: ['TCP/443'] }),
      want: ['198.51.100.12'],
    },
    { desc: 'same key, overlapping port: next free address', svc: svc('k3', { share: 'k', ports: ['TCP/80'] }), want: ['203.0.113.0'] },
    { desc: 'same key, UDP/80 does not overlap TCP/80', svc: svc('k4', { share: 'k', ports: ['UDP/80'] }), want: ['198.51.100.12'] },
    { desc: 'stats', stats: { p: { v4: [6, 0n], v6: [1, 3n], services: 9 } } },
    { desc: 'unsharing the first: k1 loses the key but stays (others keep it)', svc: svc('k1', { ports: ['TCP/80'] }), want: 'exhausted' },
    { desc: 'k2 and k4 still share', holds: { 'default/k2': ['198.51.100.12'], 'default/k4': ['198.51.100.12'], 'default/k1': [] } },
  ]);
});

test('TestBuggyIPs: avoidBuggyIPs skips .0 and .255 across /24 boundaries', () => {
  const steps: Step[] = [
    {
      desc: 'pool',
      pools: [
        { name: 'b', avoidBuggyIPs: true, addresses: ['198.51.100.253-198.51.101.1'] },
        { name: 'n', addresses: ['203.0.113.255-203.0.114.0'] },
      ],
    },
    { desc: 'first', svc: svc('a'), want: ['198.51.100.253'] },
    { desc: 'second', svc: svc('b'), want: ['198.51.100.254'] },
    { desc: 'third skips .255 and .0', svc: svc('c'), want: ['198.51.101.1'] },
    { desc: 'then the non-avoiding pool gives .255 and .0', svc: svc('d'), want: ['203.0.113.255'] },
    { desc: '.0 is fine there', svc: svc('e'), want: ['203.0.114.0'] },
    { desc: 'counts exclude buggy addresses', stats: { b: { v4: [3, 0n] }, n: { v4: [2, 0n] } } },
  ];
  run(steps);
});

test('TestConfigReload: shrink, rename, delete, overlap, autoAssign change', () => {
  run([
    {
      desc: 'initial',
      pools: [
        { name: 'a', addresses: ['198.51.100.0/30'] },
        { name: 'b', addresses: ['203.0.113.0/30'] },
      ],
    },
    { desc: 's1', svc: svc('s1'), want: ['198.51.100.0'] },
    { desc: 's2', svc: svc('s2'), want: ['198.51.100.1'] },
    { desc: 's3 pinned to b', svc: svc('s3', { pool: 'b' }), want: ['203.0.113.0'] },
    {
      desc: 'overlapping pools are refused as a whole',
      pools: [
        { name: 'a', addresses: ['198.51.100.0/30'] },
        { name: 'c', addresses: ['198.51.100.2-198.51.100.9'] },
      ],
      wantErr: /overlaps/,
    },
    { desc: 'nothing changed after the refused config', holds: { 'default/s1': ['198.51.100.0'], 'default/s2': ['198.51.100.1'] } },
    { desc: 'bad entry refused', pools: [{ name: 'a', addresses: ['198.51.100.0/33'] }], wantErr: /pool "a": invalid CIDR/ },
    {
      desc: 'duplicate names refused',
      pools: [
        { name: 'a', addresses: ['198.51.100.0/30'] },
        { name: 'a', addresses: ['203.0.113.0/30'] },
      ],
      wantErr: /duplicate definition of pool "a"/,
    },
    {
      desc: 'shrink a: s2 (198.51.100.1) is outside every pool and moves',
      pools: [
        { name: 'a', addresses: ['198.51.100.0/32', '198.51.100.2/31'] },
        { name: 'b', addresses: ['203.0.113.0/30'] },
      ],
      moved: { 'default/s2': ['198.51.100.2'] },
    },
    {
      desc: 'autoAssign false evicts nothing',
      pools: [
        { name: 'a', autoAssign: false, addresses: ['198.51.100.0/32', '198.51.100.2/31'] },
        { name: 'b', addresses: ['203.0.113.0/30'] },
      ],
    },
    { desc: 's1 kept', holds: { 'default/s1': ['198.51.100.0'], 'default/s2': ['198.51.100.2'] } },
    { desc: 'a new service now comes from b', svc: svc('s4'), want: ['203.0.113.1'] },
    {
      desc: 'rename b to c: addresses stay, pool changes',
      pools: [
        { name: 'a', autoAssign: false, addresses: ['198.51.100.0/32', '198.51.100.2/31'] },
        { name: 'c', addresses: ['203.0.113.0/30'] },
      ],
      // s3 asked for pool b by annotation: it keeps its address until it is converged again.
      repooled: ['default/s3', 'default/s4'],
    },
    { desc: 's3 converged: its pool b is gone', svc: svc('s3', { pool: 'b' }), want: 'unknownPool', reason: /unknown pool "b"/ },
    { desc: 'stats after rename', stats: { c: { v4: [1, 3n], services: 1 } } },
    {
      desc: 'delete a: its services move to c',
      pools: [{ name: 'c', addresses: ['203.0.113.0/30'] }],
      moved: { 'default/s1': ['203.0.113.0'], 'default/s2': ['203.0.113.2'] },
    },
    { desc: 'delete everything', pools: [], moved: { 'default/s1': 'noPools', 'default/s2': 'noPools', 'default/s4': 'noPools' } },
    { desc: 'no pools', svc: svc('s5'), want: 'noPools' },
  ]);
});

test('TestAutoAssign: autoAssign false pools only by annotation or requested IP', () => {
  run([
    {
      desc: 'pools',
      pools: [
        { name: 'manual', autoAssign: false, addresses: ['198.51.100.0/31'] },
        { name: 'auto', addresses: ['203.0.113.0/32'] },
      ],
    },
    { desc: 'auto first', svc: svc('s1'), want: ['203.0.113.0'] },
    { desc: 'auto exhausted, manual not used', svc: svc('s2'), want: 'exhausted', reason: /not eligible: "manual" \(autoAssign: false\)/ },
    { desc: 'by annotation', svc: svc('s2', { pool: 'manual' }), want: ['198.51.100.0'], pool: 'manual' },
    {
      desc: 'deprecated annotation',
      svc: svc('s3', { annotations: { 'metallb.universe.tf/address-pool': 'manual' } }),
      want: ['198.51.100.1'],
    },
    { desc: 'by requested IP', svc: svc('s4', { lbIPs: '198.51.100.1', share: 'x' }), want: 'notShareable' },
    { desc: 'manual exhausted', svc: svc('s5', { pool: 'manual' }), want: 'exhausted', reason: /^pool "manual" has no free IPv4 address/ },
  ]);
});

test('TestPoolCount: totals and availability per family, /64 without enumeration', () => {
  const a = run([
    {
      desc: 'pools',
      pools: [
        { name: 'v4', addresses: ['198.51.100.0/24', '203.0.113.10-203.0.113.19'] },
        { name: 'buggy', avoidBuggyIPs: true, addresses: ['198.51.102.0/23'] },
        { name: 'v6', addresses: ['2001:db8:1::/64', '2001:db8:2::1-2001:db8:2::10'] },
        { name: 'huge', addresses: ['2001:db8:8000::/33'] },
      ],
    },
    {
      desc: 'empty',
      stats: {
        v4: { v4: [0, 266n], v6: [0, 0n] },
        buggy: { v4: [0, 508n] },
        v6: { v6: [0, (1n << 64n) + 16n] },
        huge: { v6: [0, 1n << 95n] },
      },
    },
    { desc: 'one from the /64', svc: svc('s', { families: [6], pool: 'v6' }), want: ['2001:db8:1::'] },
    { desc: 'one from the /33', svc: svc('h', { families: [6], pool: 'huge' }), want: ['2001:db8:8000::'] },
    { desc: 'after', stats: { v6: { v6: [1, (1n << 64n) + 15n] }, huge: { v6: [1, (1n << 95n) - 1n] } } },
  ]);
  const s = a.stats();
  assert.deepEqual(
    s.map((x) => x.pool),
    ['buggy', 'huge', 'v4', 'v6'],
    'stats sorted by pool name',
  );
});

test('serviceAllocation: priority, namespaces, namespaceSelectors, serviceSelectors, deterministic ties', () => {
  run([
    { desc: 'namespaces', namespaces: { 'team-a': { tier: 'gold' }, 'team-b': { tier: 'silver' }, other: {} } },
    {
      desc: 'pools',
      pools: [
        { name: 'general', addresses: ['198.51.100.0/30'] },
        {
          name: 'gold-2',
          serviceAllocation: { priority: 2, namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] },
          addresses: ['203.0.113.0/32'],
        },
        {
          name: 'gold-1',
          serviceAllocation: { priority: 1, namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] },
          addresses: ['203.0.113.1/32'],
        },
        { name: 'b-nopri', serviceAllocation: { namespaces: ['team-b'] }, addresses: ['203.0.113.8/32'] },
        { name: 'a-nopri', serviceAllocation: { namespaces: ['team-b'] }, addresses: ['203.0.113.9/32'] },
        { name: 'b-pri5', serviceAllocation: { priority: 5, namespaces: ['team-b'] }, addresses: ['203.0.113.16/32'] },
        {
          name: 'web',
          serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }] },
          addresses: ['203.0.113.32/32'],
        },
        { name: 'prio-only', serviceAllocation: { priority: 1 }, addresses: ['203.0.113.64/32'] },
      ],
    },
    { desc: 'gold namespace: priority 1 first', svc: svc('g1', { ns: 'team-a' }), want: ['203.0.113.1'], pool: 'gold-1' },
    { desc: 'then priority 2', svc: svc('g2', { ns: 'team-a' }), want: ['203.0.113.0'], pool: 'gold-2' },
    { desc: 'then general pools', svc: svc('g3', { ns: 'team-a' }), want: ['198.51.100.0'], pool: 'general' },
    {
      desc: 'team-b: priority 5 before unset, unset ties by name',
      svc: svc('b1', { ns: 'team-b' }),
      want: ['203.0.113.16'],
      pool: 'b-pri5',
    },
    { desc: 'team-b: a-nopri before b-nopri (name)', svc: svc('b2', { ns: 'team-b' }), want: ['203.0.113.9'], pool: 'a-nopri' },
    { desc: 'team-b: b-nopri', svc: svc('b3', { ns: 'team-b' }), want: ['203.0.113.8'], pool: 'b-nopri' },
    { desc: 'service selector pins', svc: svc('w1', { ns: 'other', labels: { app: 'web' } }), want: ['203.0.113.32'], pool: 'web' },
    { desc: 'other namespace never gets pinned pools', svc: svc('o1', { ns: 'other' }), want: ['198.51.100.1'], pool: 'general' },
    {
      desc: 'a priority-only serviceAllocation pool is not auto-assigned (MetalLB)',
      svc: svc('o2', { ns: 'other' }),
      want: ['198.51.100.2'],
      pool: 'general',
    },
    { desc: '... but can be named', svc: svc('o3', { ns: 'other', pool: 'prio-only' }), want: ['203.0.113.64'] },
    {
      desc: 'explicit pool refuses a namespace it does not select',
      svc: svc('o4', { ns: 'other', pool: 'gold-1' }),
      want: 'poolIncompatible',
      reason: /namespace "other"/,
    },
    {
      desc: 'team-a loses its gold label: its pinned services move',
      namespaces: { 'team-a': { tier: 'bronze' }, 'team-b': { tier: 'silver' }, other: {} },
      moved: { 'team-a/g1': ['198.51.100.3'], 'team-a/g2': 'exhausted' },
    },
  ]);
});

test('dual-stack: SingleStack, PreferDualStack, RequireDualStack, primary family', () => {
  run([
    {
      desc: 'pools',
      pools: [
        { name: 'a-v4only', addresses: ['198.51.100.0/32'] },
        { name: 'b-dual', addresses: ['203.0.113.0/31', '2001:db8::/127'] },
        { name: 'c-v6only', addresses: ['2001:db8:1::/128'] },
      ],
    },
    {
      desc: 'RequireDualStack skips the v4-only pool',
      svc: svc('r1', { families: [4, 6], policy: 'RequireDualStack' }),
      want: ['203.0.113.0', '2001:db8::'],
      pool: 'b-dual',
    },
    {
      desc: 'IPv6 primary comes first',
      svc: svc('r2', { families: [6, 4], policy: 'RequireDualStack' }),
      want: ['2001:db8::1', '203.0.113.1'],
    },
    {
      desc: 'RequireDualStack: no pool has both left',
      svc: svc('r3', { families: [4, 6], policy: 'RequireDualStack' }),
      want: 'exhausted',
      reason: /IPv4\+IPv6 pair/,
    },
    {
      desc: 'PreferDualStack: primary-only pool first',
      svc: svc('p1', { families: [6, 4], policy: 'PreferDualStack' }),
      want: ['2001:db8:1::'],
      pool: 'c-v6only',
      warning: /no free IPv4 address, serving IPv6 only/,
    },
    {
      desc: 'PreferDualStack: then secondary-only',
      svc: svc('p2', { families: [6, 4], policy: 'PreferDualStack' }),
      want: ['198.51.100.0'],
      pool: 'a-v4only',
    },
    { desc: 'release r1', release: 'default/r1' },
    {
      desc: 'p1 converges again and gains IPv4 from its pool? no: c-v6only has no IPv4',
      svc: svc('p1', { families: [6, 4], policy: 'PreferDualStack' }),
      want: ['2001:db8:1::'],
      changed: false,
    },
    {
      desc: 'widen c-v6only with IPv4',
      pools: [
        { name: 'a-v4only', addresses: ['198.51.100.0/32'] },
        { name: 'b-dual', addresses: ['203.0.113.0/31', '2001:db8::/127'] },
        { name: 'c-v6only', addresses: ['2001:db8:1::/128', '198.51.100.200/32'] },
      ],
    },
    {
      desc: 'p1 gains the second family, primary first',
      svc: svc('p1', { families: [6, 4], policy: 'PreferDualStack' }),
      want: ['2001:db8:1::', '198.51.100.200'],
      changed: true,
    },
    { desc: 'single-stack IPv6', svc: svc('s6', { families: [6] }), want: ['2001:db8::'] },
    {
      desc: 'RequireDualStack with one family is refused',
      svc: svc('bad', { families: [4], policy: 'RequireDualStack' }),
      want: 'invalidRequest',
      reason: /requires dual stack/,
    },
    { desc: 'no ipFamilies yet', svc: svc('bad2', { families: [] }), want: 'invalidRequest', reason: /no spec.ipFamilies/ },
    { desc: 'requested IPv4 for an IPv6 service', svc: svc('bad3', { families: [6], lbIP: '203.0.113.1' }), want: 'familyMismatch' },
  ]);
});

test('requested IPs and annotations: stable prefix wins, conflicts, typos keep the IP', () => {
  const TYPO = svc('s1', { annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.5x' } });
  run([
    {
      desc: 'pools',
      pools: [
        { name: 'a', addresses: ['198.51.100.0/29'] },
        { name: 'b', addresses: ['203.0.113.0/29'] },
      ],
    },
    {
      desc: 'metallb.io/loadBalancerIPs wins over metallb.universe.tf/loadBalancerIPs',
      svc: svc('s1', {
        annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.5', 'metallb.universe.tf/loadBalancerIPs': '198.51.100.6' },
      }),
      want: ['198.51.100.5'],
    },
    {
      desc: 'deprecated alone works',
      svc: svc('s2', { annotations: { 'metallb.universe.tf/loadBalancerIPs': '198.51.100.6' } }),
      want: ['198.51.100.6'],
    },
    { desc: 'spec.loadBalancerIP', svc: svc('s3', { lbIP: '198.51.100.7' }), want: ['198.51.100.7'] },
    {
      desc: 'both forms at once',
      svc: svc('s4', { lbIP: '198.51.100.1', lbIPs: '198.51.100.2' }),
      want: 'invalidRequest',
      reason: /can not have both metallb.io\/loadBalancerIPs and spec.loadBalancerIP/,
    },
    {
      desc: 'a typo in the annotation keeps the held IP',
      svc: TYPO,
      want: 'invalidRequest',
      reason: /is not an IP address.*keeping 198\.51\.100\.5/,
      kept: ['198.51.100.5'],
    },
    { desc: 's1 still holds it', holds: { 'default/s1': ['198.51.100.5'] } },
    {
      desc: 'the same unreadable request again is still refused (no fast path)',
      svc: TYPO,
      want: 'invalidRequest',
      kept: ['198.51.100.5'],
    },
    { desc: 'and again', svc: TYPO, want: 'invalidRequest', kept: ['198.51.100.5'] },
    { desc: 'requested IP and pool agree', svc: svc('s5', { lbIP: '203.0.113.3', pool: 'b' }), want: ['203.0.113.3'] },
    {
      desc: 'requested IP outside the requested pool',
      svc: svc('s6', { lbIP: '203.0.113.4', pool: 'a' }),
      want: 'poolIncompatible',
      reason: /in pool "b", not in pool "a" requested by metallb.io\/address-pool/,
    },
    {
      desc: 'changing the requested IP moves the service',
      svc: svc('s3', { lbIP: '198.51.100.1' }),
      want: ['198.51.100.1'],
      changed: true,
    },
    { desc: 'changing the pool annotation moves the service', svc: svc('s3', { pool: 'b' }), want: ['203.0.113.0'], changed: true },
    { desc: 'dropping the annotation keeps the address (still valid)', svc: svc('s3'), want: ['203.0.113.0'], changed: false },
    {
      desc: 'two addresses of one family',
      svc: svc('s7', { lbIPs: '198.51.100.2,198.51.100.3' }),
      want: 'invalidRequest',
      reason: /at most one IPv4 and one IPv6/,
    },
    {
      desc: 'unknown pool',
      svc: svc('s8', { pool: 'nope' }),
      want: 'unknownPool',
      reason: /^unknown pool "nope" in metallb.io\/address-pool/,
    },
    {
      desc: 'stable allow-shared-ip wins even when empty',
      svc: svc('s9', { lbIP: '198.51.100.7', share: '', annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' } }),
      want: ['198.51.100.7'],
    },
    {
      desc: 'so nothing can share with s9',
      svc: svc('s10', { lbIP: '198.51.100.7', ports: ['TCP/81'], share: 'k' }),
      want: 'notShareable',
      reason: /default\/s9 has no metallb.io\/allow-shared-ip annotation/,
    },
  ]);
});

test('reclaim with an unreadable annotation keeps the address but reports the refusal, every time', () => {
  const a = new Allocator();
  assert.ok(a.setPools([{ name: 'a', addresses: ['198.51.100.0/30'] }]).ok);
  const typo = deepFreeze(svc('t', { lbIP: '198.51.100.2', lbIPs: '198.51.100.2' }));
  const rep = a.reclaim([{ service: typo, ips: ['198.51.100.2'] }]);
  const r = rep.results[0];
  assert.ok(r);
  assert.equal(r.kept, true);
  assert.deepEqual([r.result.ok, r.result.ips], [false, ['198.51.100.2']]);
  const again = a.assign(typo);
  assert.deepEqual([again.ok, again.ips], [false, ['198.51.100.2']]);
});

test('reclaim at start-up: restores holdings before new allocations, lower key wins conflicts', () => {
  const pools = [{ name: 'a', addresses: ['198.51.100.0/30'] }];
  const a = new Allocator();
  assert.ok(a.setPools(deepFreeze(pools)).ok);
  const report = a.reclaim(
    deepFreeze([
      { service: svc('new'), ips: [] },
      { service: svc('z'), ips: ['198.51.100.0'] },
      { service: svc('c'), ips: ['198.51.100.3'] },
      { service: svc('b'), ips: ['198.51.100.3'] }, // conflicts with c: b < c, b keeps it
      { service: svc('gone'), ips: ['192.0.2.9'] }, // outside every pool: re-allocated after the reclaims
    ]),
  );
  const byKey = Object.fromEntries(report.results.map((r) => [r.key, r]));
  assert.deepEqual(
    report.results.map((r) => r.key),
    ['default/b', 'default/c', 'default/gone', 'default/new', 'default/z'],
  );
  assert.deepEqual([byKey['default/z']?.kept, byKey['default/z']?.result.ips], [true, ['198.51.100.0']]);
  assert.deepEqual([byKey['default/b']?.kept, byKey['default/b']?.result.ips], [true, ['198.51.100.3']]);
  assert.deepEqual([byKey['default/c']?.kept, byKey['default/c']?.result.ips], [false, ['198.51.100.1']]);
  assert.deepEqual([byKey['default/gone']?.kept, byKey['default/gone']?.result.ips], [false, ['198.51.100.2']]);
  assert.deepEqual([byKey['default/new']?.kept, byKey['default/new']?.result.ok], [false, false]);
});
