// `npm start`: a simulated 5-node cluster with 20 LoadBalancer services (L2 mode) on the
// deterministic simulator (real coordination code, simulated NATS, KV, L2 and clock). Kills
// owners, isolates a node from NATS, brings nodes back, and prints who owns what and every
// failover with its simulated time. Exits 0 when every invariant held (1 otherwise).
//   --fast      no pauses between scenes
//   --forever   keep causing seeded chaos until interrupted
//   --seed N    another deterministic run
//   --no-viz    console only; by default, on a terminal, it also serves the visualizer (docs/visualizer.md)
//               on --listen (127.0.0.1:8089) and keeps serving after the story until Ctrl-C
//   --viz       serve the visualizer even when stdout is not a terminal
import { SimCluster, services } from '../../simulations/lib/cluster.js';
import type { Failover } from '../../simulations/lib/cluster.js';
import { serveSimViz } from '../../simulations/lib/viz-tap.js';

const args = process.argv.slice(2);
const fast = args.includes('--fast') || !process.stdout.isTTY;
const forever = args.includes('--forever');
const seedArg = args.indexOf('--seed');
const seed = seedArg >= 0 ? Number(args[seedArg + 1] ?? 1) : 7;
const listenArg = args.indexOf('--listen');
const [vizHost = '127.0.0.1', vizPort = '8089'] = (listenArg >= 0 ? (args[listenArg + 1] ?? '') : '127.0.0.1:8089').split(/:(?=\d+$)/);
const withViz = !args.includes('--no-viz') && (process.stdout.isTTY || args.includes('--viz'));

const tty = process.stdout.isTTY;
const c = (code: number, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s: string) => c(1, s);
const dim = (s: string) => c(2, s);
const red = (s: string) => c(31, s);
const green = (s: string) => c(32, s);
const yellow = (s: string) => c(33, s);
const cyan = (s: string) => c(36, s);

const NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
const sim = new SimCluster({ seed, nodes: NODES.map((name) => ({ name })), services: services(20, {}, NODES) });
const pause = (ms: number) => (fast ? Promise.resolve() : new Promise((r) => setTimeout(r, ms)));
const secs = (ms: number) => `${(ms / 1000).toFixed(3)}s`;
let shownFailovers = 0;

function nodeStatus(name: string): string {
  if (!sim.isRunning(name)) return red('killed');
  const conn = sim.nats.conns.get(name);
  if (conn && !conn.isUp()) return yellow('no NATS');
  return green('up');
}

function printTable(title: string): void {
  console.log(`\n${bold(`t=${secs(sim.clock.now())}`)}  ${title}`);
  const width = 16;
  console.log(dim(`  ${'node'.padEnd(8)} ${'status'.padEnd(tty ? 17 : 8)} IPs announced`));
  for (const n of NODES) {
    const ips = sim
      .allIps()
      .filter((ip) => sim.announcers(ip).includes(n))
      .map((ip) => ip.replace('203.0.113.', '.'));
    console.log(`  ${n.padEnd(8)} ${nodeStatus(n).padEnd(tty ? 17 : 8)} ${ips.length.toString().padStart(2)}  ${dim(ips.join(' '))}`);
  }
  const rows = sim.table();
  const orphan = rows.filter((r) => r.announcers.length === 0);
  const dual = rows.filter((r) => r.announcers.length > 1);
  console.log(
    `  ${rows.length - orphan.length}/${rows.length} IPs announced` +
      (orphan.length ? red(`, ${orphan.length} with no announcer (${orphan.map((r) => r.ip).join(' ')})`) : '') +
      (dual.length ? red(`, ${dual.length} announced twice`) : '') +
      ' '.repeat(width - 16),
  );
}

function printFailovers(): void {
  for (const f of sim.failovers.slice(shownFailovers)) {
    if (f.cause === 'start') continue;
    const label = f.cause.startsWith('kill') || f.cause.includes('isolate') ? 'failover' : 'move    ';
    console.log(
      `  ${cyan(label)} ${f.ip.padEnd(14)} ${(f.from ?? '-').padEnd(7)} → ${f.to.padEnd(7)} at t=${secs(f.at)}  ${bold(`${f.afterMs} ms`)} after "${f.cause}"`,
    );
  }
  shownFailovers = sim.failovers.length;
}

async function scene(title: string, act: () => void, runMs: number): Promise<void> {
  console.log(`\n${yellow('▶')} ${bold(title)}`);
  act();
  await sim.run(runMs);
  viz?.pump();
  printFailovers();
  printTable('after: ' + title);
  await pause(900);
}

function ownerOfMost(): string {
  let best = NODES[0] as string;
  let n = -1;
  for (const name of NODES) {
    const k = sim.allIps().filter((ip) => sim.announcers(ip).includes(name)).length;
    if (k > n) {
      n = k;
      best = name;
    }
  }
  return best;
}

console.log(
  bold('Mooring') + ' — simulated L2 cluster: 5 speakers, 20 LoadBalancer services, NATS heartbeats every 100 ms (dead after 3 missed)',
);
console.log(
  dim(
    'Real coordination code (membership, MetalLB election order, serviceIp machines, epochs) on a simulated clock, NATS, KV and L2 segment.',
  ),
);
const viz = withViz ? await serveSimViz(sim, NODES, vizHost, Number(vizPort)) : undefined;
if (viz) console.log(`${bold('Visualizer')}: ${cyan(viz.url)} (the machines of this run, live; --no-viz for the console alone)`);
await sim.start(2000);
viz?.pump();
shownFailovers = sim.failovers.length;
printTable('cluster settled: each IP on the node MetalLB would pick (sha256(node#ip) order)');
await pause(900);

const first = ownerOfMost();
await scene(`SIGKILL ${first} (the speaker owning the most IPs)`, () => sim.kill(first), 1500);
const second = ownerOfMost();
await scene(`SIGKILL ${second} as well`, () => sim.kill(second), 1500);
const isolated = ownerOfMost();
await scene(
  `cut ${isolated} off from NATS (still on the L2 segment): others take over, it yields on the ARP conflict`,
  () => sim.setLink(isolated, false),
  2000,
);
await scene(`${isolated} reconnects to NATS`, () => sim.setLink(isolated, true), 3000);
await scene(
  `restart ${first} and ${second}: they win their IPs back (same election as before)`,
  () => {
    sim.restart(first);
    sim.restart(second);
  },
  3000,
);
await scene('the whole NATS cluster goes down: nothing moves', () => sim.setNats(false), 3000);
await scene('NATS is back', () => sim.setNats(true), 3000);

if (forever) {
  console.log(dim('\n--forever: seeded chaos until Ctrl-C'));
  for (;;) {
    const x = sim.random();
    const n = NODES[Math.floor(sim.random() * NODES.length)] as string;
    if (x < 0.35) await scene(`SIGKILL ${n}`, () => sim.kill(n), 1500);
    else if (x < 0.7) await scene(`restart ${n}`, () => sim.restart(n), 2500);
    else if (x < 0.85) await scene(`cut ${n} off from NATS`, () => sim.setLink(n, false), 2000);
    else await scene(`${n} back on NATS`, () => sim.setLink(n, true), 2500);
    if (sim.violations.length > 0) break;
  }
}

const moves: Failover[] = sim.failovers.filter((f) => f.cause.startsWith('kill'));
const times = moves.map((f) => f.afterMs).sort((a, b) => a - b);
console.log(
  `\n${bold('Summary')}: ${moves.length} IPs failed over after a SIGKILL` +
    (times.length
      ? `, failover (kill → new owner announcing, simulated) min ${times[0]} ms, median ${times[Math.floor(times.length / 2)]} ms, max ${times[times.length - 1]} ms`
      : ''),
);
if (sim.violations.length === 0) {
  console.log(
    green('Invariants held at every step') +
      ': at most one announcer per IP after the detection window, every IP with an eligible node announced, nothing moved without a cause.',
  );
} else {
  console.log(red(`${sim.violations.length} invariant violations:`));
  for (const v of sim.violations) console.log('  ' + v);
  process.exitCode = 1;
}
if (viz) console.log(`\n${bold('Visualizer')} still serving at ${cyan(viz.url)}: scrub through the run; Ctrl-C to exit.`);
