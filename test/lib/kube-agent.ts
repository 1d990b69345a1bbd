// A long-lived Kubernetes client for the e2e lab (test/lib/cluster.ts), run INSIDE a namespace
// (test traffic never leaves from the root namespace). One process per identity (admin, the
// controller's or the speaker's ServiceAccount): it reads KUBECONFIG (token + CA, as written by
// test/lib/kube.ts `kubeconfig()`), takes one JSON request per stdin line and answers one JSON line
// on stdout with the same id. Plain REST over node:https with discovery (kind → resource), so
// objects go to the apiserver exactly as written (no typed-model serialisation that drops
// unknown keys), and a denied call is a 403 the test can assert, not an exception.
//
// Requests:  {id, op:'req', method, path, body?, contentType?}             → {code, body}
//            {id, op:'apply', objects:[…]}  server-side apply, in order; CRDs wait for Established
//            {id, op:'get'|'delete', ref:{apiVersion, kind, name, namespace?}}
//            {id, op:'patch', ref, patch, patchType?:'merge'|'json'|'strategic', subresource?}
//            {id, op:'create', object, subresource?}    {id, op:'put', object, subresource?}
//            {id, op:'list', apiVersion, kind, namespace?, labelSelector?}
// Answers:   {id, ok:true, code, body} for any HTTP answer (4xx included); {id, ok:false, error}
//            only when the request could not be made (unknown kind, connection refused, …).
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';

interface KubeconfigFile {
  clusters?: Array<{ cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ user?: { token?: string } }>;
}

const cfg = parse(readFileSync(process.env.KUBECONFIG ?? '', 'utf8')) as KubeconfigFile;
const server = new URL(cfg.clusters?.[0]?.cluster?.server ?? '');
const ca = Buffer.from(cfg.clusters?.[0]?.cluster?.['certificate-authority-data'] ?? '', 'base64');
const token = cfg.users?.[0]?.user?.token ?? '';
const agent = new Agent({ keepAlive: true, ca, maxSockets: 8 });

export interface Ref {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
}
interface Resource {
  name: string;
  namespaced: boolean;
}
interface HttpAnswer {
  code: number;
  body: unknown;
}

function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<HttpAnswer> {
  const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((ok, fail) => {
    const req = request(
      {
        agent,
        method,
        host: server.hostname.replace(/^\[|\]$/g, ''),
        port: server.port,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          ok({ code: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', fail);
    if (data) req.write(data);
    req.end();
  });
}

const discovered = new Map<string, Map<string, Resource>>();

async function resource(apiVersion: string, kind: string): Promise<Resource> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let kinds = discovered.get(apiVersion);
    if (!kinds || attempt > 0) {
      const r = await call('GET', apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`);
      kinds = new Map();
      if (r.code === 200) {
        for (const x of (r.body as { resources?: Array<{ name: string; kind: string; namespaced: boolean }> }).resources ?? []) {
          if (!x.name.includes('/')) kinds.set(x.kind, { name: x.name, namespaced: x.namespaced });
        }
      }
      discovered.set(apiVersion, kinds);
    }
    const res = kinds.get(kind);
    if (res) return res;
  }
  throw new Error(`unknown kind ${kind} in ${apiVersion} (not served by the apiserver)`);
}

/** URL path of a collection (no name) or an object, optionally a subresource. */
async function pathOf(ref: Ref, subresource?: string, query = ''): Promise<string> {
  const res = await resource(ref.apiVersion, ref.kind);
  const base = ref.apiVersion === 'v1' ? '/api/v1' : `/apis/${ref.apiVersion}`;
  const ns = res.namespaced ? `/namespaces/${ref.namespace ?? 'default'}` : '';
  const name = ref.name ? `/${encodeURIComponent(ref.name)}` : '';
  return `${base}${ns}/${res.name}${name}${subresource ? `/${subresource}` : ''}${query}`;
}

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}
const refOf = (o: Obj): Ref => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function apply(objects: Obj[]): Promise<HttpAnswer> {
  const results: Array<{ ref: string; code: number }> = [];
  for (const o of objects) {
    const path = await pathOf(refOf(o), undefined, '?fieldManager=mooring-e2e&force=true&fieldValidation=Strict');
    const r = await call('PATCH', path, o, 'application/apply-patch+yaml');
    results.push({ ref: `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`, code: r.code });
    if (r.code >= 300) return { code: r.code, body: { results, failed: r.body } };
    if (o.kind === 'CustomResourceDefinition') {
      // The next objects may be of this kind: wait until it is served.
      for (let i = 0; ; i++) {
        const c = await call('GET', path.split('?')[0] as string);
        const conds = (c.body as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
        if (conds.some((x) => x.type === 'Established' && x.status === 'True')) break;
        if (i > 600) return { code: 504, body: { results, failed: `CRD ${o.metadata.name} not Established` } };
        await sleep(100);
      }
    }
  }
  return { code: 200, body: { results } };
}

const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

type Req =
  | { id: number; op: 'req'; method: string; path: string; body?: unknown; contentType?: string }
  | { id: number; op: 'apply'; objects: Obj[] }
  | { id: number; op: 'get' | 'delete'; ref: Ref }
  | { id: number; op: 'patch'; ref: Ref; patch: unknown; patchType?: keyof typeof PATCH_TYPES; subresource?: string }
  | { id: number; op: 'create' | 'put'; object: Obj; subresource?: string }
  | { id: number; op: 'list'; apiVersion: string; kind: string; namespace?: string; labelSelector?: string };

async function handle(q: Req): Promise<HttpAnswer> {
  switch (q.op) {
    case 'req':
      return call(q.method, q.path, q.body, q.contentType);
    case 'apply':
      return apply(q.objects);
    case 'get':
      return call('GET', await pathOf(q.ref));
    case 'delete':
      return call('DELETE', await pathOf(q.ref));
    case 'patch':
      return call('PATCH', await pathOf(q.ref, q.subresource), q.patch, PATCH_TYPES[q.patchType ?? 'merge']);
    case 'create':
      return call(
        'POST',
        await pathOf({ ...refOf(q.object), name: q.subresource ? q.object.metadata.name : undefined }, q.subresource),
        q.object,
      );
    case 'put':
      return call('PUT', await pathOf(refOf(q.object), q.subresource), q.object);
    case 'list': {
      const ref: Ref = { apiVersion: q.apiVersion, kind: q.kind, namespace: q.namespace };
      const res = await resource(q.apiVersion, q.kind);
      // Without a namespace, a namespaced kind is listed across all namespaces.
      const path =
        res.namespaced && !q.namespace ? `${q.apiVersion === 'v1' ? '/api/v1' : `/apis/${q.apiVersion}`}/${res.name}` : await pathOf(ref);
      return call('GET', `${path}${q.labelSelector ? `?labelSelector=${encodeURIComponent(q.labelSelector)}` : ''}`);
    }
  }
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    let q: Req;
    try {
      q = JSON.parse(line) as Req;
    } catch {
      return;
    }
    handle(q).then(
      (a) => process.stdout.write(`${JSON.stringify({ id: q.id, ok: true, ...a })}\n`),
      (e: unknown) =>
        process.stdout.write(`${JSON.stringify({ id: q.id, ok: false, error: e instanceof Error ? e.message : String(e) })}\n`),
    );
  })
  .on('close', () => {
    agent.destroy();
    process.exit(0);
  });

process.stdout.write(`${JSON.stringify({ id: 0, ok: true, code: 0, body: 'ready' })}\n`);
