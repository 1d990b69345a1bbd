// Golden renders of the FRR backend's configuration, one per feature, each also read by FRR's own
// parser (`vtysh --dryrun -f`, Debian's frr package). UPDATE_GOLDEN=1 rewrites the golden files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { communityText, frrConfigDelta, renderFrrConfig, type FrrInput, type FrrPeer } from './frr-config.js';
import type { RouteAttrs } from './bgp-advertisements.js';

const GOLDEN = join(import.meta.dirname, 'testdata', 'frr');
const plain: RouteAttrs = { communities: [], largeCommunities: [] };
const routes = (m: Record<string, Record<string, RouteAttrs>>) =>
  new Map(Object.entries(m).map(([k, v]) => [k, new Map(Object.entries(v))]));
const peer = (p: Partial<FrrPeer> & { name: string }): FrrPeer => ({ myAsn: 64500, peerAsn: 64501, ...p });

const CASES: Record<string, FrrInput> = {
  basic: {
    hostname: 'node-1',
    peers: [peer({ name: 'router', address: '198.51.100.1', holdTime: 90 })],
    routes: routes({ router: { '203.0.113.128/32': plain, '203.0.113.129/32': plain } }),
  },
  'session-options': {
    peers: [
      peer({
        name: 'edge',
        address: '198.51.100.1',
        port: 1179,
        holdTime: 9,
        keepaliveTime: 3,
        connectTimeMs: 5000,
        routerId: '198.51.100.11',
        sourceAddress: '198.51.100.11',
        password: 's3cret!',
        ebgpMultiHop: true,
        enableGracefulRestart: true,
      }),
      peer({ name: 'ibgp', address: '198.51.100.2', peerAsn: 64500, dynamicAsn: 'internal' }),
      peer({ name: 'any-ebgp', address: '198.51.100.3', peerAsn: 0, dynamicAsn: 'external' }),
    ],
    routes: routes({ edge: { '203.0.113.128/32': plain } }),
  },
  bfd: {
    peers: [
      peer({ name: 'fast', address: '198.51.100.1', bfdProfile: 'fast' }),
      peer({ name: 'defaults', address: '198.51.100.2', bfdProfile: 'missing' }),
    ],
    bfdProfiles: [
      {
        name: 'fast',
        receiveIntervalMs: 100,
        transmitIntervalMs: 150,
        detectMultiplier: 5,
        echoMode: true,
        echoIntervalMs: 60,
        passiveMode: true,
        minimumTtl: 250,
      },
      { name: 'unused', detectMultiplier: 9 },
    ],
    routes: routes({}),
  },
  'communities-localpref-dualstack': {
    peers: [
      peer({ name: 'ibgp', address: '198.51.100.1', peerAsn: 64500, families: ['ipv4', 'ipv6'] }),
      peer({ name: 'ebgp6', address: '2001:db8:4::1' }),
    ],
    routes: routes({
      ibgp: {
        '203.0.113.128/32': { localPref: 200, communities: [0xfde80064, 0xffffff01], largeCommunities: [[64500, 1, 2]] },
        '203.0.113.130/32': { localPref: 200, communities: [0xfde80064, 0xffffff01], largeCommunities: [[64500, 1, 2]] },
        '203.0.113.129/32': plain,
        '2001:db8:5::1/128': { localPref: 50, communities: [], largeCommunities: [] },
      },
      ebgp6: { '2001:db8:5::1/128': { communities: [0xfde80064], largeCommunities: [] }, '203.0.113.128/32': plain },
    }),
  },
  vrf: {
    peers: [
      peer({ name: 'red', address: '198.51.100.1', vrf: 'red' }),
      peer({ name: 'blue', address: '198.51.100.1', vrf: 'blue', myAsn: 64510 }),
      peer({ name: 'default', address: '198.51.100.9' }),
    ],
    routes: routes({ red: { '203.0.113.128/32': plain }, blue: { '203.0.113.129/32': plain }, default: { '203.0.113.130/32': plain } }),
  },
  unnumbered: {
    peers: [peer({ name: 'tor', interface: 'eth0', peerAsn: 0, dynamicAsn: 'external', holdTime: 9 })],
    routes: routes({ tor: { '203.0.113.128/32': plain, '2001:db8:5::1/128': plain } }),
  },
  'local-as': {
    peers: [
      peer({ name: 'a', address: '198.51.100.1' }),
      peer({ name: 'b', address: '198.51.100.2', myAsn: 64600 }),
      peer({ name: 'c', address: '198.51.100.3', localAsn: 65010 }),
    ],
    routes: routes({ a: { '203.0.113.128/32': plain }, b: { '203.0.113.128/32': plain } }),
  },
};

const vtysh = ['/usr/bin/vtysh', '/usr/local/bin/vtysh'].find((p) => existsSync(p));

describe('FRR configuration renderer', () => {
  for (const [name, input] of Object.entries(CASES)) {
    it(`${name}: matches its golden render`, () => {
      const r = renderFrrConfig(input);
      assert.deepEqual(r.refused, []);
      const file = join(GOLDEN, `${name}.conf`);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, r.text);
      assert.equal(r.text, readFileSync(file, 'utf8'));
    });
    it(
      `${name}: FRR's parser accepts the render (vtysh --dryrun)`,
      { skip: vtysh ? false : 'vtysh (Debian package frr) is not installed' },
      () => {
        const dir = mkdtempSync(join(tmpdir(), 'mooring-frr-dry-'));
        try {
          const file = join(dir, 'frr.conf');
          writeFileSync(file, renderFrrConfig(input).text);
          const out = spawnSync(vtysh as string, ['--dryrun', '-f', file], { encoding: 'utf8' });
          assert.equal(out.status, 0, `vtysh --dryrun: ${out.stdout}${out.stderr}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  }

  it('the parser check can fail: a misspelt line is rejected', { skip: vtysh ? false : 'vtysh is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'mooring-frr-dry-'));
    try {
      const file = join(dir, 'frr.conf');
      writeFileSync(file, renderFrrConfig(CASES.basic as FrrInput).text.replace('remote-as', 'remote-ass'));
      assert.notEqual(spawnSync(vtysh as string, ['--dryrun', '-f', file]).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adding one prefix adds one prefix-list line and one network line (stable sequence numbers)', () => {
    // r gets every network (no prefix list); s all but one (a prefix list).
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`203.0.113.${i}/32`, plain]));
    const { ['203.0.113.0/32']: _left, ...most } = many;
    const two = [peer({ name: 'r', address: '198.51.100.1' }), peer({ name: 's', address: '198.51.100.2' })];
    const before = renderFrrConfig({ peers: two, routes: routes({ r: many, s: most }) }).text.split('\n');
    const add = { '198.51.100.200/32': plain };
    const after = renderFrrConfig({ peers: two, routes: routes({ r: { ...many, ...add }, s: { ...most, ...add } }) }).text.split('\n');
    const added = after.filter((l) => !before.includes(l));
    const removed = before.filter((l) => !after.includes(l));
    assert.deepEqual(removed, []);
    assert.equal(added.length, 2, added.join('\n'));
    assert.ok(added.some((l) => l === '  network 198.51.100.200/32'));
    assert.ok(added.some((l) => /^ip prefix-list mooring-s-ipv4-1 seq \d+ permit 198\.51\.100\.200\/32$/.test(l)));
    assert.ok(!after.some((l) => l.startsWith('ip prefix-list mooring-r-')));
  });

  it('a peer that gets every network with the same attributes has no prefix list', () => {
    const t = renderFrrConfig({
      peers: [peer({ name: 'r', address: '198.51.100.1', peerAsn: 64500 })],
      routes: routes({
        r: {
          '203.0.113.1/32': { localPref: 120, communities: [], largeCommunities: [] },
          '203.0.113.2/32': { localPref: 120, communities: [], largeCommunities: [] },
        },
      }),
    }).text;
    assert.ok(!t.includes('prefix-list'), t);
    assert.ok(t.includes('route-map mooring-r-out permit 10\n set local-preference 120\nexit'), t);
  });

  it('refuses, with the field, what FRR cannot take', () => {
    const r = renderFrrConfig({
      peers: [
        peer({ name: 'spaced', address: '198.51.100.1', password: 'two words' }),
        peer({ name: 'nowhere' }),
        peer({ name: 'ok', address: '198.51.100.2' }),
      ],
      routes: routes({}),
    });
    assert.deepEqual(
      r.refused.map((x) => [x.peer, x.field]),
      [
        ['spaced', 'spec.password'],
        ['nowhere', 'spec.peerAddress'],
      ],
    );
    assert.ok(r.text.includes('neighbor 198.51.100.2 remote-as'));
    assert.ok(!r.text.includes('198.51.100.1'));
  });

  it('well-known communities by FRR name, others as ASN:value', () => {
    assert.equal(communityText(0xffffff01), 'no-export');
    assert.equal(communityText(0xfde80064), '65000:100');
  });

  describe('delta between two renders', () => {
    const r = (peers: FrrPeer[], rt: Record<string, Record<string, RouteAttrs>>, bfdProfiles: FrrInput['bfdProfiles'] = []) =>
      renderFrrConfig({ peers, routes: routes(rt), bfdProfiles }).text;
    const a = peer({ name: 'a', address: '198.51.100.1', holdTime: 9, bfdProfile: 'p' });
    const b = peer({ name: 'b', address: '2001:db8:4::1' });
    const before = r([a, b], { a: { '203.0.113.1/32': plain }, b: { '2001:db8:5::1/128': plain } }, [{ name: 'p', detectMultiplier: 3 }]);

    it('nothing changed: empty', () => {
      assert.equal(frrConfigDelta(before, before), '');
    });

    it('a removed neighbor goes by `no neighbor X` alone; a changed remote-as and hold time are set over the old ones', () => {
      const after = r([{ ...a, peerAsn: 64999, holdTime: 30 }], { a: { '203.0.113.1/32': plain } }, [{ name: 'p', detectMultiplier: 5 }]);
      const d = frrConfigDelta(before, after).split('\n');
      assert.ok(d.includes(' no neighbor 2001:db8:4::1'), d.join('\n'));
      assert.ok(!d.some((l) => /no neighbor 2001:db8:4::1 /.test(l)), d.join('\n'));
      assert.ok(!d.some((l) => /no neighbor 198\.51\.100\.1 (remote-as|timers)/.test(l)), d.join('\n'));
      assert.ok(d.includes(' neighbor 198.51.100.1 remote-as 64999') && d.includes(' neighbor 198.51.100.1 timers 10 30'), d.join('\n'));
      assert.ok(d.includes('  detect-multiplier 5') && !d.some((l) => /no detect-multiplier/.test(l)), d.join('\n'));
      assert.ok(d.includes('no route-map mooring-b-out deny 65535'), d.join('\n'));
    });

    it("every delta of a sequence of plans is read by FRR's parser", { skip: vtysh ? false : 'vtysh is not installed' }, () => {
      const plans = [
        before,
        r(
          [a, b, peer({ name: 'red', address: '198.51.100.2', vrf: 'red' })],
          { red: { '203.0.113.9/32': { localPref: 5, communities: [1], largeCommunities: [] } } },
          [{ name: 'p', echoMode: true }],
        ),
        r([peer({ name: 'tor', interface: 'eth0', peerAsn: 0, dynamicAsn: 'external' })], { tor: { '203.0.113.1/32': plain } }),
        before,
      ];
      const dir = mkdtempSync(join(tmpdir(), 'mooring-frr-dry-'));
      try {
        for (let i = 1; i < plans.length; i++) {
          const file = join(dir, `delta-${i}.conf`);
          writeFileSync(file, frrConfigDelta(plans[i - 1] as string, plans[i] as string));
          const out = spawnSync(vtysh as string, ['--dryrun', '-f', file], { encoding: 'utf8' });
          assert.equal(out.status, 0, `delta ${i}: ${out.stdout}${out.stderr}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
