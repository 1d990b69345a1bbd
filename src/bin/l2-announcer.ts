// `l2-announcer`: runs the Layer 2 announcer as a process for a list of IPs, for integration
// tests, benchmarks and the coordination helper. Logs JSON lines on stdout; takes JSON-line
// commands on stdin:
//   {"cmd":"announce","ip":"203.0.113.50","ifaces":["eth0"]}   ifaces optional
//   {"cmd":"announceMany","ips":[...]}     logs {"event":"l2.burst","count":n,"ms":t}
//   {"cmd":"withdraw","ip":"..."}  {"cmd":"probe","ip":"..."}  {"cmd":"stats","ip":"..."}
// Usage: l2-announcer [--config file.json] [--iface IF]... [--ip IP]... [--refresh-ms N]
//        [--burst-rounds N] [--burst-spacing-ms N] [--no-probe] [--carrier-poll-ms N]
//        [--stats-ms N] [--exclude REGEX]...
// SIGTERM/SIGINT: withdraw everything (leaving multicast groups), log final counters, exit 0.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { L2Announcer, type L2AnnouncerOptions } from '../actors/l2-announcer.js';
import { createLinuxL2Host } from '../adapters/pcap-link.js';

interface Config {
  interfaces?: string[];
  ips?: string[];
  exclude?: string[];
  refreshMs?: number;
  burstRounds?: number;
  burstSpacingMs?: number;
  probeOnRefresh?: boolean;
  carrierPollMs?: number;
  statsMs?: number;
}

function log(ev: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), component: 'l2-announcer', ...ev })}\n`);
}

function parseArgs(argv: string[]): Config {
  const c: Config = {};
  const num = (v: string | undefined, flag: string): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag}: expected a non-negative number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--config':
        Object.assign(c, JSON.parse(readFileSync(String(v), 'utf8')) as Config);
        i++;
        break;
      case '--iface':
        (c.interfaces ??= []).push(String(v));
        i++;
        break;
      case '--ip':
        (c.ips ??= []).push(String(v));
        i++;
        break;
      case '--exclude':
        (c.exclude ??= []).push(String(v));
        i++;
        break;
      case '--refresh-ms':
        c.refreshMs = num(v, a);
        i++;
        break;
      case '--burst-rounds':
        c.burstRounds = num(v, a);
        i++;
        break;
      case '--burst-spacing-ms':
        c.burstSpacingMs = num(v, a);
        i++;
        break;
      case '--carrier-poll-ms':
        c.carrierPollMs = num(v, a);
        i++;
        break;
      case '--stats-ms':
        c.statsMs = num(v, a);
        i++;
        break;
      case '--no-probe':
        c.probeOnRefresh = false;
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return c;
}

function totals(a: L2Announcer, only?: string): Record<string, unknown> {
  const s = a.stats();
  let req = 0,
    resp = 0,
    grat = 0;
  for (const c of s.byIp.values()) {
    req += c.requestsReceived;
    resp += c.responsesSent;
    grat += c.gratuitousSent;
  }
  const out: Record<string, unknown> = {
    event: 'l2.stats',
    announced: a.announced().length,
    malformed: s.malformed,
    conflicts: s.conflicts,
    metallb_layer2_requests_received: req,
    metallb_layer2_responses_sent: resp,
    metallb_layer2_gratuitous_sent: grat,
  };
  if (only !== undefined) out.byIp = { [only]: s.byIp.get(only) ?? null };
  return out;
}

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2));
  let quiet = false;
  const host = await createLinuxL2Host(log);
  const opts: L2AnnouncerOptions = {
    ...(cfg.interfaces ? { interfaces: cfg.interfaces } : {}),
    ...(cfg.exclude ? { exclude: cfg.exclude } : {}),
    ...(cfg.refreshMs !== undefined ? { refreshMs: cfg.refreshMs } : {}),
    ...(cfg.burstRounds !== undefined ? { burstRounds: cfg.burstRounds } : {}),
    ...(cfg.burstSpacingMs !== undefined ? { burstSpacingMs: cfg.burstSpacingMs } : {}),
    ...(cfg.probeOnRefresh !== undefined ? { probeOnRefresh: cfg.probeOnRefresh } : {}),
    ...(cfg.carrierPollMs !== undefined ? { carrierPollMs: cfg.carrierPollMs } : {}),
    log: (ev) => {
      if (!(quiet && ev.event === 'l2.announce')) log(ev);
    },
  };
  const a = new L2Announcer(host, opts);
  a.onConflict(() => {
    /* logged by the announcer's log hook */
  });
  a.onCarrier(() => {
    /* logged by the announcer's log hook */
  });
  const many = (ips: readonly string[]): void => {
    quiet = true;
    const t0 = performance.now();
    for (const ip of ips) a.announce(ip);
    const ms = performance.now() - t0;
    quiet = false;
    log({ event: 'l2.burst', count: ips.length, ms: Math.round(ms * 1000) / 1000, announced: a.announced().length });
  };
  if (cfg.ips && cfg.ips.length > 50) many(cfg.ips);
  else for (const ip of cfg.ips ?? []) a.announce(ip);
  log({ event: 'l2.ready', ifaces: a.eligibleInterfaces(), announced: a.announced().length, pid: process.pid });

  let statsTimer: ReturnType<typeof setInterval> | undefined;
  if (cfg.statsMs) statsTimer = setInterval(() => log(totals(a)), cfg.statsMs);

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let cmd: { cmd?: string; ip?: string; ips?: string[]; ifaces?: string[] };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      log({ event: 'l2.badCommand', line });
      return;
    }
    switch (cmd.cmd) {
      case 'announce':
        if (cmd.ip) a.announce(cmd.ip, cmd.ifaces);
        break;
      case 'announceMany':
        many(cmd.ips ?? []);
        break;
      case 'withdraw':
        if (cmd.ip) a.withdraw(cmd.ip);
        break;
      case 'probe':
        if (cmd.ip) a.probe(cmd.ip, cmd.ifaces);
        break;
      case 'stats':
        log(totals(a, cmd.ip));
        break;
      default:
        log({ event: 'l2.badCommand', line });
    }
  });

  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    if (statsTimer) clearInterval(statsTimer);
    rl.close();
    log({ event: 'l2.stopping', signal: sig });
    void a.close().then(() => {
      log(totals(a));
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log({ event: 'l2.fatal', err: String(e) });
  process.exit(1);
});
