import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CERT_POLICY, decideCert, serviceDnsNames, validity, type CertDecision, type CertSetFacts } from './webhook-cert.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const names = { dnsNames: serviceDnsNames('mooring-webhook-service', 'metallb-system'), ipAddresses: [] };
const ca = { notBefore: T0, notAfter: T0 + 3650 * DAY, dnsNames: [], ipAddresses: [] };
const cert = { notBefore: T0, notAfter: T0 + 365 * DAY, ...names };
const good: CertSetFacts = { ca, cert, signedByCa: true, keysMatch: true };

test('serviceDnsNames: the names the apiserver dials a Service by', () => {
  assert.deepEqual(serviceDnsNames('wh', 'ns'), ['wh', 'wh.ns', 'wh.ns.svc', 'wh.ns.svc.cluster.local']);
});

const cases: Array<{ desc: string; now: number; have: CertSetFacts | undefined; want: CertDecision }> = [
  { desc: 'no Secret: new CA', now: T0, have: undefined, want: { action: 'issue', newCa: true, reason: 'missing' } },
  {
    desc: 'Secret without a CA',
    now: T0,
    have: { signedByCa: false, keysMatch: false },
    want: { action: 'issue', newCa: true, reason: 'missing' },
  },
  {
    desc: 'CA without a serving cert',
    now: T0,
    have: { ca, signedByCa: false, keysMatch: true },
    want: { action: 'issue', newCa: false, reason: 'missing' },
  },
  {
    desc: 'all good: keep, look again 90 days before the cert expires',
    now: T0 + DAY,
    have: good,
    want: { action: 'keep', recheckAt: T0 + 275 * DAY },
  },
  {
    desc: 'one second before the look-ahead: keep',
    now: T0 + 275 * DAY - 1000,
    have: good,
    want: { action: 'keep', recheckAt: T0 + 275 * DAY },
  },
  {
    desc: 'inside the look-ahead: new serving cert, same CA',
    now: T0 + 275 * DAY,
    have: good,
    want: { action: 'issue', newCa: false, reason: 'certExpiring' },
  },
  { desc: 'expired serving cert', now: T0 + 400 * DAY, have: good, want: { action: 'issue', newCa: false, reason: 'certExpiring' } },
  {
    desc: 'CA inside its look-ahead: new CA',
    now: T0 + 3600 * DAY,
    have: good,
    want: { action: 'issue', newCa: true, reason: 'caExpiring' },
  },
  { desc: 'CA expired', now: T0 + 3651 * DAY, have: good, want: { action: 'issue', newCa: true, reason: 'caExpiring' } },
  {
    desc: 'keys do not match: new CA',
    now: T0 + DAY,
    have: { ...good, keysMatch: false },
    want: { action: 'issue', newCa: true, reason: 'invalid' },
  },
  {
    desc: 'serving cert from another CA',
    now: T0 + DAY,
    have: { ...good, signedByCa: false },
    want: { action: 'issue', newCa: false, reason: 'invalid' },
  },
  {
    desc: 'names changed (other Service name)',
    now: T0 + DAY,
    have: { ...good, cert: { ...cert, dnsNames: serviceDnsNames('old', 'metallb-system') } },
    want: { action: 'issue', newCa: false, reason: 'namesChanged' },
  },
  {
    desc: 'same names in another order: keep',
    now: T0 + DAY,
    have: { ...good, cert: { ...cert, dnsNames: [...names.dnsNames].reverse() } },
    want: { action: 'keep', recheckAt: T0 + 275 * DAY },
  },
  {
    desc: 'CA not valid yet (clock skew beyond backdating)',
    now: T0 - DAY,
    have: good,
    want: { action: 'issue', newCa: true, reason: 'caExpiring' },
  },
];

for (const c of cases)
  test(`decideCert: ${c.desc}`, () => {
    assert.deepEqual(decideCert(c.now, c.have ? Object.freeze(c.have) : undefined, names), c.want);
  });

test('an extra IP SAN is a name change', () => {
  assert.deepEqual(decideCert(T0 + DAY, good, { ...names, ipAddresses: ['198.51.100.1'] }), {
    action: 'issue',
    newCa: false,
    reason: 'namesChanged',
  });
});

test('validity: backdated by an hour, never beyond the CA', () => {
  assert.deepEqual(validity(T0, 365 * DAY), { notBefore: T0 - 3_600_000, notAfter: T0 + 365 * DAY });
  assert.deepEqual(validity(T0, 365 * DAY, DEFAULT_CERT_POLICY, T0 + 10 * DAY), { notBefore: T0 - 3_600_000, notAfter: T0 + 10 * DAY });
});
