// The webhook serving certificate's lifecycle, as MetalLB's cert-controller runs it: a self-signed
// CA and a serving certificate for the webhook Service's DNS names, kept in a Secret, re-issued
// when missing, invalid, for other names, or within the look-ahead window of expiry (the CA too,
// from its own window). Pure: facts about what the Secret holds and the time come in, a decision
// goes out; generating and storing certificates is the adapters' (adapters/webhook-cert-x509.ts).

/** The Secret's content (kubernetes.io/tls plus the CA, as cert-controller keeps it): PEM strings. */
export interface CertPems {
  readonly caCrt: string;
  readonly caKey: string;
  readonly tlsCrt: string;
  readonly tlsKey: string;
}

export interface CertFacts {
  /** ms since the epoch */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** What the Secret holds, as read and checked by the adapter. */
export interface CertSetFacts {
  readonly ca?: CertFacts;
  readonly cert?: CertFacts;
  /** The serving certificate verifies against the CA. */
  readonly signedByCa: boolean;
  /** The serving key is the certificate's key, and the CA key the CA's. */
  readonly keysMatch: boolean;
}

export interface CertPolicy {
  readonly caValidityMs: number;
  readonly certValidityMs: number;
  /** Re-issue this long before expiry. */
  readonly lookaheadMs: number;
  /** Backdate notBefore by this much (clock skew between the controller and the apiserver). */
  readonly backdateMs: number;
}

const DAY = 86_400_000;
/** cert-controller's: a 10-year CA, 90 days look-ahead; our serving certificate lives one year. */
export const DEFAULT_CERT_POLICY: CertPolicy = {
  caValidityMs: 3650 * DAY,
  certValidityMs: 365 * DAY,
  lookaheadMs: 90 * DAY,
  backdateMs: 3_600_000,
};

export const CertReason = {
  missing: 'missing',
  caExpiring: 'caExpiring',
  certExpiring: 'certExpiring',
  namesChanged: 'namesChanged',
  invalid: 'invalid',
} as const;
export type CertReason = (typeof CertReason)[keyof typeof CertReason];

export type CertDecision =
  | { readonly action: 'keep'; readonly recheckAt: number }
  | { readonly action: 'issue'; readonly newCa: boolean; readonly reason: CertReason };

export interface CertNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** The names a Service is reached by from the apiserver (`svc`, `svc.ns`, `svc.ns.svc`, and the cluster domain's). */
export function serviceDnsNames(service: string, namespace: string, clusterDomain = 'cluster.local'): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${clusterDomain}`];
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** Whether to keep what the Secret holds (and when to look again) or issue anew (with a new CA or not). */
export function decideCert(
  now: number,
  have: CertSetFacts | undefined,
  want: CertNames,
  p: CertPolicy = DEFAULT_CERT_POLICY,
): CertDecision {
  const ca = have?.ca;
  if (!have || !ca) return { action: 'issue', newCa: true, reason: CertReason.missing };
  const caValid = ca.notBefore <= now && now < ca.notAfter;
  if (!caValid || !have.keysMatch) return { action: 'issue', newCa: true, reason: caValid ? CertReason.invalid : CertReason.caExpiring };
  if (now >= ca.notAfter - p.lookaheadMs) return { action: 'issue', newCa: true, reason: CertReason.caExpiring };
  const cert = have.cert;
  if (!cert) return { action: 'issue', newCa: false, reason: CertReason.missing };
  if (!have.signedByCa || cert.notBefore > now) return { action: 'issue', newCa: false, reason: CertReason.invalid };
  if (!sameSet(cert.dnsNames, want.dnsNames) || !sameSet(cert.ipAddresses, want.ipAddresses))
    return { action: 'issue', newCa: false, reason: CertReason.namesChanged };
  if (now >= cert.notAfter - p.lookaheadMs) return { action: 'issue', newCa: false, reason: CertReason.certExpiring };
  return { action: 'keep', recheckAt: Math.min(ca.notAfter, cert.notAfter) - p.lookaheadMs };
}

/** Validity window of a certificate issued at `now`, never outliving its CA. */
export function validity(
  now: number,
  validityMs: number,
  p: CertPolicy = DEFAULT_CERT_POLICY,
  caNotAfter = Infinity,
): { notBefore: number; notAfter: number } {
  return { notBefore: now - p.backdateMs, notAfter: Math.min(now + validityMs, caNotAfter) };
}
