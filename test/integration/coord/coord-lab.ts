// Namespace lab for coordination tests and the failover bench: a switch namespace with a bridge,
// a NATS namespace running a 3-server JetStream cluster (one address per server), three node
// namespaces running src/bin/coord-node.ts, and a client namespace that ARPs for the VIPs.
// Addresses: 198.51.100.128/26 on the segment, VIPs in 203.0.113.64/27 (on-link for the client).
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { natsServerConfig } from '../../lib/nats.js';
import { newIssuerSeeds, serverAuthConfig, type IssuerSeeds } from '../../../src/adapters/nats-issuer.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';

export const NATS_IPS = ['198.51.100.129', '198.51.100.130', '198.51.100.131'];
export const NODE_IPS = ['198.51.100.141', '198.51.100.142', '198.51.100.143'];
export const CLIENT_IP = '198.51.100.150';
export const NODE_MACS = ['02:00:5e:c0:00:01', '02:00:5e:c0:00:02', '02:00:5e:c0:00:03'];
export const NODE_NAMES = ['n1', 'n2', 'n3'];
export const CLUSTER = 'co';

export interface NodeEvent {
  t: number;
  node: string;
  event: string;
  ip?: string;
  from?: string;
  to?: string;
  reason?: string;
  [k: string]: unknown;
}

export class CoordNode {
  events: NodeEvent[] = [];
  proc: ChildProcess | undefined;
  stderr = '';
  constructor(
    readonly index: number,
    readonly ns: Netns,
    /** Its link's bridge-side port in the switch namespace. */
    readonly port = '',
  ) {}
  get name(): string {
    return NODE_NAMES[this.index] as string;
  }
  get mac(): string {
    return NODE_MACS[this.index] as string;
  }
  /** IPs this node announces now, from its own event stream. */
  owned(): Set<string> {
    const s = new Set<string>();
    for (const e of this.events) {
      if (e.event === 'transition' && e.ip) {
        if (e.to === 'announcing') s.add(e.ip);
        else if (e.from === 'announcing') s.delete(e.ip);
      }
    }
    return s;
  }
  alive(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }
}

export interface CoordLabOptions {
  readonly vips: readonly string[];
  readonly announcer: 'pcap' | 'log';
  readonly intervalMs: number;
  readonly misses: number;
  readonly passwords?: boolean;
  /**
   * Operator mode (decentralized JWT auth, as the controller sets it up): the servers trust an
   * operator and preload the MOORING and system accounts; each node mints its own per-connection
   * user JWTs from the issuer seeds with this lifetime and renews them in turns (the speaker's code).
   */
  readonly jwtTtlMs?: number;
}

export class CoordLab {
  readonly lab = new Lab('co');
  readonly dir = mkdtempSync(join(tmpdir(), 'mooring-co-'));
  sw!: Netns;
  natsNs!: Netns;
  client!: Netns;
  readonly nats: Array<ChildProcess | undefined> = [];
  readonly nodes: CoordNode[] = [];
  readonly passwords = NODE_NAMES.map((n, i) => `pw-${n}-${i}-${Math.random().toString(36).slice(2)}`);
  /** Operator user `ops` (mooringctl drain/undrain). */
  readonly adminPassword = `pw-ops-${Math.random().toString(36).slice(2)}`;

  /** Operator mode: the issuer seeds and the servers' authorization block (serverAuthConfig). */
  seeds: IssuerSeeds | undefined;
  private authConf = '';

  constructor(readonly o: CoordLabOptions) {}

  /**
   * The integration tests' common start: root and tools checked, the lab built, the three nodes
   * started, and every VIP announced by exactly one node (the nodes' output in the error if not).
   */
  static async startSettled(o: CoordLabOptions): Promise<CoordLab> {
    requireRoot();
    requireTools('ip', 'nats-server', 'arping');
    const lab = new CoordLab(o);
    await lab.setup();
    for (let i = 0; i < 3; i++) lab.startNode(i);
    await waitFor('every VIP announced by exactly one node', () => lab.settled(), 90000, 200).catch((e: unknown) => {
      throw new Error(
        `${String(e)}\n${lab.nodes
          .map(
            (n) =>
              `${n.name}: ${n.stderr}\n${n.events
                .slice(-5)
                .map((x) => JSON.stringify(x))
                .join('\n')}`,
          )
          .join('\n')}`,
      );
    });
    return lab;
  }

  async setup(): Promise<void> {
    if (this.o.jwtTtlMs !== undefined) {
      this.seeds = newIssuerSeeds();
      this.authConf = await serverAuthConfig(this.seeds);
      writeFileSync(join(this.dir, 'issuer-seeds.json'), JSON.stringify(this.seeds), { mode: 0o600 });
    }
    this.sw = this.lab.netns('sw');
    this.lab.bridge(this.sw, 'br0');
    this.natsNs = this.lab.netns('nats');
    this.lab.link(
      this.natsNs,
      'eth0',
      this.sw,
      'br0',
      NATS_IPS.map((ip) => `${ip}/26`),
    );
    this.client = this.lab.netns('cl');
    this.lab.link(this.client, 'eth0', this.sw, 'br0', [`${CLIENT_IP}/26`]);
    this.client.exec('ip', ['route', 'add', '203.0.113.64/27', 'dev', 'eth0']);
    for (let i = 0; i < 3; i++) {
      const ns = this.lab.netns(`n${i + 1}`);
      const port = this.lab.link(ns, 'eth0', this.sw, 'br0', [`${NODE_IPS[i]}/26`], NODE_MACS[i]);
      this.nodes.push(new CoordNode(i, ns, port));
    }
    for (let i = 0; i < 3; i++) this.startNats(i);
    await waitFor(
      'NATS servers listening',
      () => {
        const out = this.natsNs.exec('ss', ['-ltn'], { allowFail: true });
        return NATS_IPS.every((ip) => out.includes(`${ip}:4222`));
      },
      30000,
    );
  }

  natsConfig(i: number): string {
    if (this.seeds) {
      const ip = NATS_IPS[i] as string;
      const store = join(this.dir, `s${i + 1}`);
      mkdirSync(store, { recursive: true });
      const routes = NATS_IPS.filter((x) => x !== ip).map((x) => `"nats-route://${x}:6222"`);
      return [
        `server_name: s${i + 1}`,
        `listen: "${ip}:4222"`,
        `jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 256MB }`,
        `cluster { name: ${CLUSTER}, listen: "${ip}:6222", routes: [${routes.join(', ')}] }`,
        this.authConf,
      ].join('\n');
    }
    const users = NODE_NAMES.map((n, k) => ({ node: n, user: n, password: this.passwords[k] as string }));
    return natsServerConfig(
      { ips: NATS_IPS, cluster: CLUSTER, users, admins: [{ user: 'ops', password: this.adminPassword }], dir: this.dir },
      i,
    );
  }

  startNats(i: number): void {
    const conf = join(this.dir, `s${i + 1}.conf`);
    writeFileSync(conf, this.natsConfig(i));
    const p = this.natsNs.spawn('nats-server', ['-c', conf]);
    p.stderr?.on('data', () => {});
    p.stdout?.on('data', () => {});
    this.nats[i] = p;
  }

  /** SIGSTOP / SIGCONT one NATS server by PID: it stalls without closing any connection. */
  stallNats(i: number, stalled: boolean): void {
    this.nats[i]?.kill(stalled ? 'SIGSTOP' : 'SIGCONT');
  }

  /** SIGKILL one NATS server by PID. */
  killNats(i: number): void {
    this.nats[i]?.kill('SIGKILL');
  }

  /** Node i tries server i first (with --no-randomize), so killing server i forces node i to reconnect. */
  serverUrls(first = 0): string {
    const urls = NATS_IPS.map((ip) => `nats://${ip}:4222`);
    return [...urls.slice(first), ...urls.slice(0, first)].join(',');
  }

  /** Starts node i (`extra`: more coord-node flags). */
  startNode(i: number, extra: readonly string[] = []): CoordNode {
    const n = this.nodes[i] as CoordNode;
    const passFile = join(this.dir, `${n.name}.pass`);
    writeFileSync(passFile, this.passwords[i] as string, { mode: 0o600 });
    n.events = [];
    n.stderr = '';
    const root = new URL('../../../', import.meta.url).pathname;
    const p = n.ns.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src/bin/coord-node.ts'),
        '--node',
        n.name,
        '--nodes',
        NODE_NAMES.join(','),
        '--servers',
        this.serverUrls(i),
        '--no-randomize',
        '--ips',
        this.o.vips.join(','),
        '--cluster',
        CLUSTER,
        '--iface',
        'eth0',
        '--announcer',
        this.o.announcer,
        ...(this.seeds
          ? ['--issuer-seeds', join(this.dir, 'issuer-seeds.json'), '--jwt-ttl', String(this.o.jwtTtlMs)]
          : ['--user', n.name, '--pass-file', passFile]),
        '--interval',
        String(this.o.intervalMs),
        '--misses',
        String(this.o.misses),
        ...extra,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let buf = '';
    p.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          n.events.push(JSON.parse(line) as NodeEvent);
        } catch {
          /* not JSON */
        }
      }
    });
    p.stderr?.on('data', (d: Buffer) => {
      n.stderr = (n.stderr + d.toString()).slice(-4000);
    });
    n.proc = p;
    return n;
  }

  /** Runs `mooringctl <args>` as the admin user from the NATS namespace; resolves with status and output. */
  mooringctl(...args: string[]): Promise<{ status: number | null; out: string }> {
    const root = new URL('../../../', import.meta.url).pathname;
    const passFile = join(this.dir, 'ops.pass');
    writeFileSync(passFile, this.adminPassword, { mode: 0o600 });
    const p = this.natsNs.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src/bin/mooringctl.ts'),
        ...args,
        '--servers',
        this.serverUrls(0),
        '--cluster',
        CLUSTER,
        '--user',
        'ops',
        '--pass-file',
        passFile,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    return new Promise((resolve) => p.on('close', (status) => resolve({ status, out })));
  }

  /**
   * Cuts (or restores) node i's link at the switch: its port leaves the bridge, the node keeps
   * carrier and its sockets, nothing is reset (a cable cut further away, a dead switch port).
   */
  cutLink(i: number, cut: boolean): void {
    const port = this.nodes[i]?.port;
    if (port) this.sw.exec('ip', ['link', 'set', port, ...(cut ? ['nomaster'] : ['master', 'br0'])]);
  }

  killNode(i: number): void {
    this.nodes[i]?.proc?.kill('SIGKILL');
  }

  /** ip → nodes announcing it (from the live nodes' event streams). */
  ownership(): Map<string, string[]> {
    const m = new Map<string, string[]>(this.o.vips.map((ip) => [ip, []]));
    for (const n of this.nodes) {
      if (!n.alive()) continue;
      for (const ip of n.owned()) m.get(ip)?.push(n.name);
    }
    return m;
  }

  /** Every VIP announced by exactly one live node. */
  settled(): boolean {
    return [...this.ownership().values()].every((o) => o.length === 1);
  }

  /** MAC that answers an ARP request for `ip` from the client, or undefined. */
  arp(ip: string): string | undefined {
    const out = this.client.exec('arping', ['-c', '1', '-w', '2', '-I', 'eth0', ip], { allowFail: true });
    const m = /\[([0-9a-fA-F:]{17})\]/.exec(out);
    return m?.[1]?.toLowerCase();
  }

  async cleanup(): Promise<void> {
    await this.lab.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
