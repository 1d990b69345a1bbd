// Client half of bench/controller.bench.ts, run INSIDE the bench's client namespace.
//   setup         CRDs, deploy/namespace.yaml, deploy/rbac/controller.yaml, an IPv6 pool of 65,536
//                 addresses; prints {token} for the controller's ServiceAccount
//   probe NAME    creates service NAME, waits for its IP, deletes it: the controller under test serves
//   run N M       creates N LoadBalancer services in bulk (32 in flight), then M one by one; a
//                 watch records when each first shows an IP. Prints one JSON line of timings.
//   clean         deletes every service of the bench namespace (32 in flight), waits until none is left
// IPv6 single-stack services with allocateLoadBalancerNodePorts: false: the documentation IPv4
// ranges hold 512 addresses and the NodePort range 2,768 ports, both fewer than 5,000.
// The creates and the watch go through the plain REST client (src/adapters/kube/rest.ts: one
// keep-alive connection per request in flight): the driver stands for users elsewhere, and on
// this 2-core machine its own per-request cost (client-node made a TLS handshake per create)
// would otherwise be taken from the apiserver and the controller. Its CPU is reported too.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1Service,
} from '@kubernetes/client-node';
import { KubeRestError, kubeRest } from '../src/adapters/kube/rest.js';

const REPO = new URL('../', import.meta.url).pathname;
const NS = 'bench';
const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? '');
const core = kc.makeApiClient(CoreV1Api);
const rest = kubeRest(kc);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function apply(text: string): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of loadAllYaml(text) as KubernetesObject[]) {
    for (let i = 0; ; i++) {
      try {
        await api.create(obj);
        break;
      } catch (e) {
        if (e instanceof ApiException && e.code === 409) break;
        if (e instanceof ApiException && e.code === 404 && i < 100) {
          await sleep(200);
          continue;
        }
        throw e;
      }
    }
  }
}

async function setup(): Promise<Record<string, unknown>> {
  const read = (f: string) => readFileSync(join(REPO, f), 'utf8');
  for (const f of readdirSync(join(REPO, 'deploy/crds'))
    .filter((x) => x.endsWith('.yaml'))
    .sort())
    await apply(read(`deploy/crds/${f}`));
  await apply(read('deploy/namespace.yaml'));
  await apply(read('deploy/rbac/controller.yaml'));
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await apply(
    "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: bench, namespace: metallb-system }\nspec:\n  addresses: ['2001:db8:100::/112']\n",
  );
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'controller',
    namespace: 'metallb-system',
    body: { spec: { audiences: [], expirationSeconds: 7200 } },
  });
  return { token: tr.status?.token };
}

const body = (name: string): V1Service & { apiVersion: string; kind: string } => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: {
    type: 'LoadBalancer',
    ipFamilyPolicy: 'SingleStack',
    ipFamilies: ['IPv6'],
    allocateLoadBalancerNodePorts: false,
    selector: { app: name },
    ports: [{ port: 80, protocol: 'TCP' }],
  },
});

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function run(n: number, m: number): Promise<Record<string, unknown>> {
  const created = new Map<string, number>();
  const gotIp = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const cpu0 = process.cpuUsage();
  // A watch ends now and then (an idle timeout, the apiserver's own timeout): it resumes from the
  // last resourceVersion seen (from the start after a 410), so no IP goes unnoticed.
  let rv = '';
  let stopped = false;
  let handle: { abort: () => void } | undefined;
  const startWatch = async (): Promise<void> => {
    handle = await rest.watch(
      `/api/v1/namespaces/${NS}/services`,
      rv ? { resourceVersion: rv } : {},
      (type, o) => {
        const obj = o as V1Service;
        if (type === 'ERROR') {
          if ((o as { code?: number }).code === 410) rv = '';
          return;
        }
        rv = obj.metadata?.resourceVersion ?? rv;
        const name = obj.metadata?.name ?? '';
        if (!gotIp.has(name) && (obj.status?.loadBalancer?.ingress?.length ?? 0) > 0) {
          gotIp.set(name, performance.now());
          waiters.get(name)?.();
        }
      },
      (err) => {
        if (stopped) return;
        if (err && (err as { name?: string }).name !== 'TimeoutError') process.stderr.write(`watch ended, resuming: ${String(err)}\n`);
        if ((err as { statusCode?: number } | null)?.statusCode === 410) rv = '';
        setTimeout(
          () => {
            void startWatch();
          },
          err && (err as { name?: string }).name !== 'TimeoutError' ? 500 : 0,
        );
      },
    );
  };
  await startWatch();

  // Bulk: N creates, 32 in flight.
  const t0 = performance.now();
  let next = 0;
  const createOne = async (name: string) => {
    created.set(name, performance.now());
    for (let i = 0; ; i++) {
      try {
        await rest.request('POST', `/api/v1/namespaces/${NS}/services`, { body: body(name) });
        return;
      } catch (e) {
        if (e instanceof KubeRestError && e.code === 429 && i < 50) {
          await sleep(100);
          continue;
        }
        throw e;
      }
    }
  };
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < n) await createOne(`bulk-${next++}`);
    }),
  );
  const createdAll = performance.now();
  const deadline = Date.now() + 20 * 60_000;
  while ([...created.keys()].some((k) => !gotIp.has(k)) && Date.now() < deadline) await sleep(100);
  const allIp = performance.now();
  const missing = [...created.keys()].filter((k) => !gotIp.has(k)).length;

  // One by one: create, wait for the IP, next.
  const lat: number[] = [];
  for (let i = 0; i < m; i++) {
    const name = `one-${i}`;
    const seen = new Promise<void>((r) => waiters.set(name, r));
    const t = performance.now();
    created.set(name, t);
    await rest.request('POST', `/api/v1/namespaces/${NS}/services`, { body: body(name) });
    await Promise.race([seen, sleep(60_000)]);
    const at = gotIp.get(name);
    if (at !== undefined) lat.push(at - t);
  }
  stopped = true;
  handle?.abort();
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  return {
    services: n,
    bulkCreateSec: (createdAll - t0) / 1000,
    bulkAllIpSec: (allIp - t0) / 1000,
    missing,
    bulkPerSec: n / ((allIp - t0) / 1000),
    createPerSec: n / ((createdAll - t0) / 1000),
    oneByOne: lat.length,
    createToIpP50Ms: pct(lat, 50),
    createToIpP99Ms: pct(lat, 99),
    driverCpuSec: (cpu.user + cpu.system) / 1e6,
  };
}

const svcPath = `/api/v1/namespaces/${NS}/services`;
type Listed = { items: V1Service[] };

async function probe(name: string): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  await rest.request('POST', svcPath, { body: body(name) });
  for (;;) {
    const s = await rest.request<V1Service>('GET', `${svcPath}/${name}`);
    if ((s.status?.loadBalancer?.ingress?.length ?? 0) > 0) break;
    if (performance.now() - t0 > 120_000) throw new Error(`probe ${name}: no IP within 120 s`);
    await sleep(100);
  }
  const ipMs = performance.now() - t0;
  await rest.request('DELETE', `${svcPath}/${name}`);
  return { probe: name, ipMs };
}

async function clean(): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  for (;;) {
    const names = (await rest.request<Listed>('GET', svcPath)).items.map((s) => s.metadata?.name ?? '');
    if (names.length === 0) break;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < names.length) {
          const name = names[next++] ?? '';
          try {
            await rest.request('DELETE', `${svcPath}/${name}`, { discard: true });
          } catch (e) {
            if (!(e instanceof KubeRestError && (e.code === 404 || e.code === 429))) throw e;
          }
        }
      }),
    );
  }
  return { cleanSec: (performance.now() - t0) / 1000 };
}

const [step, a, b] = process.argv.slice(2);
const out =
  step === 'setup'
    ? await setup()
    : step === 'probe'
      ? await probe(a ?? 'probe')
      : step === 'clean'
        ? await clean()
        : await run(Number(a ?? 5000), Number(b ?? 200));
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
