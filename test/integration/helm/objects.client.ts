// Client half of install.test.ts. Runs INSIDE the test's network namespace (`runTs`) with
// @kubernetes/client-node against the real apiserver. Usage:
//   objects.client.ts read <file.yaml>     prints {"found": {...key: object}, "missing": [keys]} for the file's objects
//   objects.client.ts gone <file.yaml>     waits (≤ 60 s) until none of the file's objects exists; prints {"left": [keys]}
//   objects.client.ts apply <file.yaml>    creates every object of the file in order (as `kubectl apply -f`), prints {"created": n}
//   objects.client.ts delete <file.yaml>   deletes them in reverse order, waits until gone; prints {"left": [keys]}
import { readFileSync } from 'node:fs';
import { ApiException, KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

const [step, file] = process.argv.slice(2);
if (!step || !file) throw new Error('usage: objects.client.ts read|gone|apply|delete <file.yaml>');
const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? '');
const api = KubernetesObjectApi.makeApiClient(kc);

const objects = parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' })
  .map((d) => d.toJS() as KubernetesObject | null)
  .filter((o): o is KubernetesObject => o !== null);
const key = (o: KubernetesObject): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const ref = (o: KubernetesObject) => ({
  apiVersion: o.apiVersion ?? '',
  kind: o.kind ?? '',
  metadata: { name: o.metadata?.name ?? '', ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}) },
});

async function read(o: KubernetesObject): Promise<KubernetesObject | undefined> {
  try {
    return await api.read(ref(o));
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    // A kind whose CRD is gone is not served any more: its objects are gone too.
    if (e instanceof Error && /Unrecognized API version and kind|not found/i.test(e.message)) return undefined;
    throw e;
  }
}

async function left(): Promise<string[]> {
  const out: string[] = [];
  for (const o of objects) if (await read(o)) out.push(key(o));
  return out;
}

async function waitGone(): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const l = await left();
    if (l.length === 0 || Date.now() > deadline) return l;
    await new Promise((r) => setTimeout(r, 500));
  }
}

if (step === 'read') {
  const found: Record<string, KubernetesObject> = {};
  const missing: string[] = [];
  for (const o of objects) {
    const got = await read(o);
    if (got) found[key(o)] = got;
    else missing.push(key(o));
  }
  console.log(JSON.stringify({ found, missing }));
} else if (step === 'gone') {
  console.log(JSON.stringify({ left: await waitGone() }));
} else if (step === 'apply') {
  let created = 0;
  for (const o of objects) {
    // CRDs take a moment to be served: retry a kind the apiserver does not know yet.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await api.create(o);
        created++;
        break;
      } catch (e) {
        if (Date.now() < deadline && e instanceof Error && /Unrecognized API version and kind/i.test(e.message)) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        throw new Error(`create ${key(o)}: ${e instanceof ApiException ? `${e.code} ${JSON.stringify(e.body)}` : String(e)}`, { cause: e });
      }
    }
  }
  console.log(JSON.stringify({ created }));
} else if (step === 'delete') {
  for (const o of [...objects].reverse()) {
    try {
      await api.delete(ref(o));
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
  }
  console.log(JSON.stringify({ left: await waitGone() }));
} else throw new Error(`unknown step ${step}`);
