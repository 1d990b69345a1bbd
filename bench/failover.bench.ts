// `npm run bench:failover`: L2 failover over NATS in namespaces (test/integration/coord lab):
// a 3-server nats-server cluster, three coordination processes with the pcap announcer, a
// client capturing ARP with tcpdump.
//   - SIGKILL trials: kill the speaker owning a VIP, measure kill → first gratuitous ARP from the
//     new owner seen by the client (tcpdump timestamps vs. the kill time, same host clock);
//   - restart (failback) trials, after each SIGKILL trial's takeover: the client probes the
//     killed node's VIPs by ARP every PROBE_MS (bench/arp-probe.ts), the killed node is started
//     again and wins its VIPs back; per restart, the longest time with no answer (from the first
//     unanswered probe to the next answered one, 0 if every probe was answered) over its VIPs,
//     and the probes answered by two different MACs (dual answers);
//     With the death fast path (NATS disconnect advisories, src/domain/presence.ts) this is
//     advisory → confirmation (interval/5) → takeover, not the heartbeat window;
//   - link-cut trials: the owner's port leaves the switch's bridge (no reset, no carrier loss, no
//     advisory: heartbeats only), measure cut → first gratuitous ARP from the new owner; then the
//     link is restored and the cluster settles again;
//   - NATS trials: SIGKILL one NATS server, count ownership changes within 3 s;
//   - stall trials: SIGSTOP one NATS server for STALL_MS (default 1 s, over three detection
//     windows: no disconnect, its clients' heartbeats only get out through their mirror
//     connections), SIGCONT, count ownership changes until 3 s later.
// Each SIGKILL trial is broken down from the new owner's log lines (wall clock, one host): kill →
// the server closes the victim's last connection (the advisory's own timestamp) → the new owner
// hears it (`peer.connectionsGone`) → verdict (`peer.dead`, after the confirmation) → announced
// (`announce`, after the first gratuitous ARP was injected) → that ARP seen at the client.
// Prints a table, then one JSON line. Never asserts a time.
//   TRIALS=30 LINK_TRIALS=30 NATS_TRIALS=10 STALL_TRIALS=6 STALL_MS=1000 INTERVAL=100 MISSES=3 PROBE_MS=10
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { requireRoot, requireTools } from '../test/lib/prereq.js';
import { waitFor } from '../test/lib/netns.js';
import { CoordLab, type CoordNode } from '../test/integration/coord/coord-lab.js';

const TRIALS = Number(process.env.TRIALS ?? 30);
const LINK_TRIALS = Number(process.env.LINK_TRIALS ?? 30);
const NATS_TRIALS = Number(process.env.NATS_TRIALS ?? 10);
const STALL_TRIALS = Number(process.env.STALL_TRIALS ?? 6);
const STALL_MS = Number(process.env.STALL_MS ?? 1000);
const INTERVAL = Number(process.env.INTERVAL ?? 100);
const MISSES = Number(process.env.MISSES ?? 3);
const PROBE_MS = Number(process.env.PROBE_MS ?? 10);
const VIPS = ['203.0.113.65', '203.0.113.66', '203.0.113.67', '203.0.113.68', '203.0.113.69', '203.0.113.70'];

requireRoot();
requireTools('ip', 'nats-server', 'tcpdump', 'arping');
const lab = new CoordLab({ vips: VIPS, announcer: 'pcap', intervalMs: INTERVAL, misses: MISSES });

interface Frame {
  ts: number;
  mac: string;
  ip: string;
}
const frames: Frame[] = [];
let tcpdump: ChildProcess | undefined;

function startCapture(): void {
  // -tt: epoch seconds with µs; -e: link-level header (source MAC); ARP only.
  tcpdump = lab.client.spawn('tcpdump', ['-i', 'eth0', '-l', '-n', '-e', '-tt', 'arp']);
  tcpdump.stderr?.on('data', (d: Buffer) => {
    if (process.env.DEBUG) console.error(`tcpdump: ${d.toString().trim()}`);
  });
  let buf = '';
  tcpdump.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (process.env.DEBUG) console.error(`tcpdump: ${line}`);
      // Gratuitous ARP: a request or reply whose sender protocol address is the VIP.
      const m = /^(\d+\.\d+) ([0-9a-f:]{17}) > .*?(?:Request who-has ([^\s,]+)(?: \([^)]*\))? tell ([^\s,]+)|Reply ([^\s,]+) is-at)/.exec(
        line,
      );
      if (!m) continue;
      const sender = m[4] ?? m[5];
      const target = m[3];
      if (!sender || (m[4] && target !== sender)) continue;
      frames.push({ ts: Number(m[1]) * 1000, mac: m[2] as string, ip: sender });
    }
  });
}

interface Probe {
  ip: string;
  t: number;
  macs: string[];
}
let prober: ChildProcess | undefined;
let proberLines: Array<Probe | { done: true } | { listening: true } | { answering: string }> = [];

function startProber(): void {
  prober = lab.client.spawn(process.execPath, ['--import', 'tsx', 'bench/arp-probe.ts', 'eth0', String(PROBE_MS)], {
    cwd: new URL('../', import.meta.url).pathname,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  prober.stderr?.on('data', (d: Buffer) => {
    if (process.env.DEBUG) console.error(`arp-probe: ${d.toString().trim()}`);
  });
  createInterface({ input: prober.stdout! }).on('line', (l) => {
    try {
      proberLines.push(JSON.parse(l));
    } catch {
      /* not JSON */
    }
  });
}

/** Probes `ips` until `during` resolves; returns every probe sent. */
async function probing(ips: string[], during: () => Promise<void>): Promise<Probe[]> {
  proberLines = [];
  prober?.stdin?.write(`start ${ips.join(',')}\n`);
  try {
    await during();
  } finally {
    prober?.stdin?.write('stop\n');
  }
  await waitFor('probe results', () => proberLines.some((l) => 'done' in l), 10000, 10);
  return proberLines.filter((l): l is Probe => 'ip' in l);
}

/**
 * Longest time without an answer for one IP: from the send time of the first unanswered probe
 * of a run to the send time of the next answered one (the run's length at the probe period's
 * resolution); 0 when every probe was answered. A run still open at the end counts to the end.
 */
function longestGap(probes: readonly Probe[]): number {
  let worst = 0;
  let since: number | undefined;
  for (const p of probes) {
    if (p.macs.length === 0) {
      since ??= p.t;
      continue;
    }
    if (since !== undefined) worst = Math.max(worst, p.t - since);
    since = undefined;
  }
  const last = probes.at(-1);
  if (since !== undefined && last) worst = Math.max(worst, last.t - since + PROBE_MS);
  return worst;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

async function allUp(): Promise<void> {
  for (const n of lab.nodes) if (!n.alive()) lab.startNode(n.index);
  await waitFor(
    'every VIP announced once',
    () => lab.settled() && lab.nodes.every((n) => n.alive() && n.events.some((e) => e.event === 'ready')),
    90000,
    100,
  );
  // Let restarted nodes take their IPs back and the cluster go quiet.
  let last = '';
  await waitFor(
    'ownership stable for 1.5 s',
    async () => {
      const now = JSON.stringify([...lab.ownership()]);
      const same = now === last && lab.settled();
      last = now;
      if (!same) await new Promise((r) => setTimeout(r, 1500));
      return same;
    },
    60000,
    0,
  );
}

const failovers: number[] = [];
/** Per-stage durations of the SIGKILL trials (ms), in path order; a stage missing from the logs is skipped. */
const STAGES = ['killToServerClose', 'serverCloseToHeard', 'heardToDead', 'deadToAnnounced', 'announcedToSeen'] as const;
type Stage = (typeof STAGES)[number];
const stages = new Map<Stage, number[]>(STAGES.map((k) => [k, []]));
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** The new owner's timeline of one SIGKILL trial (absent marks are undefined). */
function breakdown(owner: CoordNode, victim: string, vip: string, killAt: number, seenAt: number): Partial<Record<Stage, number>> {
  const ev = owner.events.filter((e) => e.t >= killAt);
  const gone = ev.find((e) => e.event === 'peer.connectionsGone' && e.peer === victim);
  const dead = ev.find((e) => e.event === 'peer.dead' && e.peer === victim);
  const ann = ev.find((e) => e.event === 'announce' && e.ip === vip);
  const srv = typeof gone?.serverAt === 'number' ? gone.serverAt : undefined;
  const marks: Array<number | undefined> = [killAt, srv, gone?.t, dead?.t, ann?.t, seenAt];
  const out: Partial<Record<Stage, number>> = {};
  STAGES.forEach((k, i) => {
    const a = marks[i];
    const b = marks[i + 1];
    if (a !== undefined && b !== undefined) out[k] = r1(b - a);
  });
  // Without the server's timestamp, kill → heard is one stage.
  if (srv === undefined && gone) out.killToServerClose = r1(gone.t - killAt);
  return out;
}
const failbackGaps: number[] = [];
let failbackDual = 0;
let failbackProbes = 0;
const failbackRows: string[] = [];
const rows: string[] = [];
const linkCuts: number[] = [];
const linkRows: string[] = [];
const deathCauses = { connections: 0, heartbeat: 0 };
let natsChanges = 0;
let stallChanges = 0;
const natsRows: string[] = [];
const reconnectGaps: number[] = [];
try {
  await lab.setup();
  startCapture();
  startProber();
  await waitFor('ARP prober listening', () => proberLines.some((l) => 'listening' in l), 30000, 10);
  await allUp();
  for (let t = 0; t < TRIALS; t++) {
    const vip = VIPS[t % VIPS.length] as string;
    const owner = lab.ownership().get(vip)?.[0];
    const victim = lab.nodes.find((n) => n.name === owner) as CoordNode;
    const lost = VIPS.filter((ip) => lab.ownership().get(ip)?.[0] === victim.name);
    const killAt = Date.now();
    lab.killNode(victim.index);
    await waitFor('victim exited', () => !victim.alive(), 10000, 5);
    await waitFor(
      'takeover',
      () =>
        lost.every((ip) => {
          const o = lab.ownership().get(ip) ?? [];
          return o.length === 1 && o[0] !== victim.name;
        }),
      30000,
      10,
    );
    const newOwner = lab.ownership().get(vip)?.[0] as string;
    for (const n of lab.nodes)
      for (const e of n.events)
        if (e.event === 'peer.dead' && e.peer === victim.name && e.t >= killAt && (e.cause === 'connections' || e.cause === 'heartbeat'))
          deathCauses[e.cause]++;
    const mac = lab.nodes.find((n) => n.name === newOwner)?.mac;
    const g = await waitFor(
      'GARP seen by the client',
      () => frames.find((f) => f.ip === vip && f.mac === mac && f.ts >= killAt),
      10000,
      10,
    );
    const ms = Math.round((g.ts - killAt) * 10) / 10;
    failovers.push(ms);
    const ownerNode = lab.nodes.find((n) => n.name === newOwner) as CoordNode;
    const b = breakdown(ownerNode, victim.name, vip, killAt, g.ts);
    for (const k of STAGES) if (b[k] !== undefined) stages.get(k)?.push(b[k]);
    rows.push(
      `  ${String(t + 1).padStart(2)}  ${vip.padEnd(13)} ${victim.name} → ${newOwner}  ${ms.toFixed(1).padStart(7)} ms   ${STAGES.map((k) => (b[k] === undefined ? '-' : b[k].toFixed(1)).padStart(6)).join(' ')}`,
    );
    console.error(rows[rows.length - 1]);
    // Failback: probe the victim's VIPs from the client while it comes back and wins them back.
    let restartAt = 0;
    const probes = await probing(lost, async () => {
      await waitFor(
        'every VIP answered before the restart',
        () => lost.every((ip) => proberLines.some((l) => 'answering' in l && l.answering === ip)),
        10000,
        10,
      );
      restartAt = Date.now();
      lab.startNode(victim.index);
      await waitFor(
        'VIPs back on the restarted node',
        () =>
          lost.every((ip) => {
            const o = lab.ownership().get(ip) ?? [];
            return o.length === 1 && o[0] === victim.name;
          }),
        30000,
        10,
      );
      await new Promise((r) => setTimeout(r, 300));
    });
    const gap = Math.max(0, ...lost.map((ip) => longestGap(probes.filter((p) => p.ip === ip && p.t >= restartAt - 10 * PROBE_MS))));
    // FAILBACK_LOG=dir: every node's events and the probes of this restart, for diagnosis.
    if (process.env.FAILBACK_LOG) {
      writeFileSync(
        join(process.env.FAILBACK_LOG, `failback-${t + 1}.json`),
        JSON.stringify(
          {
            restartAt,
            victim: victim.name,
            lost,
            events: lab.nodes.flatMap((n) => n.events.filter((e) => e.t >= restartAt - 1000)).sort((a, b) => a.t - b.t),
            probes: probes.filter((p) => p.t >= restartAt - 10 * PROBE_MS).map((p) => [p.ip, p.t, p.macs.join('+')]),
          },
          null,
          1,
        ),
      );
    }
    const dual = probes.filter((p) => p.macs.length > 1).length;
    failbackGaps.push(gap);
    failbackDual += dual;
    failbackProbes += probes.length;
    failbackRows.push(
      `  ${String(t + 1).padStart(2)}  ${newOwner} → ${victim.name} (${lost.length} VIPs)  gap ${String(gap).padStart(4)} ms  dual answers ${dual}  (${probes.length} probes)`,
    );
    console.error(failbackRows[failbackRows.length - 1]);
    await allUp();
  }
  for (let t = 0; t < LINK_TRIALS; t++) {
    const vip = VIPS[t % VIPS.length] as string;
    const victim = lab.nodes.find((n) => n.name === lab.ownership().get(vip)?.[0]) as CoordNode;
    const lost = VIPS.filter((ip) => lab.ownership().get(ip)?.[0] === victim.name);
    const cutAt = Date.now();
    lab.cutLink(victim.index, true);
    try {
      // The isolated node keeps announcing what it owns (NATS outage rule); a survivor takes over.
      await waitFor(
        'takeover by a survivor',
        () => lost.every((ip) => (lab.ownership().get(ip) ?? []).some((o) => o !== victim.name)),
        30000,
        10,
      );
      const newOwner = (lab.ownership().get(vip) ?? []).find((o) => o !== victim.name) as string;
      const mac = lab.nodes.find((n) => n.name === newOwner)?.mac;
      const g = await waitFor(
        'GARP seen by the client',
        () => frames.find((f) => f.ip === vip && f.mac === mac && f.ts >= cutAt),
        10000,
        10,
      );
      const ms = Math.round((g.ts - cutAt) * 10) / 10;
      linkCuts.push(ms);
      linkRows.push(`  ${String(t + 1).padStart(2)}  ${vip.padEnd(13)} ${victim.name} → ${newOwner}  ${ms.toFixed(1).padStart(7)} ms`);
      console.error(`link cut ${linkRows[linkRows.length - 1]}`);
    } finally {
      lab.cutLink(victim.index, false);
    }
    await allUp();
  }
  for (let t = 0; t < NATS_TRIALS; t++) {
    const before = lab.nodes.map((n) => n.events.filter((e) => e.event === 'transition').length);
    const s = t % 3;
    const killAt = Date.now();
    lab.killNats(s);
    await new Promise((r) => setTimeout(r, 3000));
    const changes = lab.nodes.reduce(
      (acc, n, i) =>
        acc +
        n.events
          .filter((e) => e.event === 'transition')
          .slice(before[i])
          .filter((e) => e.to === 'announcing' || e.from === 'announcing').length,
      0,
    );
    natsChanges += changes;
    // How long the clients of the killed server were without NATS (disconnect → reconnect).
    const gaps = lab.nodes
      .map((n) => {
        const evs = n.events.filter((e) => e.t >= killAt && e.connection === undefined); // primary connection
        const d = evs.find((e) => e.event === 'disconnected');
        const r = d && evs.find((e) => e.event === 'reconnected' && e.t >= d.t);
        return d && r ? r.t - d.t : undefined;
      })
      .filter((g): g is number => g !== undefined);
    reconnectGaps.push(...gaps);
    natsRows.push(
      `  NATS trial ${String(t + 1).padStart(2)}: SIGKILL s${s + 1}, ownership changes ${changes}, client reconnect gap ${gaps.map((g) => `${g} ms`).join(', ') || 'n/a'}`,
    );
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
    const changes = lab.nodes.reduce(
      (acc, n, i) =>
        acc +
        n.events
          .filter((e) => e.event === 'transition')
          .slice(before[i])
          .filter((e) => e.to === 'announcing' || e.from === 'announcing').length,
      0,
    );
    stallChanges += changes;
    natsRows.push(`  stall trial ${String(t + 1).padStart(2)}: SIGSTOP s${s + 1} for ${STALL_MS} ms, ownership changes ${changes}`);
    console.error(natsRows[natsRows.length - 1]);
  }
} finally {
  prober?.stdin?.write('quit\n');
  prober?.kill('SIGTERM');
  tcpdump?.kill('SIGTERM');
  await lab.cleanup();
}

console.log('\nL2 failover over NATS (SIGKILL of the owner speaker → first GARP from the new owner at the client)');
console.log(`  heartbeat ${INTERVAL} ms × ${MISSES} misses, 3 speakers, 3 NATS servers (JetStream R3 KV), ${VIPS.length} VIPs`);
console.log('  trial VIP           move        failover   stages (ms): kill→server close→heard→dead→announced→seen');
for (const r of rows) console.log(r);
console.log(
  `  p50 ${pct(failovers, 50)} ms   p99 ${pct(failovers, 99)} ms   max ${Math.max(...failovers)} ms   (${failovers.length} trials)`,
);
for (const k of STAGES) {
  const xs = stages.get(k) ?? [];
  console.log(
    `  ${k.padEnd(20)} p50 ${pct(xs, 50)} ms   p99 ${pct(xs, 99)} ms   max ${xs.length ? Math.max(...xs) : NaN} ms   (${xs.length})`,
  );
}
console.log(`Failback (the killed speaker restarts and wins its VIPs back; ARP probe every ${PROBE_MS} ms from the client)`);
for (const r of failbackRows) console.log(r);
console.log(
  `  longest gap without an ARP answer: p50 ${pct(failbackGaps, 50)} ms   p99 ${pct(failbackGaps, 99)} ms   max ${Math.max(...failbackGaps)} ms   dual answers ${failbackDual} of ${failbackProbes} probes   (${failbackGaps.length} restarts)`,
);
console.log(
  `  survivors' verdicts on the killed node: ${deathCauses.connections} by its connections closing, ${deathCauses.heartbeat} by missed heartbeats`,
);
console.log('Link cut (the owner’s switch port leaves the bridge: heartbeats only) → first GARP from the new owner at the client');
for (const r of linkRows) console.log(r);
console.log(
  `  p50 ${pct(linkCuts, 50)} ms   p99 ${pct(linkCuts, 99)} ms   max ${linkCuts.length ? Math.max(...linkCuts) : NaN} ms   (${linkCuts.length} trials)`,
);
for (const r of natsRows) console.log(r);
console.log(
  `  NATS server SIGKILL trials: ${NATS_TRIALS}, ownership changes: ${natsChanges}, max client reconnect gap ${reconnectGaps.length ? Math.max(...reconnectGaps) : 'n/a'} ms`,
);
console.log(`  NATS server SIGSTOP trials: ${STALL_TRIALS} × ${STALL_MS} ms, ownership changes: ${stallChanges}`);
console.log(
  JSON.stringify({
    trials: failovers.length,
    failoverP50Ms: pct(failovers, 50),
    failoverP99Ms: pct(failovers, 99),
    failoverStageP50Ms: Object.fromEntries(STAGES.map((k) => [k, pct(stages.get(k) ?? [], 50)])),
    failoverStageP99Ms: Object.fromEntries(STAGES.map((k) => [k, pct(stages.get(k) ?? [], 99)])),
    deathsByConnections: deathCauses.connections,
    deathsByHeartbeat: deathCauses.heartbeat,
    linkCutTrials: linkCuts.length,
    linkCutFailoverP50Ms: pct(linkCuts, 50),
    linkCutFailoverP99Ms: pct(linkCuts, 99),
    failbackTrials: failbackGaps.length,
    failbackProbeMs: PROBE_MS,
    failbackGapP50Ms: pct(failbackGaps, 50),
    failbackGapP99Ms: pct(failbackGaps, 99),
    failbackGapMaxMs: failbackGaps.length ? Math.max(...failbackGaps) : null,
    failbackDualAnswers: failbackDual,
    natsKillTrials: NATS_TRIALS,
    natsKillOwnershipChanges: natsChanges,
    natsReconnectGapMaxMs: reconnectGaps.length ? Math.max(...reconnectGaps) : null,
    natsStallTrials: STALL_TRIALS,
    natsStallMs: STALL_MS,
    natsStallOwnershipChanges: stallChanges,
    // By construction: one heartbeat per node per interval (claims excluded; they go on change),
    // published on the primary and the mirror connection.
    heartbeatMsgsPerSecPerNode: (2 * 1000) / INTERVAL,
  }),
);
