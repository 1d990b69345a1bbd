// Client half of nats-credentials.test.ts, run INSIDE a test namespace (runTs) with the admin kubeconfig.
//   setup <webhook-url> <token-out>   CRDs, namespace, RBAC from deploy/, webhook config (url, no caBundle), a speaker
//                                     Pod on node n1 and a token bound to it (audience mooring-nats); prints the controller token
//   auth-conf <file>                  waits for Secret mooring-nats-auth and writes its coordination-auth.conf to <file>
//   speaker <cred-url> <token-file> <nats-url> <cluster>
//                                     as the speaker does: jwtCredentials (nkey in memory, JWT from the controller), then
//                                     publishes forged subjects and its own, and prints what it got
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { jwtCredentials } from '../../../src/adapters/nats-credential-client.js';
import { NatsBus } from '../../../src/adapters/nats.js';
import { createLogger } from '../../../src/adapters/log.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const NS = 'metallb-system';
const [step, ...args] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? '');
const core = kc.makeApiClient(CoreV1Api);
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
        await sleep(200);
        continue;
      }
      throw e;
    }
  }
}
const applyFile = async (f: string) => {
  for (const o of loadAllYaml(readFileSync(join(REPO, f), 'utf8')) as KubernetesObject[]) await create(o);
};

async function setup(url: string, tokenOut: string): Promise<unknown> {
  for (const f of readdirSync(join(REPO, 'deploy/crds')).sort()) if (f.endsWith('.yaml')) await applyFile(`deploy/crds/${f}`);
  await applyFile('deploy/namespace.yaml');
  await applyFile('deploy/rbac/controller.yaml');
  await applyFile('deploy/rbac/speaker.yaml');
  await applyFile('deploy/rbac/issuer.yaml');
  const [cfg] = loadAllYaml(readFileSync(join(REPO, 'deploy/controller/webhook.yaml'), 'utf8')) as Array<
    KubernetesObject & { webhooks: Array<{ clientConfig: Record<string, unknown> }> }
  >;
  if (!cfg) throw new Error('no webhook configuration');
  for (const w of cfg.webhooks) w.clientConfig = { url };
  await objects.create(cfg);
  const pod = await core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name: 'speaker-n1' },
      spec: {
        serviceAccountName: 'speaker',
        nodeName: 'n1',
        automountServiceAccountToken: false,
        containers: [{ name: 's', image: 'mooring:test' }],
      },
    },
  });
  const bound = await core.createNamespacedServiceAccountToken({
    name: 'speaker',
    namespace: NS,
    body: {
      spec: {
        audiences: ['mooring-nats'],
        expirationSeconds: 3600,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'speaker-n1', uid: pod.metadata?.uid },
      },
    },
  });
  writeFileSync(tokenOut, bound.status?.token ?? '', { mode: 0o600 });
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'controller',
    namespace: NS,
    body: { spec: { audiences: [], expirationSeconds: 7200 } },
  });
  return { token: tr.status?.token };
}

async function authConf(file: string): Promise<unknown> {
  for (let i = 0; i < 600; i++) {
    try {
      const s = await core.readNamespacedSecret({ name: 'mooring-nats-auth', namespace: NS });
      const conf = Buffer.from(s.data?.['coordination-auth.conf'] ?? '', 'base64').toString();
      if (conf) {
        writeFileSync(file, conf);
        // In the issuer keys' own namespace (deploy/rbac/issuer.yaml), where speakers read no Secret.
        const issuer = await core.readNamespacedSecret({ name: 'mooring-nats-issuer', namespace: 'mooring-secrets' });
        return { ok: true, issuerKeys: Object.keys(issuer.data ?? {}).sort(), hasSeed: /\bS[OAU][A-Z2-7]{50,}/.test(conf) };
      }
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
    await sleep(200);
  }
  throw new Error('no Secret mooring-nats-auth');
}

async function speaker(credUrl: string, tokenFile: string, natsUrl: string, cluster: string): Promise<unknown> {
  const lines: string[] = [];
  const log = createLogger({ component: 'speaker' }, { write: (l) => lines.push(l) });
  const creds = jwtCredentials({ url: credUrl, tokenFile, caSecret: { kc, namespace: NS, name: 'mooring-webhook-cert' }, log });
  let c = await creds.get();
  for (let i = 0; !c.ok && i < 100; i++) {
    await sleep(300);
    c = await creds.get();
  }
  if (!c.ok) return { ok: false, error: c.error };
  const errors: string[] = [];
  const bus = await NatsBus.connect({
    servers: [natsUrl],
    ...(c.auth ? { auth: c.auth } : {}),
    log: (r) => r.event === 'error' && errors.push(String(r.err)),
  });
  const got: string[] = [];
  bus.subscribe(`mooring.v1.${cluster}.>`, (s) => got.push(s));
  await bus.flush();
  for (const s of ['hb.n2', 'claims.n2', 'hb.n1']) bus.publishText(`mooring.v1.${cluster}.${s}`, 'x');
  await bus.flush().catch(() => undefined);
  for (let i = 0; i < 50 && !got.includes(`mooring.v1.${cluster}.hb.n1`); i++) await sleep(100);
  await bus.close();
  return {
    ok: true,
    got,
    violations: errors.filter((e) => /permissions violation/i.test(e)).length,
    logHasJwt: lines.some((l) => /eyJ0eXAi/.test(l)),
  };
}

const out =
  step === 'setup'
    ? await setup(args[0] ?? '', args[1] ?? '')
    : step === 'auth-conf'
      ? await authConf(args[0] ?? '')
      : await speaker(args[0] ?? '', args[1] ?? '', args[2] ?? '', args[3] ?? '');
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
