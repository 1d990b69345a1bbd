// Admin-side half of controller.test.ts, run INSIDE the test's client namespace (`runTs`).
// Steps (argv[2]); each prints one JSON line of observations, the test asserts:
//   setup          install deploy/crds, deploy/namespace.yaml, deploy/rbac/controller.yaml, a pool;
//                  print a TokenRequest token for the controller's ServiceAccount
//   assign         LoadBalancer services: IP + annotation + Event; LB -> ClusterIP -> LB; delete frees
//   after-restart  the IPs are unchanged after a controller restart; a new service gets a fresh IP
//   features       address-pool / loadBalancerIPs annotations, RequireDualStack, another loadBalancerClass
//   view           a, c, d as they are;  after-api-restart  everything kept, a new service served
//   config-state   ConfigurationState/controller and /metrics: Valid, then Invalid (with the reason)
//                  while an overlapping pool exists, a new service still served from the last valid
//                  config, Valid again once the bad pool is gone
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, loadAllYaml, type KubernetesObject, type V1Service,
} from '@kubernetes/client-node';

const step = process.argv[2];
const ns = process.argv[3] ?? 'kb-apps';
const REPO = new URL('../../../', import.meta.url).pathname;
const POOL_NS = 'metallb-system';
const ANN = 'metallb.io/ip-allocated-from-pool';

const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? '');
const core = kc.makeApiClient(CoreV1Api);
const objects = KubernetesObjectApi.makeApiClient(kc);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function poll<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try { const v = await fn(); if (v !== undefined) return v; } catch (e) { last = e; }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function apply(yamlText: string): Promise<void> {
  // loadAllYaml maps YAML keys to the client's model names (a plain parse would lose `default`).
  for (const obj of loadAllYaml(yamlText) as KubernetesObject[]) {
    // CRDs just created may not be served yet: retry 404s.
    await poll(`create ${obj.kind}/${obj.metadata?.name}`, async () => {
      try { await objects.create(obj); return true; } catch (e) {
        if (e instanceof ApiException && e.code === 409) return true;
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw e;
      }
    }, 30_000);
  }
}

const svcBody = (name: string, type = 'LoadBalancer'): V1Service => ({
  metadata: { name, namespace: ns },
  spec: { type, selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});

async function view(name: string): Promise<{ ips: string[]; pool?: string; rv?: string }> {
  const s = await core.readNamespacedService({ name, namespace: ns });
  const ann = s.metadata?.annotations?.[ANN];
  return { ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''), ...(ann ? { pool: ann } : {}) };
}
const hasIp = (name: string) => poll(`an IP on ${name}`, async () => { const v = await view(name); return v.ips.length > 0 && v.pool ? v : undefined; });

async function setType(name: string, type: string): Promise<void> {
  const s = await core.readNamespacedService({ name, namespace: ns });
  if (!s.spec) throw new Error('no spec');
  s.spec.type = type;
  if (type === 'ClusterIP') { delete s.spec.ports?.[0]?.nodePort; s.spec.allocateLoadBalancerNodePorts = undefined; s.spec.externalTrafficPolicy = undefined; }
  await core.replaceNamespacedService({ name, namespace: ns, body: s });
}

async function setup(): Promise<Record<string, unknown>> {
  const crdDir = join(REPO, 'deploy/crds');
  const read = (f: string) => readFileSync(join(REPO, f), 'utf8');
  for (const f of readdirSync(crdDir).filter((x) => x.endsWith('.yaml')).sort()) await apply(read(`deploy/crds/${f}`));
  await apply(read('deploy/namespace.yaml'));
  await apply(read('deploy/rbac/controller.yaml'));
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await apply(`apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: kb-pool, namespace: ${POOL_NS} }\nspec:\n  addresses: ['198.51.100.240/29', '2001:db8:40::/125']\n`);
  await apply(`apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: kb-manual, namespace: ${POOL_NS} }\nspec:\n  addresses: ['198.51.100.232/30']\n  autoAssign: false\n`);
  const tr = await core.createNamespacedServiceAccountToken({ name: 'controller', namespace: POOL_NS, body: { spec: { audiences: [], expirationSeconds: 7200 } } });
  return { token: tr.status?.token };
}

async function assign(): Promise<Record<string, unknown>> {
  await core.createNamespacedService({ namespace: ns, body: svcBody('a') });
  const a1 = await hasIp('a');
  const events = await poll('an IPAllocated event for a', async () => {
    const list = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=a' });
    const e = list.items.find((x) => x.reason === 'IPAllocated');
    return e ? { reason: e.reason, message: e.message, type: e.type } : undefined;
  });
  // LoadBalancer -> ClusterIP: the IP and the annotation go.
  await setType('a', 'ClusterIP');
  const aCluster = await poll('a cleared', async () => { const v = await view('a'); return v.ips.length === 0 && !v.pool ? v : undefined; });
  // A second service takes the lowest free address, i.e. the one a just released.
  await core.createNamespacedService({ namespace: ns, body: svcBody('b') });
  const b = await hasIp('b');
  // a back to LoadBalancer: a new IP, not b's.
  await setType('a', 'LoadBalancer');
  const a2 = await hasIp('a');
  // Deleting b frees its IP for the next service.
  await core.deleteNamespacedService({ name: 'b', namespace: ns });
  await sleep(500);
  await core.createNamespacedService({ namespace: ns, body: svcBody('c') });
  const c = await hasIp('c');
  return { a1, events, aCluster, b, a2, c };
}

async function afterRestart(): Promise<Record<string, unknown>> {
  const a = await view('a');
  const c = await view('c');
  await core.createNamespacedService({ namespace: ns, body: svcBody('d') });
  const d = await hasIp('d');
  return { a, c, d };
}

/** MetalLB's annotations, dual-stack and loadBalancerClass through the controller. */
async function features(): Promise<Record<string, unknown>> {
  const mk = (name: string, annotations: Record<string, string>, spec: Partial<NonNullable<V1Service['spec']>> = {}) => {
    const b = svcBody(name);
    b.metadata = { ...b.metadata, annotations };
    b.spec = { ...b.spec, ...spec };
    return core.createNamespacedService({ namespace: ns, body: b });
  };
  await mk('other-class', {}, { loadBalancerClass: 'other.example/lb' });
  await mk('manual', { 'metallb.io/address-pool': 'kb-manual' });
  await mk('requested', { 'metallb.io/loadBalancerIPs': '198.51.100.246' });
  await mk('dual', {}, { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] });
  const manual = await hasIp('manual');
  const requested = await hasIp('requested');
  const dual = await poll('two IPs on dual', async () => { const v = await view('dual'); return v.ips.length === 2 ? v : undefined; });
  // Every service is converged in the same pass, so other-class has been seen by now.
  const otherClass = await view('other-class');
  return { manual, requested, dual, otherClass };
}

/** After an apiserver restart: nothing lost, and the controller still serves new services. */
async function afterApiRestart(): Promise<Record<string, unknown>> {
  const names = ['a', 'c', 'd', 'manual', 'requested', 'dual'];
  const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await view(n)] as const)));
  await core.createNamespacedService({ namespace: ns, body: svcBody('e') });
  const e = await hasIp('e');
  return { ...before, e };
}

async function configState(): Promise<Record<string, unknown>> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const state = async () => {
    const o = await custom.getNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: POOL_NS, plural: 'configurationstates', name: 'controller' }) as { status?: { result?: string; errorSummary?: string } };
    return o.status;
  };
  const metrics = async () => (await fetch('http://127.0.0.1:7472/metrics')).text();
  const metric = (text: string, name: string, labels = '') => {
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const valid = await poll('ConfigurationState Valid', async () => ((await state())?.result === 'Valid' ? await state() : undefined));
  const before = await metrics();
  await apply(`apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: kb-overlap, namespace: ${POOL_NS} }\nspec:\n  addresses: ['198.51.100.244/30']\n`);
  const invalid = await poll('ConfigurationState Invalid', async () => ((await state())?.result === 'Invalid' ? await state() : undefined));
  const during = await metrics();
  await core.createNamespacedService({ namespace: ns, body: svcBody('f') });
  const f = await hasIp('f');
  await objects.delete({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'kb-overlap', namespace: POOL_NS } });
  const again = await poll('ConfigurationState Valid again', async () => ((await state())?.result === 'Valid' ? await state() : undefined));
  return {
    valid, invalid, again, f,
    inUse: metric(before, 'metallb_allocator_addresses_in_use_total', '{pool="kb-pool"}'),
    loaded: metric(before, 'metallb_k8s_client_config_loaded_bool'),
    staleBefore: metric(before, 'metallb_k8s_client_config_stale_bool'),
    staleDuring: metric(during, 'metallb_k8s_client_config_stale_bool'),
  };
}

const out = step === 'config-state' ? await configState() : step === 'setup' ? await setup() : step === 'assign' ? await assign() : step === 'features' ? await features()
  : step === 'after-api-restart' ? await afterApiRestart()
  : step === 'view' ? Object.fromEntries(await Promise.all(['a', 'c', 'd'].map(async (n) => [n, await view(n)] as const)))
  : await afterRestart();
process.stdout.write(`${JSON.stringify(out)}\n`);
