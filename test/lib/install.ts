// The install of deploy/mooring.yaml on the real cluster (test/lib/real-cluster.ts), shared by
// test/integration/cluster/install.suite.ts and bench/install.bench.ts: the product image (the
// cached `npm run image` build) and a NATS image (test/lib/nats-image.ts) imported into every node,
// the manifest with ONLY its bundled NATS image (`nats:2.10-alpine`, which cannot be pulled here:
// no registry) replaced by a real nats-server of the same minor version built from the Go module
// proxy, the lab's L2 and BGP configuration, and an uninstall that removes everything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { electionHash } from '../../src/domain/election.js';
import { NET, REPO } from './cluster.js';
import { BUNDLED_NATS_IMAGE, ensureNatsImage, NATS_IMAGE_REPO } from './nats-image.js';
import { IMAGES, type PodObject, type RealCluster } from './real-cluster.js';

export const MS = 'metallb-system';
export const NS = 'install-test';
/** The NATS issuer keys' namespace (deploy/rbac/issuer.yaml), where speakers cannot read Secrets. */
export const ISSUER_NS = 'mooring-secrets';
export const IMAGE_TAR = join(
  REPO,
  'dist/image',
  `mooring-${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version}.oci.tar`,
);
/** Generous: a 2-core machine shared with other work; these are bounds on conditions, not timings. */
export const READY_MS = 240_000;
const L2_POOL = NET.pools.l2v4;
const BGP_POOL = NET.pools.bgpv4;
export const SEL = {
  controller: 'app.kubernetes.io/component=controller',
  speaker: 'app.kubernetes.io/component=speaker',
  nats: 'app.kubernetes.io/name=mooring-nats',
};

/** deploy/mooring.yaml with only the bundled NATS image replaced by ours. */
export function manifest(natsRef: string): string {
  const text = readFileSync(join(REPO, 'deploy/mooring.yaml'), 'utf8');
  const needle = `image: ${BUNDLED_NATS_IMAGE}\n`;
  assert.equal(text.split(needle).length, 2, `deploy/mooring.yaml should name ${BUNDLED_NATS_IMAGE} exactly once`);
  return text.replace(needle, `image: ${natsRef}\n`);
}

/** The same manifest without the bundled NATS (StatefulSet, its Services and ConfigMap). */
export function withoutNats(yaml: string): string {
  const docs = parseAllDocuments(yaml).filter((d) => {
    const o = d.toJSON() as { kind?: string; metadata?: { name?: string } } | null;
    return o && !(o.metadata?.name ?? '').startsWith('mooring-nats');
  });
  return docs.map((d) => d.toString()).join('---\n');
}

export const backend = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${NS} }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      # As a backend that survives a drain should: it keeps serving for a moment after its
      # deletion, while kube-proxy removes it from the Service (its connections are not refused).
      terminationGracePeriodSeconds: 10
      containers:
        - name: httpd
          image: ${IMAGES.busybox}
          imagePullPolicy: Never
          command: [sh, -c, 'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www']
          lifecycle:
            preStop: { exec: { command: [sh, -c, 'sleep 3'] } }
          ports: [{ containerPort: 8080 }]
          readinessProbe:
            httpGet: { path: /, port: 8080 }
            periodSeconds: 1
`;

export const l2Config = `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: l2-pool, namespace: ${MS} }
spec: { addresses: ['${L2_POOL}'], avoidBuggyIPs: true }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2-adv, namespace: ${MS} }
spec: { ipAddressPools: [l2-pool], interfaces: [eth0] }
`;

export const bgpConfig = `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bgp-pool, namespace: ${MS} }
spec: { addresses: ['${BGP_POOL}'], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: bgp-adv, namespace: ${MS} }
spec: { ipAddressPools: [bgp-pool] }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router, namespace: ${MS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: ${NET.router.seg4}, holdTime: 9s }
`;

export function lbService(name: string, pool: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS, annotations: { 'metallb.io/address-pool': pool } },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
}

/** Runs `node scripts/image.mjs` (the cached build: seconds when nothing changed). */
export function buildImage(): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [join(REPO, 'scripts/image.mjs')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-4000)));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-4000)));
    p.on('error', fail);
    p.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`npm run image failed (${code}): ${out}`))));
  });
}

export const nodeByMac = (mac: string | undefined) => NET.nodes.find((n) => n.mac === mac)?.name;

export async function json<T>(c: RealCluster, args: string[]): Promise<T> {
  return JSON.parse(await c.kubectlOk([...args, '-o', 'json'])) as T;
}

export async function podsOf(c: RealCluster, sel: string): Promise<PodObject[]> {
  return (await json<{ items: PodObject[] }>(c, ['get', 'pods', '-n', MS, '-l', sel])).items;
}

/** Every Pod of the install Ready: controller ×2, a speaker per node and (with NATS) 3 servers. */
export async function waitInstallReady(c: RealCluster, withNats: boolean): Promise<void> {
  await Promise.all([
    c.waitPodsReady(MS, SEL.controller, 2, READY_MS),
    c.waitPodsReady(MS, SEL.speaker, c.nodes.length, READY_MS),
    ...(withNats ? [c.waitPodsReady(MS, SEL.nats, 3, READY_MS)] : []),
  ]).catch(async (e: Error) => {
    const nats = withNats ? await c.kubectl(['logs', '-n', MS, '-l', SEL.nats, '--tail=15', '--prefix']) : undefined;
    throw new Error(
      `${e.message}\n${await controllerLogs(c)}\nspeaker logs:\n${await speakerLogs(c, 15)}${nats ? `\nNATS logs:\n${nats.stdout}${nats.stderr}` : ''}`,
    );
  });
}

export async function ingressOf(c: RealCluster, name: string): Promise<string | undefined> {
  const s = await json<{ status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }>(c, ['get', 'service', '-n', NS, name]);
  return s.status?.loadBalancer?.ingress?.[0]?.ip;
}

export function waitIngress(c: RealCluster, name: string): Promise<string> {
  return c.lab
    .waitFor(`Service ${NS}/${name} gets an ingress IP`, () => ingressOf(c, name), READY_MS, 500)
    .catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await c.describePods(MS)}\n${await controllerLogs(c)}`);
    });
}

export async function controllerLogs(c: RealCluster): Promise<string> {
  const r = await c.kubectl(['logs', '-n', MS, '-l', SEL.controller, '--tail=30', '--prefix']);
  return `controller logs:\n${r.stdout}${r.stderr}`;
}

export async function speakerLogs(c: RealCluster, tail = 30): Promise<string> {
  const r = await c.kubectl(['logs', '-n', MS, '-l', SEL.speaker, `--tail=${tail}`, '--prefix']);
  return `${r.stdout}${r.stderr}`;
}

/** HTTP GET of ip:80 from a lab namespace; the backend Pod's hostname, or undefined. */
export function httpFrom(c: RealCluster, where: 'client' | 'ext', ip: string): string | undefined {
  const ns = where === 'client' ? c.lab.client : c.lab.ext;
  return ns.exec('curl', ['-s', '-m', '2', `http://${ip}/`], { allowFail: true }).trim() || undefined;
}

/**
 * Removes the install: the webhook configuration first (with the controller gone, its
 * `failurePolicy: Fail` would refuse the deletion of config objects), the test namespace, the
 * config objects, then everything the manifest created; waits until metallb-system is gone.
 */
export async function uninstall(c: RealCluster, yaml: string): Promise<void> {
  await c.kubectl(['delete', 'validatingwebhookconfiguration', 'mooring-webhook-configuration', '--ignore-not-found']);
  await c.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
  await c.kubectl(['delete', 'ipaddresspools,l2advertisements,bgpadvertisements,bgppeers', '-n', MS, '--all', '--ignore-not-found'], {
    timeoutMs: 120_000,
  });
  await c.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=true', '--timeout=180s'], { input: yaml, timeoutMs: 200_000 });
  await c.lab.waitFor(`namespace ${MS} deleted`, async () => (await c.kubectl(['get', 'namespace', MS])).code !== 0, READY_MS, 500);
  // The test namespace too: a reinstall right after must not find it still terminating.
  await c.lab.waitFor(`namespace ${NS} deleted`, async () => (await c.kubectl(['get', 'namespace', NS])).code !== 0, READY_MS, 500);
  await nothingLeft(c);
}

/** Waits until no cluster-scoped object of the install is left: CRDs, ClusterRoles and bindings, the webhook configuration. */
export async function nothingLeft(c: RealCluster): Promise<void> {
  await c.lab.waitFor(
    `namespace ${ISSUER_NS} deleted`,
    async () => (await c.kubectl(['get', 'namespace', ISSUER_NS])).code !== 0,
    READY_MS,
    500,
  );
  let left = '';
  await c.lab
    .waitFor(
      'no cluster-scoped object of the install left',
      async () => {
        const names = async (kinds: string) => (await c.kubectlOk(['get', kinds, '-o', 'name'])).split('\n');
        left = [
          ...(await names('crd')).filter((l) => l.endsWith('.metallb.io')),
          ...(await names('clusterroles,clusterrolebindings')).filter((l) => l.includes('/mooring:')),
          ...(await names('validatingwebhookconfigurations')).filter((l) => l.includes('mooring')),
        ].join(' ');
        return left === '';
      },
      READY_MS,
      500,
    )
    .catch((e: Error) => {
      throw new Error(`${e.message}: ${left}`);
    });
}

/** Builds (cached) the product and NATS images, imports both into every node; returns the manifest to apply. */
export async function prepareInstall(c: RealCluster): Promise<string> {
  const [nats] = await Promise.all([ensureNatsImage(), buildImage()]);
  await c.importImage({ path: IMAGE_TAR });
  await c.importImage({ path: nats.path, baseName: NATS_IMAGE_REPO });
  return manifest(nats.ref);
}

/**
 * Applies Mooring configuration objects once the validating webhook admits them: right after the
 * install the controller may still be making its serving certificate and patching the CA bundle
 * (as with MetalLB, users wait for the webhook). Only webhook refusals are retried; the last one
 * is in the error if it never admits.
 */
export async function applyConfig(c: RealCluster, yaml: string): Promise<{ webhookRefusals: number }> {
  let refusals = 0;
  let last = '';
  await c.lab
    .waitFor(
      'the webhook admits the configuration',
      async () => {
        const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
        if (r.code === 0) return true;
        if (!/webhook/i.test(r.stderr)) throw new Error(`kubectl apply of the configuration failed: ${r.stderr.trim()}`);
        refusals++;
        last = r.stderr.trim();
        return false;
      },
      READY_MS,
      500,
    )
    .catch((e: Error) => {
      throw new Error(`${e.message}; last refusal: ${last}`);
    });
  return { webhookRefusals: refusals };
}

/**
 * Deletes the bundled NATS Pods one at a time, each time waiting until the StatefulSet's new Pod
 * (another uid) is Ready; `look` runs on every poll (e.g. an ARP probe of a VIP) and once after each.
 */
export async function recycleNatsPods(c: RealCluster, look: () => void): Promise<void> {
  for (const name of ['mooring-nats-0', 'mooring-nats-1', 'mooring-nats-2']) {
    const before = await json<{ metadata: { uid: string } }>(c, ['get', 'pod', '-n', MS, name]);
    await c.kubectlOk(['delete', 'pod', '-n', MS, name, '--wait=false']);
    await c.lab.waitFor(
      `${name} recreated and Ready`,
      async () => {
        look();
        const r = await c.kubectl(['get', 'pod', '-n', MS, name, '-o', 'json']);
        if (r.code !== 0) return false;
        const p = JSON.parse(r.stdout) as PodObject & { metadata: { uid: string } };
        return (
          p.metadata.uid !== before.metadata.uid &&
          !p.metadata.deletionTimestamp &&
          p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')
        );
      },
      READY_MS,
      300,
    );
    look();
  }
}

/** The product image's reference as `npm run image` names it (ghcr.io/mooring/mooring:<version>). */
export const IMAGE_REPO = 'ghcr.io/mooring/mooring';
export const IMAGE_REF = `${IMAGE_REPO}:${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version}`;

/** What the segment client saw while watching (watchL2). */
export interface L2WatchResult {
  /** Per IP: the answering nodes in order, repeats collapsed; a probe answered by two nodes is `a+b`. */
  readonly owners: Record<string, string[]>;
  /** The same with the send time (ms since the epoch) of each entry's first probe. */
  readonly timeline: Record<string, Array<{ who: string; t: number }>>;
  /** Per IP: the longest run of ARP probes (one every PROBE_MS) with no answer, send time to send time. */
  readonly maxGapMs: Record<string, number>;
  readonly probes: number;
  /** Probes answered by two nodes (a make-before-break overlap). */
  readonly dualAnswers: number;
  /** TCP connection attempts (an HTTP GET each) and the ones that failed, with why. */
  readonly attempts: number;
  /** Attempts whose connection was never established (the SYN lost or refused): lost connection attempts. */
  readonly failures: Array<{ i: number; err?: string; ms: number }>;
  /**
   * Connections established and then broken before the answer (a reset): a connection in flight
   * while its IP moves to another node, whose conntrack does not know it (L2 mode's nature, as MetalLB's).
   */
  readonly broken: Array<{ i: number; err?: string; ms: number }>;
}

interface ArpProbe {
  ip: string;
  t: number;
  macs: string[];
}

export const PROBE_MS = 10;
const TCP_EVERY_MS = 20;

/** Moves between single owners (dual answers skipped): [from, to] pairs. */
export function moves(owners: readonly string[]): Array<[string, string]> {
  const single = owners.filter((o) => !o.includes('+'));
  const out: Array<[string, string]> = [];
  for (let i = 1; i < single.length; i++) if (single[i] !== single[i - 1]) out.push([single[i - 1] as string, single[i] as string]);
  return out;
}

/**
 * Watches L2 Service IPs from the segment client until stop(): an ARP request for each IP every
 * PROBE_MS (bench/arp-probe.ts, through pcap) and a new TCP connection to `tcpIp`:80 every
 * TCP_EVERY_MS (test/lib/reach-loop.ts, an HTTP GET each, bounded by 1 s). Both run in the client
 * namespace and are killed by PID at stop() (and by the lab's cleanup on failure).
 */
export async function watchL2(c: RealCluster, ips: string[], tcpIp: string): Promise<{ stop: () => Promise<L2WatchResult> }> {
  const arp = c.lab.client.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench/arp-probe.ts'), 'eth0', String(PROBE_MS)], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const arpLines: Array<ArpProbe | { done: true } | { listening: true } | { answering: string }> = [];
  createInterface({ input: arp.stdout! }).on('line', (l) => {
    try {
      arpLines.push(JSON.parse(l) as ArpProbe);
    } catch {
      /* not JSON */
    }
  });
  let arpErr = '';
  arp.stderr?.setEncoding('utf8').on('data', (d: string) => (arpErr = (arpErr + d).slice(-2000)));
  const tcp = c.lab.client.spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'test/lib/reach-loop.ts'), tcpIp, '80', String(30 * 60_000), String(TCP_EVERY_MS), '1000', 'http'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const attempts: Array<{ i: number; ok: boolean; err?: string; ms: number; connected?: boolean }> = [];
  createInterface({ input: tcp.stdout! }).on('line', (l) => {
    try {
      const o = JSON.parse(l) as { event: string; i: number; ok: boolean; err?: string; ms: number; connected?: boolean };
      if (o.event === 'attempt') attempts.push(o);
    } catch {
      /* not JSON */
    }
  });
  await c.lab.waitFor('the ARP prober listening', () => arpLines.some((l) => 'listening' in l) || arp.exitCode !== null, 60_000, 20);
  if (arp.exitCode !== null) throw new Error(`bench/arp-probe.ts exited (${arp.exitCode}): ${arpErr}`);
  arp.stdin?.write(`start ${ips.join(',')}\n`);
  // Both probes running (and the first connection answered) before anything is changed.
  await c.lab.waitFor('the first TCP attempt answered', () => attempts.some((a) => a.ok) || tcp.exitCode !== null, 60_000, 20);
  if (tcp.exitCode !== null) throw new Error(`test/lib/reach-loop.ts exited (${tcp.exitCode})`);
  await c.lab.waitFor(
    'every IP answered',
    () => ips.every((ip) => arpLines.some((l) => 'answering' in l && l.answering === ip)),
    60_000,
    20,
  );
  const firstOk = attempts.findIndex((a) => a.ok);
  return {
    stop: async () => {
      arp.stdin?.write('stop\n');
      const tcpExited = new Promise((r) => tcp.once('exit', r));
      tcp.kill('SIGTERM');
      await c.lab.waitFor('the ARP probes', () => arpLines.some((l) => 'done' in l), 30_000, 20);
      const arpExited = new Promise((r) => arp.once('exit', r));
      arp.stdin?.write('quit\n');
      await Promise.all([tcpExited, arpExited]);
      const probes = arpLines.filter((l): l is ArpProbe => 'ip' in l && 'macs' in l);
      const owners: Record<string, string[]> = {};
      const timeline: Record<string, Array<{ who: string; t: number }>> = {};
      const maxGapMs: Record<string, number> = {};
      let dualAnswers = 0;
      for (const ip of ips) {
        const seq: string[] = [];
        const at: Array<{ who: string; t: number }> = [];
        let worst = 0;
        let since: number | undefined;
        for (const p of probes.filter((x) => x.ip === ip)) {
          if (p.macs.length === 0) {
            since ??= p.t;
            continue;
          }
          if (since !== undefined) worst = Math.max(worst, p.t - since);
          since = undefined;
          if (p.macs.length > 1) dualAnswers++;
          const who = p.macs
            .map((m) => nodeByMac(m) ?? m)
            .sort()
            .join('+');
          if (seq.at(-1) !== who) {
            seq.push(who);
            at.push({ who, t: p.t });
          }
        }
        const last = probes.filter((x) => x.ip === ip).at(-1);
        if (since !== undefined && last) worst = Math.max(worst, last.t - since + PROBE_MS);
        owners[ip] = seq;
        timeline[ip] = at;
        maxGapMs[ip] = worst;
      }
      const counted = attempts.slice(firstOk);
      return {
        owners,
        timeline,
        maxGapMs,
        probes: probes.length,
        dualAnswers,
        attempts: counted.length,
        failures: counted.filter((a) => !a.ok && !a.connected).map(({ i, err, ms }) => ({ i, ms, ...(err ? { err } : {}) })),
        broken: counted.filter((a) => !a.ok && a.connected).map(({ i, err, ms }) => ({ i, ms, ...(err ? { err } : {}) })),
      };
    },
  };
}

/** The ARP owner of `ip` as the segment client sees it (arping), or undefined. */
export const arpOwner = (c: RealCluster, ip: string): string | undefined => nodeByMac(c.lab.arping(ip));

/**
 * A DaemonSet rolling update of the speakers to a new image tag: the imported image is tagged
 * `tag` in every node's containerd (no registry), the DaemonSet's image is set to it, and the
 * rollout is awaited (one node at a time: `maxUnavailable: 1`).
 */
export async function rollSpeakers(c: RealCluster, tag: string): Promise<Record<string, RestartWindow>> {
  const ref = `${IMAGE_REPO}:${tag}`;
  await c.tagImage(IMAGE_REF, ref);
  const old = new Set((await podsOf(c, SEL.speaker)).map((p) => (p.metadata as { uid?: string }).uid));
  // Each node's restart as seen by polling its speaker Pods: from its old Pod's deletion to its new Pod Ready.
  const windows: Record<string, RestartWindow> = {};
  let rolling = true;
  const poll = (async () => {
    while (rolling) {
      const t = Date.now();
      const r = await c.kubectl(['get', 'pods', '-n', MS, '-l', SEL.speaker, '-o', 'json']);
      if (r.code === 0)
        for (const p of (JSON.parse(r.stdout) as { items: Array<PodObject & { metadata: { uid: string } }> }).items) {
          const node = p.spec.nodeName ?? '';
          const w = (windows[node] ??= { from: Infinity, to: Infinity });
          if (old.has(p.metadata.uid) && p.metadata.deletionTimestamp) w.from = Math.min(w.from, t - POLL_MS);
          if (!old.has(p.metadata.uid) && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
            w.to = Math.min(w.to, t);
          // Not seen terminating (it went between two polls): its new Pod's creation bounds it.
          if (!old.has(p.metadata.uid) && w.from === Infinity) w.from = t - POLL_MS;
        }
      await new Promise((ok) => setTimeout(ok, POLL_MS));
    }
  })();
  try {
    await c.kubectlOk(['set', 'image', '-n', MS, 'daemonset/speaker', `speaker=${ref}`]);
    await c.kubectlOk(['rollout', 'status', '-n', MS, 'daemonset/speaker', '--timeout=300s'], { timeoutMs: 320_000 });
    await c.waitPodsReady(MS, SEL.speaker, c.nodes.length, READY_MS);
  } finally {
    rolling = false;
    await poll;
  }
  const images = (await podsOf(c, SEL.speaker)).map((p) => (p.spec as { containers?: Array<{ image?: string }> }).containers?.[0]?.image);
  assert.deepEqual(
    images,
    c.nodes.map(() => ref),
  );
  return windows;
}

const POLL_MS = 250;

/** A node's speaker restart: its old Pod seen deleted (less one poll) → its new Pod seen Ready (ms since the epoch). */
export interface RestartWindow {
  from: number;
  to: number;
}

/**
 * The moves of a rolling update that break its rule: an IP leaves a node only while that node's
 * speaker restarts, or moves to a node ahead in its election order (a restarted node taking its
 * IP back). Anything else moved an IP off a healthy node.
 */
export function unexpectedMoves(
  ip: string,
  timeline: ReadonlyArray<{ who: string; t: number }>,
  windows: Record<string, RestartWindow>,
): string[] {
  const rank = (n: string) => electionHash(n, ip);
  const single = timeline.filter((x) => !x.who.includes('+'));
  const bad: string[] = [];
  for (let i = 1; i < single.length; i++) {
    const a = single[i - 1] as { who: string; t: number };
    const b = single[i] as { who: string; t: number };
    if (a.who === b.who) continue;
    const w = windows[a.who];
    const restarting = w !== undefined && b.t >= w.from && b.t <= w.to;
    if (!restarting && !(rank(b.who) < rank(a.who))) bad.push(`${ip}: ${a.who} → ${b.who} at ${new Date(b.t).toISOString()}`);
  }
  return bad;
}

/** `kubectl drain` as a user runs it (DaemonSet Pods stay; emptyDir data, the bundled NATS's, goes). */
export async function drainNode(c: RealCluster, node: string): Promise<void> {
  await c.kubectlOk(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=180s'], { timeoutMs: 200_000 });
}
