// Client half of apiserver.test.ts. Runs INSIDE the test's network namespace (`runTs`), talks to
// the real apiserver with @kubernetes/client-node and prints one JSON object of observations on
// stdout; the test file makes the assertions. Usage: apiserver.client.ts setup|crds|check <namespace>
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';

const [step, ns] = process.argv.slice(2);
if (!step || !ns) throw new Error('usage: apiserver.client.ts setup|crds|check <namespace>');
const CRD_DIR = new URL('../../../deploy/crds/', import.meta.url).pathname;
const POOL = { group: 'metallb.io', version: 'v1beta1', plural: 'ipaddresspools', namespace: 'metallb-system' };

const admin = new KubeConfig();
admin.loadFromFile(process.env.KUBECONFIG ?? '');
const core = admin.makeApiClient(CoreV1Api);

/** A KubeConfig for the same cluster authenticating with `token` (a ServiceAccount's). */
function withToken(token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('no cluster in kubeconfig');
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(cluster, { name: 'sa', token });
  return kc;
}

/** HTTP status of a call: 200 when it succeeds, the ApiException code otherwise. */
async function status(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (e) {
    if (e instanceof ApiException) return e.code;
    throw e;
  }
}

async function saToken(name: string): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace: ns as string, body: { metadata: { name } } });
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace: ns as string,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${name} returned no token`);
  return token;
}

async function whoami(kc: KubeConfig): Promise<string | undefined> {
  const r = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  return r.status?.userInfo?.username;
}

async function setup(): Promise<Record<string, unknown>> {
  const created = await core.createNamespace({ body: { metadata: { name: ns, labels: { 'mooring.test/kube': 'yes' } } } });

  const unbound = withToken(await saToken('unbound'));
  const bound = withToken(await saToken('bound'));
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: ns as string,
    body: { metadata: { name: 'list-services' }, rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns as string,
    body: {
      metadata: { name: 'bound-lists-services' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'list-services' },
      subjects: [{ kind: 'ServiceAccount', name: 'bound', namespace: ns }],
    },
  });
  const listAs = (kc: KubeConfig) => status(() => kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace: ns as string }));
  // The RBAC authorizer reads bindings from an informer: a fresh binding takes effect shortly.
  let boundList = await listAs(bound);
  for (let i = 0; i < 100 && boundList !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    boundList = await listAs(bound);
  }

  const svc = await core.createNamespacedService({
    namespace: ns as string,
    body: {
      metadata: { name: 'web' },
      spec: {
        type: 'LoadBalancer',
        ipFamilyPolicy: 'RequireDualStack',
        ipFamilies: ['IPv4', 'IPv6'],
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      },
    },
  });
  return {
    namespaceUid: created.metadata?.uid,
    unboundUser: await whoami(unbound),
    boundUser: await whoami(bound),
    unboundList: await listAs(unbound),
    unboundReadNamespace: await status(() => unbound.makeApiClient(CoreV1Api).readNamespace({ name: ns as string })),
    boundList,
    badTokenList: await listAs(withToken('not-a-valid-token')),
    service: {
      type: svc.spec?.type,
      clusterIPs: svc.spec?.clusterIPs,
      ipFamilies: svc.spec?.ipFamilies,
      nodePort: svc.spec?.ports?.[0]?.nodePort,
    },
  };
}

/** Installs every deploy/crds file, waits until each is Established, creates and reads back a pool. */
async function crds(): Promise<Record<string, unknown>> {
  const ext = admin.makeApiClient(ApiextensionsV1Api);
  const files = readdirSync(CRD_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const names: string[] = [];
  for (const f of files) {
    // loadYaml, not a plain YAML parse: the typed API serialises from its model names
    // (`_default`, `xKubernetesValidations`) and silently drops `default`, `x-kubernetes-*` keys
    // of a plain object.
    const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(join(CRD_DIR, f), 'utf8'));
    await ext.createCustomResourceDefinition({ body: crd });
    names.push(crd.metadata?.name ?? f);
  }
  const established: string[] = [];
  for (const name of names) {
    for (let i = 0; i < 300; i++) {
      const c = await ext.readCustomResourceDefinition({ name });
      if (c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) {
        established.push(name);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await core.createNamespace({ body: { metadata: { name: POOL.namespace } } });
  const objects = admin.makeApiClient(CustomObjectsApi);
  const body = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: `pool-${ns}`, namespace: POOL.namespace },
    spec: { addresses: ['198.51.100.224/28', '2001:db8:1::/120'], autoAssign: false },
  };
  // Established can precede the discovery/handler swap by a moment: retry 404s briefly.
  let createStatus = 0;
  for (let i = 0; i < 100 && createStatus !== 200; i++) {
    createStatus = await status(() => objects.createNamespacedCustomObject({ ...POOL, body }));
    if (createStatus !== 404) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const read = (await objects.getNamespacedCustomObject({ ...POOL, name: `pool-${ns}` })) as { spec?: unknown };
  // The schema is enforced: addresses must be a list of strings.
  const invalidStatus = await status(() =>
    objects.createNamespacedCustomObject({
      ...POOL,
      body: { ...body, metadata: { name: `bad-${ns}`, namespace: POOL.namespace }, spec: { addresses: 'not-a-list' } },
    }),
  );
  return { files: files.length, established, createStatus, spec: read.spec, invalidStatus };
}

async function check(): Promise<Record<string, unknown>> {
  const n = await core.readNamespace({ name: ns as string });
  const svc = await core.readNamespacedService({ name: 'web', namespace: ns as string });
  const objects = admin.makeApiClient(CustomObjectsApi);
  const pool = (await objects.getNamespacedCustomObject({ ...POOL, name: `pool-${ns}` })) as { spec?: unknown };
  return { namespaceUid: n.metadata?.uid, phase: n.status?.phase, service: { clusterIPs: svc.spec?.clusterIPs }, poolSpec: pool.spec };
}

const out = step === 'setup' ? await setup() : step === 'crds' ? await crds() : await check();
process.stdout.write(`${JSON.stringify(out)}\n`);
