// The controller's validating webhook server: started when --webhook-port is set, it validates
// against the config read live from the apiserver (the informer caches answer only when a list
// fails), and waits for its certificate: until the files are readable (or the managed certificate
// is issued: webhook-cert.ts) it retries every 10 s (1 s) rather than crash-looping.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { AdmissionContext } from '../../domain/admission.js';
import type { Logger } from '../log.js';
import type { InformerSpec } from './informer.js';
import { storageVersion } from './resources.js';
import { fileTls, serveWebhook } from './webhook.js';
import { startManagedWebhookCert, type ManagedCertOptions } from './webhook-cert.js';

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
  /** The same view from the caches, or undefined while they are not synced. */
  fromCaches: () => AdmissionContext | undefined;
}

const CERT_RETRY_MS = 10_000;

/** Starts serving (or retrying for the certificate); close() stops both. */
export async function startControllerWebhook(o: ControllerWebhookOptions, log: Logger): Promise<{ close: () => void }> {
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
  let server: { close: () => void } | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const start = async (): Promise<void> => {
    if (closed) return;
    try {
      server = await serveWebhook({ port: o.port, host: o.host, tls, context }, log);
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
    close: () => {
      closed = true;
      managed?.stop();
      if (retry) clearTimeout(retry);
      server?.close();
    },
  };
}
