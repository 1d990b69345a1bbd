// A 3-server nats-server cluster with JetStream, run inside one namespace (one address per server),
// with one user per node and the per-node publish permissions from src/domain/nats-config.ts.
// Used by test/lib/cluster.ts (e2e) and test/integration/coord/coord-lab.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor, type Netns } from './netns.js';
import { requireTools } from './prereq.js';
import { natsAccountsBlock, type AdminUser, type ViewerUser } from '../../src/domain/nats-config.js';

export interface NatsUser {
  readonly node: string;
  readonly user: string;
  readonly password: string;
}

export interface NatsClusterOptions {
  /** One listen address per server (they must already exist in `ns`). */
  readonly ips: readonly string[];
  /** Coordination cluster name (subjects `mooring.v1.<cluster>.…`, NATS cluster name too). */
  readonly cluster: string;
  readonly users: readonly NatsUser[];
  /** Operator users (mooringctl drain): may publish drain commands only. */
  readonly admins?: readonly AdminUser[];
  /** Read-only viewers (`mooring viz`): read the state feed, ask for snapshots, publish nothing else. */
  readonly viewers?: readonly ViewerUser[];
  /** Directory for config files and JetStream stores (removed by the caller). */
  readonly dir: string;
}

/** The nats-server configuration of server `i` of the cluster. */
export function natsServerConfig(o: NatsClusterOptions, i: number): string {
  const ip = o.ips[i];
  if (!ip) throw new RangeError(`no server ${i}`);
  const routes = o.ips.filter((x) => x !== ip).map((x) => `"nats-route://${x}:6222"`);
  const store = join(o.dir, `s${i + 1}`);
  mkdirSync(store, { recursive: true });
  return [
    `server_name: s${i + 1}`,
    `listen: "${ip}:4222"`,
    `jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 256MB }`,
    `cluster { name: ${o.cluster}, listen: "${ip}:6222", routes: [${routes.join(', ')}] }`,
    natsAccountsBlock(o.cluster, o.users, 'MOORING', o.admins ?? [], { viewers: o.viewers ?? [] }),
  ].join('\n');
}

export class NatsCluster {
  readonly procs: Array<ChildProcess | undefined> = [];
  /** Last lines of each server's output (for failure messages). */
  readonly logs: string[][] = [];

  private constructor(
    readonly ns: Netns,
    readonly o: NatsClusterOptions,
  ) {}

  /** Starts every server in `ns` and waits until each listens for clients. */
  static async start(ns: Netns, o: NatsClusterOptions): Promise<NatsCluster> {
    requireTools('nats-server');
    mkdirSync(o.dir, { recursive: true });
    const c = new NatsCluster(ns, o);
    for (let i = 0; i < o.ips.length; i++) c.startServer(i);
    await waitFor(
      'NATS servers listening',
      () => {
        const out = ns.exec('ss', ['-ltn'], { allowFail: true });
        return o.ips.every((ip) => out.includes(`${ip}:4222`));
      },
      60_000,
      100,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${c.logs.map((l, i) => `s${i + 1}:\n${l.slice(-10).join('\n')}`).join('\n')}`);
    });
    return c;
  }

  /** (Re)starts server i on its config; the process is killed by PID at lab cleanup. */
  startServer(i: number): void {
    const conf = join(this.o.dir, `s${i + 1}.conf`);
    writeFileSync(conf, natsServerConfig(this.o, i));
    const p = this.ns.spawn('nats-server', ['-c', conf]);
    const log: string[] = (this.logs[i] = []);
    for (const s of [p.stdout, p.stderr]) {
      if (s)
        createInterface({ input: s }).on('line', (l) => {
          log.push(l);
          if (log.length > 200) log.shift();
        });
    }
    this.procs[i] = p;
  }

  /** Kills server i by PID. */
  kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.procs[i]?.kill(signal);
  }

  /** nats:// URLs of every server, starting with server `first`. */
  urls(first = 0): string[] {
    const u = this.o.ips.map((ip) => `nats://${ip}:4222`);
    return [...u.slice(first), ...u.slice(0, first)];
  }
}
