// Test networks in namespaces (README "Run the tests"): everything a test creates is
// named with a per-run prefix, registered for cleanup, and removed even when the test fails.
// Processes are killed by PID, never by name. Only documentation ranges are used
// (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export class CmdError extends Error {
  override name = 'CmdError';
  constructor(
    readonly cmd: string,
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`command failed (${status}): ${cmd}: ${stderr.trim()}`);
  }
}

/** Runs a command synchronously; throws CmdError with stderr on failure. */
export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}): string {
  // timeoutMs: the command is killed (SIGTERM) and this throws, rather than hang the caller.
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}) });
  if (r.error) throw new CmdError(`${cmd} ${args.join(' ')}`, null, r.error.message);
  if (r.status !== 0 && !opts.allowFail) throw new CmdError(`${cmd} ${args.join(' ')}`, r.status, r.stderr);
  return r.stdout;
}

export interface Netns {
  readonly name: string;
  /** Runs a command inside the namespace. */
  exec(cmd: string, args: string[], opts?: { allowFail?: boolean; input?: string }): string;
  /** Starts a long-running process inside the namespace; it is killed (by PID) at cleanup. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
}

/**
 * A lab: a set of namespaces, bridges and links with one cleanup. Names are `<prefix><rand>-x`,
 * short enough for the 15-character interface name limit.
 */
export class Lab {
  readonly id: string;
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly cleanups: Array<() => void> = [];

  constructor(prefix = 'mr') {
    this.id = `${prefix}${randomBytes(2).toString('hex')}`;
  }

  /** Creates a namespace with loopback up. */
  netns(suffix: string): Netns {
    const name = `${this.id}-${suffix}`;
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const procs = this.procs;
    return {
      name,
      exec: (cmd, args, opts) => sh('ip', ['netns', 'exec', name, cmd, ...args], opts),
      spawn(cmd, args, opts = {}) {
        const p = spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
        procs.push(p);
        return p;
      },
    };
  }

  /** A bridge living inside namespace `host` (never in the root namespace). */
  bridge(host: Netns, name: string): string {
    host.exec('ip', ['link', 'add', name, 'type', 'bridge']);
    // No STP/forward delay: ports forward at once.
    host.exec('ip', ['link', 'set', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    host.exec('ip', ['link', 'set', name, 'up']);
    // A switch, not a firewall: where the host loaded br_netfilter (Docker and Kubernetes hosts
    // do), bridged frames would also pass this namespace's (empty) iptables/ip6tables/arptables
    // hooks, work a real switch does not do, charged to whichever test process sent the frame
    // (veth delivers on the sender's CPU). The sysctls are per namespace; absent without the module.
    host.exec('sysctl', ['-qew', ...['iptables', 'ip6tables', 'arptables'].map((t) => `net.bridge.bridge-nf-call-${t}=0`)], {
      allowFail: true,
    });
    return name;
  }

  /**
   * A veth pair: `ifname` inside `ns` with the given addresses, its peer enslaved to `bridge`
   * inside `bridgeNs` (or placed in `bridgeNs` unbridged when bridge is undefined).
   */
  link(ns: Netns, ifname: string, bridgeNs: Netns, bridge: string | undefined, addrs: string[], mac?: string): string {
    const peer = `${ifname.slice(0, 6)}${randomBytes(2).toString('hex')}p`;
    const tmp = `${this.id.slice(-4)}${randomBytes(3).toString('hex')}`;
    sh('ip', ['link', 'add', tmp, 'type', 'veth', 'peer', 'name', peer]);
    this.cleanups.push(() => {
      sh('ip', ['link', 'del', tmp], { allowFail: true });
    });
    sh('ip', ['link', 'set', tmp, 'netns', ns.name]);
    sh('ip', ['link', 'set', peer, 'netns', bridgeNs.name]);
    ns.exec('ip', ['link', 'set', tmp, 'name', ifname]);
    if (mac) ns.exec('ip', ['link', 'set', ifname, 'address', mac]);
    for (const a of addrs) ns.exec('ip', ['addr', 'add', a, 'dev', ifname, ...(a.includes(':') ? ['nodad'] : [])]);
    ns.exec('ip', ['link', 'set', ifname, 'up']);
    if (bridge) bridgeNs.exec('ip', ['link', 'set', peer, 'master', bridge]);
    bridgeNs.exec('ip', ['link', 'set', peer, 'up']);
    return peer;
  }

  /** Registers a process started elsewhere for kill-by-PID at cleanup. */
  adopt(p: ChildProcess): ChildProcess {
    this.procs.push(p);
    return p;
  }
  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Kills every process by PID (TERM, then KILL), deletes namespaces and links. Idempotent. */
  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (this.procs.some((p) => p.exitCode === null && p.signalCode === null) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    this.procs.length = 0;
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        fn();
      } catch {
        /* best effort: keep cleaning */
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      // Processes started with `ip netns exec` outside our spawn (daemons that fork) are found by
      // namespace and killed by PID.
      const pids = sh('ip', ['netns', 'pids', ns], { allowFail: true }).split(/\s+/).filter(Boolean);
      for (const pid of pids) sh('kill', ['-9', pid], { allowFail: true });
      sh('ip', ['netns', 'del', ns], { allowFail: true });
    }
  }
}

/** Polls `fn` until it returns a truthy value or the deadline passes (no fixed sleeps in tests). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
