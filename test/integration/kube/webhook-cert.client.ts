// Client half of webhook-cert.test.ts: runs INSIDE a test namespace (runTs) with the admin
// kubeconfig and prints one JSON object per call. Steps:
//   setup <url>       CRDs, namespace, RBAC from deploy/, the webhook configuration from deploy/ registered
//                     by `url` WITHOUT a caBundle; prints the controller's ServiceAccount token
//   state             the managed Secret (type, keys, CA) and whether every webhook's caBundle is that CA
//   probe             a malformed pool (must be refused by the webhook) and a good one (admitted, then deleted)
//   delete-secret     deletes the managed Secret
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';

const REPO = new URL('../../../', import.meta.url).pathname;
const NS = 'metallb-system';
const SECRET = 'mooring-webhook-cert';
const CONFIG = 'mooring-webhook-configuration';
const [step, ...args] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? '');
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const objects = KubernetesObjectApi.makeApiClient(kc);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function create(obj: KubernetesObject): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await objects.create(obj);
      return;
    } catch (e) {
      if (e instanceof ApiException && e.code === 409) return;
      if (e instanceof ApiException && e.code === 404 && i < 100) {
        await sleep(200); // a CRD just created is not served yet
        continue;
      }
      throw e;
    }
  }
}
const applyFile = async (f: string) => {
  for (const o of loadAllYaml(readFileSync(join(REPO, f), 'utf8')) as KubernetesObject[]) await create(o);
};

async function setup(url: string): Promise<unknown> {
  for (const f of readdirSync(join(REPO, 'deploy/crds')).sort()) if (f.endsWith('.yaml')) await applyFile(`deploy/crds/${f}`);
  await applyFile('deploy/namespace.yaml');
  await applyFile('deploy/rbac/controller.yaml');
  const [cfg] = loadAllYaml(readFileSync(join(REPO, 'deploy/controller/webhook.yaml'), 'utf8')) as Array<
    KubernetesObject & { webhooks: Array<{ clientConfig: Record<string, unknown> }> }
  >;
  if (!cfg) throw new Error('no webhook configuration in deploy/controller/webhook.yaml');
  for (const w of cfg.webhooks) {
    if ('caBundle' in w.clientConfig) throw new Error('deploy/ must not carry a caBundle: the controller patches it');
    w.clientConfig = { url };
  }
  await objects.create(cfg);
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'controller',
    namespace: NS,
    body: { spec: { audiences: [], expirationSeconds: 7200 } },
  });
  return { token: tr.status?.token };
}

async function state(): Promise<unknown> {
  let secret: { type?: string; keys: string[]; ca?: string } | undefined;
  try {
    const s = await core.readNamespacedSecret({ name: SECRET, namespace: NS });
    secret = { type: s.type, keys: Object.keys(s.data ?? {}).sort(), ca: s.data?.['ca.crt'] };
  } catch (e) {
    if (!(e instanceof ApiException && e.code === 404)) throw e;
  }
  const cfg = (await objects.read({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: CONFIG },
  })) as unknown as {
    webhooks: Array<{ clientConfig: { caBundle?: string | Uint8Array } }>;
  };
  const bundles = cfg.webhooks.map((w) => {
    const b = w.clientConfig.caBundle;
    return b === undefined ? '' : typeof b === 'string' ? b : Buffer.from(b).toString('base64');
  });
  return {
    secret: secret ? { type: secret.type, keys: secret.keys } : null,
    ca: secret?.ca ?? null,
    caBundleIsCa: !!secret?.ca && bundles.length > 0 && bundles.every((b) => b === secret?.ca),
  };
}

const pool = (name: string, cidr: string) => ({
  group: 'metallb.io',
  version: 'v1beta1',
  namespace: NS,
  plural: 'ipaddresspools',
  body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: NS }, spec: { addresses: [cidr] } },
});
async function attempt(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'admitted';
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
    return `${e.code}: ${body?.message ?? ''}`;
  }
}
async function probe(): Promise<unknown> {
  const refused = await attempt(() => custom.createNamespacedCustomObject(pool('wc-bad', '198.51.100.0/33')));
  const admitted = await attempt(() => custom.createNamespacedCustomObject(pool('wc-good', '198.51.100.248/30')));
  if (admitted === 'admitted')
    await custom.deleteNamespacedCustomObject({
      group: 'metallb.io',
      version: 'v1beta1',
      namespace: NS,
      plural: 'ipaddresspools',
      name: 'wc-good',
    });
  return { refused, admitted };
}

const out =
  step === 'setup'
    ? await setup(args[0] ?? '')
    : step === 'state'
      ? await state()
      : step === 'probe'
        ? await probe()
        : step === 'delete-secret'
          ? await core.deleteNamespacedSecret({ name: SECRET, namespace: NS }).then(() => ({ ok: true }))
          : (() => {
              throw new Error(`unknown step ${String(step)}`);
            })();
process.stdout.write(`${JSON.stringify(out)}\n`);
