// The controller's validating webhook server: started when --webhook-port is set, it validates
// against the config read live from the apiserver (the informer caches answer only when a list
// fails), and waits for its certificate: until the files are readable (or the managed certificate
// is issued: webhook-cert.ts) it retries every 10 s (1 s) rather than crash-looping.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { AdmissionContext } from '../../domain/admission.js';
import type { Logger } from '../log.js';
import type { InformerSpec } from './informer.js';
import { parseDuration } from '../../domain/duration.js';
import { storageVersion } from './resources.js';
import { fileTls, serveWebhook } from './webhook.js';
import { startManagedWebhookCert, type ManagedCertOptions } from './webhook-cert.js';
import { CREDENTIALS_PATH, startNatsIssuer, type NatsIssuerOptions } from './nats-issuer.js';

export interface ControllerWebhookOptions {
  port: number;
  host: string;
  /** The serving certificate: files (a mounted Secret), or managed by the controller (webhook-cert.ts). */
  cert: { certFile: string; keyFile: string } | (ManagedCertOptions & { kc: KubeConfig });
  /** Mooring's namespace (where config objects live). */
  namespace: string;
  /** The config kinds' list calls, and the namespaces'. */
  config: ReadonlyArray<{ kind: string; spec: InformerSpec<KubernetesObject> }>;
  namespaces: InformerSpec<KubernetesObject>;
  /** The NATS issuer (POST /nats/v1/credentials on the same server): see nats-issuer.ts. */
  nats?: NatsIssuerOptions & { kc: KubeConfig };
  /** The same view from the caches, or undefined while they are not synced. */
  fromCaches: () => AdmissionContext | undefined;
}

const CERT_RETRY_MS = 10_000;

/** The webhook's and the NATS issuer's flags (parseArgs options), shared by the controller's entry point. */
export const WEBHOOK_FLAGS = {
  'webhook-port': { type: 'string' },
  'webhook-host': { type: 'string', default: '0.0.0.0' },
  'webhook-cert': { type: 'string', default: '/tmp/k8s-webhook-server/serving-certs/tls.crt' },
  'webhook-key': { type: 'string', default: '/tmp/k8s-webhook-server/serving-certs/tls.key' },
  'webhook-cert-secret': { type: 'string' },
  'webhook-configuration': { type: 'string', default: 'mooring-webhook-configuration' },
  /** With --webhook-cert-secret: the ConfigMap where the CA certificate (public) is published for the credential endpoint's clients ('' for none). */
  'webhook-ca-configmap': { type: 'string', default: 'mooring-ca' },
  'webhook-service': { type: 'string', default: 'mooring-webhook-service' },
  'webhook-cert-extra-names': { type: 'string', default: '' },
  'nats-cluster': { type: 'string' },
  'nats-credential-ttl': { type: 'string', default: '1h' },
  'nats-speaker-sa': { type: 'string', default: 'speaker' },
  /** The visualizer's ServiceAccount: its Pods get read-only viewer credentials ('' for none). */
  'nats-viewer-sa': { type: 'string', default: 'viz' },
  /** Where the issuer keys' Secret lives (default: the controller's namespace); speakers must not read Secrets there. */
  'nats-issuer-namespace': { type: 'string' },
} as const;
type Flags = Partial<Record<keyof typeof WEBHOOK_FLAGS, string>>;

/** Port, host, certificate (files or managed) and NATS issuer options from the flags; exits 2 on a bad duration. */
export function webhookFromFlags(
  f: Flags,
  c: { kc: KubeConfig; namespace: string; isLeader: () => boolean },
): Pick<ControllerWebhookOptions, 'port' | 'host' | 'cert' | 'nats'> {
  const ttl = parseDuration(f['nats-credential-ttl'] ?? '');
  if (f['nats-cluster'] && (ttl === undefined || ttl < 60_000)) {
    process.stderr.write(`--nats-credential-ttl: need a duration of at least 1m: ${f['nats-credential-ttl']}\n`);
    process.exit(2);
  }
  const { kc, namespace, isLeader } = c;
  return {
    port: Number(f['webhook-port']),
    host: f['webhook-host'] ?? '0.0.0.0',
    cert: f['webhook-cert-secret']
      ? {
          kc,
          namespace,
          isLeader,
          secret: f['webhook-cert-secret'],
          configuration: f['webhook-configuration'] ?? 'mooring-webhook-configuration',
          caConfigMap: f['webhook-ca-configmap'] ?? 'mooring-ca',
          service: f['webhook-service'] ?? 'mooring-webhook-service',
          extraNames: (f['webhook-cert-extra-names'] ?? '').split(',').filter(Boolean),
        }
      : { certFile: f['webhook-cert'] ?? '', keyFile: f['webhook-key'] ?? '' },
    ...(f['nats-cluster']
      ? {
          nats: {
            kc,
            namespace,
            isLeader,
            cluster: f['nats-cluster'],
            issuerSecret: 'mooring-nats-issuer',
            issuerNamespace: f['nats-issuer-namespace'] || namespace,
            authSecret: 'mooring-nats-auth',
            serviceAccount: f['nats-speaker-sa'] ?? 'speaker',
            ...(f['nats-viewer-sa'] ? { viewerServiceAccount: f['nats-viewer-sa'] } : {}),
            lifetimeMs: ttl ?? 3_600_000,
          },
        }
      : {}),
  };
}

/** Starts serving (or retrying for the certificate); close() stops both. */
export async function startControllerWebhook(
  o: ControllerWebhookOptions,
  log: Logger,
): Promise<{ close: () => void; issuer?: Pick<ReturnType<typeof startNatsIssuer>, 'mint'> }> {
  // Admission reads the config live, not from the informers: a cache whose watch is in a backoff
  // (after an apiserver restart, a 429) may miss an object created a moment ago, and admitting
  // against a stale view is how a BFDProfile in use gets deleted. Config changes are rare; seven
  // lists per admission are cheap. If a list fails, the caches answer (when synced).
  const context = async (): Promise<AdmissionContext | undefined> => {
    try {
      const lists = await Promise.all(
        o.config.map(async ({ kind, spec }) =>
          (await spec.list()).items.map((x) => ({ ...x, apiVersion: x.apiVersion ?? `metallb.io/${storageVersion(kind)}`, kind })),
        ),
      );
      const namespaces = (await o.namespaces.list()).items.map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} }));
      return { objects: lists.flat(), namespaces, namespace: o.namespace };
    } catch (err) {
      log.warn('webhook: live list failed, using the caches', {
        event: 'webhook.list.failed',
        err: err instanceof Error ? err.message.split('\n')[0] : String(err),
      });
      return o.fromCaches();
    }
  };
  const c = o.cert;
  const managed = 'kc' in c ? startManagedWebhookCert(c.kc, c, log) : undefined;
  const tls = 'kc' in c ? managed!.tls : fileTls(c.certFile, c.keyFile);
  const retryMs = managed ? 1000 : CERT_RETRY_MS;
  const issuer = o.nats ? startNatsIssuer(o.nats.kc, o.nats, log) : undefined;
  const routes = issuer ? { [CREDENTIALS_PATH]: issuer.handle } : undefined;
  let server: { close: () => void } | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const start = async (): Promise<void> => {
    if (closed) return;
    try {
      server = await serveWebhook({ port: o.port, host: o.host, tls, context, ...(routes ? { routes } : {}) }, log);
      log.info('webhook serving', { event: 'webhook.listening', port: o.port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EACCES') throw err;
      log.error(`webhook certificate not readable yet, retrying in ${retryMs / 1000} s`, {
        event: 'webhook.cert.missing',
        err: err instanceof Error ? err.message : String(err),
      });
      retry = setTimeout(() => {
        void start();
      }, retryMs);
    }
  };
  await start();
  return {
    ...(issuer ? { issuer } : {}),
    close: () => {
      closed = true;
      managed?.stop();
      issuer?.stop();
      if (retry) clearTimeout(retry);
      server?.close();
    },
  };
}
