// BFD lab helpers shared by test/integration/bfd and bench/bfd.bench.ts: FRR bfdd started as a
// plain process in a namespace (own vty socket dir, control socket and pid file, so parallel
// labs never meet), and our bfd-probe process with its JSON-lines output parsed.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sh, type Lab, type Netns } from './netns.js';
import { frrDaemon, requireTools } from './prereq.js';

const REPO = resolve(import.meta.dirname, '..', '..');

/**
 * BFD at 100 ms × 3 (300 ms detection) on a shared 2-core CI host under heavy load can miss a
 * deadline because the process is not scheduled, not because of BFD. Both BFD ends run at a
 * higher priority (they use a few % of a core); `nice` execs, so the PID stays the process's.
 */
export const NICE = ['-n', '-10'];

/**
 * `nice` alone does not reach across sessions: with autogroup scheduling
 * (/proc/sys/kernel/sched_autogroup_enabled = 1, as on the CI host) CPU is first shared between
 * sessions, and other workers' sessions weigh as much as ours whatever our nice value (measured:
 * event-loop stalls of 250–600 ms in a nice -10 probe with two sessions at load 10+). So a BFD
 * end is started in its own session (`detached`, setsid without a fork: the PID is unchanged)
 * and that session's autogroup gets nice -10 too. Spawn options and the follow-up call:
 */
export const OWN_SESSION = { detached: true } as const;
export function prioritize(p: ChildProcess): void {
  if (p.pid === undefined) return;
  try {
    writeFileSync(`/proc/${p.pid}/autogroup`, NICE[1]!);
  } catch {
    /* no autogroup support: nice still applies */
  }
}

export interface FrrPeer {
  readonly peer: string;
  /** `local-address`: needed when several sessions share one peer address. */
  readonly local?: string;
  /** A multi-hop session (RFC 5883, UDP 4784); FRR needs `local` for it. */
  readonly multihop?: boolean;
  readonly receiveMs?: number;
  readonly transmitMs?: number;
  readonly multiplier?: number;
  readonly passive?: boolean;
  readonly shutdown?: boolean;
}

export interface FrrPeerStatus {
  peer: string;
  status: string;
  diagnostic: string;
  'remote-diagnostic': string;
  id: number;
  'remote-id': number;
  uptime?: number;
  'transmit-interval': number;
  'remote-transmit-interval': number;
  'remote-receive-interval': number;
}

export class Bfdd {
  private constructor(
    readonly dir: string,
    readonly proc: ChildProcess,
  ) {}

  /**
   * Starts bfdd in `ns` with one `peer` block per entry (plus `extraConf` inside the `bfd` block,
   * e.g. profiles). Registered with the lab for cleanup.
   */
  static start(lab: Lab, ns: Netns, peers: readonly FrrPeer[], opts: { zserv?: string; extraConf?: string } = {}): Bfdd {
    requireTools('vtysh');
    const bin = frrDaemon('bfdd');
    // bfdd drops to the frr user: its directory must be writable by it.
    const dir = mkdtempSync(join(tmpdir(), `${lab.id}-frr-`));
    chmodSync(dir, 0o777);
    lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const conf = [
      'bfd',
      ...peers.flatMap((p) => [
        ` peer ${p.peer}${p.multihop ? ' multihop' : ''}${p.local ? ` local-address ${p.local}` : ''}`,
        `  receive-interval ${p.receiveMs ?? 100}`,
        `  transmit-interval ${p.transmitMs ?? 100}`,
        `  detect-multiplier ${p.multiplier ?? 3}`,
        ...(p.passive ? ['  passive-mode'] : []),
        p.shutdown ? '  shutdown' : '  no shutdown',
        ' !',
      ]),
      ...(opts.extraConf ? [opts.extraConf] : []),
      '!',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'bfdd.conf'), conf, { mode: 0o644 });
    const proc = ns.spawn(
      'nice',
      [
        ...NICE,
        bin,
        '-f',
        join(dir, 'bfdd.conf'),
        '--vty_socket',
        dir,
        '-i',
        join(dir, 'bfdd.pid'),
        '--bfdctl',
        join(dir, 'bfdd.sock'),
        '--log',
        'stdout',
        // With zebra's socket, bgpd can register its neighbors' BFD sessions (`neighbor X bfd`).
        ...(opts.zserv ? ['-z', opts.zserv] : []),
      ],
      OWN_SESSION,
    );
    prioritize(proc);
    proc.stdout?.resume();
    proc.stderr?.resume();
    return new Bfdd(dir, proc);
  }

  vtysh(...cmds: string[]): string {
    return sh('vtysh', ['--vty_socket', this.dir, ...cmds.flatMap((c) => ['-c', c])]);
  }

  /** `show bfd peers json`, or undefined while the vty is not up yet. */
  peers(): FrrPeerStatus[] | undefined {
    try {
      return JSON.parse(this.vtysh('show bfd peers json')) as FrrPeerStatus[];
    } catch {
      return undefined;
    }
  }

  peer(addr: string): FrrPeerStatus | undefined {
    return this.peers()?.find((p) => p.peer === addr);
  }

  /** Stops this bfdd (by PID) and waits for it to exit. */
  async stop(): Promise<void> {
    await stopProc(this.proc);
  }
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

/** CLOCK_MONOTONIC in ms, comparable with bfd-probe's `mono` field. */
export const mono = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface ProbeEvent {
  event: string;
  peer?: string;
  from?: string;
  to?: string;
  diag?: number;
  reason?: string | null;
  at?: number;
  mono?: number;
  [k: string]: unknown;
}

export interface ProbeSession {
  peer: string;
  local?: string;
  profile?: { receiveIntervalMs?: number; transmitIntervalMs?: number; detectMultiplier?: number; passiveMode?: boolean };
  adminDown?: boolean;
}

/** Our src/bin/bfd-probe.ts running in `ns`; every stdout line parsed into `events`. */
export class Probe {
  readonly events: ProbeEvent[] = [];
  private constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as ProbeEvent);
      } catch {
        this.events.push({ event: 'raw', line });
      }
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.events.push({ event: 'stderr', line: d.toString() });
    });
  }

  /** `env`: extra environment for the probe (e.g. `BFD_IO`). */
  static start(
    lab: Lab,
    ns: Netns,
    cfg: { listen: string[]; port?: number; minTtl?: number; sessions: ProbeSession[] },
    env: Record<string, string> = {},
  ): Probe {
    const dir = mkdtempSync(join(tmpdir(), `${lab.id}-probe-`));
    lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'probe.json');
    writeFileSync(file, JSON.stringify(cfg));
    // BFD_PROBE_NODE_ARGS: extra node flags for the probe (e.g. --cpu-prof when profiling).
    const extra = (process.env.BFD_PROBE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const proc = ns.spawn('nice', [...NICE, process.execPath, ...extra, '--import', 'tsx', join(REPO, 'src/bin/bfd-probe.ts'), file], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...OWN_SESSION,
      env: { ...process.env, ...env },
    });
    prioritize(proc);
    return new Probe(proc);
  }

  /** Asks for process CPU and per-session counters; resolves with the answer. */
  async stats(): Promise<ProbeEvent> {
    const n = this.events.length;
    this.command({ cmd: 'stats' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const e = this.events.slice(n).find((x) => x.event === 'stats');
      if (e) return e;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('bfd-probe did not answer stats');
  }

  async stop(): Promise<void> {
    await stopProc(this.proc);
  }

  command(cmd: Record<string, unknown>): void {
    this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The last state event for `peer` (its current state as reported). */
  state(peer: string): ProbeEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.event === 'state' && e.peer === peer) return e;
    }
    return undefined;
  }

  stateEvents(peer: string): ProbeEvent[] {
    return this.events.filter((e) => e.event === 'state' && e.peer === peer);
  }

  /** Diagnostic text for assertion messages. */
  tail(n = 10): string {
    return this.events
      .slice(-n)
      .map((e) => JSON.stringify(e))
      .join('\n');
  }
}
