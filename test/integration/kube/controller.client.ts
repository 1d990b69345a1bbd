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
//   webhook-register URL CAFILE  create deploy/controller/webhook.yaml with clientConfig {url, caBundle};
//                  wait until the apiserver calls it (a malformed probe pool is refused)
//   webhook        bad pools refused with the formatted errors and nothing changed; a good one admitted;
//                  an update breaking a pool refused; a pool outside metallb-system refused; a BFDProfile
//                  in use by a BGPPeer cannot be deleted
//   lease          the controller Lease's spec;  snapshot  every service's IPs and pool
//   ha-new NAME    a new LoadBalancer service gets an IP; returns it, the snapshot and the Lease
//   assignment     MetalLB's "IP Assignment" e2e group in namespace kb-ipa: pool priority with namespace
//                  and service selectors, autoAssign: false skipped, shared IPs (allow-shared-ip),
//                  PreferDualStack, a deleted pool's services re-allocated from another pool; Events
//                  (ClearAssignment, deprecatedAnnotation, LoadBalancerFailed) and IPAddressPool status; the
//                  deprecated metallb.universe.tf/ip-allocated-from-pool migrated to metallb.io
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1Service,
} from '@kubernetes/client-node';

const step = process.argv[2];
const ns = process.argv[3] ?? 'kb-apps';
const REPO = new URL('../../../', import.meta.url).pathname;
const POOL_NS = 'metallb-system';
const ANN = 'metallb.io/ip-allocated-from-pool';

const extra = process.argv.slice(4);
const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? '');
const core = kc.makeApiClient(CoreV1Api);
const objects = KubernetesObjectApi.makeApiClient(kc);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function poll<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function apply(yamlText: string): Promise<void> {
  // loadAllYaml maps YAML keys to the client's model names (a plain parse would lose `default`).
  for (const obj of loadAllYaml(yamlText) as KubernetesObject[]) {
    // CRDs just created may not be served yet: retry 404s.
    await poll(
      `create ${obj.kind}/${obj.metadata?.name}`,
      async () => {
        try {
          await objects.create(obj);
          return true;
        } catch (e) {
          if (e instanceof ApiException && e.code === 409) return true;
          if (e instanceof ApiException && e.code === 404) return undefined;
          throw e;
        }
      },
      30_000,
    );
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
const hasIp = (name: string) =>
  poll(`an IP on ${name}`, async () => {
    const v = await view(name);
    return v.ips.length > 0 && v.pool ? v : undefined;
  });

async function setType(name: string, type: string): Promise<void> {
  const s = await core.readNamespacedService({ name, namespace: ns });
  if (!s.spec) throw new Error('no spec');
  s.spec.type = type;
  if (type === 'ClusterIP') {
    delete s.spec.ports?.[0]?.nodePort;
    s.spec.allocateLoadBalancerNodePorts = undefined;
    s.spec.externalTrafficPolicy = undefined;
  }
  await core.replaceNamespacedService({ name, namespace: ns, body: s });
}

async function setup(): Promise<Record<string, unknown>> {
  const crdDir = join(REPO, 'deploy/crds');
  const read = (f: string) => readFileSync(join(REPO, f), 'utf8');
  for (const f of readdirSync(crdDir)
    .filter((x) => x.endsWith('.yaml'))
    .sort())
    await apply(read(`deploy/crds/${f}`));
  await apply(read('deploy/namespace.yaml'));
  await apply(read('deploy/rbac/controller.yaml'));
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await apply(
    `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: kb-pool, namespace: ${POOL_NS} }\nspec:\n  addresses: ['198.51.100.240/29', '2001:db8:40::/125']\n`,
  );
  await apply(
    `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: kb-manual, namespace: ${POOL_NS} }\nspec:\n  addresses: ['198.51.100.232/30']\n  autoAssign: false\n`,
  );
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'controller',
    namespace: POOL_NS,
    body: { spec: { audiences: [], expirationSeconds: 7200 } },
  });
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
  const aCluster = await poll('a cleared', async () => {
    const v = await view('a');
    return v.ips.length === 0 && !v.pool ? v : undefined;
  });
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
  const dual = await poll('two IPs on dual', async () => {
    const v = await view('dual');
    return v.ips.length === 2 ? v : undefined;
  });
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
  const state = async () => {
    const o = (await custom.getNamespacedCustomObject({
      group: 'metallb.io',
      version: 'v1beta1',
      namespace: POOL_NS,
      plural: 'configurationstates',
      name: 'controller',
    })) as { status?: { result?: string; errorSummary?: string } };
    return o.status;
  };
  const metrics = async () => (await fetch('http://127.0.0.1:7472/metrics')).text();
  const metric = (text: string, name: string, labels = '') => {
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const valid = await poll('ConfigurationState Valid', async () => ((await state())?.result === 'Valid' ? await state() : undefined));
  const before = await metrics();
  await apply(
    `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: kb-overlap, namespace: ${POOL_NS} }\nspec:\n  addresses: ['198.51.100.244/30']\n`,
  );
  const invalid = await poll('ConfigurationState Invalid', async () => ((await state())?.result === 'Invalid' ? await state() : undefined));
  const during = await metrics();
  await core.createNamespacedService({ namespace: ns, body: svcBody('f') });
  const f = await hasIp('f');
  await objects.delete({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'kb-overlap', namespace: POOL_NS } });
  const again = await poll('ConfigurationState Valid again', async () => ((await state())?.result === 'Valid' ? await state() : undefined));
  return {
    valid,
    invalid,
    again,
    f,
    inUse: metric(before, 'metallb_allocator_addresses_in_use_total', '{pool="kb-pool"}'),
    loaded: metric(before, 'metallb_k8s_client_config_loaded_bool'),
    staleBefore: metric(before, 'metallb_k8s_client_config_stale_bool'),
    staleDuring: metric(during, 'metallb_k8s_client_config_stale_bool'),
  };
}

const custom = kc.makeApiClient(CustomObjectsApi);
const poolRef = (name: string, namespace = POOL_NS) => ({
  group: 'metallb.io',
  version: 'v1beta1',
  namespace,
  plural: 'ipaddresspools',
  name,
});
const poolBody = (name: string, addresses: string[], namespace = POOL_NS) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace },
  spec: { addresses },
});
/** The apiserver's refusal message, or 'admitted'. */
async function attempt(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'admitted';
  } catch (e) {
    if (e instanceof ApiException) {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
      return `${e.code}: ${body?.message ?? ''}`;
    }
    throw e;
  }
}
const poolNames = async () =>
  (
    (await custom.listNamespacedCustomObject({
      group: 'metallb.io',
      version: 'v1beta1',
      namespace: POOL_NS,
      plural: 'ipaddresspools',
    })) as { items: KubernetesObject[] }
  ).items
    .map((o) => o.metadata?.name ?? '')
    .sort();

async function webhookRegister(): Promise<Record<string, unknown>> {
  const [url = '', caFile = ''] = extra;
  const [cfg] = loadAllYaml(readFileSync(join(REPO, 'deploy/controller/webhook.yaml'), 'utf8')) as Array<
    KubernetesObject & { webhooks: Array<{ clientConfig: unknown }> }
  >;
  if (!cfg) throw new Error('no webhook configuration in deploy/controller/webhook.yaml');
  for (const w of cfg.webhooks) w.clientConfig = { url, caBundle: Buffer.from(readFileSync(caFile)).toString('base64') };
  await objects.create(cfg);
  // The apiserver picks the configuration up asynchronously: probe until a malformed pool is refused.
  let probes = 0;
  const refused = await poll('the webhook in force', async () => {
    probes++;
    const r = await attempt(() =>
      custom.createNamespacedCustomObject({ ...poolRef('kb-probe'), body: poolBody('kb-probe', ['198.51.100.0/33']) }),
    );
    if (r === 'admitted') {
      await custom.deleteNamespacedCustomObject(poolRef('kb-probe'));
      return undefined;
    }
    return r;
  });
  return { probes, refused };
}

async function webhook(): Promise<Record<string, unknown>> {
  const before = await poolNames();
  const overlap = await attempt(() =>
    custom.createNamespacedCustomObject({ ...poolRef('kb-wh-overlap'), body: poolBody('kb-wh-overlap', ['198.51.100.244/30']) }),
  );
  const malformed = await attempt(() =>
    custom.createNamespacedCustomObject({ ...poolRef('kb-wh-bad'), body: poolBody('kb-wh-bad', ['198.51.100.0/33']) }),
  );
  const manual = (await custom.getNamespacedCustomObject(poolRef('kb-manual'))) as KubernetesObject & { spec: { addresses: string[] } };
  const manualBefore = manual.spec.addresses;
  manual.spec.addresses = ['198.51.100.232/30', '198.51.100.242/31'];
  const update = await attempt(() => custom.replaceNamespacedCustomObject({ ...poolRef('kb-manual'), body: manual }));
  const elsewhere = await attempt(() =>
    custom.createNamespacedCustomObject({ ...poolRef('kb-wh-ns', ns), body: poolBody('kb-wh-ns', ['198.51.100.228/30'], ns) }),
  );
  const after = await poolNames();
  const manualAfter = ((await custom.getNamespacedCustomObject(poolRef('kb-manual'))) as { spec: { addresses: string[] } }).spec.addresses;
  // Valid (again, if the registration's probe pool was admitted for a moment before the webhook was in force).
  const state = await poll('ConfigurationState Valid', async () => {
    const r = (
      (await custom.getNamespacedCustomObject({
        group: 'metallb.io',
        version: 'v1beta1',
        namespace: POOL_NS,
        plural: 'configurationstates',
        name: 'controller',
      })) as { status?: { result?: string } }
    ).status?.result;
    return r === 'Valid' ? r : undefined;
  });
  const good = await attempt(() =>
    custom.createNamespacedCustomObject({ ...poolRef('kb-wh-good'), body: poolBody('kb-wh-good', ['198.51.100.224/30']) }),
  );
  // A BFDProfile in use cannot go (MetalLB); once the peer is gone it can.
  const v1b1 = { group: 'metallb.io', version: 'v1beta1', namespace: POOL_NS };
  await custom.createNamespacedCustomObject({
    ...v1b1,
    plural: 'bfdprofiles',
    body: { apiVersion: 'metallb.io/v1beta1', kind: 'BFDProfile', metadata: { name: 'kb-bfd', namespace: POOL_NS }, spec: {} },
  });
  await custom.createNamespacedCustomObject({
    ...v1b1,
    version: 'v1beta2',
    plural: 'bgppeers',
    body: {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: 'kb-peer', namespace: POOL_NS },
      spec: { myASN: 64512, peerASN: 64500, peerAddress: '198.51.100.1', bfdProfile: 'kb-bfd' },
    },
  });
  const bfdInUse = await attempt(() => custom.deleteNamespacedCustomObject({ ...v1b1, plural: 'bfdprofiles', name: 'kb-bfd' }));
  await custom.deleteNamespacedCustomObject({ ...v1b1, version: 'v1beta2', plural: 'bgppeers', name: 'kb-peer' });
  const bfdFree = await poll('BFDProfile deletable once the peer is gone', async () => {
    const r = await attempt(() => custom.deleteNamespacedCustomObject({ ...v1b1, plural: 'bfdprofiles', name: 'kb-bfd' }));
    return r === 'admitted' ? r : undefined;
  });
  return { before, after, overlap, malformed, update, elsewhere, manualBefore, manualAfter, state, good, bfdInUse, bfdFree };
}

async function snapshot(): Promise<Record<string, { ips: string[]; pool?: string }>> {
  const list = await core.listNamespacedService({ namespace: ns });
  return Object.fromEntries(
    list.items.map((s) => {
      const ann = s.metadata?.annotations?.[ANN];
      return [
        s.metadata?.name ?? '',
        { ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''), ...(ann ? { pool: ann } : {}) },
      ];
    }),
  );
}
const lease = async () => {
  const l = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'mooring-controller', namespace: POOL_NS });
  return {
    holderIdentity: l.spec?.holderIdentity,
    leaseTransitions: l.spec?.leaseTransitions,
    leaseDurationSeconds: l.spec?.leaseDurationSeconds,
  };
};
async function haNew(): Promise<Record<string, unknown>> {
  const name = extra[0] ?? 'h';
  await core.createNamespacedService({ namespace: ns, body: svcBody(name) });
  const svc = await hasIp(name);
  return { svc, all: await snapshot(), lease: await lease() };
}

async function assignment(): Promise<Record<string, unknown>> {
  const ipa = 'kb-ipa';
  await core.createNamespace({ body: { metadata: { name: ipa, labels: { team: 'ipa' } } } });
  const pool = (name: string, addresses: string[], sa: Record<string, unknown>, autoAssign = true) =>
    custom.createNamespacedCustomObject({
      ...poolRef(name),
      body: { ...poolBody(name, addresses), spec: { addresses, autoAssign, serviceAllocation: sa } },
    });
  await pool('ipa-low', ['198.51.100.208/30'], { priority: 20, namespaces: [ipa] });
  await pool('ipa-high', ['198.51.100.212/30'], { priority: 10, namespaceSelectors: [{ matchLabels: { team: 'ipa' } }] });
  await pool('ipa-svc', ['198.51.100.216/30'], { priority: 5, serviceSelectors: [{ matchLabels: { app: 'special' } }] });
  await pool('ipa-dual', ['198.51.100.220/30', '2001:db8:41::/125'], { priority: 1, serviceSelectors: [{ matchLabels: { app: 'dual' } }] });
  await pool('ipa-noauto', ['198.51.100.204/30'], { priority: 0, serviceSelectors: [{ matchLabels: { app: 'noauto' } }] }, false);
  // The controller writes every pool's status once it holds the pool: then all five are in force.
  await poll(
    'the new pools in force (status written)',
    async () => ((await custom.getNamespacedCustomObject(poolRef('ipa-noauto'))) as { status?: unknown }).status ?? undefined,
  );
  const viewIn = async (name: string) => {
    const s = await core.readNamespacedService({ name, namespace: ipa });
    const ann = s.metadata?.annotations?.[ANN];
    return { ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''), ...(ann ? { pool: ann } : {}) };
  };
  const ipIn = (name: string, n = 1) =>
    poll(`${n} IP(s) on ${ipa}/${name}`, async () => {
      const v = await viewIn(name);
      return v.ips.length >= n && v.pool ? v : undefined;
    });
  const mk = async (
    name: string,
    o: { annotations?: Record<string, string>; port?: number; spec?: Partial<NonNullable<V1Service['spec']>> } = {},
  ) => {
    const b = svcBody(name);
    b.metadata = { name, namespace: ipa, labels: { app: name }, annotations: o.annotations ?? {} };
    b.spec = { ...b.spec, ports: [{ name: 'p', port: o.port ?? 80, protocol: 'TCP' }], ...o.spec };
    await core.createNamespacedService({ namespace: ipa, body: b });
  };
  const eventsOf = async (name: string) =>
    (await core.listNamespacedEvent({ namespace: ipa, fieldSelector: `involvedObject.name=${name}` })).items.map((e) => ({
      type: e.type,
      reason: e.reason,
      message: e.message,
    }));
  const eventFor = (name: string, reason: string) =>
    poll(`a ${reason} event for ${name}`, async () => (await eventsOf(name)).find((e) => e.reason === reason));
  const shared = 'metallb.io/allow-shared-ip';

  // Priority and selectors: the namespace-selected pool (10) beats the namespace-listed one (20),
  // a service selector (5) beats both; an autoAssign: false pool is never chosen automatically.
  await mk('p1');
  const p1 = await ipIn('p1');
  await mk('special');
  const special = await ipIn('special');
  await mk('noauto');
  const noauto = await ipIn('noauto');
  // Shared IPs: same key, no port overlap -> same IP; same key, same port -> another IP.
  await mk('sh1', { annotations: { [shared]: 'k1' } });
  const sh1 = await ipIn('sh1');
  await mk('sh2', { annotations: { [shared]: 'k1' }, port: 81 });
  const sh2 = await ipIn('sh2');
  await mk('sh3', { annotations: { [shared]: 'k1' } });
  const sh3 = await ipIn('sh3');
  // PreferDualStack: both families from the one pool that has both.
  await mk('dual', { spec: { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] } });
  const dual = await ipIn('dual', 2);
  // A deprecated annotation still works, and is reported.
  await mk('dep', { annotations: { 'metallb.universe.tf/address-pool': 'ipa-low' } });
  const dep = await ipIn('dep');
  const depEvent = await eventFor('dep', 'deprecatedAnnotation');
  // The pool annotation an older MetalLB wrote is migrated when the controller writes the service
  // (MetalLB v0.16): metallb.io/ip-allocated-from-pool set, metallb.universe.tf/ip-allocated-from-pool
  // removed in the same write, and reported. (Labelled app: dual: ipa-dual's selector picks it.)
  {
    const b = svcBody('mig');
    b.metadata = {
      name: 'mig',
      namespace: ipa,
      labels: { app: 'dual' },
      annotations: { 'metallb.universe.tf/ip-allocated-from-pool': 'old' },
    };
    b.spec = { ...b.spec, ports: [{ name: 'p', port: 80, protocol: 'TCP' }] };
    await core.createNamespacedService({ namespace: ipa, body: b });
  }
  const mig = await ipIn('mig');
  const migAnnotations = Object.keys((await core.readNamespacedService({ name: 'mig', namespace: ipa })).metadata?.annotations ?? {})
    .filter((k) => k.includes('ip-allocated-from-pool'))
    .sort();
  const migEvent = await eventFor('mig', 'deprecatedAnnotation');
  // Deleting a pool: its service is re-allocated from the next pool (ipa-high is full: ipa-low).
  await custom.deleteNamespacedCustomObject(poolRef('ipa-svc'));
  // (The annotation and the status are two writes: wait for both, not just the new pool name.)
  const moved = await poll('special re-allocated', async () => {
    const v = await viewIn('special');
    return v.pool === 'ipa-low' && v.ips.length === 1 && v.ips[0] !== special.ips[0] ? v : undefined;
  });
  const clearEvent = await eventFor('special', 'ClearAssignment');
  // An unreadable requested IP on a service that has one: LoadBalancerFailed, the IP is kept.
  const s1 = await core.readNamespacedService({ name: 'p1', namespace: ipa });
  s1.metadata = { ...s1.metadata, annotations: { ...s1.metadata?.annotations, 'metallb.io/loadBalancerIPs': 'not-an-ip' } };
  await core.replaceNamespacedService({ name: 'p1', namespace: ipa, body: s1 });
  const lbFailed = await eventFor('p1', 'LoadBalancerFailed');
  const p1After = await viewIn('p1');
  // LoadBalancer -> ClusterIP: ClearAssignment.
  const s2 = await core.readNamespacedService({ name: 'noauto', namespace: ipa });
  if (s2.spec) {
    s2.spec.type = 'ClusterIP';
    delete s2.spec.ports?.[0]?.nodePort;
    s2.spec.allocateLoadBalancerNodePorts = undefined;
    s2.spec.externalTrafficPolicy = undefined;
  }
  await core.replaceNamespacedService({ name: 'noauto', namespace: ipa, body: s2 });
  const typeEvent = await eventFor('noauto', 'ClearAssignment');
  // Pool status through the status subresource: ipa-high 212 (p1), 214 (sh1+sh2), 215 (sh3) after noauto's 213 went.
  const status = (name: string) =>
    custom.getNamespacedCustomObject(poolRef(name)).then((o) => (o as { status?: Record<string, number> }).status);
  const want = {
    high: { assignedIPv4: 3, assignedIPv6: 0, availableIPv4: 1, availableIPv6: 0 },
    low: { assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 0 },
  };
  const poolStatus = await poll(
    'pool status counts',
    async () => {
      const high = await status('ipa-high');
      const low = await status('ipa-low');
      return JSON.stringify({ high, low }) === JSON.stringify(want) ? { high, low } : undefined;
    },
    30_000,
  ).catch(async (e: unknown) => ({ error: String(e), high: await status('ipa-high'), low: await status('ipa-low') }));
  return {
    p1,
    special,
    noauto,
    sh1,
    sh2,
    sh3,
    dual,
    dep,
    depEvent,
    mig,
    migAnnotations,
    migEvent,
    moved,
    clearEvent,
    lbFailed,
    p1After,
    typeEvent,
    poolStatus,
  };
}

const out =
  step === 'assignment'
    ? await assignment()
    : step === 'webhook-register'
      ? await webhookRegister()
      : step === 'webhook'
        ? await webhook()
        : step === 'lease'
          ? await lease()
          : step === 'snapshot'
            ? await snapshot()
            : step === 'ha-new'
              ? await haNew()
              : step === 'config-state'
                ? await configState()
                : step === 'setup'
                  ? await setup()
                  : step === 'assign'
                    ? await assign()
                    : step === 'features'
                      ? await features()
                      : step === 'after-api-restart'
                        ? await afterApiRestart()
                        : step === 'view'
                          ? Object.fromEntries(await Promise.all(['a', 'c', 'd'].map(async (n) => [n, await view(n)] as const)))
                          : await afterRestart();
process.stdout.write(`${JSON.stringify(out)}\n`);
