// Installing Mooring the way users will (issue 15), a suite of the shared real cluster
// (cluster.test.ts, docs/real-cluster.md): the product image built by `npm run image`
// (scripts/image.mjs, a cache hit when no source changed) is imported into every node, then
// `kubectl apply -f deploy/mooring.yaml` must bring every Pod Ready through its own probes, an L2
// Service must be answered at the segment client and a BGP Service routed by FRR; deleting the
// NATS Pods one at a time must move nothing; deleting the leading controller must not stop
// allocation; and a BGP-only install without NATS must announce without ever dialing NATS.
//
// ONE change to the manifest: its bundled NATS image `nats:2.10-alpine` cannot be pulled here (no
// registry), so it is replaced by a real nats-server of the same minor version built from the Go
// module proxy (test/lib/nats-image.ts, test/nats/go.mod). Nothing else is edited.
//
// Everything it creates (namespace metallb-system, the CRDs, the cluster-scoped RBAC and webhook
// configuration, the test namespace) is deleted afterwards, also on failure.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { NET, REPO } from '../../lib/cluster.js';
import { BUNDLED_NATS_IMAGE, ensureNatsImage, NATS_IMAGE_REPO } from '../../lib/nats-image.js';
import { IMAGES, type ClusterSuite, type PodObject, type RealCluster } from '../../lib/real-cluster.js';

const MS = 'metallb-system';
const NS = 'install-test';
const IMAGE_TAR = join(
  REPO,
  'dist/image',
  `mooring-${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version}.oci.tar`,
);
/** Generous: a 2-core machine shared with other work; these are bounds on conditions, not timings. */
const READY_MS = 240_000;
const L2_POOL = NET.pools.l2v4;
const BGP_POOL = NET.pools.bgpv4;
const SEL = {
  controller: 'app.kubernetes.io/component=controller',
  speaker: 'app.kubernetes.io/component=speaker',
  nats: 'app.kubernetes.io/name=mooring-nats',
};

/** deploy/mooring.yaml with only the bundled NATS image replaced by ours. */
function manifest(natsRef: string): string {
  const text = readFileSync(join(REPO, 'deploy/mooring.yaml'), 'utf8');
  const needle = `image: ${BUNDLED_NATS_IMAGE}\n`;
  assert.equal(text.split(needle).length, 2, `deploy/mooring.yaml should name ${BUNDLED_NATS_IMAGE} exactly once`);
  return text.replace(needle, `image: ${natsRef}\n`);
}

/** The same manifest without the bundled NATS (StatefulSet, its Services and ConfigMap). */
function withoutNats(yaml: string): string {
  const docs = parseAllDocuments(yaml).filter((d) => {
    const o = d.toJSON() as { kind?: string; metadata?: { name?: string } } | null;
    return o && !(o.metadata?.name ?? '').startsWith('mooring-nats');
  });
  return docs.map((d) => d.toString()).join('---\n');
}

const backend = `
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

const l2Config = `
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

const bgpConfig = `
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

function lbService(name: string, pool: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS, annotations: { 'metallb.io/address-pool': pool } },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
}

/** Runs `node scripts/image.mjs` (the cached build: seconds when nothing changed). */
function buildImage(): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [join(REPO, 'scripts/image.mjs')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-4000)));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-4000)));
    p.on('error', fail);
    p.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`npm run image failed (${code}): ${out}`))));
  });
}

const nodeByMac = (mac: string | undefined) => NET.nodes.find((n) => n.mac === mac)?.name;

async function json<T>(c: RealCluster, args: string[]): Promise<T> {
  return JSON.parse(await c.kubectlOk([...args, '-o', 'json'])) as T;
}

async function podsOf(c: RealCluster, sel: string): Promise<PodObject[]> {
  return (await json<{ items: PodObject[] }>(c, ['get', 'pods', '-n', MS, '-l', sel])).items;
}

/** Every Pod of the install Ready: controller ×2, a speaker per node and (with NATS) 3 servers. */
async function waitInstallReady(c: RealCluster, withNats: boolean): Promise<void> {
  await Promise.all([
    c.waitPodsReady(MS, SEL.controller, 2, READY_MS),
    c.waitPodsReady(MS, SEL.speaker, c.nodes.length, READY_MS),
    ...(withNats ? [c.waitPodsReady(MS, SEL.nats, 3, READY_MS)] : []),
  ]);
}

async function ingressOf(c: RealCluster, name: string): Promise<string | undefined> {
  const s = await json<{ status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }>(c, ['get', 'service', '-n', NS, name]);
  return s.status?.loadBalancer?.ingress?.[0]?.ip;
}

function waitIngress(c: RealCluster, name: string): Promise<string> {
  return c.lab
    .waitFor(`Service ${NS}/${name} gets an ingress IP`, () => ingressOf(c, name), READY_MS, 500)
    .catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await c.describePods(MS)}\n${await controllerLogs(c)}`);
    });
}

async function controllerLogs(c: RealCluster): Promise<string> {
  const r = await c.kubectl(['logs', '-n', MS, '-l', SEL.controller, '--tail=30', '--prefix']);
  return `controller logs:\n${r.stdout}${r.stderr}`;
}

async function speakerLogs(c: RealCluster, tail = 30): Promise<string> {
  const r = await c.kubectl(['logs', '-n', MS, '-l', SEL.speaker, `--tail=${tail}`, '--prefix']);
  return `${r.stdout}${r.stderr}`;
}

/** HTTP GET of ip:80 from a lab namespace; the backend Pod's hostname, or undefined. */
function httpFrom(c: RealCluster, where: 'client' | 'ext', ip: string): string | undefined {
  const ns = where === 'client' ? c.lab.client : c.lab.ext;
  return ns.exec('curl', ['-s', '-m', '2', `http://${ip}/`], { allowFail: true }).trim() || undefined;
}

/**
 * Removes the install: the webhook configuration first (with the controller gone, its
 * `failurePolicy: Fail` would refuse the deletion of config objects), the test namespace, the
 * config objects, then everything the manifest created; waits until metallb-system is gone.
 */
async function uninstall(c: RealCluster, yaml: string): Promise<void> {
  await c.kubectl(['delete', 'validatingwebhookconfiguration', 'mooring-webhook-configuration', '--ignore-not-found']);
  await c.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
  await c.kubectl(['delete', 'ipaddresspools,l2advertisements,bgpadvertisements,bgppeers', '-n', MS, '--all', '--ignore-not-found'], {
    timeoutMs: 120_000,
  });
  await c.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=true', '--timeout=180s'], { input: yaml, timeoutMs: 200_000 });
  await c.lab.waitFor(`namespace ${MS} deleted`, async () => (await c.kubectl(['get', 'namespace', MS])).code !== 0, READY_MS, 500);
}

const suite: ClusterSuite = (rc) =>
  describe('install: deploy/mooring.yaml as real Pods', { timeout: 20 * 60_000 }, () => {
    let yaml = '';
    let l2Ip = '';
    let l2Owner = '';

    before(async () => {
      const c = rc();
      const [nats] = await Promise.all([ensureNatsImage(), buildImage()]);
      yaml = manifest(nats.ref);
      await c.importImage({ path: IMAGE_TAR });
      await c.importImage({ path: nats.path, baseName: NATS_IMAGE_REPO });
      await c.ensureNamespace(NS);
      await c.kubectlOk(['apply', '-f', '-'], { input: backend });
    });

    after(async () => {
      await uninstall(rc(), yaml);
    });

    it('kubectl apply -f deploy/mooring.yaml: every Pod Ready through its own probes', async () => {
      const c = rc();
      await c.kubectlOk(['apply', '-f', '-'], { input: yaml, timeoutMs: 120_000 });
      await waitInstallReady(c, true);
      // The probes are the manifest's own (nothing here marks a Pod Ready).
      const ds = await json<{ spec: { template: { spec: { dnsPolicy?: string; containers: Array<{ readinessProbe?: unknown }> } } } }>(c, [
        'get',
        'daemonset',
        '-n',
        MS,
        'speaker',
      ]);
      assert.equal(ds.spec.template.spec.dnsPolicy, 'ClusterFirstWithHostNet');
      assert.ok(ds.spec.template.spec.containers[0]?.readinessProbe);
      const speakers = await podsOf(c, SEL.speaker);
      assert.deepEqual(speakers.map((p) => p.spec.nodeName).sort(), c.nodes.map((n) => n.name).sort());
    });

    it('an L2 Service gets an IP and is answered at the segment client', async () => {
      const c = rc();
      // The webhook (failurePolicy: Fail, certificate managed by the controller) must admit config.
      await c.kubectlOk(['apply', '-f', '-'], { input: l2Config + '---\n' + bgpConfig });
      await c.waitPodsReady(NS, 'app=web', 2, READY_MS);
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('l2', 'l2-pool') });
      l2Ip = await waitIngress(c, 'l2');
      assert.ok(l2Ip.startsWith('203.0.113.'), l2Ip);
      const mac = await c.lab
        .waitFor(
          `a node answers ARP for ${l2Ip}`,
          () => {
            const m = c.lab.arping(l2Ip);
            return nodeByMac(m) ? m : undefined;
          },
          READY_MS,
          200,
        )
        .catch(async (e: Error) => {
          throw new Error(`${e.message}\nspeakers:\n${await speakerLogs(c)}`);
        });
      l2Owner = nodeByMac(mac) as string;
      const web = (await c.waitPodsReady(NS, 'app=web', 2)).map((p) => p.metadata.name);
      const answer = await c.lab.waitFor(
        `HTTP answer at ${l2Ip} from the segment client`,
        () => httpFrom(c, 'client', l2Ip),
        READY_MS,
        200,
      );
      assert.ok(web.includes(answer), `${answer} is not one of ${web.join(', ')}`);
    });

    it('a BGP Service is routed by FRR through every node', async () => {
      const c = rc();
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('bgp', 'bgp-pool') });
      const ip = await waitIngress(c, 'bgp');
      const all = NET.nodes.map((n) => n.v4).sort();
      await c.lab
        .waitFor(`3 next hops for ${ip} in the router`, () => c.lab.routerNextHops(ip).join() === all.join(), READY_MS, 200)
        .catch(async (e: Error) => {
          throw new Error(
            `${e.message}; hops ${JSON.stringify(c.lab.routerNextHops(ip))}; FRR: ${JSON.stringify(c.lab.vtyshJson('show bgp ipv4 unicast summary json'))}\nspeakers:\n${await speakerLogs(c)}`,
          );
        });
      const web = (await c.waitPodsReady(NS, 'app=web', 2)).map((p) => p.metadata.name);
      const answer = await c.lab.waitFor(`HTTP answer at ${ip} from the external client`, () => httpFrom(c, 'ext', ip), READY_MS, 200);
      assert.ok(web.includes(answer), `${answer} is not one of ${web.join(', ')}`);
    });

    it('deleting the NATS Pods one at a time moves nothing (the L2 owner answers ARP throughout)', async () => {
      const c = rc();
      assert.ok(l2Ip && l2Owner, 'needs the L2 Service of the test above');
      const seen = new Set<string>();
      const look = () => {
        const mac = c.lab.arping(l2Ip);
        if (mac) seen.add(nodeByMac(mac) ?? mac);
      };
      for (const name of ['mooring-nats-0', 'mooring-nats-1', 'mooring-nats-2']) {
        const before = await json<{ metadata: { uid: string } }>(c, ['get', 'pod', '-n', MS, name]);
        await c.kubectlOk(['delete', 'pod', '-n', MS, name, '--wait=false']);
        // The StatefulSet recreates it; the ARP owner is watched until the new server is Ready.
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
      await waitInstallReady(c, true);
      look();
      assert.deepEqual([...seen], [l2Owner], `ARP answers for ${l2Ip} came from ${[...seen].join(', ')}; owner was ${l2Owner}`);
      const statuses = await json<{ items: Array<{ status?: { node?: string }; metadata: { labels?: Record<string, string> } }> }>(c, [
        'get',
        'servicel2statuses',
        '-n',
        MS,
      ]);
      const mine = statuses.items.filter((s) => s.metadata.labels?.['metallb.io/service-name'] === 'l2');
      assert.deepEqual(
        mine.map((s) => s.status?.node),
        [l2Owner],
      );
    });

    it('deleting the leading controller Pod: a new Service still gets an IP', async () => {
      const c = rc();
      const lease = await json<{ spec: { holderIdentity?: string } }>(c, ['get', 'lease', '-n', MS, 'mooring-controller']);
      const holder = lease.spec.holderIdentity ?? '';
      const leader = (await podsOf(c, SEL.controller)).find((p) => holder.startsWith(`${p.metadata.name}_`));
      assert.ok(leader, `no controller Pod holds the lease (${holder})`);
      await c.kubectlOk(['delete', 'pod', '-n', MS, leader.metadata.name, '--wait=false']);
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('after-leader', 'l2-pool') });
      const ip = await waitIngress(c, 'after-leader');
      assert.notEqual(ip, l2Ip);
      const now = await json<{ spec: { holderIdentity?: string } }>(c, ['get', 'lease', '-n', MS, 'mooring-controller']);
      assert.ok(!(now.spec.holderIdentity ?? '').startsWith(`${leader.metadata.name}_`), 'the deleted Pod still holds the lease');
    });

    it('a BGP-only install without NATS announces; speakers never dial NATS', async () => {
      const c = rc();
      await uninstall(c, yaml);
      const bgpOnly = withoutNats(yaml);
      assert.ok(!bgpOnly.includes('kind: StatefulSet'), 'the NATS StatefulSet is still in the BGP-only manifest');
      await c.ensureNamespace(NS);
      await c.kubectlOk(['apply', '-f', '-'], { input: backend });
      await c.kubectlOk(['apply', '-f', '-'], { input: bgpOnly, timeoutMs: 120_000 });
      await waitInstallReady(c, false);
      await c.kubectlOk(['apply', '-f', '-'], { input: bgpConfig });
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('bgp', 'bgp-pool') });
      const ip = await waitIngress(c, 'bgp');
      const all = NET.nodes.map((n) => n.v4).sort();
      await c.lab
        .waitFor(`3 next hops for ${ip} in the router`, () => c.lab.routerNextHops(ip).join() === all.join(), READY_MS, 200)
        .catch(async (e: Error) => {
          throw new Error(`${e.message}; hops ${JSON.stringify(c.lab.routerNextHops(ip))}\nspeakers:\n${await speakerLogs(c)}`);
        });
      await c.waitPodsReady(NS, 'app=web', 2, READY_MS);
      await c.lab.waitFor(`HTTP answer at ${ip} from the external client`, () => httpFrom(c, 'ext', ip), READY_MS, 200);
      // Every speaker log line so far: none is about NATS (the speaker logs `nats.wanted` before its
      // first dial and `nats.*` for every connection event).
      const logs = await speakerLogs(c, -1);
      assert.ok(logs.split('\n').filter(Boolean).length >= c.nodes.length, `no speaker logs: ${logs}`);
      const natsLines = logs.split('\n').filter((l) => /"event":"nats\./.test(l));
      assert.deepEqual(natsLines, []);
      await uninstall(c, bgpOnly);
    });
  });
export default suite;
