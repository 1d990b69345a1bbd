// BGP lab helpers shared by test/integration/bgp and bench/bgp.bench.ts: FRR (zebra + bgpd)
// started as plain processes in a router namespace (own vty socket dir, zserv socket and pid
// files, so parallel labs never meet), and our bgp-speaker process with its JSON-lines output.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sh, type Lab, type Netns } from './netns.js';
import { frrDaemon, requireTools } from './prereq.js';

export const REPO = resolve(import.meta.dirname, '..', '..');

export class Frr {
  private constructor(
    readonly dir: string,
    readonly procs: ChildProcess[],
    readonly log: string[],
  ) {}

  /**
   * Starts zebra (kernel routes, classic multipath rather than nexthop objects) and bgpd with
   * `bgpConf` (the `router bgp` block and anything else bgpd accepts).
   */
  static start(lab: Lab, ns: Netns, bgpConf: string, opts: { zebra?: boolean; bfdd?: boolean } = {}): Frr {
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
      for (const s of [p.stdout, p.stderr])
        if (s)
          createInterface({ input: s }).on('line', (l) => {
            if (log.length < 5000) log.push(`${tag}: ${l}`);
          });
    };
    if (opts.zebra !== false) {
      const zebra = frrDaemon('zebra');
      writeFileSync(join(dir, 'zebra.conf'), 'no zebra nexthop kernel enable\n!\n', { mode: 0o644 });
      const z = ns.spawn(zebra, [
        '-f',
        join(dir, 'zebra.conf'),
        '-i',
        join(dir, 'zebra.pid'),
        '-z',
        zserv,
        '--vty_socket',
        dir,
        '--log',
        'stdout',
      ]);
      capture(z, 'zebra');
      procs.push(z);
      // bgpd and bfdd that find no zserv socket retry only 10 s later (FRR's zclient): on a busy
      // machine they would run that long without zebra, and whatever needs it (graceful restart
      // capabilities, BFD registration, kernel routes) fails meanwhile. Start them once it listens.
      const until = Date.now() + 30_000;
      const tick = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(zserv)) {
        // (A sync wait: the child's exit and output events cannot arrive meanwhile.)
        if (Date.now() > until) throw new Error(`zebra did not open ${zserv} within 30 s (${zebra})`);
        Atomics.wait(tick, 0, 0, 20);
      }
    }
    writeFileSync(join(dir, 'bgpd.conf'), `frr defaults traditional\n${bgpConf}\n!\n`, { mode: 0o644 });
    const b = ns.spawn(bgpd, [
      '-f',
      join(dir, 'bgpd.conf'),
      '-i',
      join(dir, 'bgpd.pid'),
      '-z',
      zserv,
      '--vty_socket',
      dir,
      '--log',
      'stdout',
      ...(opts.zebra === false ? ['-Z'] : []),
    ]);
    capture(b, 'bgpd');
    procs.push(b);
    if (opts.bfdd) {
      // bfdd in the same vty directory: one vtysh (and frr-reload.py) reaches zebra, bgpd and bfdd.
      writeFileSync(join(dir, 'bfdd.conf'), '!\n', { mode: 0o644 });
      const f = ns.spawn(frrDaemon('bfdd'), [
        '-f',
        join(dir, 'bfdd.conf'),
        '-i',
        join(dir, 'bfdd.pid'),
        '--bfdctl',
        join(dir, 'bfdd.sock'),
        '-z',
        zserv,
        '--vty_socket',
        dir,
        '--log',
        'stdout',
      ]);
      capture(f, 'bfdd');
      procs.push(f);
    }
    return new Frr(dir, procs, log);
  }

  /** Bounded (60 s): a daemon busy with a large table must not hang the test or bench that asks. */
  vtysh(...cmds: string[]): string {
    return sh('vtysh', ['--vty_socket', this.dir, ...cmds.flatMap((c) => ['-c', c])], { timeoutMs: 60_000 });
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
  private constructor(
    readonly proc: ChildProcess,
    readonly configPath: string,
  ) {}

  static start(lab: Lab, ns: Netns, config: unknown, name = ns.name): Speaker {
    const dir = mkdtempSync(join(tmpdir(), `${lab.id}-spk-`));
    lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const configPath = join(dir, `${name}.json`);
    writeFileSync(configPath, JSON.stringify(config));
    const p = ns.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/bin/bgp-speaker.ts'), '--config', configPath], { cwd: REPO });
    const s = new Speaker(p, configPath);
    if (p.stdout)
      createInterface({ input: p.stdout }).on('line', (l) => {
        try {
          s.events.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          s.stderr.push(l);
        }
      });
    if (p.stderr)
      createInterface({ input: p.stderr }).on('line', (l) => {
        if (s.stderr.length < 500) s.stderr.push(l);
      });
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

/** A router namespace with a bridge and three node namespaces on it (link 198.51.100.0/26, 2001:db8:4::/64). */
export const ROUTER4 = '198.51.100.1';
export const ROUTER6 = '2001:db8:4::1';
export const LAB_NODES = [11, 12, 13].map((n) => ({ v4: `198.51.100.${n}`, v6: `2001:db8:4::${n}`, name: `node-${n}` }));
export type LabNode = (typeof LAB_NODES)[number];

export function threeNodeTopology(lab: Lab): { r: Netns; nodes: Netns[] } {
  const r = lab.netns('r');
  lab.bridge(r, 'br0');
  r.exec('ip', ['addr', 'add', `${ROUTER4}/26`, 'dev', 'br0']);
  r.exec('ip', ['addr', 'add', `${ROUTER6}/64`, 'dev', 'br0', 'nodad']);
  r.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
  const nodes = LAB_NODES.map((n, i) => {
    const ns = lab.netns(`n${i + 1}`);
    lab.link(ns, 'eth0', r, 'br0', [`${n.v4}/26`, `${n.v6}/64`]);
    return ns;
  });
  return { r, nodes };
}

/** Speaker config for one lab node: eBGP 64512 → 64513, an IPv4 and an IPv6 peer, `ips` announced. */
export function labSpeakerConfig(n: LabNode, ips: string[], extra: { communities?: string[] } = {}) {
  const peer = { myAsn: 64512, peerAsn: 64513, holdTime: 30, retryInitialMs: 500, retryMaxMs: 2000 };
  return {
    node: { name: n.name },
    peers: [
      { ...peer, name: 'r4', peerAddress: ROUTER4, families: ['ipv4'] },
      { ...peer, name: 'r6', peerAddress: ROUTER6, families: ['ipv6'] },
    ],
    advertisements: [{ name: 'all', ...(extra.communities ? { communities: extra.communities } : {}) }],
    services: ips.length > 0 ? [{ key: 'default/web', ips, pool: 'p1' }] : [],
  };
}

/** gobgpd with a TOML config in a temp dir; API on 127.0.0.1:50051 inside the namespace. */
export class GoBgp {
  private constructor(
    readonly ns: Netns,
    readonly proc: ChildProcess,
    readonly log: string[],
  ) {}

  static start(lab: Lab, ns: Netns, toml: string): GoBgp {
    requireTools('gobgpd', 'gobgp');
    const dir = mkdtempSync(join(tmpdir(), `${lab.id}-gobgp-`));
    lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'gobgpd.toml'), toml);
    const p = ns.spawn('gobgpd', ['-f', join(dir, 'gobgpd.toml'), '-t', 'toml', '--api-hosts', '127.0.0.1:50051', '--disable-stdlog']);
    const log: string[] = [];
    for (const s of [p.stdout, p.stderr])
      if (s)
        createInterface({ input: s }).on('line', (l) => {
          if (log.length < 2000) log.push(l);
        });
    return new GoBgp(ns, p, log);
  }

  cli(...args: string[]): string {
    return this.ns.exec('gobgp', ['-u', '127.0.0.1', '-p', '50051', ...args]);
  }

  json<T>(...args: string[]): T | undefined {
    try {
      return JSON.parse(this.cli(...args, '-j')) as T;
    } catch {
      return undefined;
    }
  }

  /** neighbor address → session state (e.g. "established"). */
  states(): Record<string, string> {
    const ns = this.json<Array<{ state?: { neighbor_address?: string; session_state?: number | string } }>>('neighbor') ?? [];
    const names: Record<number, string> = { 1: 'idle', 2: 'connect', 3: 'active', 4: 'opensent', 5: 'openconfirm', 6: 'established' };
    return Object.fromEntries(
      ns.map((n) => {
        const s = n.state?.session_state;
        return [n.state?.neighbor_address ?? '', typeof s === 'number' ? (names[s] ?? String(s)) : String(s ?? '').toLowerCase()];
      }),
    );
  }

  /** Next hops of the paths gobgpd holds for a prefix. */
  nextHops(afi: 'ipv4' | 'ipv6', prefix: string): string[] {
    const rib =
      this.json<
        Record<
          string,
          Array<{ attrs?: Array<{ type: number; nexthop?: string; value?: unknown }>; 'source-id'?: string; neighbor?: string }>
        >
      >('global', 'rib', '-a', afi) ?? {};
    const paths = rib[prefix] ?? [];
    const hops = paths.map((p) => {
      const nh =
        p.attrs?.find((a) => a.type === 3)?.nexthop ?? (p.attrs?.find((a) => a.type === 14) as { nexthop?: string } | undefined)?.nexthop;
      return nh ?? '';
    });
    return hops.filter(Boolean).sort();
  }

  /** Number of prefixes in gobgpd's global RIB for a family. */
  ribCount(afi: 'ipv4' | 'ipv6'): number {
    const out = this.cli('global', 'rib', 'summary', '-a', afi);
    const m = /Destination:\s*(\d+)/.exec(out);
    return m ? Number(m[1]) : 0;
  }
}

/** BIRD 2 in a namespace with its own control socket. */
export class Bird {
  private constructor(
    readonly ns: Netns,
    readonly sock: string,
    readonly proc: ChildProcess,
    readonly log: string[],
  ) {}

  static start(lab: Lab, ns: Netns, conf: string): Bird {
    requireTools('bird', 'birdc');
    const dir = mkdtempSync(join(tmpdir(), `${lab.id}-bird-`));
    lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'bird.conf'), conf);
    const sock = join(dir, 'bird.ctl');
    const p = ns.spawn('bird', ['-f', '-c', join(dir, 'bird.conf'), '-s', sock, '-P', join(dir, 'bird.pid')]);
    const log: string[] = [];
    for (const s of [p.stdout, p.stderr])
      if (s)
        createInterface({ input: s }).on('line', (l) => {
          if (log.length < 2000) log.push(l);
        });
    return new Bird(ns, sock, p, log);
  }

  birdc(...args: string[]): string {
    return this.ns.exec('birdc', ['-s', this.sock, ...args], { allowFail: true });
  }

  /** protocol name → BGP state ("Established", "Active", ...). */
  states(): Record<string, string> {
    const out = this.birdc('show', 'protocols');
    const rows = out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c[1] === 'BGP');
    return Object.fromEntries(rows.map((c) => [c[0] as string, c.slice(5).join(' ')]));
  }
}
