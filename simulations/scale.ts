// Scale run of the simulator: N nodes × M IPs, one owner killed, invariants checked throughout.
// Used by simulations/scale.test.ts and runnable alone: npx tsx simulations/scale.ts [nodes] [ips]
import { SimCluster, services } from './lib/cluster.js';

export interface ScaleResult {
  nodes: number; ips: number; simulatedMs: number; wallMs: number; violations: string[];
  moved: number; lostByVictim: number; maxFailoverMs: number; published: number; heapMb: number;
}

export async function scaleRun(nodeCount: number, ipCount: number, intervalMs = 1000): Promise<ScaleResult> {
  const t0 = performance.now();
  const names = Array.from({ length: nodeCount }, (_, i) => `node-${String(i).padStart(4, '0')}`);
  const c = new SimCluster({
    seed: 1000 + nodeCount, nodes: names.map((name) => ({ name })), services: services(ipCount, {}, names),
    membership: { intervalMs, misses: 3 }, steadyCheckEveryMs: 2 * intervalMs, claimsRefreshMs: 30000,
  });
  c.keepTransitions = false;
  await c.start(5 * intervalMs);
  const victim = names[Math.floor(nodeCount / 2)] as string;
  const lost = c.allIps().filter((ip) => c.announcers(ip).includes(victim));
  c.kill(victim);
  await c.run(4 * intervalMs);
  // Steady window so I2/I3 get checked after the move.
  await c.run(c.settleMs + intervalMs);
  const moved = c.failovers.filter((f) => f.cause === `kill ${victim}`);
  return {
    nodes: nodeCount, ips: ipCount, simulatedMs: c.clock.now(), wallMs: Math.round(performance.now() - t0),
    violations: c.violations, moved: moved.length, lostByVictim: lost.length,
    maxFailoverMs: Math.max(0, ...moved.map((f) => f.afterMs)), published: c.nats.published,
    heapMb: Math.round(process.memoryUsage().heapUsed / 1e6),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n = '1000', m = '10000'] = process.argv.slice(2);
  const r = await scaleRun(Number(n), Number(m));
  console.log(JSON.stringify(r));
}
