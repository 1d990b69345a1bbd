// The install of deploy/mooring.yaml on the real cluster (test/lib/real-cluster.ts), shared by
// test/integration/cluster/install.suite.ts and bench/install.bench.ts: the product image (the
// cached `npm run image` build) and a NATS image (test/lib/nats-image.ts) imported into every node,
// the manifest with ONLY its bundled NATS image (`nats:2.10-alpine`, which cannot be pulled here:
// no registry) replaced by a real nats-server of the same minor version built from the Go module
// proxy, the lab's L2 and BGP configuration, and an uninstall that removes everything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { NET, REPO } from './cluster.js';
import { BUNDLED_NATS_IMAGE, ensureNatsImage, NATS_IMAGE_REPO } from './nats-image.js';
import { IMAGES, type PodObject, type RealCluster } from './real-cluster.js';

export const MS = 'metallb-system';
export const NS = 'install-test';
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
      terminationGracePeriodSeconds: 1
      containers:
        - name: httpd
          image: ${IMAGES.busybox}
          imagePullPolicy: Never
          command: [sh, -c, 'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www']
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
  // Nothing cluster-scoped is left: CRDs, ClusterRoles and their bindings, the webhook configuration.
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
