// `npm run bench:bgp`: full-table transfer to FRR, ours vs gobgpd.
//
// A router namespace runs FRR (zebra + bgpd; a deny-all table-map keeps the routes in the BGP RIB:
// nothing reaches any kernel table). For 10,000 and then 50,000 /32 prefixes:
//   ours:   our bgp-speaker process already holds the prefixes (and retries its connection every
//           ≤ 50 ms); FRR's neighbor is un-shut and the clock runs until FRR's RIB holds all of
//           them (connection setup included: a transfer often ends within one poll of Established);
//   gobgpd: the same prefixes are loaded into gobgpd's RIB first, over a BGP session on the
//           namespace's loopback from a feeder (our speaker: `gobgp mrt inject` of 3.10 was seen to
//           drop most of a stream), then FRR's neighbor is un-shut and the same measurement runs.
// Both are read the same way (polling `show bgp ipv4 unicast summary json`, 20 ms), so the polling
// granularity affects both sides alike. Also reported: our speaker's CPU seconds and peak RSS
// (/proc), and NLRI per UPDATE from its own log.
//
//   frr backend (frrBackendMs): the speaker's FRR backend (src/adapters/frr.ts) drives an FRR of
//           its own in a third node namespace whose session to the router is already up; the clock
//           runs from handing it the peer and the prefixes (render, frr-reload.py, FRR's own
//           transfer) until the router's RIB holds all of them. BGP_BENCH_FRR=0 leaves it out.
// Prefixes come from 198.18.0.0/15 (RFC 2544, the benchmarking range): 50,000 distinct /32s do not
// fit in the documentation ranges, and they never leave FRR's BGP table.
// Prints a table and, as the last line, one JSON object. Never asserts times.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, waitFor, type Netns } from '../test/lib/netns.js';
import { requireRoot, requireTools } from '../test/lib/prereq.js';
import { Frr, GoBgp, Speaker } from '../test/lib/bgp.js';
import { FrrPeers } from '../src/adapters/frr.js';
import { createLogger } from '../src/adapters/log.js';
import type { RouteAttrs } from '../src/domain/bgp-advertisements.js';

const R = '198.51.100.1';
const OURS = '198.51.100.11';
const GOBGP = '198.51.100.12';
const FRRB = '198.51.100.13';
const WITH_FRR = process.env.BGP_BENCH_FRR !== '0';
const SIZES = (process.env.BGP_BENCH_SIZES ?? '10000,50000').split(',').map(Number);

function prefixes(n: number): string[] {
  const base = (198 << 24) | (18 << 16);
  return Array.from({ length: n }, (_, i) => {
    const a = (base + i) >>> 0;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`;
  });
}

function procStats(pid: number): { cpuS: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: ticks / 100, rssMB: hwm ? Number(hwm[1]) / 1024 : 0 };
}

interface Summary {
  peers?: Record<string, { state?: string; pfxRcd?: number }>;
}

/** Un-shuts `peer` in FRR and measures until all `n` prefixes are received. */
async function measure(frr: Frr, peer: string, n: number): Promise<{ totalMs: number }> {
  const t0 = performance.now();
  frr.vtysh('configure terminal', 'router bgp 64513', `no neighbor ${peer} shutdown`);
  progress(`${peer} un-shut`);
  let tEst: number | undefined;
  for (;;) {
    const s = frr.json<Summary>('show bgp ipv4 unicast summary json')?.peers?.[peer];
    const now = performance.now();
    if (tEst === undefined && s?.state === 'Established') tEst = now;
    if (tEst !== undefined && (s?.pfxRcd ?? 0) >= n) return { totalMs: now - t0 };
    if (Math.floor((now - t0) / 2000) !== Math.floor((now - t0 - 25) / 2000))
      progress(`waiting: ${JSON.stringify(s)} ${frr.vtysh('show bgp ipv4 unicast summary json').slice(0, 300)}`);
    if (now - t0 > 300_000) throw new Error(`timed out: ${peer} ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function shut(frr: Frr, peer: string): Promise<void> {
  frr.vtysh('configure terminal', 'router bgp 64513', `neighbor ${peer} shutdown`);
  await waitFor(
    'FRR table empty',
    () => (frr.json<Summary>('show bgp ipv4 unicast summary json')?.peers?.[peer]?.pfxRcd ?? 0) === 0,
    60_000,
    100,
  );
}

const progress = (m: string): void => {
  process.stderr.write(`bench:bgp: ${m}\n`);
};

async function main(): Promise<void> {
  requireRoot();
  requireTools('ip', 'vtysh', 'gobgpd', 'gobgp');
  const lab = new Lab('bg');
  cleanupHook = () => lab.cleanup();
  const dir = mkdtempSync(join(tmpdir(), `${lab.id}-bench-`));
  const rows: Array<{
    prefixes: number;
    oursMs: number;
    gobgpMs: number;
    ratio: number;
    frrBackendMs?: number;
    frrReloadMs?: number;
    rssMB: number;
    cpuS: number;
    nlriPerUpdate: number;
  }> = [];
  let backend: FrrPeers | undefined;
  try {
    const r = lab.netns('r');
    lab.bridge(r, 'br0');
    r.exec('ip', ['addr', 'add', `${R}/26`, 'dev', 'br0']);
    const n1 = lab.netns('n1');
    const n2 = lab.netns('n2');
    lab.link(n1, 'eth0', r, 'br0', [`${OURS}/26`]);
    lab.link(n2, 'eth0', r, 'br0', [`${GOBGP}/26`]);
    const n3 = lab.netns('n3');
    lab.link(n3, 'eth0', r, 'br0', [`${FRRB}/26`]);
    const frr = Frr.start(
      lab,
      r,
      [
        'router bgp 64513',
        ` bgp router-id ${R}`,
        ' no bgp ebgp-requires-policy',
        ' no bgp default ipv4-unicast',
        ` neighbor ${OURS} remote-as 64512`,
        ` neighbor ${OURS} shutdown`,
        ` neighbor ${GOBGP} remote-as 64514`,
        ` neighbor ${GOBGP} shutdown`,
        ` neighbor ${FRRB} remote-as 64515`,
        ' address-family ipv4 unicast',
        `  neighbor ${OURS} activate`,
        `  neighbor ${GOBGP} activate`,
        `  neighbor ${FRRB} activate`,
        '  table-map NOINSTALL',
        ' exit-address-family',
        // Keep the benchmark routes in the BGP table only: nothing is handed to zebra/the kernel.
        'route-map NOINSTALL deny 10',
      ].join('\n'),
    );
    progress('FRR starting');
    await waitFor('FRR vty', () => frr.json('show bgp ipv4 unicast summary json') !== undefined, 20_000, 100);
    // The FRR backend's own FRR, beside a "speaker" (this process) on node n3.
    const nodeFrr = WITH_FRR ? Frr.start(lab, n3 as Netns, '') : undefined;
    backend = nodeFrr
      ? new FrrPeers({
          vtySocket: nodeFrr.dir,
          stateDir: join(dir, 'frr-backend'),
          hostname: 'bench',
          log: createLogger({ component: 'bench' }),
        })
      : undefined;
    const frrPeer = {
      bgp: { name: 'r', peerAddress: R, myAsn: 64515, peerAsn: 64513, holdTime: 90 },
    };
    for (const n of SIZES) {
      const list = prefixes(n);
      // --- ours
      progress(`${n} prefixes: our speaker`);
      const spk = Speaker.start(
        lab,
        n1 as Netns,
        {
          node: { name: 'bench' },
          peers: [{ name: 'r', peerAddress: R, myAsn: 64512, peerAsn: 64513, holdTime: 90, retryInitialMs: 20, retryMaxMs: 50 }],
          prefixes: list,
        },
        `ours-${n}`,
      );
      await waitFor('speaker started', () => spk.find((e) => e.event === 'started'), 60_000, 50);
      progress('speaker started');
      const ours = await measure(frr, OURS, n);
      progress(`ours: ${Math.round(ours.totalMs)} ms`);
      const sent = (await waitFor('routesSent logged', () => spk.find((e) => e.event === 'routesSent'), 10_000, 50)) as {
        nlriPerUpdate?: number;
        updates?: number;
      };
      const ps = procStats(spk.proc.pid as number);
      await spk.stop();
      await shut(frr, OURS);
      // --- gobgpd
      const gobgp = GoBgp.start(
        lab,
        n2 as Netns,
        `
[global.config]
  as = 64514
  router-id = "${GOBGP}"
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${R}"
    peer-as = 64513
  [neighbors.timers.config]
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = 64600
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`,
      );
      await waitFor(
        'gobgpd API',
        () => {
          try {
            gobgp.cli('global');
            return true;
          } catch {
            return false;
          }
        },
        20_000,
        100,
      );
      const feeder = Speaker.start(
        lab,
        n2 as Netns,
        {
          node: { name: 'feeder' },
          peers: [
            {
              name: 'g',
              peerAddress: '127.0.0.1',
              myAsn: 64600,
              peerAsn: 64514,
              holdTime: 90,
              retryInitialMs: 200,
              retryMaxMs: 500,
              nextHopIpv4: GOBGP,
            },
          ],
          prefixes: list,
        },
        `feeder-${n}`,
      );
      progress('gobgpd: feeding its RIB');
      await waitFor('gobgpd RIB loaded', () => gobgp.ribCount('ipv4') >= n, 180_000, 500);
      progress('gobgpd: RIB loaded');
      const theirs = await measure(frr, GOBGP, n);
      await feeder.stop();
      gobgp.proc.kill('SIGTERM');
      await new Promise((res) => gobgp.proc.once('exit', res));
      await shut(frr, GOBGP);
      // --- FRR backend: the session is up with no routes; then the plan with n prefixes.
      let frrBackendMs: number | undefined;
      let frrReloadMs: number | undefined;
      if (backend) {
        backend.reconcile([frrPeer]);
        backend.setRoutes(new Map());
        await backend.applied();
        await waitFor(
          'FRR backend session up',
          () => frr.json<Summary>('show bgp ipv4 unicast summary json')?.peers?.[FRRB]?.state === 'Established',
          60_000,
          50,
        );
        progress(`${n} prefixes: FRR backend`);
        const plain: RouteAttrs = { communities: [], largeCommunities: [] };
        const t0 = performance.now();
        backend.setRoutes(new Map([['r', new Map(list.map((p) => [p, plain]))]]));
        await backend.applied();
        frrReloadMs = Math.round(performance.now() - t0);
        await waitFor(
          'router holds the FRR backend prefixes',
          () => (frr.json<Summary>('show bgp ipv4 unicast summary json')?.peers?.[FRRB]?.pfxRcd ?? 0) >= n,
          600_000,
          20,
        );
        frrBackendMs = Math.round(performance.now() - t0);
        progress(`frr backend: ${frrBackendMs} ms (reload ${frrReloadMs} ms)`);
        backend.setRoutes(new Map());
        await backend.applied();
        await waitFor(
          'router table empty',
          () => (frr.json<Summary>('show bgp ipv4 unicast summary json')?.peers?.[FRRB]?.pfxRcd ?? 0) === 0,
          600_000,
          100,
        );
      }
      rows.push({
        prefixes: n,
        oursMs: Math.round(ours.totalMs),
        gobgpMs: Math.round(theirs.totalMs),
        ratio: Number((ours.totalMs / theirs.totalMs).toFixed(2)),
        ...(frrBackendMs !== undefined ? { frrBackendMs, frrReloadMs } : {}),
        rssMB: Number(ps.rssMB.toFixed(1)),
        cpuS: Number(ps.cpuS.toFixed(2)),
        nlriPerUpdate: sent.nlriPerUpdate ?? 0,
      });
    }
  } finally {
    await backend?.stop();
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    'prefixes | ours ms (un-shut→all in FRR) | gobgpd ms | ratio | FRR backend ms (plan→all in router) | our peak RSS MB | our CPU s | NLRI/UPDATE',
  );
  for (const x of rows)
    console.log(
      `${String(x.prefixes).padStart(8)} | ${String(x.oursMs).padStart(30)} | ${String(x.gobgpMs).padStart(9)} | ${x.ratio.toFixed(2).padStart(5)} | ${String(x.frrBackendMs ?? '-').padStart(35)} | ${x.rssMB.toFixed(1).padStart(15)} | ${x.cpuS.toFixed(2).padStart(9)} | ${x.nlriPerUpdate}`,
    );
  const last = rows.at(-1);
  if (last) console.log(JSON.stringify(last));
}

for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    progress(`${sig}: cleaning up`);
    void cleanupHook?.().then(() => process.exit(130));
  });
let cleanupHook: (() => Promise<void>) | undefined;
await main();
