// The end-to-end cluster lab of issue 9 (docs/e2e-lab.md): a real kube-apiserver, a 3-server NATS
// JetStream cluster and the controller's place in a control namespace; three node namespaces on
// one bridge (the L2 segment); FRR in a router namespace between the segment and an external
// client; a client on the segment. Everything lives in namespaces this lab creates and is removed
// by `cleanup()`, even after a failure; processes are killed by PID.
//
//   const c = await Cluster.start();                 // network, apiserver, deploy/, Nodes, tokens, NATS, FRR
//   const p = c.spawn(c.nodes[0], 'src/bin/speaker.ts', [], c.nodeEnv(0));
//   await c.admin.apply(yamlText);                    // kubectl apply (server-side), from the control ns
//   await c.waitFor('IP', async () => (await c.lbIngress('default', 'web'))[0]);
//   c.arping('203.0.113.49');                         // MAC answering, from the segment client
//   await c.cleanup();
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseAllDocuments } from 'yaml';
import { Lab, waitFor, type Netns } from './netns.js';
import { kubeconfig, runTs, startKube, type Kube, type RunResult, type StartKubeOptions } from './kube.js';
import { NatsCluster, type NatsUser } from './nats.js';
import { Frr } from './bgp.js';
import { Bfdd } from './bfd.js';
import { requireRoot, requireTools } from './prereq.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
const AGENT = join(REPO, 'test/lib/kube-agent.ts');

/** Addresses of the lab (docs/e2e-lab.md has the diagram). */
export const NET = {
  segment4: '203.0.113.0/26',
  segment6: '2001:db8:20::/64',
  router: { seg4: '203.0.113.1', seg6: '2001:db8:20::1', ext4: '198.51.100.1', ext6: '2001:db8:30::1', asn: 64500 },
  /** kube-apiserver (and the controller's source address). */
  api4: '203.0.113.2',
  api6: '2001:db8:20::2',
  nats: ['203.0.113.3', '203.0.113.4', '203.0.113.5'],
  nodes: [1, 2, 3].map((i) => ({
    name: `n${i}`,
    v4: `203.0.113.1${i}`,
    v6: `2001:db8:20::1${i}`,
    mac: `02:00:00:20:00:1${i}`,
  })),
  nodeAsn: 64512,
  client: { v4: '203.0.113.20', v6: '2001:db8:20::20', mac: '02:00:00:20:00:20' },
  ext: { v4: '198.51.100.2', v6: '2001:db8:30::2' },
  /** Suggested pools: L2 inside the segment (on-link for the client), BGP outside it. */
  pools: {
    l2v4: '203.0.113.48/28',
    l2v6: '2001:db8:20::100/120',
    bgpv4: '203.0.113.128/27',
    bgpv6: '2001:db8:21::/120',
    /** A second on-segment pool (node selectors, pool deletion). */
    l2b: '203.0.113.32/28',
    /** Announced by L2 and BGP at once; and a BGP pool for advertisement options. */
    both: '203.0.113.160/28',
    bgpb: '203.0.113.176/28',
    /** Large IPv6 pools for bench:e2e (1,000+ services). */
    benchL2: '2001:db8:20::1:0/112',
    benchBgp: '2001:db8:22::/112',
  },
} as const;
export type LabNode = (typeof NET.nodes)[number];

export const MOORING_NS = 'metallb-system';
export const NATS_CLUSTER = 'e2e';

// ---------------------------------------------------------------------------------------------
// Kubernetes client: one long-lived agent process per identity, inside a namespace.

export interface KRef {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
}
export interface KAnswer<T = unknown> {
  code: number;
  body: T;
}
export type KObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly what: string,
    readonly body: unknown,
  ) {
    super(
      `${what}: HTTP ${code}: ${typeof body === 'object' && body && 'message' in body ? String((body as { message: unknown }).message) : JSON.stringify(body)}`,
    );
  }
}

/** Parses a multi-document YAML text into objects (empty documents skipped). */
export function parseYaml(text: string): KObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as KObject | null)
    .filter((o): o is KObject => !!o);
}

/**
 * A Kubernetes client (test/lib/kube-agent.ts) running inside namespace `ns` as the identity of
 * `kubeconfigPath`. Raw methods (`req`, `get`, …) resolve with the HTTP answer, 4xx included, so
 * tests can assert RBAC denials; the `*OrThrow` style helpers throw KubeApiError.
 */
export class KubeClient {
  private nextId = 1;
  private readonly pending = new Map<number, { ok: (a: KAnswer) => void; fail: (e: Error) => void }>();
  private stderr = '';

  private constructor(
    readonly identity: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(ns: Netns, kubeconfigPath: string, identity: string): Promise<KubeClient> {
    const p = ns.spawn(process.execPath, ['--import', 'tsx', AGENT], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
    });
    const c = new KubeClient(identity, p);
    let ready!: () => void;
    const readyP = new Promise<void>((r) => {
      ready = r;
    });
    p.stderr?.on('data', (d: Buffer) => {
      c.stderr = (c.stderr + d.toString()).slice(-4000);
    });
    if (p.stdout) {
      createInterface({ input: p.stdout }).on('line', (l) => {
        let m: { id: number; ok: boolean; code?: number; body?: unknown; error?: string };
        try {
          m = JSON.parse(l) as typeof m;
        } catch {
          return;
        }
        if (m.id === 0) {
          ready();
          return;
        }
        const w = c.pending.get(m.id);
        if (!w) return;
        c.pending.delete(m.id);
        if (m.ok) w.ok({ code: m.code ?? 0, body: m.body });
        else w.fail(new Error(`kube client (${identity}): ${m.error}`));
      });
    }
    p.on('exit', (code, sig) => {
      for (const w of c.pending.values()) w.fail(new Error(`kube client (${identity}) exited (${code ?? sig}): ${c.stderr}`));
      c.pending.clear();
    });
    await waitFor(
      `kube client (${identity}) ready`,
      async () => {
        if (p.exitCode !== null) throw new Error(`exited ${p.exitCode}: ${c.stderr}`);
        return Promise.race([readyP.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 200))]);
      },
      60_000,
      0,
    );
    return c;
  }

  private send<T>(q: Record<string, unknown>): Promise<KAnswer<T>> {
    if (!this.proc.stdin || this.proc.exitCode !== null)
      return Promise.reject(new Error(`kube client (${this.identity}) is not running: ${this.stderr}`));
    const id = this.nextId++;
    return new Promise<KAnswer<T>>((ok, fail) => {
      this.pending.set(id, { ok: ok as (a: KAnswer) => void, fail });
      this.proc.stdin?.write(`${JSON.stringify({ id, ...q })}\n`);
    });
  }

  /** Any REST call (path from the API root, e.g. `/api/v1/nodes`). */
  req<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<KAnswer<T>> {
    return this.send<T>({ op: 'req', method, path, body, contentType });
  }
  get<T = KObject>(ref: KRef): Promise<KAnswer<T>> {
    return this.send<T>({ op: 'get', ref });
  }
  delete(ref: KRef): Promise<KAnswer> {
    return this.send({ op: 'delete', ref });
  }
  create<T = KObject>(object: KObject, subresource?: string): Promise<KAnswer<T>> {
    return this.send<T>({ op: 'create', object, subresource });
  }
  put<T = KObject>(object: KObject, subresource?: string): Promise<KAnswer<T>> {
    return this.send<T>({ op: 'put', object, subresource });
  }
  patch<T = KObject>(
    ref: KRef,
    patch: unknown,
    opts: { patchType?: 'merge' | 'json' | 'strategic'; subresource?: string } = {},
  ): Promise<KAnswer<T>> {
    return this.send<T>({ op: 'patch', ref, patch, ...opts });
  }
  list<T = KObject>(
    apiVersion: string,
    kind: string,
    opts: { namespace?: string; labelSelector?: string } = {},
  ): Promise<KAnswer<{ items: T[] }>> {
    return this.send<{ items: T[] }>({ op: 'list', apiVersion, kind, ...opts });
  }

  /** Server-side apply of objects or YAML text, in order (CRDs wait for Established). Throws on failure. */
  async apply(objects: KObject[] | string): Promise<string[]> {
    const objs = typeof objects === 'string' ? parseYaml(objects) : objects;
    const a = await this.send<{ results: Array<{ ref: string; code: number }>; failed?: unknown }>({ op: 'apply', objects: objs });
    if (a.code >= 300) throw new KubeApiError(a.code, `apply (as ${this.identity}) after ${JSON.stringify(a.body.results)}`, a.body.failed);
    return a.body.results.map((r) => r.ref);
  }

  /** GET that resolves undefined on 404 and throws on any other error. */
  async read<T = KObject>(ref: KRef): Promise<T | undefined> {
    const a = await this.get<T>(ref);
    if (a.code === 404) return undefined;
    if (a.code !== 200) throw new KubeApiError(a.code, `get ${ref.kind} ${ref.namespace ?? ''}/${ref.name ?? ''}`, a.body);
    return a.body;
  }

  /** Items of a list; throws on error. */
  async items<T = KObject>(apiVersion: string, kind: string, opts: { namespace?: string; labelSelector?: string } = {}): Promise<T[]> {
    const a = await this.list<T>(apiVersion, kind, opts);
    if (a.code !== 200) throw new KubeApiError(a.code, `list ${kind}`, a.body);
    return a.body.items;
  }

  /** Closes stdin (the agent exits); the lab kills it by PID otherwise. */
  close(): void {
    this.proc.stdin?.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Product processes.

/** A process in a namespace whose stdout JSON lines are kept in `events`. */
export class Proc {
  readonly events: Array<Record<string, unknown>> = [];
  /** stdout lines that are not JSON, and stderr (last 1,000 lines). */
  readonly text: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    const keep = (l: string) => {
      this.text.push(l);
      if (this.text.length > 1000) this.text.shift();
    };
    if (proc.stdout)
      createInterface({ input: proc.stdout }).on('line', (l) => {
        if (l.startsWith('{')) {
          try {
            this.events.push(JSON.parse(l) as Record<string, unknown>);
            return;
          } catch {
            /* text */
          }
        }
        keep(l);
      });
    if (proc.stderr) createInterface({ input: proc.stderr }).on('line', keep);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }
  alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
  /** Sends a signal by PID (SIGTERM: the documented shutdown; SIGKILL: a crash). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.alive()) this.proc.kill(signal);
  }
  /** Waits for the first event matching `pred` (already received ones count). */
  waitEvent(what: string, pred: (e: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return waitFor(
      `${this.name}: ${what}`,
      () => {
        const e = this.events.find(pred);
        if (!e && !this.alive()) throw new Error(`${this.name} exited; last output:\n${this.tail()}`);
        return e;
      },
      timeoutMs,
      50,
    );
  }
  tail(n = 30): string {
    return this.text.slice(-n).join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// The lab.

export interface ClusterOptions {
  /** Replace the router's bgpd configuration (`router bgp …` block). Default: `defaultFrrConf()`. */
  readonly frrConf?: string;
  /** Do not start FRR (faster labs for L2-only tests). */
  readonly noFrr?: boolean;
  /** Do not start NATS. */
  readonly noNats?: boolean;
  /**
   * Start FRR bfdd in the router, coupled to bgpd through zebra: the IPv4 node sessions (peer
   * group NODES) get `bfd profile mooring` with these timers (what a BGPPeer's bfdProfile asks of
   * the nodes' side).
   */
  readonly bfd?: { readonly receiveMs: number; readonly transmitMs: number; readonly multiplier: number };
  /** Speakers' heartbeat period and misses (default 200ms × 5, see `speakerArgs`). */
  readonly heartbeat?: { readonly interval: string; readonly misses: number };
  /** apiserver options (flags, data directory); test/lib/real-cluster.ts uses them. */
  readonly kube?: Pick<StartKubeOptions, 'extraArgs' | 'wrapperArgs' | 'dataDir'>;
  /**
   * Skip the bootstrap (deploy/'s namespace, CRDs and RBAC, hand-made Node objects, ServiceAccount
   * kubeconfigs): for a cluster whose kubelets register their own Nodes (test/lib/real-cluster.ts).
   */
  readonly noBootstrap?: boolean;
}

/**
 * The router's default bgpd configuration: eBGP with the three nodes on both families, 8-way ECMP.
 * `nodes4`: more lines for the IPv4 node peer group NODES (e.g. `neighbor NODES ebgp-multihop 2`).
 */
export function defaultFrrConf(o: { nodes4?: readonly string[] } = {}): string {
  const r = NET.router;
  return [
    `router bgp ${r.asn}`,
    ` bgp router-id ${r.seg4}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' bgp bestpath as-path multipath-relax',
    ' neighbor NODES peer-group',
    ` neighbor NODES remote-as ${NET.nodeAsn}`,
    ...(o.nodes4 ?? []),
    ' neighbor NODES6 peer-group',
    ` neighbor NODES6 remote-as ${NET.nodeAsn}`,
    ...NET.nodes.map((n) => ` neighbor ${n.v4} peer-group NODES`),
    ...NET.nodes.map((n) => ` neighbor ${n.v6} peer-group NODES6`),
    ' address-family ipv4 unicast',
    '  no neighbor NODES6 activate',
    '  maximum-paths 8',
    ' exit-address-family',
    ' address-family ipv6 unicast',
    '  neighbor NODES6 activate',
    '  maximum-paths 8',
    ' exit-address-family',
  ].join('\n');
}

export class Cluster {
  readonly lab = new Lab('e2');
  readonly dir = mkdtempSync(join(tmpdir(), 'mooring-e2e-'));
  sw!: Netns;
  /** apiserver, NATS servers, controller. */
  ctl!: Netns;
  nodes: Netns[] = [];
  /** Each node's veth port on the bridge (in `sw`): `setNodeLink` cuts and restores it. */
  nodePorts: string[] = [];
  router!: Netns;
  /** Client on the segment (arping, ndisc6, L2 reachability). */
  client!: Netns;
  /** Client behind the router (BGP reachability). */
  ext!: Netns;
  kube!: Kube;
  nats: NatsCluster | undefined;
  frr: Frr | undefined;
  /** Node-side FRR of the FRR backend (`frrBackendArgs`), by node index. */
  readonly nodeFrr: Frr[] = [];
  bfdd: Bfdd | undefined;
  /** Admin client (system:masters), running in the control namespace. */
  admin!: KubeClient;
  /** kubeconfig files for the ServiceAccounts of deploy/rbac (TokenRequest tokens). */
  readonly kubeconfigs: { controller: string; speaker: string } = {
    controller: join(this.dir, 'controller.kubeconfig'),
    speaker: join(this.dir, 'speaker.kubeconfig'),
  };
  readonly natsUsers: NatsUser[] = NET.nodes.map((n, i) => ({
    node: n.name,
    user: n.name,
    password: `pw-${n.name}-${i}-${Math.random().toString(36).slice(2)}`,
  }));
  /** The read-only NATS viewer of `mooring viz` (docs/visualizer.md). */
  readonly natsViewer = { user: 'viz', password: `pw-viz-${Math.random().toString(36).slice(2)}` };
  private readonly clients: KubeClient[] = [];
  private readonly procs: Proc[] = [];

  private constructor(readonly o: ClusterOptions) {}

  /** Builds the whole lab; on any failure it cleans up what it made and rethrows. */
  static async start(o: ClusterOptions = {}): Promise<Cluster> {
    requireRoot();
    requireTools('ip', 'arping', 'ndisc6', ...(o.noNats ? [] : ['nats-server' as const]), ...(o.noFrr ? [] : ['vtysh' as const]));
    const c = new Cluster(o);
    try {
      c.network();
      // The apiserver is the slow part (seconds to a minute on a loaded machine): NATS and FRR
      // start while it comes up.
      const kubeP = startKube({ ...o.kube, netns: c.ctl, host: NET.api4 });
      if (!o.noNats) {
        c.nats = await NatsCluster.start(c.ctl, {
          ips: NET.nats,
          cluster: NATS_CLUSTER,
          users: c.natsUsers,
          viewers: [c.natsViewer],
          dir: join(c.dir, 'nats'),
        });
      }
      if (!o.noFrr) await c.startFrr();
      c.kube = await kubeP;
      c.admin = await c.kubeClient(c.ctl, c.kube.kubeconfigPath, 'admin');
      if (!o.noBootstrap) await c.bootstrap();
      return c;
    } catch (e) {
      await c.cleanup();
      throw e;
    }
  }

  /** Starts FRR in the router (zebra, bgpd; bfdd with `bfd`), e.g. again after `stopFrr()`. */
  async startFrr(): Promise<void> {
    const o = this.o;
    const frr = (this.frr = Frr.start(this.lab, this.router, o.frrConf ?? defaultFrrConf()));
    if (!o.bfd) return;
    this.bfdd = Bfdd.start(this.lab, this.router, [], {
      zserv: join(frr.dir, 'zserv.api'),
      extraConf: [
        ' profile mooring',
        `  receive-interval ${o.bfd.receiveMs}`,
        `  transmit-interval ${o.bfd.transmitMs}`,
        `  detect-multiplier ${o.bfd.multiplier}`,
        ' !',
      ].join('\n'),
    });
    // bgpd registers its neighbours' BFD sessions through zebra: only once bfdd is connected
    // to zebra, or the registration is lost in the start-up race.
    await waitFor('bfdd connected to zebra', () => /bfd/i.test(frr.vtysh('show zebra client summary')), 30_000, 200);
    frr.vtysh('configure terminal', `router bgp ${NET.router.asn}`, 'neighbor NODES bfd profile mooring');
  }

  /** Stops FRR's daemons by PID (`signal`: SIGTERM, a restart; SIGKILL, a crash) and waits for them to exit. */
  async stopFrr(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const procs = [...(this.frr?.procs ?? []), ...(this.bfdd ? [this.bfdd.proc] : [])].filter(
      (p) => p.exitCode === null && p.signalCode === null,
    );
    const exited = procs.map((p) => new Promise((r) => p.once('exit', r)));
    for (const p of procs) p.kill(signal);
    await Promise.all(exited);
    this.frr = undefined;
    this.bfdd = undefined;
  }

  private network(): void {
    const { lab } = this;
    this.sw = lab.netns('sw');
    const br = lab.bridge(this.sw, 'br0');
    // IPv6 on the bridge ports: no DAD delays, no router solicitations from the bridge itself.
    this.ctl = lab.netns('ctl');
    lab.link(this.ctl, 'eth0', this.sw, br, [`${NET.api4}/26`, `${NET.api6}/64`, ...NET.nats.map((ip) => `${ip}/26`)]);
    this.router = lab.netns('rt');
    lab.link(this.router, 'eth0', this.sw, br, [`${NET.router.seg4}/26`, `${NET.router.seg6}/64`]);
    this.nodes = NET.nodes.map((n) => {
      const ns = lab.netns(n.name);
      this.nodePorts.push(lab.link(ns, 'eth0', this.sw, br, [`${n.v4}/26`, `${n.v6}/64`], n.mac));
      return ns;
    });
    this.client = lab.netns('cl');
    lab.link(this.client, 'eth0', this.sw, br, [`${NET.client.v4}/26`, `${NET.client.v6}/64`], NET.client.mac);
    this.ext = lab.netns('ext');
    // The unbridged peer lands in the router namespace: it becomes the router's eth1.
    const peer = lab.link(this.ext, 'eth0', this.router, undefined, [`${NET.ext.v4}/29`, `${NET.ext.v6}/64`]);
    this.router.exec('ip', ['link', 'set', peer, 'down']);
    this.router.exec('ip', ['link', 'set', peer, 'name', 'eth1']);
    this.router.exec('ip', ['addr', 'add', `${NET.router.ext4}/29`, 'dev', 'eth1']);
    this.router.exec('ip', ['addr', 'add', `${NET.router.ext6}/64`, 'dev', 'eth1', 'nodad']);
    this.router.exec('ip', ['link', 'set', 'eth1', 'up']);
    this.router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    // Everything else routes through the router: nodes answer the external client that way, and
    // the control namespace is on the segment itself (node → apiserver/NATS is on-link).
    for (const ns of [...this.nodes, this.ctl, this.client]) {
      ns.exec('ip', ['route', 'add', 'default', 'via', NET.router.seg4]);
      ns.exec('ip', ['-6', 'route', 'add', 'default', 'via', NET.router.seg6]);
    }
    this.ext.exec('ip', ['route', 'add', 'default', 'via', NET.router.ext4]);
    this.ext.exec('ip', ['-6', 'route', 'add', 'default', 'via', NET.router.ext6]);
  }

  /** deploy/ namespace + CRDs + RBAC, Node objects, ServiceAccount tokens → kubeconfigs. */
  private async bootstrap(): Promise<void> {
    const deploy = join(REPO, 'deploy');
    const files = [
      join(deploy, 'namespace.yaml'),
      ...readdirSync(join(deploy, 'crds'))
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => join(deploy, 'crds', f)),
      ...readdirSync(join(deploy, 'rbac'))
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => join(deploy, 'rbac', f)),
    ];
    await this.admin.apply(files.flatMap((f) => parseYaml(readFileSync(f, 'utf8'))));
    for (const n of NET.nodes) await this.createNode(n);
    for (const sa of ['controller', 'speaker'] as const) {
      const tr = await this.admin.req<{ status?: { token?: string } }>(
        'POST',
        `/api/v1/namespaces/${MOORING_NS}/serviceaccounts/${sa}/token`,
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 24 * 3600 },
        },
      );
      const token = tr.body.status?.token;
      if (tr.code !== 201 || !token) throw new KubeApiError(tr.code, `TokenRequest ${MOORING_NS}/${sa}`, tr.body);
      writeFileSync(this.kubeconfigs[sa], kubeconfig(this.kube.url, this.kube.caPem, token, `system:serviceaccount:${MOORING_NS}:${sa}`), {
        mode: 0o600,
      });
    }
  }

  /** A Node object as a kubelet would register it (no kubelet runs here): labels, addresses, Ready. */
  async createNode(n: LabNode, labels: Record<string, string> = {}): Promise<void> {
    const body: KObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...labels },
      },
      spec: {},
    };
    const created = await this.admin.create(body);
    if (created.code !== 201) throw new KubeApiError(created.code, `create Node ${n.name}`, created.body);
    const now = new Date().toISOString();
    const status = await this.admin.patch(
      { apiVersion: 'v1', kind: 'Node', name: n.name },
      {
        status: {
          addresses: [
            { type: 'InternalIP', address: n.v4 },
            { type: 'InternalIP', address: n.v6 },
            { type: 'Hostname', address: n.name },
          ],
          conditions: [
            { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'e2e lab', lastHeartbeatTime: now, lastTransitionTime: now },
            {
              type: 'NetworkUnavailable',
              status: 'False',
              reason: 'RouteCreated',
              message: 'e2e lab',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      },
      { subresource: 'status' },
    );
    if (status.code !== 200) throw new KubeApiError(status.code, `status of Node ${n.name}`, status.body);
  }

  /** Sets a Node condition (e.g. NetworkUnavailable True takes it out, as MetalLB). */
  async setNodeCondition(node: string, type: string, value: 'True' | 'False'): Promise<void> {
    const ref = { apiVersion: 'v1', kind: 'Node', name: node };
    const cur = await this.admin.read<{ status?: { conditions?: Array<Record<string, unknown>> } }>(ref);
    const now = new Date().toISOString();
    const conds = (cur?.status?.conditions ?? []).filter((c) => c.type !== type);
    conds.push({ type, status: value, reason: 'e2e', message: 'set by the e2e lab', lastHeartbeatTime: now, lastTransitionTime: now });
    const a = await this.admin.patch(ref, { status: { conditions: conds } }, { subresource: 'status' });
    if (a.code !== 200) throw new KubeApiError(a.code, `condition ${type} of Node ${node}`, a.body);
  }

  /** Cuts (false) or restores (true) node i's link to the segment, at its bridge port. */
  setNodeLink(i: number, up: boolean): void {
    const port = this.nodePorts[i];
    if (!port) throw new RangeError(`no node ${i}`);
    this.sw.exec('ip', ['link', 'set', port, up ? 'up' : 'down']);
  }

  /**
   * BFD at work: cuts node i's link, waits up to `withinMs` for the router to drop that node's
   * path for `ip` (the tests' BGP hold time is far longer, so only BFD can do it in time) and
   * checks FRR's BFD session with the node is down; restores the link and waits for the path to
   * return. Failure messages carry the next hops, FRR's BFD peers and the processes' output.
   */
  async bfdLinkCut(ip: string, i: number, withinMs = 30_000): Promise<void> {
    const node = NET.nodes[i]!.v4;
    const before = this.routerNextHops(ip);
    if (!before.includes(node)) throw new Error(`${ip} is not routed via ${node} before the cut: ${JSON.stringify(before)}`);
    const context = () =>
      `hops now ${JSON.stringify(this.routerNextHops(ip))}; bfdd: ${JSON.stringify(this.bfdd?.peers())}\n${this.dump()}`;
    this.setNodeLink(i, false);
    try {
      const without = before.filter((h) => h !== node).join();
      await this.waitFor(`router drops ${node}'s path for ${ip}`, () => this.routerNextHops(ip).join() === without, withinMs, 100).catch(
        (e: Error) => {
          throw new Error(`${e.message}; ${context()}`);
        },
      );
      if (this.bfdd?.peer(node)?.status !== 'down') throw new Error(`FRR's BFD session with ${node} is not down; ${context()}`);
    } finally {
      this.setNodeLink(i, true);
    }
    await this.waitFor(`${node}'s path for ${ip} is back`, () => this.routerNextHops(ip).join() === before.join(), 90_000, 200).catch(
      (e: Error) => {
        throw new Error(`${e.message}; ${context()}`);
      },
    );
  }

  /** Sets (value) or removes (null) a label on a Node. */
  async labelNode(node: string, key: string, value: string | null): Promise<void> {
    const a = await this.admin.patch({ apiVersion: 'v1', kind: 'Node', name: node }, { metadata: { labels: { [key]: value } } });
    if (a.code !== 200) throw new KubeApiError(a.code, `label Node ${node}`, a.body);
  }

  /** Another Kubernetes client, e.g. as the speaker's ServiceAccount from a node namespace. */
  async kubeClient(ns: Netns, kubeconfigPath: string, identity: string): Promise<KubeClient> {
    const k = await KubeClient.start(ns, kubeconfigPath, identity);
    this.clients.push(k);
    return k;
  }

  // -- processes ------------------------------------------------------------------------------

  /**
   * Environment of a speaker on node i: its ServiceAccount kubeconfig, NODE_NAME and NATS
   * credentials (servers listed from the node's own one). Flags for src/bin/speaker.ts are in
   * `speakerArgs(i)`.
   */
  nodeEnv(i: number): Record<string, string> {
    const n = NET.nodes[i];
    const u = this.natsUsers[i];
    if (!n || !u) throw new RangeError(`no node ${i}`);
    const servers = this.nats ? this.nats.urls(i).join(',') : '';
    return {
      KUBECONFIG: this.kubeconfigs.speaker,
      NODE_NAME: n.name,
      METALLB_NODE_NAME: n.name,
      METALLB_NAMESPACE: MOORING_NS,
      METALLB_ML_NAMESPACE: MOORING_NS,
      NATS_URL: servers,
      NATS_SERVERS: servers,
      NATS_USER: u.user,
      NATS_PASSWORD_FILE: this.natsPassFile(i),
      NATS_CLUSTER,
      MOORING_INTERFACE: 'eth0',
    };
  }

  /** A file holding node i's NATS password (mode 0600, removed at cleanup). */
  natsPassFile(i: number): string {
    const n = NET.nodes[i];
    const u = this.natsUsers[i];
    if (!n || !u) throw new RangeError(`no node ${i}`);
    const f = join(this.dir, `${n.name}.nats-pass`);
    writeFileSync(f, u.password, { mode: 0o600 });
    return f;
  }

  /**
   * Flags of src/bin/speaker.ts on node i (NATS cluster name and credentials of this lab). The
   * lab's speakers detect a dead peer after 200 ms × 5 (the product default is 100 ms × 3): on a
   * shared 2-core CI machine a starved process can miss 300 ms of heartbeats, and these tests are
   * about behaviour, not failover time (bench:failover measures that with the default).
   */
  speakerArgs(i: number): string[] {
    const hb = this.o.heartbeat ?? { interval: '200ms', misses: 5 };
    return [
      '--cluster',
      NATS_CLUSTER,
      '--nats-pass-file',
      this.natsPassFile(i),
      '--metrics-host',
      NET.nodes[i]?.v4 ?? '127.0.0.1',
      '--heartbeat-interval',
      hb.interval,
      '--heartbeat-misses',
      String(hb.misses),
    ];
  }

  /**
   * The FRR backend on node i: FRR (zebra, bgpd, bfdd) in the node's namespace with a vty directory
   * of its own (started once, killed by PID at cleanup), and the speaker flags that drive it.
   */
  frrBackendArgs(i: number): string[] {
    const ns = this.nodes[i];
    if (!ns) throw new RangeError(`no node ${i}`);
    const frr = (this.nodeFrr[i] ??= Frr.start(this.lab, ns, '', { bfdd: true }));
    return ['--bgp-backend', 'frr', '--frr-vty-socket', frr.dir, '--frr-state-dir', join(this.dir, `frr-state-${i}`)];
  }

  /** Environment of the controller: its ServiceAccount kubeconfig. */
  controllerEnv(): Record<string, string> {
    return { KUBECONFIG: this.kubeconfigs.controller, METALLB_ML_NAMESPACE: MOORING_NS };
  }

  /**
   * Starts the product: the controller in the control namespace and one speaker per node. With
   * `compiled`, from `npm run build`'s output (dist/, what the image runs) instead of through tsx.
   */
  startMooring(o: { compiled?: boolean; bgpBackend?: 'native' | 'frr' } = {}): { controller: Proc; speakers: Proc[] } {
    const run = (ns: Netns, bin: 'controller' | 'speaker', args: string[], env: Record<string, string>, name: string) =>
      o.compiled ? this.spawnImage(ns, bin, args, env, name) : this.spawn(ns, `src/bin/${bin}.ts`, args, env, name);
    const controller = run(this.ctl, 'controller', [], this.controllerEnv(), 'controller');
    const speakers = this.nodes.map((ns, i) =>
      run(
        ns,
        'speaker',
        [...this.speakerArgs(i), ...(o.bgpBackend === 'frr' ? this.frrBackendArgs(i) : [])],
        this.nodeEnv(i),
        `speaker-${NET.nodes[i]?.name ?? i}`,
      ),
    );
    return { controller, speakers };
  }

  /** Starts a component the way the image does: `bin/mooring <component>` with MOORING_DIST=1 (dist/, its node flags). */
  spawnImage(
    ns: Netns,
    component: 'controller' | 'speaker',
    args: string[] = [],
    env: Record<string, string> = {},
    name: string = component,
  ): Proc {
    const p = ns.spawn(resolve(REPO, 'bin/mooring'), [component, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, MOORING_DIST: '1' },
    });
    const proc = new Proc(name, p);
    this.procs.push(proc);
    return proc;
  }

  /** Starts a JavaScript entry point (path relative to the repo) with plain node inside `ns`. */
  spawnJs(ns: Netns, script: string, args: string[] = [], env: Record<string, string> = {}, name = `${ns.name}:${script}`): Proc {
    const p = ns.spawn(process.execPath, [resolve(REPO, script), ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const proc = new Proc(name, p);
    this.procs.push(proc);
    return proc;
  }

  /**
   * Starts a TypeScript entry point (path relative to the repo) with tsx inside `ns` with `env`
   * added to this process's environment. Killed by PID at cleanup; `Proc.kill()` before that.
   */
  spawn(
    ns: Netns,
    script: string,
    args: string[] = [],
    env: Record<string, string> = {},
    name = `${ns.name}:${script}`,
    stdin: 'ignore' | 'pipe' = 'ignore',
  ): Proc {
    const p = ns.spawn(process.execPath, ['--import', 'tsx', resolve(REPO, script), ...args], {
      cwd: REPO,
      stdio: [stdin, 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const proc = new Proc(name, p);
    this.procs.push(proc);
    return proc;
  }

  /** Runs a TypeScript file to completion inside `ns` (test/lib/kube.ts `runTs`). */
  run(ns: Netns, script: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs?: number): Promise<RunResult> {
    return runTs(ns, resolve(REPO, script), args, env, timeoutMs);
  }

  // -- Kubernetes helpers (admin) ------------------------------------------------------------

  /** Creates a Service of type LoadBalancer; `status` is written through /status when given. */
  async createLbService(
    namespace: string,
    name: string,
    spec: Record<string, unknown> = {},
    opts: { annotations?: Record<string, string>; labels?: Record<string, string>; status?: Record<string, unknown> } = {},
  ): Promise<KObject> {
    await this.ensureNamespace(namespace);
    const a = await this.admin.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, annotations: opts.annotations ?? {}, labels: opts.labels ?? {} },
      spec: {
        type: 'LoadBalancer',
        selector: { app: name },
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
        ...spec,
      },
    });
    if (a.code !== 201) throw new KubeApiError(a.code, `create Service ${namespace}/${name}`, a.body);
    if (!opts.status) return a.body;
    const s = await this.admin.patch(
      { apiVersion: 'v1', kind: 'Service', name, namespace },
      { status: opts.status },
      { subresource: 'status' },
    );
    if (s.code !== 200) throw new KubeApiError(s.code, `status of Service ${namespace}/${name}`, s.body);
    return s.body;
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    const a = await this.admin.delete({ apiVersion: 'v1', kind: 'Service', name, namespace });
    if (a.code !== 200 && a.code !== 404) throw new KubeApiError(a.code, `delete Service ${namespace}/${name}`, a.body);
  }

  /** The Service's `status.loadBalancer.ingress[].ip` (empty while none is assigned). */
  async lbIngress(namespace: string, name: string): Promise<string[]> {
    const s = await this.admin.read<{ status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }>({
      apiVersion: 'v1',
      kind: 'Service',
      name,
      namespace,
    });
    return (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
  }

  /** Waits until the Service has `count` ingress IPs (the controller allocated) and returns them. */
  waitLbIngress(namespace: string, name: string, count = 1, timeoutMs = 30_000): Promise<string[]> {
    return waitFor(
      `Service ${namespace}/${name} to get ${count} ingress IP(s)`,
      async () => {
        const ips = await this.lbIngress(namespace, name);
        return ips.length >= count ? ips : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /**
   * An EndpointSlice for Service `service` with one ready endpoint per entry, on the given node
   * (ETP=Local needs `nodeName`). There are no pods: addresses are only data for the speaker.
   */
  async createEndpointSlice(
    namespace: string,
    service: string,
    endpoints: Array<{ ip: string; node: string; ready?: boolean; serving?: boolean; terminating?: boolean }>,
    name = `${service}-${Math.random().toString(36).slice(2, 7)}`,
  ): Promise<KObject> {
    const v6 = endpoints.some((e) => e.ip.includes(':'));
    const a = await this.admin.create({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace,
        labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'mooring-e2e' },
      },
      addressType: v6 ? 'IPv6' : 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: endpoints.map((e) => ({
        addresses: [e.ip],
        nodeName: e.node,
        conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      })),
    });
    if (a.code !== 201) throw new KubeApiError(a.code, `create EndpointSlice ${namespace}/${name}`, a.body);
    return a.body;
  }

  /** ServiceL2Status objects of a Service (MetalLB labels them with the service name and namespace). */
  async l2Statuses(namespace: string, service: string): Promise<KObject[]> {
    return (await this.admin.items('metallb.io/v1beta1', 'ServiceL2Status', { namespace: MOORING_NS })).filter((s) =>
      matchesService(s, namespace, service),
    );
  }

  /** ServiceBGPStatus objects of a Service (one per announcing node). */
  async bgpStatuses(namespace: string, service: string): Promise<KObject[]> {
    return (await this.admin.items('metallb.io/v1beta1', 'ServiceBGPStatus', { namespace: MOORING_NS })).filter((s) =>
      matchesService(s, namespace, service),
    );
  }

  /** Events whose involvedObject/regarding is the named object (core/v1 Events). */
  async events(namespace: string, kind: string, name: string): Promise<Array<Record<string, unknown>>> {
    const evs = await this.admin.items<{ involvedObject?: { kind?: string; name?: string } } & Record<string, unknown>>('v1', 'Event', {
      namespace,
    });
    return evs.filter((e) => e.involvedObject?.kind === kind && e.involvedObject?.name === name);
  }

  async ensureNamespace(name: string): Promise<void> {
    const a = await this.admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (a.code !== 201 && a.code !== 409) throw new KubeApiError(a.code, `create Namespace ${name}`, a.body);
  }

  // -- network helpers ------------------------------------------------------------------------

  /**
   * Stands in for kube-proxy in IPVS mode with `strictARP` (what MetalLB's L2 mode asks of a
   * cluster): every node accepts traffic to the pools (`ip route add local <pool> dev lo`) but its
   * kernel never answers ARP/NDP for them (arp_ignore=1, arp_announce=2; NDP only answers for
   * addresses on the receiving interface), so only the speaker's announcements make an IP
   * reachable. A TCP server on port `port` of every node writes the node's name as its first line
   * and then echoes, so a client learns which node it reached and can hold a connection open.
   */
  serveOnNodes(prefixes: readonly string[] = Object.values(NET.pools), port = 80): Proc[] {
    requireTools('socat');
    return this.nodes.map((ns, i) => {
      const n = NET.nodes[i] as LabNode;
      ns.exec('sysctl', [
        '-qw',
        'net.ipv4.conf.all.arp_ignore=1',
        'net.ipv4.conf.all.arp_announce=2',
        'net.ipv4.conf.eth0.arp_ignore=1',
        'net.ipv4.conf.eth0.arp_announce=2',
      ]);
      for (const p of prefixes) ns.exec('ip', [...(p.includes(':') ? ['-6'] : []), 'route', 'replace', 'local', p, 'dev', 'lo']);
      const p = ns.spawn('socat', [`TCP6-LISTEN:${port},ipv6only=0,reuseaddr,fork`, `SYSTEM:echo ${n.name}; exec cat`]);
      const proc = new Proc(`${n.name}:backend`, p);
      this.procs.push(proc);
      return proc;
    });
  }

  /**
   * Opens a TCP connection from `ns` to ip:port and returns the first line (the serving node's
   * name with serveOnNodes), or undefined when nothing answers within `waitS` seconds.
   */
  reach(ns: Netns, ip: string, port = 80, waitS = 2): string | undefined {
    const out = ns.exec(
      'timeout',
      [String(waitS + 1), 'socat', '-t', String(waitS), '-', `TCP:${ip.includes(':') ? `[${ip}]` : ip}:${port},connect-timeout=${waitS}`],
      { allowFail: true, input: '' },
    );
    return out.split('\n')[0]?.trim() || undefined;
  }

  /** A long-lived connection from `ns` (socat); `lines` collects what comes back. */
  connect(ns: Netns, ip: string, port = 80): Conn {
    requireTools('socat');
    const p = ns.spawn('socat', ['-', `TCP:${ip.includes(':') ? `[${ip}]` : ip}:${port},connect-timeout=5`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Conn(new Proc(`conn ${ns.name}->${ip}:${port}`, p));
  }

  /** MAC answering an ARP request for `ip` from the segment client, or undefined. */
  arping(ip: string, waitS = 2): string | undefined {
    const out = this.client.exec('arping', ['-c', '1', '-w', String(waitS), '-I', 'eth0', ip], { allowFail: true });
    return /\[([0-9a-fA-F:]{17})\]/.exec(out)?.[1]?.toLowerCase();
  }

  /** MAC in the Neighbor Advertisement answering a solicitation for `ip` from the segment client. */
  ndisc6(ip: string, waitS = 1): string | undefined {
    const out = this.client.exec('ndisc6', ['-1', '-r', '2', '-w', String(waitS * 1000), ip, 'eth0'], { allowFail: true });
    return /Target link-layer address:\s*([0-9A-Fa-f:]{17})/.exec(out)?.[1]?.toLowerCase();
  }

  /** Next hops of the router's kernel route for `prefix` (sorted, empty when absent). */
  routerNextHops(prefix: string): string[] {
    const out = this.router.exec('ip', [...(prefix.includes(':') ? ['-6'] : []), 'route', 'show', prefix], { allowFail: true });
    return [...new Set([...out.matchAll(/via (?:inet6 )?([0-9a-f.:]+)/g)].map((m) => m[1] as string))].sort();
  }

  /** `vtysh -c "<cmd> json"` on the router, parsed (undefined if FRR is not running or not JSON). */
  vtyshJson<T = unknown>(cmd: string): T | undefined {
    return this.frr?.json<T>(cmd);
  }

  /** Polls until `fn` returns a truthy value (test/lib/netns.ts `waitFor`). */
  waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
    return waitFor(what, fn, timeoutMs, everyMs);
  }

  /** Output of every product process (for failure messages). */
  dump(): string {
    return this.procs
      .map(
        (p) =>
          `--- ${p.name} (pid ${p.pid}, ${p.alive() ? 'running' : 'exited'})\n${p.tail(40)}\n${p.events
            .slice(-20)
            .map((e) => JSON.stringify(e))
            .join('\n')}`,
      )
      .join('\n');
  }

  /** Stops every process (by PID), the apiserver, NATS, FRR; removes namespaces and files. Idempotent. */
  async cleanup(): Promise<void> {
    for (const k of this.clients.splice(0)) k.close();
    try {
      await this.kube?.destroy();
    } finally {
      try {
        await this.lab.cleanup();
      } finally {
        rmSync(this.dir, { recursive: true, force: true });
      }
    }
  }
}

/** A client connection: `send` a line, `lines` are what the server sent (first: its node name). */
export class Conn {
  constructor(readonly p: Proc) {}
  get lines(): string[] {
    return this.p.text;
  }
  open(): boolean {
    return this.p.alive();
  }
  send(line: string): void {
    this.p.proc.stdin?.write(`${line}\n`);
  }
  /** Sends `line` and waits for its echo (throws if the connection closes or nothing comes back). */
  async roundTrip(line: string, timeoutMs = 5000): Promise<void> {
    const before = this.lines.filter((l) => l === line).length;
    this.send(line);
    await waitFor(
      `echo of ${line}`,
      () => {
        if (!this.open()) throw new Error(`connection closed; got: ${this.lines.join(' | ')}`);
        return this.lines.filter((l) => l === line).length > before;
      },
      timeoutMs,
      20,
    );
  }
  close(): void {
    this.p.proc.stdin?.end();
    this.p.kill('SIGTERM');
  }
}

function matchesService(s: KObject, namespace: string, service: string): boolean {
  const labels = (s.metadata.labels ?? {}) as Record<string, string>;
  const status = (s as { status?: { serviceName?: string; serviceNamespace?: string } }).status;
  const name = labels['metallb.io/service-name'] ?? status?.serviceName;
  const ns = labels['metallb.io/service-namespace'] ?? status?.serviceNamespace;
  return name === service && ns === namespace;
}
