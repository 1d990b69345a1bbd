// The certificate manager against fake ports and an injected clock: the leader issues, stores and
// patches the caBundle; it rotates the serving certificate (same CA) inside the look-ahead; a
// follower only serves what the Secret holds; a lost compare-and-set is retried, not overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookCertManager, type StoredCerts } from './webhook-cert-manager.js';
import { DEFAULT_CERT_POLICY, type CertPems, type CertSetFacts } from '../domain/webhook-cert.js';

const DAY = 86_400_000;
const names = { dnsNames: ['wh.ns.svc'], ipAddresses: [] };

function fixture(leader: boolean, publish = true) {
  let now = Date.UTC(2026, 0, 1);
  let issued = 0;
  let secret: StoredCerts | undefined;
  let bundle = '';
  let published = '';
  let publishFails = false;
  const served: string[] = [];
  const logs: string[] = [];
  let conflictOnce = false;
  // Certificates as labelled strings; facts come from a side table (no crypto here).
  const meta = new Map<string, { notBefore: number; notAfter: number }>();
  const m = new WebhookCertManager({
    clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined },
    wallNow: () => now,
    names,
    isLeader: () => leader,
    log: {
      info: (_m, f) => logs.push(String(f?.event)),
      warn: (_m, f) => logs.push(String(f?.event)),
      error: (_m, f) => logs.push(String(f?.event)),
    },
    onCert: (t) => served.push(t.cert),
    store: {
      read: async () => ({ ok: true, value: secret }),
      write: async (pems: CertPems, version) => {
        if (conflictOnce) {
          conflictOnce = false;
          return { ok: false, error: 'conflict' };
        }
        if (version !== secret?.version) return { ok: false, error: 'conflict' };
        secret = { pems, version: String(Number(version ?? 0) + 1) };
        return { ok: true, value: secret.version };
      },
    },
    bundle: {
      ensure: async (ca) => {
        const changed = ca !== bundle;
        bundle = ca;
        return { ok: true, value: changed };
      },
    },
    ...(publish
      ? {
          published: {
            ensure: async (ca: string) => {
              if (publishFails) return { ok: false as const, error: 'configmaps "mooring-ca" is forbidden' };
              const changed = ca !== published;
              published = ca;
              return { ok: true as const, value: changed };
            },
          },
        }
      : {}),
    issuer: {
      facts: (p): CertSetFacts => ({
        ...(p.caCrt ? { ca: { ...meta.get(p.caCrt)!, dnsNames: [], ipAddresses: [] } } : {}),
        ...(p.tlsCrt ? { cert: { ...meta.get(p.tlsCrt)!, ...names } } : {}),
        signedByCa: true,
        keysMatch: true,
      }),
      issue: (_n, w, ca) => {
        issued++;
        const caCrt = 'crt' in ca ? ca.crt : `ca${issued}`;
        if (!('crt' in ca)) meta.set(caCrt, ca.window);
        meta.set(`tls${issued}`, w);
        return { caCrt, caKey: `${caCrt}-key`, tlsCrt: `tls${issued}`, tlsKey: `tls${issued}-key` };
      },
    },
  });
  return {
    m,
    advance: (ms: number) => (now += ms),
    get secret() {
      return secret;
    },
    set secret(s) {
      secret = s;
    },
    get bundle() {
      return bundle;
    },
    set bundle(b) {
      bundle = b;
    },
    get published() {
      return published;
    },
    set published(p) {
      published = p;
    },
    failPublish: (f: boolean) => (publishFails = f),
    served,
    logs,
    conflict: () => (conflictOnce = true),
    meta,
  };
}

test('leader: issues on start, patches caBundle, serves; then keeps; rotates the serving cert in the look-ahead', async () => {
  const f = fixture(true);
  const next = await f.m.tick();
  assert.equal(f.secret?.pems.tlsCrt, 'tls1');
  assert.equal(f.bundle, 'ca1');
  assert.deepEqual(f.served, ['tls1']);
  assert.equal(next, 30_000);
  assert.deepEqual(f.logs, ['webhook.cert.issued', 'webhook.caBundle.patched', 'webhook.ca.published']);
  assert.equal(f.published, 'ca1', 'the CA certificate (only) is published for clients');
  await f.m.tick();
  assert.deepEqual(f.served, ['tls1'], 'nothing new to serve');
  f.advance(365 * DAY - DEFAULT_CERT_POLICY.lookaheadMs);
  await f.m.tick();
  assert.equal(f.secret?.pems.tlsCrt, 'tls2');
  assert.equal(f.secret?.pems.caCrt, 'ca1', 'the CA stays');
  assert.equal(f.bundle, 'ca1');
  assert.deepEqual(f.served, ['tls1', 'tls2'], 'hot reload');
});

test('leader: a re-applied webhook configuration (caBundle emptied) is patched back', async () => {
  const f = fixture(true);
  await f.m.tick();
  const before = f.logs.length;
  await f.m.tick();
  assert.deepEqual(f.logs.slice(before), [], 'nothing to patch');
  f.bundle = '';
  await f.m.tick();
  assert.equal(f.bundle, 'ca1');
  assert.deepEqual(f.logs.slice(before), ['webhook.caBundle.patched']);
});

test('follower: never writes; serves what the leader stored', async () => {
  const f = fixture(false);
  assert.equal(await f.m.tick(), 2000, 'no Secret yet: look again soon');
  assert.equal(f.secret, undefined);
  assert.deepEqual(f.served, []);
  f.secret = { pems: { caCrt: 'caX', caKey: 'k', tlsCrt: 'tlsX', tlsKey: 'kx' }, version: '7' };
  assert.equal(await f.m.tick(), 30_000);
  assert.deepEqual(f.served, ['tlsX']);
  assert.equal(f.bundle, '', 'a follower does not patch');
  assert.equal(f.published, '', 'nor publish');
});

test('leader: a lost compare-and-set is a retry, not an overwrite', async () => {
  const f = fixture(true);
  f.conflict();
  assert.equal(await f.m.tick(), 2000);
  assert.equal(f.secret, undefined);
  assert.deepEqual(f.logs, ['webhook.cert.writeFailed']);
  await f.m.tick();
  assert.equal((f.secret as StoredCerts | undefined)?.pems.tlsCrt, 'tls2');
});

test('leader: the published CA certificate follows the CA; a failed publish is retried soon; none configured, none published', async () => {
  const f = fixture(true);
  f.failPublish(true);
  assert.equal(await f.m.tick(), 2000, 'not published: look again soon');
  assert.deepEqual(f.logs, ['webhook.cert.issued', 'webhook.caBundle.patched', 'webhook.ca.publishFailed']);
  assert.deepEqual(f.served, ['tls1'], 'the webhook serves regardless');
  f.failPublish(false);
  assert.equal(await f.m.tick(), 30_000);
  assert.equal(f.published, 'ca1');
  const before = f.logs.length;
  await f.m.tick();
  assert.deepEqual(f.logs.slice(before), [], 'unchanged: nothing written');
  f.published = 'stale';
  await f.m.tick();
  assert.equal(f.published, 'ca1', 'an edited ConfigMap is put back');
  const g = fixture(true, false);
  await g.m.tick();
  assert.deepEqual(g.logs, ['webhook.cert.issued', 'webhook.caBundle.patched']);
  assert.equal(g.published, '');
});
