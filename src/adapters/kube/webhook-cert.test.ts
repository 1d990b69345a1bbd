// The CA certificate published in a ConfigMap (public) for the credential endpoint's clients,
// against an in-memory apiserver (paths → objects, resourceVersion checked on replace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caConfigMapPublisher } from './webhook-cert.js';
import { KubeRestError, type KubeRest } from './rest.js';

type Obj = { metadata: { name: string; resourceVersion?: string }; data?: Record<string, string> };

function fakeApi(forbid = false) {
  const objs = new Map<string, Obj>();
  const calls: string[] = [];
  let rv = 0;
  const rest: Pick<KubeRest, 'request'> = {
    request: async <T>(method: string, path: string, opts?: { body?: unknown }): Promise<T> => {
      calls.push(method);
      if (forbid) throw new KubeRestError(403, '{"message":"configmaps is forbidden"}', `${method} ${path}`);
      const body = opts?.body as Obj | undefined;
      if (method === 'GET') {
        const o = objs.get(path);
        if (!o) throw new KubeRestError(404, '{"message":"not found"}', `GET ${path}`);
        return structuredClone(o) as T;
      }
      const key = method === 'POST' ? `${path}/${body?.metadata.name}` : path;
      if (method === 'POST' && objs.has(key)) throw new KubeRestError(409, '{"message":"exists"}', 'POST');
      if (method === 'PUT' && objs.get(key)?.metadata.resourceVersion !== body?.metadata.resourceVersion)
        throw new KubeRestError(409, '{"message":"conflict"}', 'PUT');
      const o = { ...(body as Obj), metadata: { ...(body as Obj).metadata, resourceVersion: String(++rv) } };
      objs.set(key, o);
      return structuredClone(o) as T;
    },
  };
  return { rest, objs, calls };
}

const PATH = '/api/v1/namespaces/metallb-system/configmaps/mooring-ca';

test('the CA certificate alone goes into the ConfigMap: created, then left alone, then replaced when the CA changes', async () => {
  const api = fakeApi();
  const p = caConfigMapPublisher(api.rest, 'metallb-system', 'mooring-ca');
  assert.deepEqual(await p.ensure('CA1'), { ok: true, value: true });
  assert.deepEqual(api.objs.get(PATH)?.data, { 'ca.crt': 'CA1' }, 'ca.crt only: no key');
  assert.deepEqual(await p.ensure('CA1'), { ok: true, value: false }, 'unchanged: no write');
  assert.deepEqual(api.calls, ['GET', 'POST', 'GET']);
  assert.deepEqual(await p.ensure('CA2'), { ok: true, value: true });
  assert.deepEqual(api.objs.get(PATH)?.data, { 'ca.crt': 'CA2' });
  assert.deepEqual(api.calls.slice(3), ['GET', 'PUT']);
});

test('a ConfigMap that cannot be written is an error value with the apiserver message', async () => {
  const r = await caConfigMapPublisher(fakeApi(true).rest, 'metallb-system', 'mooring-ca').ensure('CA1');
  assert.deepEqual(r, { ok: false, error: 'ConfigMap mooring-ca: HTTP 403: configmaps is forbidden' });
});
