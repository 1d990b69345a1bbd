// BGP lab helpers shared by test/integration/bgp and bench/bgp.bench.ts: FRR (zebra + bgpd)
// started as plain processes in a router namespace (own vty socket dir, zserv socket and pid
// files, so parallel labs never meet), and our bgp-speaker process with its JSON-lines output.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sh, type Lab, type Netns } from './netns.js';
import { frrDaemon, requireTools } from './prereq.js';

export const REPO = resolve(import.meta.dirname, '..', '..');

export class Frr {
  private constructor(readonly dir: string, readonly procs: ChildProcess[], readonly log: string[]) {}

  /**
   * Starts zebra (kernel routes, classic multipath rather than nexthop objects) and bgpd with
   * `bgpConf` (the `router bgp` block and anything else bgpd accepts).
   */
  static start(lab: Lab, ns: Netns, bgpConf: string, opts: { zebra?: boolean } = {}): Frr {
    requireTools('vtysh');
    const bgpd = frrDaemon('bgpd');
    const dir = mkdtempSync(join(tmpdir(), `${lab.id}-frr-`));
    // The daemons drop to the frr user: their directory must be writable by it.
    chmodSync(dir, 0o777);
    lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const log: string[] = [];
    const procs: ChildProcess[] = [];
    const zserv = join(dir, 'zserv.api');
    const capture = (p: ChildProcess, tag: string) => {
      for (const s of [p.stdout, p.stderr]) if (s) createInterface({ input: s }).on('line', (l) => { if (log.length < 5000) log.push(`${tag}: ${l}`); });
    };
    if (opts.zebra !== false) {
      const zebra = frrDaemon('zebra');
      writeFileSync(join(dir, 'zebra.conf'), 'no zebra nexthop kernel enable\n!\n', { mode: 0o644 });
      const z = ns.spawn(zebra, ['-f', join(dir, 'zebra.conf'), '-i', join(dir, 'zebra.pid'), '-z', zserv, '--vty_socket', dir, '--log', 'stdout']);
      capture(z, 'zebra');
      procs.push(z);
    }
    writeFileSync(join(dir, 'bgpd.conf'), `frr defaults traditional\n${bgpConf}\n!\n`, { mode: 0o644 });
    const b = ns.spawn(bgpd, [
      '-f', join(dir, 'bgpd.conf'), '-i', join(dir, 'bgpd.pid'), '-z', zserv, '--vty_socket', dir, '--log', 'stdout',
      ...(opts.zebra === false ? ['-Z'] : []),
    ]);
    capture(b, 'bgpd');
    procs.push(b);
    return new Frr(dir, procs, log);
  }

  vtysh(...cmds: string[]): string {
    return sh('vtysh', ['--vty_socket', this.dir, ...cmds.flatMap((c) => ['-c', c])]);
  }

  json<T = unknown>(cmd: string): T | undefined {
    try {
      return JSON.parse(this.vtysh(cmd)) as T;
    } catch {
      return undefined;
    }
  }

  /** BGP state of a neighbor ("Established", "Active", ...). */
  peerState(addr: string): string | undefined {
    const n = this.json<Record<string, { bgpState?: string }>>(`show bgp neighbors ${addr} json`);
    return n?.[addr]?.bgpState;
  }

  neighbor(addr: string): Record<string, unknown> | undefined {
    return this.json<Record<string, Record<string, unknown>>>(`show bgp neighbors ${addr} json`)?.[addr];
  }

  /** Paths FRR holds for a prefix. */
  paths(afi: 'ipv4' | 'ipv6', prefix: string): FrrPath[] {
    return this.json<{ paths?: FrrPath[] }>(`show bgp ${afi} unicast ${prefix} json`)?.paths ?? [];
  }

  /** Number of prefixes in FRR's BGP table for a family. */
  ribCount(afi: 'ipv4' | 'ipv6'): number {
    const s = this.json<Record<string, { totalPrefixCounter?: number; ribCount?: number }>>(`show bgp ${afi} unicast summary json`);
    const v = s?.[`${afi}Unicast`] ?? (s as { ribCount?: number } | undefined);
    return v?.ribCount ?? 0;
  }
}

export interface FrrPath {
  aspath?: { string?: string };
  community?: { string?: string };
  largeCommunity?: { string?: string };
  locPrf?: number;
  multipath?: boolean;
  bestpath?: { overall?: boolean };
  stale?: boolean;
  nexthops?: Array<{ ip?: string }>;
  peer?: { peerId?: string };
}

/** Next hops of a kernel route in `ns` (`ip route`), empty when absent. */
export function kernelNextHops(ns: Netns, prefix: string): string[] {
  const v6 = prefix.includes(':');
  const out = ns.exec('ip', [...(v6 ? ['-6'] : []), 'route', 'show', prefix], { allowFail: true });
  const hops = [...out.matchAll(/via (?:inet6 )?([0-9a-f.:]+)/g)].map((m) => m[1] as string);
  return [...new Set(hops)].sort();
}

/** Our speaker as a process in a namespace; stdout JSON lines are kept in `events`. */
export class Speaker {
  readonly events: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  private constructor(readonly proc: ChildProcess, readonly configPath: string) {}

  static start(lab: Lab, ns: Netns, config: unknown, name = ns.name): Speaker {
    const dir = mkdtempSync(join(tmpdir(), `${lab.id}-spk-`));
    lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const configPath = join(dir, `${name}.json`);
    writeFileSync(configPath, JSON.stringify(config));
    const p = ns.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/bin/bgp-speaker.ts'), '--config', configPath], { cwd: REPO });
    const s = new Speaker(p, configPath);
    if (p.stdout) createInterface({ input: p.stdout }).on('line', (l) => { try { s.events.push(JSON.parse(l) as Record<string, unknown>); } catch { s.stderr.push(l); } });
    if (p.stderr) createInterface({ input: p.stderr }).on('line', (l) => { if (s.stderr.length < 500) s.stderr.push(l); });
    return s;
  }

  /** Rewrites the config and makes the speaker reload it (SIGHUP, by PID). */
  reconfigure(config: unknown): void {
    writeFileSync(this.configPath, JSON.stringify(config));
    this.proc.kill('SIGHUP');
  }

  find(pred: (e: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.events.find(pred);
  }

  /** Stops the process (by PID) with `signal` and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
