// The FRR backend's apply path against real FRR (zebra, bgpd, bfdd in a namespace of the test's,
// with a vty directory of their own): the adapter (src/adapters/frr.ts) takes a sequence of plans
// touching every rendered feature — peers added, changed and removed, a remote-as change, VRF
// instances, an unnumbered peer, BFD profiles, routes with communities, large communities and
// LOCAL_PREF — the first by frr-reload.py, the others by its delta fast path; after each one,
// FRR's own diff (frr-reload.py --test against the render) must find nothing left to change.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Frr } from '../../lib/bgp.js';
import { FrrPeers } from '../../../src/adapters/frr.js';
import type { PeerSpec } from '../../../src/actors/peer-specs.js';
import type { RouteAttrs } from '../../../src/domain/bgp-advertisements.js';
import type { Logger } from '../../../src/adapters/log.js';

const RELOAD = '/usr/lib/frr/frr-reload.py';
const plain: RouteAttrs = { communities: [], largeCommunities: [] };
const tagged: RouteAttrs = { localPref: 150, communities: [0xfde80064, 0xffffff01], largeCommunities: [[64500, 7, 9]] };

interface Step {
  what: string;
  specs: PeerSpec[];
  routes: Record<string, Record<string, RouteAttrs>>;
}

const a = (over: Partial<PeerSpec['bgp']> = {}): PeerSpec => ({
  bgp: { name: 'a', peerAddress: '198.51.100.1', myAsn: 64500, peerAsn: 64501, holdTime: 9, ...over },
});
const b6: PeerSpec = { bgp: { name: 'b6', peerAddress: '2001:db8:4::1', myAsn: 64500, peerAsn: 64501 } };
const red: PeerSpec = { bgp: { name: 'red', peerAddress: '198.51.100.2', myAsn: 64500, peerAsn: 64502, vrf: 'red' } };
const tor: PeerSpec = { bgp: { name: 'tor', peerAddress: '', myAsn: 64500, peerAsn: 0, dynamicAsn: 'external', interface: 'eth0' } };
const withBfd = (s: PeerSpec, name: string, detectMultiplier: number): PeerSpec => ({
  ...s,
  bfd: { address: s.bgp.peerAddress, multihop: false, profile: { detectMultiplier, receiveIntervalMs: 200 }, profileName: name },
});

const STEPS: Step[] = [
  { what: 'one peer, two routes', specs: [a()], routes: { a: { '203.0.113.1/32': plain, '203.0.113.2/32': plain } } },
  {
    what: 'an IPv6 peer, attributes on a route, a third route',
    specs: [a(), b6],
    routes: { a: { '203.0.113.1/32': tagged, '203.0.113.2/32': plain, '203.0.113.3/32': plain }, b6: { '2001:db8:5::1/128': plain } },
  },
  {
    what: 'timers, password, multihop, graceful restart, BFD profile',
    specs: [withBfd(a({ holdTime: 30, password: 'pw1', ebgpMultiHop: true, enableGracefulRestart: true }), 'fast', 3), b6],
    routes: { a: { '203.0.113.1/32': tagged, '203.0.113.3/32': plain }, b6: { '2001:db8:5::1/128': plain } },
  },
  {
    what: 'a VRF peer and an unnumbered peer; the BFD profile changes',
    specs: [withBfd(a({ holdTime: 30, password: 'pw2', ebgpMultiHop: true }), 'fast', 5), b6, red, tor],
    routes: {
      a: { '203.0.113.1/32': plain },
      red: { '203.0.113.9/32': tagged },
      tor: { '203.0.113.1/32': plain, '2001:db8:5::1/128': plain },
    },
  },
  {
    what: 'remote-as changes; the IPv6 peer, the VRF and BFD go',
    specs: [a({ peerAsn: 64510, localAsn: 65010 }), tor],
    routes: { a: { '203.0.113.1/32': plain, '203.0.113.4/32': tagged }, tor: {} },
  },
  { what: 'everything goes but one peer without routes', specs: [a()], routes: {} },
];

const logged: Array<Record<string, unknown>> = [];
const log: Logger = {
  debug: () => {},
  info: (msg, f) => logged.push({ msg, ...f }),
  warn: (msg, f) => logged.push({ msg, ...f }),
  error: (msg, f) => logged.push({ msg, ...f }),
  child: () => log,
};

describe('FRR backend apply path (frr-reload.py, then deltas) against real FRR', { timeout: 180_000 }, () => {
  const lab = new Lab('fb');
  let ns: Netns;
  let frr: Frr;
  let peers: FrrPeers | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mooring-frr-backend-'));

  before(async () => {
    requireRoot();
    requireTools('ip', 'vtysh');
    if (!existsSync(RELOAD)) throw new Error(`${RELOAD} is missing: apt-get install frr-pythontools (scripts/install-deps.sh)`);
    ns = lab.netns('n');
    ns.exec('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
    ns.exec('ip', ['link', 'set', 'eth0', 'up']);
    frr = Frr.start(lab, ns, '', { bfdd: true });
    await waitFor(
      'FRR vty',
      () => {
        // Both of zebra's clients: graceful restart (step 2) is refused while bgpd is not connected.
        const clients = frr.json('show bgp vrf all neighbors json') !== undefined ? frr.vtysh('show zebra client summary') : '';
        return /^bgp\b/m.test(clients) && /^bfd\b/m.test(clients);
      },
      30_000,
      100,
    );
  });

  after(async () => {
    await peers?.stop();
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What frr-reload.py would still change to make FRR's running configuration the render. */
  const leftToChange = (text: string): string[] => {
    const f = join(dir, 'check.conf');
    writeFileSync(f, text);
    const r = spawnSync('python3', [RELOAD, '--test', '--stdout', '--vty_socket', frr.dir, '--confdir', dir, '--rundir', dir, f], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // Lines outside what the backend renders (the daemons' start-up files, hostname, logging) are not its business.
    return r.stdout
      .split('\n')
      .filter((l) => /neighbor|network|prefix-list|route-map|router bgp|profile|bfd|set |match |address-family/.test(l));
  };

  it('each plan is applied and FRR is left with exactly the render', async () => {
    peers = new FrrPeers({ vtySocket: frr.dir, stateDir: join(dir, 'state'), log, coalesceMs: 20, pollMs: 200 });
    for (const [i, step] of STEPS.entries()) {
      peers.reconcile(step.specs);
      peers.setRoutes(new Map(Object.entries(step.routes).map(([k, v]) => [k, new Map(Object.entries(v))])));
      await peers.applied();
      const failed = logged.filter((e) => e.event === 'frr.reloadFailed' || e.event === 'frr.deltaFailed');
      assert.deepEqual(failed, [], `step ${i} (${step.what})`);
      assert.deepEqual(leftToChange(peers.render().text), [], `step ${i} (${step.what}): FRR differs from the render`);
    }
    const modes = logged.filter((e) => e.event === 'frr.reloaded').map((e) => e.mode);
    assert.equal(modes[0], 'full');
    assert.ok(
      modes.slice(1).every((m) => m === 'delta'),
      JSON.stringify(modes),
    );
    assert.equal(modes.length, STEPS.length);
  });

  it('reads the peers back from FRR by name, in every VRF', async () => {
    assert.ok(peers);
    const p = peers;
    p.reconcile([a(), red, tor]);
    p.setRoutes(new Map());
    await p.applied();
    await waitFor(
      'three peers read back',
      () => [...p.states().values()].length === 3 && p.metrics().every((m) => m.metrics !== undefined),
      10_000,
      100,
    );
    await waitFor(
      'all read back with a state',
      () => ['a', 'red', 'tor'].every((n) => frr.vtysh('show bgp vrf all neighbors json').includes(`"nbrDesc":"${n}"`)),
      10_000,
      100,
    );
    await waitFor('states', () => ['active', 'connect', 'idle'].includes(p.states().get('red') ?? ''), 10_000, 100);
  });

  it('FRR losing the configuration (bgpd cleared) is noticed and reloaded in full', async () => {
    assert.ok(peers);
    const before = logged.filter((e) => e.event === 'frr.reloaded' && e.mode === 'full').length;
    frr.vtysh('configure terminal', 'no router bgp 64500 vrf red', 'no router bgp 64500');
    await waitFor(
      'full reload after drift',
      () => logged.filter((e) => e.event === 'frr.reloaded' && e.mode === 'full').length > before,
      20_000,
      100,
    );
    assert.ok(peers);
    await peers.applied();
    assert.deepEqual(leftToChange(peers.render().text), []);
  });
});
