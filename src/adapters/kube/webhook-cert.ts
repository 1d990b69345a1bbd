// The Kubernetes side of the managed webhook certificate: the Secret that holds it (type
// kubernetes.io/tls with ca.crt and ca.key, as MetalLB's cert-controller keeps it; replaced with
// its resourceVersion, so a write based on a stale read loses) and the caBundle of every webhook
// in the ValidatingWebhookConfiguration (a JSON patch, guarded by a `test` of the value read), and
// the CA certificate alone in a ConfigMap (mooring-ca, key ca.crt: public), which the clients of
// the credential endpoint (speakers, the visualizer) read instead of the Secret and its keys.
// Secret contents are never logged; errors carry the HTTP status and the apiserver's message only.
import { isIP } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { realClock } from '../../actors/clock.js';
import { WebhookCertManager, type CaBundlePort, type CertStorePort, type StoredCerts } from '../../actors/webhook-cert-manager.js';
import { err, ok } from '../../domain/result.js';
import { serviceDnsNames, type CertPems } from '../../domain/webhook-cert.js';
import type { Logger } from '../log.js';
import { issueCerts, readCertFacts } from '../webhook-cert-x509.js';
import { KubeRestError, fromSecretData, kubeRest, restErrorText, toSecretData, type KubeRest } from './rest.js';
import type { TlsSource } from './webhook.js';

interface SecretObj {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

export function certSecretStore(kc: KubeConfig, namespace: string, name: string): CertStorePort {
  const rest = kubeRest(kc);
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  return {
    read: async () => {
      try {
        const s = await rest.request<SecretObj>('GET', `${path}/${name}`);
        const d = s.data ?? {};
        const pems: Partial<Record<keyof CertPems, string>> = {};
        for (const [k, key] of [
          ['caCrt', 'ca.crt'],
          ['caKey', 'ca.key'],
          ['tlsCrt', 'tls.crt'],
          ['tlsKey', 'tls.key'],
        ] as const) {
          const v = fromSecretData(d[key]);
          if (v) pems[k] = v;
        }
        return ok<StoredCerts>({ pems, version: s.metadata?.resourceVersion ?? '' });
      } catch (e) {
        if (e instanceof KubeRestError && e.code === 404) return ok(undefined);
        return err(restErrorText(e));
      }
    },
    write: async (p, version) => {
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: {
          name,
          namespace,
          labels: { 'app.kubernetes.io/part-of': 'mooring', 'app.kubernetes.io/managed-by': 'mooring-controller' },
          ...(version ? { resourceVersion: version } : {}),
        },
        data: {
          'ca.crt': toSecretData(p.caCrt),
          'ca.key': toSecretData(p.caKey),
          'tls.crt': toSecretData(p.tlsCrt),
          'tls.key': toSecretData(p.tlsKey),
        },
      };
      try {
        const s = version
          ? await rest.request<SecretObj>('PUT', `${path}/${name}`, { body })
          : await rest.request<SecretObj>('POST', path, { body });
        return ok(s.metadata?.resourceVersion ?? '');
      } catch (e) {
        if (e instanceof KubeRestError && e.code === 409) return err('conflict');
        return err(restErrorText(e));
      }
    },
  };
}

interface WebhookConfigObj {
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string } }>;
}

export function caBundlePatcher(kc: KubeConfig, configuration: string): CaBundlePort {
  const rest = kubeRest(kc);
  const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${configuration}`;
  return {
    ensure: async (caPem) => {
      const want = toSecretData(caPem);
      try {
        const cfg = await rest.request<WebhookConfigObj>('GET', path);
        const ops = (cfg.webhooks ?? []).flatMap((w, i) =>
          w.clientConfig?.caBundle === want
            ? []
            : [
                { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
                { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want },
              ],
        );
        if (ops.length === 0) return ok(false);
        await rest.request('PATCH', path, { body: ops, contentType: 'application/json-patch+json' });
        return ok(true);
      } catch (e) {
        return err(`${configuration}: ${restErrorText(e)}`);
      }
    },
  };
}

interface ConfigMapObj {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

/** The key of the CA certificate in the published ConfigMap (as in the Secret). */
export const CA_CONFIGMAP_KEY = 'ca.crt';

/** Keeps ConfigMap `name`'s ca.crt equal to the CA certificate (created if missing, replaced at its resourceVersion). */
export function caConfigMapPublisher(rest: Pick<KubeRest, 'request'>, namespace: string, name: string): CaBundlePort {
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  return {
    ensure: async (caPem) => {
      try {
        let cur: ConfigMapObj | undefined;
        try {
          cur = await rest.request<ConfigMapObj>('GET', `${path}/${name}`);
        } catch (e) {
          if (!(e instanceof KubeRestError && e.code === 404)) throw e;
        }
        if (cur?.data?.[CA_CONFIGMAP_KEY] === caPem) return ok(false);
        const version = cur?.metadata?.resourceVersion;
        const body = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name,
            namespace,
            labels: { 'app.kubernetes.io/part-of': 'mooring', 'app.kubernetes.io/managed-by': 'mooring-controller' },
            ...(version ? { resourceVersion: version } : {}),
          },
          data: { [CA_CONFIGMAP_KEY]: caPem },
        };
        if (cur) await rest.request('PUT', `${path}/${name}`, { body });
        else await rest.request('POST', path, { body });
        return ok(true);
      } catch (e) {
        if (e instanceof KubeRestError && e.code === 409) return err(`ConfigMap ${name}: conflict`);
        return err(`ConfigMap ${name}: ${restErrorText(e)}`);
      }
    },
  };
}

export interface ManagedCertOptions {
  readonly namespace: string;
  /** The Secret holding the CA and the serving certificate. */
  readonly secret: string;
  /** The ValidatingWebhookConfiguration whose caBundle is kept equal to the CA. */
  readonly configuration: string;
  /** The ConfigMap where the CA certificate is published for clients ('' or undefined: none). */
  readonly caConfigMap?: string;
  /** The webhook's Service (its DNS names go into the certificate). */
  readonly service: string;
  /** More names: IP addresses or DNS names (a webhook registered by `url`). */
  readonly extraNames?: readonly string[];
  readonly isLeader: () => boolean;
}

/** Runs the certificate manager; the TLS source serves whatever it last read or issued. */
export function startManagedWebhookCert(kc: KubeConfig, o: ManagedCertOptions, log: Logger): { tls: TlsSource; stop: () => void } {
  let current: { cert: string; key: string } | undefined;
  let version = 0;
  const extra = o.extraNames ?? [];
  const manager = new WebhookCertManager({
    store: certSecretStore(kc, o.namespace, o.secret),
    bundle: caBundlePatcher(kc, o.configuration),
    ...(o.caConfigMap ? { published: caConfigMapPublisher(kubeRest(kc), o.namespace, o.caConfigMap) } : {}),
    issuer: { facts: readCertFacts, issue: issueCerts },
    clock: realClock,
    wallNow: Date.now,
    names: {
      dnsNames: [...serviceDnsNames(o.service, o.namespace), ...extra.filter((n) => isIP(n) === 0)],
      ipAddresses: extra.filter((n) => isIP(n) !== 0),
    },
    isLeader: o.isLeader,
    log,
    onCert: (tls) => {
      current = tls;
      version++;
      log.info('webhook certificate in use', { event: 'webhook.cert.loaded', name: `${o.namespace}/${o.secret}` });
    },
  });
  manager.start();
  return {
    tls: {
      load: () => {
        if (current) return current;
        throw Object.assign(new Error(`no certificate in Secret ${o.namespace}/${o.secret} yet`), { code: 'ENOENT' });
      },
      stamp: () => String(version),
      checkMs: 1000,
    },
    stop: () => manager.stop(),
  };
}
