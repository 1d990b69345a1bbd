// `npm run bench:failover`: L2 failover over NATS in namespaces (test/integration/coord lab):
// a 3-server nats-server cluster, three coordination processes with the pcap announcer, a
// client capturing ARP with tcpdump.
//   - SIGKILL trials: kill the speaker owning a VIP, measure kill → first gratuitous ARP from the
//     new owner seen by the client (tcpdump timestamps vs. the kill time, same host clock);
//   - NATS trials: SIGKILL one NATS server, count ownership changes within 3 s;
//   - stall trials: SIGSTOP one NATS server for STALL_MS (default 1 s, over three detection
//     windows: no disconnect, its clients' heartbeats only get out through their mirror
//     connections), SIGCONT, count ownership changes until 3 s later.
// Prints a table, then one JSON line. Never asserts a time.
//   TRIALS=30 NATS_TRIALS=10 STALL_TRIALS=6 STALL_MS=1000 INTERVAL=100 MISSES=3
import type { ChildProcess } from 'node:child_process';
import { requireRoot, requireTools } from '../test/lib/prereq.js';
import { waitFor } from '../test/lib/netns.js';
import { CoordLab, type CoordNode } from '../test/integration/coord/coord-lab.js';

const TRIALS = Number(process.env.TRIALS ?? 30);
const NATS_TRIALS = Number(process.env.NATS_TRIALS ?? 10);
const STALL_TRIALS = Number(process.env.STALL_TRIALS ?? 6);
const STALL_MS = Number(process.env.STALL_MS ?? 1000);
const INTERVAL = Number(process.env.INTERVAL ?? 100);
const MISSES = Number(process.env.MISSES ?? 3);
const VIPS = ['203.0.113.65', '203.0.113.66', '203.0.113.67', '203.0.113.68', '203.0.113.69', '203.0.113.70'];

requireRoot();
requireTools('ip', 'nats-server', 'tcpdump', 'arping');
const lab = new CoordLab({ vips: VIPS, announcer: 'pcap', intervalMs: INTERVAL, misses: MISSES });

interface Frame { ts: number; mac: string; ip: string }
const frames: Frame[] = [];
let tcpdump: ChildProcess | undefined;

function startCapture(): void {
  // -tt: epoch seconds with µs; -e: link-level header (source MAC); ARP only.
  tcpdump = lab.client.spawn('tcpdump', ['-i', 'eth0', '-l', '-n', '-e', '-tt', 'arp']);
  tcpdump.stderr?.on('data', (d: Buffer) => { if (process.env.DEBUG) console.error(`tcpdump: ${d.toString().trim()}`); });
  let buf = '';
  tcpdump.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (process.env.DEBUG) console.error(`tcpdump: ${line}`);
      // Gratuitous ARP: a request or reply whose sender protocol address is the VIP.
      const m = /^(\d+\.\d+) ([0-9a-f:]{17}) > .*?(?:Request who-has ([^\s,]+)(?: \([^)]*\))? tell ([^\s,]+)|Reply ([^\s,]+) is-at)/.exec(line);
      if (!m) continue;
      const sender = m[4] ?? m[5];
      const target = m[3];
      if (!sender || (m[4] && target !== sender)) continue;
      frames.push({ ts: Number(m[1]) * 1000, mac: m[2] as string, ip: sender });
    }
  });
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

async function allUp(): Promise<void> {
  for (const n of lab.nodes) if (!n.alive()) lab.startNode(n.index);
  await waitFor('every VIP announced once', () => lab.settled() && lab.nodes.every((n) => n.alive() && n.events.some((e) => e.event === 'ready')), 90000, 100);
  // Let restarted nodes take their IPs back and the cluster go quiet.
  let last = '';
  await waitFor('ownership stable for 1.5 s', async () => {
    const now = JSON.stringify([...lab.ownership()]);
    const same = now === last && lab.settled();
    last = now;
    if (!same) await new Promise((r) => setTimeout(r, 1500));
    return same;
  }, 60000, 0);
}

const failovers: number[] = [];
const rows: string[] = [];
let natsChanges = 0;
let stallChanges = 0;
const natsRows: string[] = [];
const reconnectGaps: number[] = [];
try {
  await lab.setup();
  startCapture();
  await allUp();
  for (let t = 0; t < TRIALS; t++) {
    const vip = VIPS[t % VIPS.length] as string;
    const owner = lab.ownership().get(vip)?.[0];
    const victim = lab.nodes.find((n) => n.name === owner) as CoordNode;
    const lost = VIPS.filter((ip) => lab.ownership().get(ip)?.[0] === victim.name);
    const killAt = Date.now();
    lab.killNode(victim.index);
    await waitFor('victim exited', () => !victim.alive(), 10000, 5);
    await waitFor('takeover', () => lost.every((ip) => { const o = lab.ownership().get(ip) ?? []; return o.length === 1 && o[0] !== victim.name; }), 30000, 10);
    const newOwner = lab.ownership().get(vip)?.[0] as string;
    const mac = lab.nodes.find((n) => n.name === newOwner)?.mac;
    const g = await waitFor('GARP seen by the client', () => frames.find((f) => f.ip === vip && f.mac === mac && f.ts >= killAt), 10000, 10);
    const ms = Math.round((g.ts - killAt) * 10) / 10;
    failovers.push(ms);
    rows.push(`  ${String(t + 1).padStart(2)}  ${vip.padEnd(13)} ${victim.name} → ${newOwner}  ${ms.toFixed(1).padStart(7)} ms`);
    console.error(rows[rows.length - 1]);
    await allUp();
  }
  for (let t = 0; t < NATS_TRIALS; t++) {
    const before = lab.nodes.map((n) => n.events.filter((e) => e.event === 'transition').length);
    const s = t % 3;
    const killAt = Date.now();
    lab.killNats(s);
    await new Promise((r) => setTimeout(r, 3000));
    const changes = lab.nodes.reduce((acc, n, i) => acc + n.events.filter((e) => e.event === 'transition').slice(before[i]).filter((e) => e.to === 'announcing' || e.from === 'announcing').length, 0);
    natsChanges += changes;
    // How long the clients of the killed server were without NATS (disconnect → reconnect).
    const gaps = lab.nodes.map((n) => {
      const evs = n.events.filter((e) => e.t >= killAt && e.connection === undefined); // primary connection
      const d = evs.find((e) => e.event === 'disconnected');
      const r = d && evs.find((e) => e.event === 'reconnected' && e.t >= d.t);
      return d && r ? r.t - d.t : undefined;
    }).filter((g): g is number => g !== undefined);
    reconnectGaps.push(...gaps);
    natsRows.push(`  NATS trial ${String(t + 1).padStart(2)}: SIGKILL s${s + 1}, ownership changes ${changes}, client reconnect gap ${gaps.map((g) => `${g} ms`).join(', ') || 'n/a'}`);
    console.error(natsRows[natsRows.length - 1]);
    lab.startNats(s);
    await new Promise((r) => setTimeout(r, 2000));
  }
  await allUp();
  for (let t = 0; t < STALL_TRIALS; t++) {
    const before = lab.nodes.map((n) => n.events.filter((e) => e.event === 'transition').length);
    const s = t % 3;
    lab.stallNats(s, true);
    await new Promise((r) => setTimeout(r, STALL_MS));
    lab.stallNats(s, false);
    await new Promise((r) => setTimeout(r, 3000));
    const changes = lab.nodes.reduce((acc, n, i) => acc + n.events.filter((e) => e.event === 'transition').slice(before[i]).filter((e) => e.to === 'announcing' || e.from === 'announcing').length, 0);
    stallChanges += changes;
    natsRows.push(`  stall trial ${String(t + 1).padStart(2)}: SIGSTOP s${s + 1} for ${STALL_MS} ms, ownership changes ${changes}`);
    console.error(natsRows[natsRows.length - 1]);
  }
} finally {
  tcpdump?.kill('SIGTERM');
  await lab.cleanup();
}

console.log('\nL2 failover over NATS (SIGKILL of the owner speaker → first GARP from the new owner at the client)');
console.log(`  heartbeat ${INTERVAL} ms × ${MISSES} misses, 3 speakers, 3 NATS servers (JetStream R3 KV), ${VIPS.length} VIPs`);
console.log('  trial VIP           move        failover');
for (const r of rows) console.log(r);
console.log(`  p50 ${pct(failovers, 50)} ms   p99 ${pct(failovers, 99)} ms   max ${Math.max(...failovers)} ms   (${failovers.length} trials)`);
for (const r of natsRows) console.log(r);
console.log(`  NATS server SIGKILL trials: ${NATS_TRIALS}, ownership changes: ${natsChanges}, max client reconnect gap ${reconnectGaps.length ? Math.max(...reconnectGaps) : 'n/a'} ms`);
console.log(`  NATS server SIGSTOP trials: ${STALL_TRIALS} × ${STALL_MS} ms, ownership changes: ${stallChanges}`);
console.log(JSON.stringify({
  trials: failovers.length,
  failoverP50Ms: pct(failovers, 50),
  failoverP99Ms: pct(failovers, 99),
  natsKillTrials: NATS_TRIALS,
  natsKillOwnershipChanges: natsChanges,
  natsReconnectGapMaxMs: reconnectGaps.length ? Math.max(...reconnectGaps) : null,
  natsStallTrials: STALL_TRIALS,
  natsStallMs: STALL_MS,
  natsStallOwnershipChanges: stallChanges,
  // By construction: one heartbeat per node per interval (claims excluded; they go on change),
  // published on the primary and the mirror connection.
  heartbeatMsgsPerSecPerNode: 2 * 1000 / INTERVAL,
}));
