// Issued certificates are what a TLS client (the apiserver) accepts: SANs, chain, key pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity as tlsCheck } from 'node:tls';
import { issueCerts, readCertFacts } from './webhook-cert-x509.js';
import { serviceDnsNames } from '../domain/webhook-cert.js';

const now = Date.now();
const names = { dnsNames: serviceDnsNames('mooring-webhook-service', 'metallb-system'), ipAddresses: ['198.51.100.7'] };
const win = { notBefore: now - 3_600_000, notAfter: now + 86_400_000 };

test('a new CA and a serving certificate for the Service names, signed by it', () => {
  const p = issueCerts(names, win, { window: { notBefore: now - 3_600_000, notAfter: now + 10 * 86_400_000 } });
  const f = readCertFacts(p);
  assert.equal(f.signedByCa, true);
  assert.equal(f.keysMatch, true);
  assert.deepEqual(f.cert?.dnsNames, names.dnsNames);
  assert.deepEqual(f.cert?.ipAddresses, ['198.51.100.7']);
  assert.equal(f.cert?.notAfter, Math.floor(win.notAfter / 1000) * 1000);
  const ca = new X509Certificate(p.caCrt);
  assert.equal(ca.ca, true);
  const leaf = new X509Certificate(p.tlsCrt);
  assert.equal(leaf.ca, false);
  assert.equal(leaf.checkHost('mooring-webhook-service.metallb-system.svc'), 'mooring-webhook-service.metallb-system.svc');
  assert.equal(leaf.checkIP('198.51.100.7'), '198.51.100.7');
  assert.equal(leaf.checkHost('other.metallb-system.svc'), undefined);
  assert.equal(tlsCheck('mooring-webhook-service.metallb-system.svc', { subjectaltname: leaf.subjectAltName ?? '' } as never), undefined);
  assert.doesNotMatch(JSON.stringify(f), /PRIVATE KEY/);
});

test('a new serving certificate from the same CA', () => {
  const first = issueCerts(names, win, { window: win });
  const second = issueCerts(names, win, { crt: first.caCrt, key: first.caKey });
  assert.equal(second.caCrt, first.caCrt);
  assert.notEqual(second.tlsCrt, first.tlsCrt);
  assert.equal(readCertFacts(second).signedByCa, true);
});

test('mismatches and garbage are facts, not throws', () => {
  const a = issueCerts(names, win, { window: win });
  const b = issueCerts(names, win, { window: win });
  assert.equal(readCertFacts({ ...a, tlsCrt: b.tlsCrt, tlsKey: b.tlsKey }).signedByCa, false);
  assert.equal(readCertFacts({ ...a, tlsKey: b.tlsKey }).keysMatch, false);
  assert.deepEqual(readCertFacts({ caCrt: 'not a cert', tlsCrt: '' }), { signedByCa: false, keysMatch: false });
  assert.deepEqual(readCertFacts({}), { signedByCa: false, keysMatch: false });
});
