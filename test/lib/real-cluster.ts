// A real Kubernetes cluster for integration tests (docs/real-cluster.md): the e2e lab of
// test/lib/cluster.ts (same namespaces, addresses, FRR router and segment client) with real nodes.
// In the control namespace: the kube-apiserver (test/kube), kube-controller-manager,
// kube-scheduler and CoreDNS. In each node namespace: Debian's containerd + runc, a kubelet that
// registers its own Node, kube-proxy (iptables), and Pod networks from the CNI bridge plugin.
//
//   const rc = await RealCluster.start({ images: [{ path: 'mooring.tar', baseName: 'ghcr.io/mooring/mooring' }] });
//   await rc.kubectl(['apply', '-f', '-'], { input: yaml });
//   await rc.waitPodsReady('default', 'app=web', 3);
//   await rc.stop();                       // every process (by PID), cgroup, mount, namespace, file
//
// Nothing is sent from the root namespace and nothing is added to it: containerd and the kubelet
// run in a private mount namespace per node (entered with nsenter; `ip netns exec` would remount
// /sys and hide the cgroup mounts) with an empty private /run, so every mount they make dies with
// them; cgroups live under /kp-<lab>-<node> in every hierarchy and are removed at stop().
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { Cluster, NET, type KObject, type LabNode } from './cluster.js';
import { GO_CACHE_DIR, ensureGoBuild, hashFiles } from './kube.js';
import { sh, waitFor, type Netns } from './netns.js';
import { requireRoot } from './prereq.js';

const KUBE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'kube');
const NODES_DIR = join(KUBE_DIR, 'nodes');
const COREDNS_DIR = join(KUBE_DIR, 'coredns');

/** Kubernetes version of every binary (test/kube/go.mod); written into them with -ldflags. */
export const KUBE_VERSION = 'v1.37.2';
const LDFLAGS = [
  `-X k8s.io/component-base/version.gitVersion=${KUBE_VERSION}`,
  `-X k8s.io/component-base/version.gitMajor=1`,
  `-X k8s.io/component-base/version.gitMinor=37`,
  `-X k8s.io/component-base/version.gitTreeState=clean`,
].join(' ');

/** Addresses the real cluster adds to the e2e lab's NET (docs/real-cluster.md). */
export const REAL = {
  /** CoreDNS listens here, in the control namespace (on the segment). */
  coredns: '203.0.113.6',
  /** Service cluster IP ranges (the apiserver wrapper's --service-cidrs): inside the lab's ranges. */
  serviceCidrs: ['203.0.113.192/26', '2001:db8:ffff::/108'],
  /** ClusterIP of the `kubernetes` Service (first of the range). */
  kubernetesService: '203.0.113.193',
  /** ClusterIP of kube-system/kube-dns (the kubelets' clusterDNS), backed by CoreDNS. */
  dnsService: '203.0.113.202',
  clusterDomain: 'cluster.local',
  /** Each node's Pod subnet (CNI host-local), routed by the other nodes, ctl and the router. */
  podCidrs: ['198.51.100.32/27', '198.51.100.64/27', '198.51.100.96/27'],
} as const;

/** Images every node has: the sandbox image and a busybox for test Pods (`imagePullPolicy: Never`). */
export const IMAGES = { pause: 'registry.k8s.io/pause:3.10', busybox: 'mooring.test/busybox:1' } as const;

export interface ClusterImage {
  /** An OCI image archive (tar of an OCI layout, e.g. `npm run image`'s output) or a docker-archive. */
  path: string;
  /**
   * `ctr images import --base-name`: the repository the archive's `org.opencontainers.image.ref.name`
   * tag is appended to (e.g. 'ghcr.io/mooring/mooring' + '0.1.0'). Omit when the archive names
   * its images fully.
   */
  baseName?: string;
}

export interface RealClusterOptions {
  /** Node count (1–3, the lab's n1..n3); default 3. */
  nodes?: number;
  /** OCI archives imported into every node before its kubelet starts. */
  images?: ClusterImage[];
  /** Start FRR in the router (default true: BGP tests need it). */
  frr?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface ClusterBinaries {
  kubelet: string;
  kubeScheduler: string;
  kubeControllerManager: string;
  kubeProxy: string;
  kubectl: string;
  coredns: string;
  /** OCI archives of IMAGES.pause and IMAGES.busybox. */
  pauseTar: string;
  busyboxTar: string;
}

const NODE_COMMANDS = ['kubelet', 'kube-scheduler', 'kube-controller-manager', 'kube-proxy', 'kubectl'] as const;

/**
 * Builds (once; cached in ~/.cache/mooring under a hash of the Go module files and flags) the node
 * binaries, CoreDNS, and the pause and busybox images. Go builds hold `flock /tmp/mooring-go.lock`.
 */
export async function ensureClusterBinaries(log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<ClusterBinaries> {
  const nodesDir = join(GO_CACHE_DIR, `nodes-${hashFiles(NODES_DIR, ['go.mod', 'go.sum', 'tools.go'], [LDFLAGS])}`);
  const bins: Record<string, string> = {};
  for (const c of NODE_COMMANDS) {
    bins[c] = await ensureGoBuild(
      { label: c, moduleDir: NODES_DIR, pkg: `k8s.io/kubernetes/cmd/${c}`, out: join(nodesDir, c), ldflags: LDFLAGS },
      log,
    );
  }
  const coredns = await ensureGoBuild(
    {
      label: 'coredns',
      moduleDir: COREDNS_DIR,
      pkg: '.',
      out: join(GO_CACHE_DIR, `coredns-${hashFiles(COREDNS_DIR, ['go.mod', 'go.sum', 'main.go'])}`, 'coredns'),
    },
    log,
  );
  const imgKey = hashFiles(
    NODES_DIR,
    ['go.mod', 'pause/main.go'],
    [createHash('sha256').update(readFileSync('/bin/busybox')).digest('hex'), 'images-v1'],
  );
  const imgDir = join(GO_CACHE_DIR, `images-${imgKey}`);
  const pause = await ensureGoBuild(
    {
      label: 'pause',
      moduleDir: NODES_DIR,
      pkg: './pause',
      out: join(imgDir, 'pause'),
      ldflags: '-s -w',
      env: { CGO_ENABLED: '0' },
    },
    log,
  );
  const pauseTar = join(imgDir, 'pause.tar');
  const busyboxTar = join(imgDir, 'busybox.tar');
  if (!existsSync(pauseTar) || !existsSync(busyboxTar)) buildBaseImages(pause, imgDir, log);
  return {
    kubelet: bins.kubelet as string,
    kubeScheduler: bins['kube-scheduler'] as string,
    kubeControllerManager: bins['kube-controller-manager'] as string,
    kubeProxy: bins['kube-proxy'] as string,
    kubectl: bins.kubectl as string,
    coredns,
    pauseTar,
    busyboxTar,
  };
}

/** The pause image (the Go program) and a busybox image (Debian's busybox-static), with umoci. */
function buildBaseImages(pauseBin: string, outDir: string, log: (s: string) => void): void {
  for (const [tool, pkg] of [
    ['umoci', 'umoci'],
    ['busybox', 'busybox-static'],
  ] as const) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`missing test prerequisite: ${tool}; install with: apt-get install -y ${pkg} (or scripts/install-deps.sh)`);
  }
  const t0 = Date.now();
  const w = mkdtempSync(join(tmpdir(), 'mooring-images-'));
  try {
    const um = (...args: string[]) => sh('umoci', args);
    const image = (name: string, tag: string, fill: (rootfs: string) => void, config: string[]): string => {
      const layout = join(w, name);
      const ref = `${layout}:${tag}`;
      const b = join(w, `${name}-bundle`);
      um('init', '--layout', layout);
      um('new', '--image', ref);
      um('unpack', '--image', ref, b);
      fill(join(b, 'rootfs'));
      um('repack', '--image', ref, b);
      rmSync(b, { recursive: true, force: true });
      um('config', '--image', ref, ...config);
      um('gc', '--layout', layout);
      const tar = join(w, `${name}.tar`);
      sh('tar', ['-C', layout, '-cf', tar, '.']);
      return tar;
    };
    const pauseTar = image(
      'pause',
      '3.10',
      (r) => {
        sh('cp', [pauseBin, join(r, 'pause')]);
      },
      ['--config.entrypoint', '/pause', '--config.user', '65535:65535'],
    );
    const busyboxTar = image(
      'busybox',
      '1',
      (r) => {
        for (const d of ['bin', 'tmp', 'etc']) mkdirSync(join(r, d), { recursive: true });
        sh('cp', ['/bin/busybox', join(r, 'bin', 'busybox')]);
        sh('chroot', [r, '/bin/busybox', '--install', '-s', '/bin']);
      },
      ['--config.cmd', '/bin/sh'],
    );
    mkdirSync(outDir, { recursive: true });
    renameSync(pauseTar, join(outDir, 'pause.tar'));
    renameSync(busyboxTar, join(outDir, 'busybox.tar'));
    log(`kube: built the pause and busybox images in ${((Date.now() - t0) / 1000).toFixed(1)} s (${outDir})`);
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (asynchronously: the event loop keeps serving other waits). */
function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    p.on('error', fail);
    p.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}

/** One node's processes and state. */
export interface RealNode {
  readonly name: string;
  readonly ip: string;
  readonly netns: Netns;
  /** State directory (containerd root/state, kubelet root, Pod logs, logs of every process). */
  readonly dir: string;
  /** Pod subnet of this node. */
  readonly podCidr: string;
  /** cgroup root of the kubelet (`/kp-<lab>-<node>`), in every hierarchy. */
  readonly cgroup: string;
  /** containerd's socket (for `ctr -a`). */
  readonly sock: string;
  containerd?: ChildProcess;
  kubelet?: ChildProcess;
  kubeProxy?: ChildProcess;
  /** containerd's mount namespace (`mnt:[inode]`), recorded at start for the cleanup. */
  mntNs?: string;
}

const HIERARCHIES = ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids', 'systemd', 'unified'];

export class RealCluster {
  readonly nodes: RealNode[] = [];
  private readonly others: ChildProcess[] = [];
  private stopped = false;
  /** Milliseconds from start() to every Node Ready (and CoreDNS answering). */
  startupMs = 0;

  private constructor(
    /** The e2e lab underneath: namespaces, apiserver, admin client, FRR, helpers (test/lib/cluster.ts). */
    readonly lab: Cluster,
    readonly bin: ClusterBinaries,
    /** Files of this cluster (certificates, configs, node state); removed by stop(). */
    readonly dir: string,
    private readonly log: (s: string) => void,
  ) {}

  /** Builds (cached) and starts everything; resolves once every Node is Ready and cluster DNS answers. On failure it cleans up and rethrows. */
  static async start(o: RealClusterOptions = {}): Promise<RealCluster> {
    requireRoot();
    for (const [tool, pkg] of [
      ['containerd', 'containerd'],
      ['runc', 'runc'],
      ['ctr', 'containerd'],
      ['nsenter', 'util-linux'],
      ['iptables', 'iptables'],
      ['conntrack', 'conntrack'],
      ['openssl', 'openssl'],
      ['curl', 'curl'],
    ] as const) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
        throw new Error(
          `missing test prerequisite: ${tool}; install with: apt-get install -y ${pkg} (or run scripts/install-deps.sh as root)`,
        );
    }
    if (!existsSync('/usr/lib/cni/bridge'))
      throw new Error('missing test prerequisite: /usr/lib/cni/bridge; install with: apt-get install -y containernetworking-plugins');
    const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
    const reaped = await reapStale();
    if (reaped.length) log(`real-cluster: removed ${reaped.length} cluster(s) left by a killed test process: ${reaped.join(' ')}`);
    const bin = await ensureClusterBinaries(log);
    const t0 = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'mooring-real-'));
    let rc: RealCluster | undefined;
    try {
      const pki = join(dir, 'api', 'pki');
      mkdirSync(pki, { recursive: true });
      makeCa(pki);
      const kubeletClient = issue(pki, 'kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client');
      const lab = await Cluster.start({
        noNats: true,
        noFrr: o.frr === false,
        noBootstrap: true,
        kube: {
          dataDir: join(dir, 'api'),
          wrapperArgs: ['--service-cidrs', REAL.serviceCidrs.join(',')],
          extraArgs: [
            '--endpoint-reconciler-type=lease',
            `--kubelet-client-certificate=${kubeletClient.crt}`,
            `--kubelet-client-key=${kubeletClient.key}`,
            '--kubelet-preferred-address-types=InternalIP',
            // Webhooks and aggregated APIs are called at an endpoint (a Pod IP, routed from ctl),
            // not at the Service's ClusterIP: ctl runs no kube-proxy.
            '--enable-aggregator-routing=true',
            '--enable-admission-plugins=NodeRestriction',
          ],
        },
      });
      rc = new RealCluster(lab, bin, dir, log);
      rc.writeOwner();
      log(`real-cluster: apiserver ready after ${((Date.now() - t0) / 1000).toFixed(1)} s (lab ${lab.lab.id}, state ${dir})`);
      await rc.boot(o);
      rc.startupMs = Date.now() - t0;
      log(`real-cluster: ${rc.nodes.length} Nodes Ready, cluster DNS answering after ${(rc.startupMs / 1000).toFixed(1)} s`);
      return rc;
    } catch (e) {
      if (rc) await rc.stop().catch(() => undefined);
      else rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get ctl(): Netns {
    return this.lab.ctl;
  }
  /** Admin kubeconfig (system:masters token). */
  get kubeconfig(): string {
    return this.lab.kube.kubeconfigPath;
  }

  private async boot(o: RealClusterOptions): Promise<void> {
    const { lab } = this;
    const count = Math.max(1, Math.min(o.nodes ?? 3, NET.nodes.length));
    // Routes: Pod subnets via their node, from ctl (apiserver → webhooks, kubectl exec), the
    // router and the other nodes; cluster IPs through eth0 (kube-proxy translates them).
    lab.ctl.exec('ip', ['addr', 'add', `${REAL.coredns}/26`, 'dev', 'eth0']);
    for (let i = 0; i < count; i++) {
      const via = (NET.nodes[i] as LabNode).v4;
      const cidr = REAL.podCidrs[i] as string;
      for (const ns of [lab.ctl, lab.router, ...lab.nodes.filter((_, j) => j !== i)]) ns.exec('ip', ['route', 'add', cidr, 'via', via]);
      lab.nodes[i]?.exec('ip', ['route', 'add', REAL.serviceCidrs[0], 'dev', 'eth0']);
    }
    const api = lab.kube;
    const pki = join(api.dataDir, 'pki');
    // Control plane: kube-controller-manager, kube-scheduler, CoreDNS (ctl).
    this.others.push(
      this.spawnLogged(lab.ctl, this.bin.kubeControllerManager, 'kube-controller-manager', [
        `--kubeconfig=${api.kubeconfigPath}`,
        '--leader-elect=false',
        '--controllers=*',
        `--root-ca-file=${join(pki, 'ca.crt')}`,
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        '--use-service-account-credentials=false',
        '--bind-address=127.0.0.1',
        '--secure-port=0',
      ]),
      this.spawnLogged(lab.ctl, this.bin.kubeScheduler, 'kube-scheduler', [
        `--kubeconfig=${api.kubeconfigPath}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--secure-port=0',
      ]),
    );
    const corefile = join(this.dir, 'Corefile');
    writeFileSync(
      corefile,
      [
        '.:53 {',
        `  bind ${REAL.coredns}`,
        '  errors',
        '  health 127.0.0.1:8080',
        '  ready 127.0.0.1:8181',
        `  kubernetes ${REAL.clusterDomain} in-addr.arpa ip6.arpa {`,
        `    kubeconfig ${api.kubeconfigPath} mooring-test`,
        '    pods insecure',
        '    fallthrough in-addr.arpa ip6.arpa',
        '  }',
        '  cache 5',
        '  loadbalance',
        '}',
        '',
      ].join('\n'),
    );
    this.others.push(this.spawnLogged(lab.ctl, this.bin.coredns, 'coredns', ['-conf', corefile]));
    // Nodes, in parallel.
    for (let i = 0; i < count; i++) this.nodes.push(this.prepareNode(i));
    this.writeOwner();
    try {
      await Promise.all(this.nodes.map((n) => this.startNode(n, o.images ?? [])));
    } finally {
      this.writeOwner();
    }
    // kube-system/kube-dns: the ClusterIP every Pod's resolv.conf names, backed by CoreDNS in ctl.
    await this.apply([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
        spec: {
          clusterIP: REAL.dnsService,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          ],
        },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kube-dns-coredns',
          namespace: 'kube-system',
          labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'mooring-real-cluster' },
        },
        addressType: 'IPv4',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
        endpoints: [{ addresses: [REAL.coredns], conditions: { ready: true } }],
      },
    ]);
    await this.waitNodesReady();
    await waitFor(
      'CoreDNS ready (kubernetes plugin synced)',
      () => {
        this.assertRunning();
        return lab.ctl.exec('curl', ['-sf', '-m', '2', 'http://127.0.0.1:8181/ready'], { allowFail: true }).trim() === 'OK';
      },
      120_000,
      200,
    );
    await this.waitServiceAccount('default');
  }

  /** Records what a later start must remove should this process die without stop() (reapStale). */
  private writeOwner(): void {
    const owner: OwnerFile = {
      pid: process.pid,
      lab: this.lab.lab.id,
      cgroups: this.nodes.map((n) => n.cgroup),
      mntNs: this.nodes.flatMap((n) => (n.mntNs ? [n.mntNs] : [])),
    };
    writeFileSync(join(this.dir, OWNER_FILE), JSON.stringify(owner));
  }

  private spawnLogged(ns: Netns, bin: string, name: string, args: string[]): ChildProcess {
    const fd = openSync(join(this.dir, `${name}.log`), 'a');
    try {
      return ns.spawn(bin, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
  }

  private prepareNode(i: number): RealNode {
    const n = NET.nodes[i] as LabNode;
    const netns = this.lab.nodes[i] as Netns;
    const dir = join(this.dir, n.name);
    const podCidr = REAL.podCidrs[i] as string;
    const cgroup = `kp-${this.lab.lab.id}-${n.name}`;
    const sock = join(dir, 'containerd', 'containerd.sock');
    for (const d of ['containerd', 'cni/net.d', 'cni/ipam', 'kubelet', 'pod-logs']) mkdirSync(join(dir, d), { recursive: true });
    const pki = join(this.lab.kube.dataDir, 'pki');
    const cert = issue(pki, `node-${n.name}`, `/O=system:nodes/CN=system:node:${n.name}`);
    writeFileSync(
      join(dir, 'containerd.toml'),
      `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
oom_score = 0
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${IMAGES.pause}"
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${dir}/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni/net.d"
`,
    );
    writeFileSync(
      join(dir, 'cni/net.d/10-bridge.conflist'),
      JSON.stringify(
        {
          cniVersion: '0.4.0',
          name: 'kp-pods',
          plugins: [
            {
              type: 'bridge',
              bridge: 'cni0',
              isGateway: true,
              ipMasq: false,
              hairpinMode: true,
              ipam: { type: 'host-local', dataDir: `${dir}/cni/ipam`, ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
            },
            { type: 'portmap', capabilities: { portMappings: true } },
          ],
        },
        null,
        2,
      ),
    );
    // The node's own resolver: the router (it serves no DNS; node names are not cluster names).
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${NET.router.seg4}\n`);
    writeFileSync(
      join(dir, 'kubelet.yaml'),
      JSON.stringify(
        {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          failCgroupV1: false,
          cgroupDriver: 'cgroupfs',
          cgroupRoot: `/${cgroup}`,
          cgroupsPerQOS: true,
          failSwapOn: false,
          containerRuntimeEndpoint: `unix://${sock}`,
          address: n.v4,
          port: 10250,
          readOnlyPort: 0,
          healthzBindAddress: '127.0.0.1',
          healthzPort: 10248,
          authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: join(pki, 'ca.crt') } },
          authorization: { mode: 'AlwaysAllow' },
          clusterDomain: REAL.clusterDomain,
          clusterDNS: [REAL.dnsService],
          resolvConf: join(dir, 'resolv.conf'),
          podLogsDir: join(dir, 'pod-logs'),
          registerNode: true,
          serializeImagePulls: false,
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
          localStorageCapacityIsolation: false,
          protectKernelDefaults: false,
        },
        null,
        2,
      ),
    );
    const api = this.lab.kube;
    writeFileSync(
      join(dir, 'kubeconfig'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'node',
        clusters: [{ name: 'lab', cluster: { server: api.url, 'certificate-authority': join(pki, 'ca.crt') } }],
        users: [{ name: `system:node:${n.name}`, user: { 'client-certificate': cert.crt, 'client-key': cert.key } }],
        contexts: [{ name: 'node', context: { cluster: 'lab', user: `system:node:${n.name}` } }],
      }),
      { mode: 0o600 },
    );
    writeFileSync(
      join(dir, 'kube-proxy.yaml'),
      JSON.stringify(
        {
          apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
          kind: 'KubeProxyConfiguration',
          clientConnection: { kubeconfig: api.kubeconfigPath },
          hostnameOverride: n.name,
          bindAddress: n.v4,
          mode: 'iptables',
          // Pod traffic is what comes from the CNI bridge (the lab's 198.51.100.0/24 also holds
          // the external client).
          detectLocalMode: 'BridgeInterface',
          detectLocal: { bridgeInterface: 'cni0' },
          // Touch no global sysctl (nf_conntrack_max is per host).
          conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
          metricsBindAddress: '127.0.0.1:10249',
          healthzBindAddress: '127.0.0.1:10256',
        },
        null,
        2,
      ),
    );
    // The kubelet refuses to create its cgroup root: create it in every hierarchy (cpuset seeded).
    for (const h of HIERARCHIES.filter((x) => x !== 'unified')) mkdirSync(`/sys/fs/cgroup/${h}/${cgroup}`, { recursive: true });
    for (const f of ['cpuset.cpus', 'cpuset.mems'])
      writeFileSync(`/sys/fs/cgroup/cpuset/${cgroup}/${f}`, readFileSync(`/sys/fs/cgroup/cpuset/${f}`, 'utf8'));
    return { name: n.name, ip: n.v4, netns, dir, podCidr, cgroup, sock };
  }

  private async startNode(n: RealNode, images: ClusterImage[]): Promise<void> {
    const t0 = Date.now();
    const nsPath = `/run/netns/${n.netns.name}`;
    // containerd in a new mount namespace (slave: nothing propagates back to the host) with an
    // empty private /run (shim sockets, CNI netns files, libmount's /run/mount stay private).
    n.containerd = this.spawnNode(n, 'containerd', 'nsenter', [
      `--net=${nsPath}`,
      'unshare',
      '-m',
      '--propagation',
      'slave',
      'sh',
      '-c',
      `mount -n -t tmpfs -o mode=755 ${n.cgroup}-run /run && exec containerd --config ${join(n.dir, 'containerd.toml')}`,
    ]);
    await waitFor(
      `${n.name}: containerd socket`,
      () => {
        if (n.containerd?.exitCode !== null) throw new Error(`containerd exited: ${tail(join(n.dir, 'containerd.log'))}`);
        return existsSync(n.sock);
      },
      60_000,
      50,
    );
    n.mntNs = readlinkSync(`/proc/${n.containerd.pid}/ns/mnt`);
    await this.importImages(n, [
      { path: this.bin.pauseTar, baseName: 'registry.k8s.io/pause' },
      { path: this.bin.busyboxTar, baseName: 'mooring.test/busybox' },
      ...images,
    ]);
    // The kubelet joins containerd's mount namespace: it mounts volumes (ServiceAccount tokens,
    // Secrets) under its root dir, and containerd must see them to bind them into containers.
    n.kubelet = this.spawnNode(n, 'kubelet', 'nsenter', [
      `--mount=/proc/${n.containerd.pid}/ns/mnt`,
      `--net=${nsPath}`,
      this.bin.kubelet,
      `--config=${join(n.dir, 'kubelet.yaml')}`,
      `--kubeconfig=${join(n.dir, 'kubeconfig')}`,
      `--root-dir=${join(n.dir, 'kubelet')}`,
      `--hostname-override=${n.name}`,
      `--node-ip=${n.ip}`,
      '--v=1',
    ]);
    n.kubeProxy = this.spawnNode(n, 'kube-proxy', 'nsenter', [
      `--net=${nsPath}`,
      this.bin.kubeProxy,
      `--config=${join(n.dir, 'kube-proxy.yaml')}`,
    ]);
    this.log(`real-cluster: ${n.name}: containerd up, images imported, kubelet started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  private spawnNode(n: RealNode, name: string, cmd: string, args: string[]): ChildProcess {
    const fd = openSync(join(n.dir, `${name}.log`), 'a');
    try {
      const p = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
      this.lab.lab.adopt(p);
      return p;
    } finally {
      closeSync(fd);
    }
  }

  /** Imports OCI archives into a node's containerd (`ctr -n k8s.io images import`). */
  async importImages(n: RealNode, images: ClusterImage[]): Promise<void> {
    for (const img of images) {
      const r = await run(
        'nsenter',
        [
          `--net=/run/netns/${n.netns.name}`,
          'ctr',
          '-a',
          n.sock,
          '-n',
          'k8s.io',
          'images',
          'import',
          ...(img.baseName ? ['--base-name', img.baseName] : []),
          img.path,
        ],
        { timeoutMs: 300_000 },
      );
      if (r.code !== 0) throw new Error(`${n.name}: ctr images import ${img.path} failed (${r.code}): ${r.stderr.trim()}`);
    }
  }

  /** Imports OCI archives into every node (e.g. a new image tag before a rolling update). */
  async importImage(img: ClusterImage): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.importImages(n, [img])));
  }

  /** Tags an image already in every node's containerd under another reference (`ctr images tag --force`). */
  async tagImage(from: string, to: string): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const r = await run('nsenter', [
          `--net=/run/netns/${n.netns.name}`,
          'ctr',
          '-a',
          n.sock,
          '-n',
          'k8s.io',
          'images',
          'tag',
          '--force',
          from,
          to,
        ]);
        if (r.code !== 0) throw new Error(`${n.name}: ctr images tag ${from} ${to} failed (${r.code}): ${r.stderr.trim()}`);
      }),
    );
  }

  /** Image references each node's containerd holds (k8s.io namespace). */
  async nodeImages(n: RealNode): Promise<string[]> {
    const r = await run('nsenter', [`--net=/run/netns/${n.netns.name}`, 'ctr', '-a', n.sock, '-n', 'k8s.io', 'images', 'ls', '-q']);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** Throws (with the log tail) when a cluster process has exited. */
  assertRunning(): void {
    for (const n of this.nodes) {
      for (const [name, p] of [
        ['containerd', n.containerd],
        ['kubelet', n.kubelet],
        ['kube-proxy', n.kubeProxy],
      ] as const) {
        if (p && (p.exitCode !== null || p.signalCode !== null))
          throw new Error(`${n.name}: ${name} exited (${p.exitCode ?? p.signalCode}):\n${tail(join(n.dir, `${name}.log`))}`);
      }
    }
    for (const [i, name] of ['kube-controller-manager', 'kube-scheduler', 'coredns'].entries()) {
      const p = this.others[i];
      if (p && (p.exitCode !== null || p.signalCode !== null))
        throw new Error(`${name} exited (${p.exitCode ?? p.signalCode}):\n${tail(join(this.dir, `${name}.log`))}`);
    }
  }

  /**
   * Every live process of the cluster by role: `apiserver`, `kube-controller-manager`,
   * `kube-scheduler`, `coredns`, and per node `<node>/containerd`, `<node>/kubelet`,
   * `<node>/kube-proxy`, `<node>/shim` (containerd-shim-runc-v2) and `<node>/pod` (containers and
   * pause, from the node's cgroups).
   */
  processes(): Array<{ role: string; pid: number }> {
    const out: Array<{ role: string; pid: number }> = [];
    const add = (role: string, pid: number | undefined) => {
      if (pid !== undefined && alive(pid)) out.push({ role, pid });
    };
    add('apiserver', this.lab.kube.pid);
    for (const [i, name] of ['kube-controller-manager', 'kube-scheduler', 'coredns'].entries()) add(name, this.others[i]?.pid);
    for (const n of this.nodes) {
      add(`${n.name}/containerd`, n.containerd?.pid);
      add(`${n.name}/kubelet`, n.kubelet?.pid);
      add(`${n.name}/kube-proxy`, n.kubeProxy?.pid);
      const pods = new Set(cgroupPids(`/sys/fs/cgroup/pids/${n.cgroup}`));
      for (const pid of n.mntNs ? pidsInMountNs(n.mntNs) : []) {
        if (pid === n.containerd?.pid || pid === n.kubelet?.pid || pods.has(pid)) continue;
        let comm: string;
        try {
          comm = readFileSync(`/proc/${pid}/comm`, 'utf8');
        } catch {
          continue; // exited meanwhile
        }
        if (comm.startsWith('containerd-shim')) add(`${n.name}/shim`, pid);
      }
      for (const pid of pods) add(`${n.name}/pod`, pid);
    }
    return out;
  }

  // -- clients ---------------------------------------------------------------------------------

  /** kubectl (the cluster's own build) as admin, from the control namespace. Never rejects on a non-zero exit. */
  kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.ctl.name, this.bin.kubectl, `--kubeconfig=${this.kubeconfig}`, ...args], opts);
  }

  /** kubectl that throws with its stderr on failure and resolves with stdout. */
  async kubectlOk(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Server-side apply (the e2e lab's admin client: CRDs wait for Established). */
  apply(objects: KObject[] | string): Promise<string[]> {
    return this.lab.admin.apply(objects);
  }

  /** Creates a namespace and waits for its `default` ServiceAccount (Pods are refused before it exists). */
  async ensureNamespace(name: string): Promise<void> {
    await this.lab.ensureNamespace(name);
    await this.waitServiceAccount(name);
  }

  private waitServiceAccount(namespace: string): Promise<unknown> {
    return waitFor(
      `ServiceAccount ${namespace}/default`,
      async () => {
        this.assertRunning();
        return this.lab.admin.read({ apiVersion: 'v1', kind: 'ServiceAccount', namespace, name: 'default' });
      },
      60_000,
      100,
    );
  }

  // -- waits (conditions, never time) ------------------------------------------------------------

  /** Every node's Node object Ready and without the not-ready/unreachable taints. */
  waitNodesReady(timeoutMs = 120_000): Promise<KObject[]> {
    return waitFor(
      `${this.nodes.length} Nodes Ready`,
      async () => {
        this.assertRunning();
        const nodes = await this.lab.admin.items<NodeObject>('v1', 'Node');
        const ready = nodes.filter(
          (x) =>
            x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
            !(x.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/')),
        );
        return ready.length >= this.nodes.length ? (nodes as unknown as KObject[]) : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /** Waits until `count` Pods matching the selector are Ready (returns them). */
  waitPodsReady(namespace: string, labelSelector: string, count: number, timeoutMs = 120_000): Promise<PodObject[]> {
    return waitFor(
      `${count} Pods Ready in ${namespace} (${labelSelector})`,
      async () => {
        this.assertRunning();
        const pods = await this.lab.admin.items<PodObject>('v1', 'Pod', { namespace, labelSelector });
        const ready = pods.filter(
          (p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length >= count ? ready : undefined;
      },
      timeoutMs,
      100,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await this.describePods(namespace)}`);
    });
  }

  /** Pods of a namespace with phase, node, IP and container states (for failure messages). */
  async describePods(namespace: string): Promise<string> {
    const r = await this.kubectl(['get', 'pods', '-n', namespace, '-o', 'wide']);
    const ev = await this.kubectl(['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp']);
    return `${r.stdout}${r.stderr}\nevents:\n${ev.stdout.split('\n').slice(-15).join('\n')}`;
  }

  /** Logs of every node process and the control plane, last lines each (for failure messages). */
  dump(lines = 20): string {
    const files = [
      ...['kube-controller-manager', 'kube-scheduler', 'coredns'].map((n) => join(this.dir, `${n}.log`)),
      ...this.nodes.flatMap((n) => ['containerd', 'kubelet', 'kube-proxy'].map((x) => join(n.dir, `${x}.log`))),
    ];
    return files.map((f) => `--- ${f}\n${tail(f, lines)}`).join('\n');
  }

  // -- teardown ----------------------------------------------------------------------------------

  /**
   * Stops everything, in order, by PID: per node kube-proxy, the kubelet, every process in its
   * cgroups (containers), containerd, then any process left in containerd's mount namespace (the
   * shims); removes the node cgroups (every hierarchy, deepest first); then the control plane, the
   * apiserver, the namespaces (test/lib/cluster.ts cleanup) and the state directory. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const errors: string[] = [];
    await Promise.all(
      this.nodes.map((n) =>
        stopNode(n).catch((e: unknown) => {
          errors.push(`${n.name}: ${String(e)}`);
        }),
      ),
    );
    for (const p of this.others) await stopProc(p, 5000);
    try {
      await this.lab.cleanup();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
    if (errors.length) throw new Error(`real-cluster cleanup: ${errors.join('; ')}`);
  }
}

/**
 * node:test hooks for a describe block: `before` starts the cluster, `after` stops it (also when a
 * test failed). Returns a getter for the tests:
 *
 *   describe('install', { timeout: 300_000 }, () => {
 *     const rc = useRealCluster({ images: [...] });
 *     it('…', async () => { await rc().kubectlOk(['apply', '-f', 'deploy/mooring.yaml']); });
 *   });
 *
 * To share ONE cluster between several files, write them as `test/integration/cluster/*.suite.ts`
 * (a default export `(rc: () => RealCluster) => void` that registers its describe blocks):
 * test/integration/cluster/cluster.test.ts starts the cluster once and runs every suite in it.
 */
export function useRealCluster(opts: RealClusterOptions = {}): () => RealCluster {
  let rc: RealCluster | undefined;
  before(async () => {
    rc = await RealCluster.start(opts);
  });
  after(async () => {
    await rc?.stop();
  });
  return () => {
    if (!rc) throw new Error('the real cluster is not running (useRealCluster() registers before/after hooks of the enclosing describe)');
    return rc;
  };
}

/** A file of tests that run in the shared cluster (test/integration/cluster/*.suite.ts). */
export type ClusterSuite = (rc: () => RealCluster) => void;

interface NodeObject {
  metadata: { name: string };
  spec?: { taints?: Array<{ key: string; effect: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}
export interface PodObject {
  metadata: { name: string; namespace: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; hostIP?: string; conditions?: Array<{ type: string; status: string }> };
}

const OWNER_FILE = 'owner.json';
interface OwnerFile {
  /** The test process that started the cluster. */
  pid: number;
  /** Lab id: its namespaces are `<lab>-<role>`. */
  lab: string;
  cgroups: string[];
  /** containerd's mount namespace per node (the shims stay in it). */
  mntNs: string[];
}

/**
 * Removes clusters whose test process died without stop() (SIGKILL, a crash): every process in
 * their namespaces, node cgroups and node mount namespaces (by PID), the cgroups, the namespaces
 * and the state directory. Clusters whose owner is alive are left alone. Returns the lab ids removed.
 */
export async function reapStale(): Promise<string[]> {
  const reaped: string[] = [];
  for (const d of readdirSync(tmpdir()).filter((x) => x.startsWith('mooring-real-'))) {
    const dir = join(tmpdir(), d);
    let o: OwnerFile;
    try {
      o = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as OwnerFile;
    } catch {
      continue;
    }
    if (alive(o.pid)) continue;
    const namespaces = sh('ip', ['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${o.lab}-`));
    const victims = (): number[] =>
      [
        ...namespaces.flatMap((ns) => sh('ip', ['netns', 'pids', ns], { allowFail: true }).split(/\s+/).filter(Boolean).map(Number)),
        ...o.cgroups.flatMap((cg) => cgroupPids(`/sys/fs/cgroup/pids/${cg}`)),
        ...o.mntNs.flatMap((ns) => pidsInMountNs(ns)),
      ].filter((pid) => pid !== process.pid && alive(pid));
    await waitFor(
      `processes of the stale cluster ${o.lab} gone`,
      () => {
        const left = victims();
        for (const pid of left) kill9(pid);
        return left.length === 0;
      },
      20_000,
      50,
    );
    await waitFor(
      `cgroups of the stale cluster ${o.lab} removed`,
      () => {
        for (const cg of o.cgroups) for (const h of HIERARCHIES) tryRmCgroup(`/sys/fs/cgroup/${h}/${cg}`);
        return o.cgroups.every((cg) => HIERARCHIES.every((h) => !existsSync(`/sys/fs/cgroup/${h}/${cg}`)));
      },
      20_000,
      100,
    );
    for (const ns of namespaces) sh('ip', ['netns', 'del', ns], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
    reaped.push(o.lab);
  }
  return reaped;
}

function tryRmCgroup(dir: string): void {
  try {
    rmCgroup(dir);
  } catch {
    /* busy: retried */
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
async function stopProc(p: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** PIDs in a cgroup directory and all its descendants. */
function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
      out.push(...readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    } catch {
      return;
    }
    for (const e of entries) walk(join(d, e));
  };
  walk(dir);
  return out;
}

/** Live (not zombie) PIDs whose mount namespace is `mntNs`. */
function pidsInMountNs(mntNs: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/mnt`) === mntNs && alive(Number(e))) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** A PID that exists and is not a zombie (this VM's init reaps orphans late). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function kill9(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Removes a cgroup tree, deepest first. */
function rmCgroup(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) rmCgroup(join(dir, e));
  if (existsSync(dir)) rmdirSync(dir);
}

async function stopNode(n: RealNode): Promise<void> {
  await stopProc(n.kubeProxy, 3000);
  await stopProc(n.kubelet, 5000);
  const pidsRoot = `/sys/fs/cgroup/pids/${n.cgroup}`;
  for (const pid of cgroupPids(pidsRoot)) kill9(pid);
  await stopProc(n.containerd, 5000);
  await waitFor(
    `${n.name}: every process of the node gone`,
    () => {
      const left = [...cgroupPids(pidsRoot), ...(n.mntNs ? pidsInMountNs(n.mntNs) : [])].filter(alive);
      for (const pid of left) kill9(pid);
      return left.length === 0;
    },
    20_000,
    50,
  );
  await waitFor(
    `${n.name}: cgroups removed`,
    () => {
      for (const h of HIERARCHIES) {
        try {
          rmCgroup(`/sys/fs/cgroup/${h}/${n.cgroup}`);
        } catch {
          /* busy: retry */
        }
      }
      return HIERARCHIES.every((h) => !existsSync(`/sys/fs/cgroup/${h}/${n.cgroup}`));
    },
    20_000,
    100,
  );
}

/** A CA the apiserver wrapper adopts (it keeps an existing pki/ca.{crt,key}), so client certificates can be issued before it starts. */
function makeCa(pki: string): void {
  sh('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(pki, 'ca.key')]);
  sh('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    join(pki, 'ca.key'),
    '-subj',
    '/CN=mooring-test-ca',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    '-out',
    join(pki, 'ca.crt'),
  ]);
}

/** A client certificate (EC P-256) signed by pki/ca. */
function issue(pki: string, name: string, subj: string): { crt: string; key: string } {
  const key = join(pki, `${name}.key`);
  const csr = join(pki, `${name}.csr`);
  const crt = join(pki, `${name}.crt`);
  const ext = join(pki, `${name}.ext`);
  sh('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  sh('openssl', ['req', '-new', '-key', key, '-subj', subj, '-out', csr]);
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  sh('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    join(pki, 'ca.crt'),
    '-CAkey',
    join(pki, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    ext,
    '-out',
    crt,
  ]);
  return { crt, key };
}

function tail(path: string, n = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}
