// Scale run of the simulator: N nodes × M IPs, one owner killed, invariants checked throughout.
// Used by simulations/scale.test.ts and runnable alone: npx tsx simulations/scale.ts [nodes] [ips]
import { SimCluster, services } from './lib/cluster.js';

export interface ScaleResult {
  nodes: number;
  ips: number;
  simulatedMs: number;
  wallMs: number;
  violations: string[];
  moved: number;
  lostByVictim: number;
  maxFailoverMs: number;
  published: number;
  heapMb: number;
  rssMaxMb: number;
  /** Full I2 checks (every IP against the truthful election) before and after the kill. */
  steadyChecksBefore: number;
  steadyChecksAfter: number;
}

export async function scaleRun(nodeCount: number, ipCount: number, intervalMs = 1000): Promise<ScaleResult> {
  const t0 = performance.now();
  // The run never yields to the event loop (simulated time), so RSS is sampled between phases.
  let rssMax = 0;
  const sample = (): void => {
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
  };
  const detect = 3 * intervalMs;
  const names = Array.from({ length: nodeCount }, (_, i) => `node-${String(i).padStart(4, '0')}`);
  const c = new SimCluster({
    seed: 1000 + nodeCount,
    nodes: names.map((name) => ({ name })),
    services: services(ipCount, {}, names),
    membership: { intervalMs, misses: 3 },
    steadyCheckEveryMs: intervalMs / 2,
    claimsRefreshMs: 30000,
    // Steady (I2/I3 apply) 1.5 intervals after a detection window without a fault: every speaker
    // boots within one interval and elects after its resync window (= detection window); a kill
    // is detected within the window (+ one sweep) and taken over at once. Every simulated
    // interval costs N² heartbeat deliveries, so the run is kept to ten.
    settleMs: detect + 1.5 * intervalMs,
  });
  c.keepTransitions = false;
  // Warm-up: boot within one interval, resync, elect; steady (and checked) at its end.
  await c.start(c.settleMs + intervalMs / 2);
  sample();
  const steadyChecksBefore = c.steadyChecks;
  const victim = names[Math.floor(nodeCount / 2)] as string;
  const lost = c.allIps().filter((ip) => c.announcers(ip).includes(victim));
  c.kill(victim);
  // Detection and takeover, then the steady window so I2/I3 get checked after the move.
  await c.run(c.settleMs + intervalMs / 2);
  sample();
  const moved = c.failovers.filter((f) => f.cause === `kill ${victim}`);
  return {
    nodes: nodeCount,
    ips: ipCount,
    simulatedMs: c.clock.now(),
    wallMs: Math.round(performance.now() - t0),
    violations: c.violations,
    moved: moved.length,
    lostByVictim: lost.length,
    maxFailoverMs: Math.max(0, ...moved.map((f) => f.afterMs)),
    published: c.nats.published,
    heapMb: Math.round(process.memoryUsage().heapUsed / 1e6),
    rssMaxMb: Math.round(rssMax / 1e6),
    steadyChecksBefore,
    steadyChecksAfter: c.steadyChecks - steadyChecksBefore,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n = '1000', m = '10000'] = process.argv.slice(2);
  const r = await scaleRun(Number(n), Number(m));
  console.log(JSON.stringify(r));
}
