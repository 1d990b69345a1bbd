// The controller's NATS issuer in the cluster: the issuer keys live in the Secret
// mooring-nats-issuer (created by the leader on first start; every replica reads it) in a namespace
// where speakers cannot read Secrets (--nats-issuer-namespace, deploy/rbac/issuer.yaml), the servers'
// configuration (operator mode, public JWTs only) in the Secret mooring-nats-auth (key
// coordination-auth.conf, included by deploy/nats), written by the leader when missing or made
// for other keys or by an older version. POST /nats/v1/credentials (on the webhook's HTTPS server) mints a node's user
// JWT after a TokenReview (actors/nats-credentials.ts). Nothing secret is logged.
import type { KubeConfig } from '@kubernetes/client-node';
import { issueCredential, type CredentialAnswer, type CredentialPorts, type PodFacts } from '../../actors/nats-credentials.js';
import { AUTH_CONF_VERSION, NATS_TOKEN_AUDIENCE, type TokenReviewStatus } from '../../domain/nats-auth.js';
import { err, ok } from '../../domain/result.js';
import type { Logger } from '../log.js';
import {
  accountPublicKey,
  isUserPublicKey,
  mintUserJwt,
  newIssuerSeeds,
  serverAuthConfig,
  validSeeds,
  type IssuerSeeds,
} from '../nats-issuer.js';
import { KubeRestError, fromSecretData, kubeRest, restErrorText, toSecretData } from './rest.js';

export const CREDENTIALS_PATH = '/nats/v1/credentials';
export const AUTH_CONF_KEY = 'coordination-auth.conf';

export interface NatsIssuerOptions {
  readonly namespace: string;
  /** Coordination cluster name (subjects mooring.v1.<cluster>.…), as the speakers' --cluster. */
  readonly cluster: string;
  readonly issuerSecret: string;
  /** The issuer Secret's namespace: one the speakers cannot read Secrets in (deploy/rbac/issuer.yaml). */
  readonly issuerNamespace?: string;
  readonly authSecret: string;
  /** The speakers' ServiceAccount. */
  readonly serviceAccount: string;
  /** The visualizer's ServiceAccount (its Pods get the read-only viewer role); absent: none. */
  readonly viewerServiceAccount?: string;
  readonly lifetimeMs: number;
  readonly isLeader: () => boolean;
}

interface SecretObj {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

export function startNatsIssuer(
  kc: KubeConfig,
  o: NatsIssuerOptions,
  log: Logger,
): {
  handle: (bearer: string | undefined, body: unknown) => Promise<CredentialAnswer>;
  /** Mints a user JWT here (the controller's own, for its state feed); undefined while the keys are not loaded. */
  mint: CredentialPorts['mint'];
  stop: () => void;
} {
  const rest = kubeRest(kc);
  const secretsIn = (ns: string) => `/api/v1/namespaces/${ns}/secrets`;
  const issuerNs = o.issuerNamespace ?? o.namespace;
  let seeds: IssuerSeeds | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const labels = { 'app.kubernetes.io/part-of': 'mooring', 'app.kubernetes.io/managed-by': 'mooring-controller' };
  const get = async (name: string, ns = o.namespace): Promise<SecretObj | undefined> => {
    try {
      return await rest.request<SecretObj>('GET', `${secretsIn(ns)}/${name}`);
    } catch (e) {
      if (e instanceof KubeRestError && e.code === 404) return undefined;
      throw e;
    }
  };
  const put = async (name: string, data: Record<string, string>, version?: string, ns = o.namespace): Promise<void> => {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns, labels, ...(version ? { resourceVersion: version } : {}) },
      data,
    };
    await (version ? rest.request('PUT', `${secretsIn(ns)}/${name}`, { body }) : rest.request('POST', secretsIn(ns), { body }));
  };

  const tick = async (): Promise<number> => {
    const s = await get(o.issuerSecret, issuerNs);
    const stored = {
      operator: fromSecretData(s?.data?.operator),
      account: fromSecretData(s?.data?.account),
      system: fromSecretData(s?.data?.system),
    };
    if (validSeeds(stored)) seeds = stored;
    else if (o.isLeader() && !s) {
      const fresh = newIssuerSeeds();
      await put(
        o.issuerSecret,
        {
          operator: toSecretData(fresh.operator),
          account: toSecretData(fresh.account),
          system: toSecretData(fresh.system),
        },
        undefined,
        issuerNs,
      );
      log.info('NATS issuer keys created', {
        event: 'nats.issuer.created',
        name: `${issuerNs}/${o.issuerSecret}`,
        account: accountPublicKey(fresh),
      });
      seeds = fresh;
    } else if (s) log.error('NATS issuer Secret is malformed: delete it to have it recreated', { event: 'nats.issuer.invalid' });
    if (!seeds) return 2000;
    if (o.isLeader()) {
      const a = await get(o.authSecret);
      const conf = fromSecretData(a?.data?.[AUTH_CONF_KEY]) ?? '';
      // Rewritten when written for other keys or by an older version (without the presence exports).
      if (!conf.includes(accountPublicKey(seeds)) || !conf.includes(AUTH_CONF_VERSION)) {
        await put(o.authSecret, { [AUTH_CONF_KEY]: toSecretData(await serverAuthConfig(seeds)) }, a?.metadata?.resourceVersion);
        log.info('NATS server authorization written', { event: 'nats.auth.written', name: `${o.namespace}/${o.authSecret}` });
      }
    }
    return 60_000;
  };
  const loop = (): void => {
    tick()
      .catch((e: unknown) => {
        log.warn('NATS issuer: cluster state not reconciled, retrying', { event: 'nats.issuer.retry', err: restErrorText(e) });
        return 2000;
      })
      .then(
        (ms) => {
          if (!stopped) timer = setTimeout(loop, ms);
        },
        () => undefined,
      );
  };
  loop();

  const ports: CredentialPorts = {
    namespace: o.namespace,
    serviceAccount: o.serviceAccount,
    ...(o.viewerServiceAccount ? { viewerServiceAccount: o.viewerServiceAccount } : {}),
    audience: NATS_TOKEN_AUDIENCE,
    log,
    isUserKey: isUserPublicKey,
    review: async (token, audience) => {
      try {
        const r = await rest.request<{ status?: TokenReviewStatus }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } },
        });
        return ok(r.status ?? {});
      } catch (e) {
        return err(restErrorText(e));
      }
    },
    pod: async (namespace, name) => {
      try {
        const p = await rest.request<{
          metadata?: { uid?: string; deletionTimestamp?: string };
          spec?: { nodeName?: string };
          status?: { phase?: string };
        }>('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
        const facts: PodFacts = {
          ...(p.metadata?.uid ? { uid: p.metadata.uid } : {}),
          ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
          ...(p.status?.phase ? { phase: p.status.phase } : {}),
          deleting: !!p.metadata?.deletionTimestamp,
        };
        return ok(facts);
      } catch (e) {
        if (e instanceof KubeRestError && e.code === 404) return ok(undefined);
        return err(restErrorText(e));
      }
    },
    mint: async (pub, role) => {
      if (!seeds) return undefined;
      try {
        return ok(await mintUserJwt(seeds, pub, o.cluster, role, Date.now(), o.lifetimeMs));
      } catch (e) {
        return err(restErrorText(e));
      }
    },
  };
  return {
    handle: (bearer, body) => issueCredential({ ...(bearer ? { bearer } : {}), body }, ports),
    mint: ports.mint,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
