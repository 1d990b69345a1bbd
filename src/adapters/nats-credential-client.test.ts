// Where a client of the credential endpoint finds the CA certificate: the ConfigMap the controller
// publishes (public), else, from an older controller, the webhook certificate Secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { readCa } from './nats-credential-client.js';
import { KubeRestError, type KubeRest } from './kube/rest.js';

const CM = '/api/v1/namespaces/ns/configmaps/mooring-ca';
const SECRET = '/api/v1/namespaces/ns/secrets/mooring-webhook-cert';

function api(objs: Record<string, unknown>, forbidden: string[] = []) {
  const asked: string[] = [];
  const rest: Pick<KubeRest, 'request'> = {
    request: async <T>(_m: string, path: string): Promise<T> => {
      asked.push(path);
      if (forbidden.includes(path)) throw new KubeRestError(403, '{"message":"forbidden"}', `GET ${path}`);
      if (!(path in objs)) throw new KubeRestError(404, '{"message":"not found"}', `GET ${path}`);
      return objs[path] as T;
    },
  };
  return { rest, asked };
}
const opts = {
  caSecret: { kc: {} as KubeConfig, namespace: 'ns', name: 'mooring-webhook-cert' },
  caConfigMap: 'mooring-ca',
};
const secret = { data: { 'ca.crt': Buffer.from('SECRET-CA').toString('base64'), 'tls.key': 'a2V5' } };

test('the ConfigMap first: the Secret (and its keys) is not read at all', async () => {
  const a = api({ [CM]: { data: { 'ca.crt': 'CM-CA' } }, [SECRET]: secret });
  assert.deepEqual(await readCa(a.rest, opts), { ok: true, ca: 'CM-CA' });
  assert.deepEqual(a.asked, [CM]);
});

test('an older controller (no ConfigMap, or one without ca.crt, or no right to read it): the Secret', async () => {
  for (const a of [api({ [SECRET]: secret }), api({ [CM]: { data: {} }, [SECRET]: secret }), api({ [SECRET]: secret }, [CM])]) {
    assert.deepEqual(await readCa(a.rest, opts), { ok: true, ca: 'SECRET-CA' });
    assert.deepEqual(a.asked, [CM, SECRET]);
  }
  const none = api({ [SECRET]: secret });
  assert.deepEqual(await readCa(none.rest, { caSecret: opts.caSecret }), { ok: true, ca: 'SECRET-CA' }, 'no ConfigMap named');
  assert.deepEqual(none.asked, [SECRET]);
});

test('neither readable (the visualizer may not read the Secret): one error naming both', async () => {
  const r = await readCa(api({}, [SECRET]).rest, opts);
  assert.equal(r.ok, false);
  assert.match(
    r.ok ? '' : r.error,
    /^cannot read ConfigMap ns\/mooring-ca: GET \S+: HTTP 404: .*; cannot read Secret ns\/mooring-webhook-cert: GET \S+: HTTP 403/,
  );
  const empty = await readCa(api({ [CM]: { data: {} }, [SECRET]: { data: {} } }).rest, opts);
  assert.deepEqual(empty, {
    ok: false,
    error: 'no ca.crt in ConfigMap ns/mooring-ca yet; no ca.crt in Secret ns/mooring-webhook-cert yet',
  });
});
