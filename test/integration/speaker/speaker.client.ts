// Client half of speaker.test.ts: runs INSIDE a test namespace (runTs) with the admin
// kubeconfig and prints one JSON object per call. Steps:
//   setup <speaker-kubeconfig-out> <apiserver-url>   CRDs, namespace, RBAC from deploy/, Node n1, the speaker's SA token
//   apply <yaml-file>                                 create (or replace) every object in the file
//   delete <plural> <name>                            delete a metallb.io object in metallb-system
//   lb-status <ns> <svc> <ip>                         set status.loadBalancer.ingress (as the controller would)
//   get <plural> [labelSelector]                      list metallb.io objects in metallb-system
//   events <ns>                                       Events in a namespace
//   can-update-services                               whether the speaker's token may update Services (expect 403)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  loadYaml,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';

const DEPLOY = new URL('../../../deploy/', import.meta.url).pathname;
const [step, ...args] = process.argv.slice(2);
const admin = new KubeConfig();
admin.loadFromFile(process.env.KUBECONFIG ?? '');
const core = admin.makeApiClient(CoreV1Api);
const custom = admin.makeApiClient(CustomObjectsApi);
const objects = KubernetesObjectApi.makeApiClient(admin);
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function upsert(o: KubernetesObject): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await objects.create(o);
      return;
    } catch (e) {
      if (e instanceof ApiException && e.code === 409) {
        const cur = (await objects.read({
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: { name: o.metadata?.name ?? '', namespace: o.metadata?.namespace ?? '' },
        } as never)) as KubernetesObject;
        await objects.replace({ ...o, metadata: { ...o.metadata, resourceVersion: cur.metadata?.resourceVersion } } as KubernetesObject);
        return;
      }
      // A CRD just became Established: its REST mapping can lag a moment.
      if (e instanceof ApiException && e.code === 404) {
        await sleep(100);
        continue;
      }
      throw e;
    }
  }
}

async function setup(kubeconfigOut: string, url: string): Promise<unknown> {
  const ext = admin.makeApiClient(ApiextensionsV1Api);
  for (const f of readdirSync(join(DEPLOY, 'crds'))
    .filter((x) => x.endsWith('.yaml'))
    .sort()) {
    const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(join(DEPLOY, 'crds', f), 'utf8'));
    await ext.createCustomResourceDefinition({ body: crd });
    for (let i = 0; i < 300; i++) {
      const c = await ext.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
      if (c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
      await sleep(100);
    }
  }
  for (const f of ['namespace.yaml', 'rbac/speaker.yaml']) {
    for (const o of loadAllYaml(readFileSync(join(DEPLOY, f), 'utf8')) as KubernetesObject[]) await upsert(o);
  }
  await core.createNode({ body: { metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } } } });
  await core.createNamespace({ body: { metadata: { name: 'web' } } });
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'speaker',
    namespace: 'metallb-system',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.getCurrentCluster();
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'speaker',
    clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority-data': cluster?.caData } }],
    users: [{ name: 'speaker', user: { token: tr.status?.token } }],
    contexts: [{ name: 'speaker', context: { cluster: 'test', user: 'speaker' } }],
  };
  writeFileSync(kubeconfigOut, JSON.stringify(kc));
  return { ok: true };
}

async function main(): Promise<unknown> {
  switch (step) {
    case 'setup':
      return setup(args[0] ?? '', args[1] ?? '');
    case 'apply': {
      for (const o of loadAllYaml(readFileSync(args[0] ?? '', 'utf8')) as KubernetesObject[]) await upsert(o);
      return { ok: true };
    }
    case 'delete': {
      const [plural = '', name = ''] = args;
      await custom.deleteNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: 'metallb-system', plural, name });
      return { ok: true };
    }
    case 'lb-status': {
      const [ns = '', name = '', ip = ''] = args;
      await core.patchNamespacedServiceStatus({
        name,
        namespace: ns,
        body: [{ op: 'add', path: '/status/loadBalancer', value: { ingress: [{ ip }] } }],
      });
      return { ok: true };
    }
    case 'get': {
      const [plural = '', labelSelector] = args;
      const list = (await custom.listNamespacedCustomObject({
        group: 'metallb.io',
        version: 'v1beta1',
        namespace: 'metallb-system',
        plural,
        ...(labelSelector ? { labelSelector } : {}),
      })) as { items: unknown[] };
      return list.items;
    }
    case 'events': {
      const list = await core.listNamespacedEvent({ namespace: args[0] ?? '' });
      return list.items.map((e) => ({
        reason: e.reason,
        message: e.message,
        type: e.type,
        object: e.involvedObject.name,
        source: e.source?.component,
      }));
    }
    case 'can-update-services': {
      const kc = new KubeConfig();
      kc.loadFromFile(args[0] ?? '');
      try {
        await kc.makeApiClient(CoreV1Api).patchNamespacedServiceStatus({
          name: 'web',
          namespace: 'web',
          body: [{ op: 'add', path: '/status/loadBalancer', value: { ingress: [] } }],
        });
        return { code: 200 };
      } catch (e) {
        return { code: e instanceof ApiException ? e.code : -1 };
      }
    }
    default:
      throw new Error(`unknown step ${String(step)}`);
  }
}
main().then(out, (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
