// The controller's webhook certificate manager (MetalLB's cert-controller, in Mooring's layers):
// on start and then periodically it reads the Secret; the leader decides (domain/webhook-cert.ts)
// whether to issue a new CA and/or serving certificate, writes the Secret (compare-and-set on its
// resourceVersion, so two leaders for a moment cannot both win) and makes the
// ValidatingWebhookConfiguration's caBundle match the CA, and publishes the CA certificate (public)
// where clients of the credential endpoint read it (a ConfigMap: they need not read the Secret,
// which holds the private keys); every replica hands the Secret's
// certificate to its HTTPS server (hot reload, no restart). Errors are logged and retried.
import type { Clock } from './clock.js';
import type { LogPort } from './bgp-peers.js';
import type { Result } from '../domain/result.js';
import {
  DEFAULT_CERT_POLICY,
  decideCert,
  validity,
  type CertNames,
  type CertPems,
  type CertPolicy,
  type CertSetFacts,
} from '../domain/webhook-cert.js';

export interface StoredCerts {
  readonly pems: Partial<CertPems>;
  /** resourceVersion of the Secret (compare-and-set). */
  readonly version: string;
}

export interface CertStorePort {
  /** The Secret's certificates; undefined when there is no Secret. */
  read(): Promise<Result<StoredCerts | undefined>>;
  /** Creates (version undefined) or replaces the Secret at `version`; `conflict` when someone else wrote first. */
  write(pems: CertPems, version: string | undefined): Promise<Result<string, 'conflict' | string>>;
}

export interface CaBundlePort {
  /** Makes every webhook's caBundle `caPem`; true when it patched. */
  ensure(caPem: string): Promise<Result<boolean>>;
}

export interface CertIssuerPort {
  facts(p: Partial<CertPems>): CertSetFacts;
  issue(
    names: CertNames,
    certWindow: { notBefore: number; notAfter: number },
    ca: { crt: string; key: string } | { window: { notBefore: number; notAfter: number } },
  ): CertPems;
}

export interface WebhookCertManagerOptions {
  readonly store: CertStorePort;
  readonly bundle: CaBundlePort;
  /** Where the CA certificate is published for clients (the ConfigMap mooring-ca, key ca.crt); true when it wrote. */
  readonly published?: CaBundlePort;
  readonly issuer: CertIssuerPort;
  /** Timers only: its now() is monotonic, not a date. */
  readonly clock: Clock;
  /** Wall-clock time (ms since the epoch): certificates carry dates. */
  readonly wallNow: () => number;
  readonly names: CertNames;
  readonly isLeader: () => boolean;
  readonly log: LogPort;
  /** The serving certificate to use now (called when it changes). */
  readonly onCert: (tls: { cert: string; key: string }) => void;
  readonly policy?: CertPolicy;
  /** Leader's recheck period (also re-asserts caBundle after a re-apply of the webhook configuration); default 30 s. */
  readonly recheckMs?: number;
}

const RETRY_MS = 2000;

export class WebhookCertManager {
  private served = '';
  private timer: unknown;
  private stopped = false;

  constructor(private readonly o: WebhookCertManagerOptions) {}

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    const next = await this.tick().catch((err: unknown) => {
      this.o.log.error('webhook certificate: unexpected failure', { event: 'webhook.cert.error', err: String(err), bug: true });
      return RETRY_MS;
    });
    if (!this.stopped) this.timer = this.o.clock.setTimeout(() => void this.loop(), next);
  }

  /** One pass; resolves the delay until the next. */
  async tick(): Promise<number> {
    const { store, log } = this.o;
    const recheck = this.o.recheckMs ?? 30_000;
    const read = await store.read();
    if (!read.ok) {
      log.warn('webhook certificate Secret not readable, retrying', { event: 'webhook.cert.readFailed', err: read.error });
      return RETRY_MS;
    }
    let cur = read.value;
    let next = cur?.pems.tlsCrt ? recheck : RETRY_MS;
    if (this.o.isLeader()) {
      const now = this.o.wallNow();
      const policy = this.o.policy ?? DEFAULT_CERT_POLICY;
      const have = cur ? this.o.issuer.facts(cur.pems) : undefined;
      const d = decideCert(now, have, this.o.names, policy);
      if (d.action === 'issue') {
        const caNotAfter = d.newCa ? now + policy.caValidityMs : (have?.ca?.notAfter ?? Infinity);
        const ca =
          d.newCa || !cur?.pems.caCrt || !cur.pems.caKey
            ? { window: validity(now, policy.caValidityMs, policy) }
            : { crt: cur.pems.caCrt, key: cur.pems.caKey };
        const pems = this.o.issuer.issue(this.o.names, validity(now, policy.certValidityMs, policy, caNotAfter), ca);
        const w = await store.write(pems, cur?.version);
        if (!w.ok) {
          log.warn('webhook certificate not stored, retrying', { event: 'webhook.cert.writeFailed', err: w.error });
          return RETRY_MS;
        }
        log.info('webhook certificate issued', { event: 'webhook.cert.issued', reason: d.reason, newCa: d.newCa });
        cur = { pems, version: w.value };
        next = recheck;
      } else next = Math.max(1000, Math.min(recheck, d.recheckAt - now));
      if (cur?.pems.caCrt) {
        const b = await this.o.bundle.ensure(cur.pems.caCrt);
        if (!b.ok) {
          log.warn('caBundle not patched, retrying', { event: 'webhook.caBundle.failed', err: b.error });
          next = RETRY_MS;
        } else if (b.value) log.info('caBundle patched', { event: 'webhook.caBundle.patched' });
        const p = await this.o.published?.ensure(cur.pems.caCrt);
        if (p && !p.ok) {
          log.warn('CA certificate not published, retrying', { event: 'webhook.ca.publishFailed', err: p.error });
          next = RETRY_MS;
        } else if (p?.value) log.info('CA certificate published', { event: 'webhook.ca.published' });
      }
    }
    const { tlsCrt, tlsKey } = cur?.pems ?? {};
    if (tlsCrt && tlsKey && tlsCrt !== this.served) {
      this.served = tlsCrt;
      this.o.onCert({ cert: tlsCrt, key: tlsKey });
    }
    return next;
  }
}
