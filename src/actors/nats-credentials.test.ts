// The credential endpoint's decisions against fake ports: the node comes from the Pod the token is
// bound to, never from the caller; refusals are HTTP codes with a reason; nothing secret is logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issueCredential, type CredentialPorts, type PodFacts } from './nats-credentials.js';
import type { NatsRole } from '../domain/nats-config.js';

const USER = `U${'A'.repeat(55)}`;
function ports(o: { pod?: PodFacts; username?: string; seeds?: boolean } = {}) {
  const minted: NatsRole[] = [];
  const logs: string[] = [];
  const p: CredentialPorts = {
    namespace: 'metallb-system',
    serviceAccount: 'speaker',
    audience: 'mooring-nats',
    isUserKey: (k) => k === USER,
    log: {
      info: (m, f) => logs.push(JSON.stringify({ m, ...f })),
      warn: (m, f) => logs.push(JSON.stringify({ m, ...f })),
      error: () => undefined,
    },
    review: async (token) =>
      token === 'good'
        ? {
            ok: true,
            value: {
              authenticated: true,
              audiences: ['mooring-nats'],
              user: {
                username: o.username ?? 'system:serviceaccount:metallb-system:speaker',
                extra: { 'authentication.kubernetes.io/pod-name': ['speaker-a'], 'authentication.kubernetes.io/pod-uid': ['uid-a'] },
              },
            },
          }
        : { ok: true, value: { authenticated: false } },
    pod: async () => ({ ok: true, value: o.pod ?? { uid: 'uid-a', nodeName: 'n3', phase: 'Running' } }),
    mint: async (_k, role) => {
      if (o.seeds === false) return undefined;
      minted.push(role);
      return { ok: true, value: { jwt: 'the-jwt', expiresAtMs: 42 } };
    },
  };
  return { p, minted, logs };
}

test('a speaker token bound to a Pod on n3 gets a JWT for n3 only', async () => {
  const f = ports();
  const a = await issueCredential({ bearer: 'good', body: { publicKey: USER, node: 'n1' } }, f.p);
  assert.deepEqual(a, { code: 200, body: { jwt: 'the-jwt', expiresAtMs: 42, node: 'n3' } });
  assert.deepEqual(f.minted, [{ role: 'node', node: 'n3' }], 'the body cannot choose the node');
  assert.ok(!f.logs.join('\n').includes('the-jwt') && !f.logs.join('\n').includes('good'), 'neither JWT nor token logged');
});

test('refusals', async () => {
  assert.equal((await issueCredential({ bearer: 'good', body: { publicKey: 'SUxxxx' } }, ports().p)).code, 400);
  assert.equal((await issueCredential({ body: { publicKey: USER } }, ports().p)).code, 401);
  assert.equal((await issueCredential({ bearer: 'forged', body: { publicKey: USER } }, ports().p)).code, 401);
  const ctl = await issueCredential(
    { bearer: 'good', body: { publicKey: USER } },
    ports({ username: 'system:serviceaccount:metallb-system:controller' }).p,
  );
  assert.equal(ctl.code, 401);
  const other = await issueCredential({ bearer: 'good', body: { publicKey: USER } }, ports({ pod: { uid: 'uid-b', nodeName: 'n3' } }).p);
  assert.deepEqual(other, { code: 403, body: { error: 'pod speaker-a is not the one the token was issued to' } });
  assert.equal((await issueCredential({ bearer: 'good', body: { publicKey: USER } }, ports({ seeds: false }).p)).code, 503);
});

test('a Pod of the viewer ServiceAccount gets the read-only viewer role; without one configured it is refused', async () => {
  const f = ports({ username: 'system:serviceaccount:metallb-system:viz' });
  const off = await issueCredential({ bearer: 'good', body: { publicKey: USER } }, f.p);
  assert.equal(off.code, 401, 'no viewer ServiceAccount configured: refused');
  const on = await issueCredential({ bearer: 'good', body: { publicKey: USER } }, { ...f.p, viewerServiceAccount: 'viz' });
  assert.deepEqual(on, { code: 200, body: { jwt: 'the-jwt', expiresAtMs: 42, node: '' } });
  assert.deepEqual(f.minted, [{ role: 'viewer' }]);
  // Still bound to a live Pod.
  const gone = ports({ username: 'system:serviceaccount:metallb-system:viz', pod: { uid: 'other', nodeName: 'n3', phase: 'Running' } });
  assert.equal(
    (await issueCredential({ bearer: 'good', body: { publicKey: USER } }, { ...gone.p, viewerServiceAccount: 'viz' })).code,
    403,
  );
  // A speaker's token stays a node's.
  const sp = ports();
  await issueCredential({ bearer: 'good', body: { publicKey: USER } }, { ...sp.p, viewerServiceAccount: 'viz' });
  assert.deepEqual(sp.minted, [{ role: 'node', node: 'n3' }]);
});
