// The speaker's NATS credential from the controller (no Secret per node, nothing by hand): a user
// nkey made in memory at start; a user JWT asked for at POST <url> (the controller's HTTPS
// endpoint, verified against the CA the controller publishes in the ConfigMap mooring-ca, or, from an
// older controller that does not, in the webhook certificate Secret) with the Pod's projected
// ServiceAccount token (audience mooring-nats, re-read each time: the kubelet rotates it). One JWT
// per connection, renewed in turns and presented by re-establishing that connection before the old
// one expires (nats-rotation.ts). Failures are one-line values. Nothing secret is logged.
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRest, type KubeRest } from './kube/rest.js';
import type { Logger } from './log.js';
import { jwtSlotCredentials, type JwtIssue, type RotatingCredentials } from './nats-rotation.js';
import { passwordCredentials, type NatsCredentialSource } from './speaker-nats.js';

/** The speaker's NATS flags (parseArgs options). */
export const SPEAKER_NATS_FLAGS = {
  'nats-url': { type: 'string', default: process.env.NATS_URL },
  /** Credentials minted by the controller (nothing by hand): its HTTPS endpoint, and the projected token to prove who asks. */
  'nats-credentials-url': { type: 'string', default: process.env.NATS_CREDENTIALS_URL },
  'nats-token-file': { type: 'string', default: '/var/run/secrets/mooring/nats/token' },
  /** The ConfigMap whose ca.crt verifies the credential endpoint (the controller publishes it); '' for none. */
  'nats-ca-configmap': { type: 'string', default: 'mooring-ca' },
  /** The fallback: the Secret whose ca.crt verifies the endpoint (an older controller publishes no ConfigMap). */
  'nats-ca-secret': { type: 'string', default: 'mooring-webhook-cert' },
  'nats-user': { type: 'string', default: process.env.NATS_USER },
  'nats-pass-file': { type: 'string' },
  /** A directory with one password file per node (a mounted Secret): <dir>/<node>; the user is the node name. */
  'nats-pass-dir': { type: 'string', default: process.env.NATS_PASS_DIR },
} as const;

/** Minted JWTs when --nats-credentials-url is set; else a password (file or per-node directory), or none. */
export function speakerCredentials(
  f: Partial<Record<keyof typeof SPEAKER_NATS_FLAGS, string>>,
  c: { node: string; kc: KubeConfig; namespace: string; log: Logger },
): NatsCredentialSource {
  if (f['nats-credentials-url'])
    return jwtCredentials({
      url: f['nats-credentials-url'],
      tokenFile: f['nats-token-file'] ?? '',
      caSecret: { kc: c.kc, namespace: c.namespace, name: f['nats-ca-secret'] ?? 'mooring-webhook-cert' },
      caConfigMap: f['nats-ca-configmap'] ?? 'mooring-ca',
      log: c.log,
    });
  return passwordCredentials({ node: c.node, user: f['nats-user'], passFile: f['nats-pass-file'], passDir: f['nats-pass-dir'] });
}

export interface JwtCredentialOptions {
  /** e.g. https://mooring-webhook-service.metallb-system.svc/nats/v1/credentials */
  readonly url: string;
  /** The projected ServiceAccount token (audience mooring-nats). */
  readonly tokenFile: string;
  /** The Secret whose ca.crt verifies the endpoint (the controller's webhook certificate): the fallback. */
  readonly caSecret: { readonly kc: KubeConfig; readonly namespace: string; readonly name: string };
  /** The ConfigMap (same namespace) where the controller publishes that ca.crt alone: read first. */
  readonly caConfigMap?: string;
  readonly log: Logger;
}

function post(url: string, ca: string, token: string, body: unknown): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        timeout: 10_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), authorization: `Bearer ${token}` },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(data);
  });
}

const firstLine = (e: unknown): string => (e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e));

/** The CA certificate: from the ConfigMap (public), else from the Secret (an older controller publishes no ConfigMap). */
export async function readCa(
  rest: Pick<KubeRest, 'request'>,
  o: Pick<JwtCredentialOptions, 'caSecret' | 'caConfigMap'>,
): Promise<{ ok: true; ca: string } | { ok: false; error: string }> {
  const ns = o.caSecret.namespace;
  let missing = '';
  if (o.caConfigMap) {
    try {
      const c = await rest.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/${o.caConfigMap}`);
      const ca = c.data?.['ca.crt'];
      if (ca) return { ok: true, ca };
      missing = `no ca.crt in ConfigMap ${ns}/${o.caConfigMap} yet; `;
    } catch (e) {
      missing = `cannot read ConfigMap ${ns}/${o.caConfigMap}: ${firstLine(e)}; `;
    }
  }
  const where = `Secret ${ns}/${o.caSecret.name}`;
  try {
    const s = await rest.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/secrets/${o.caSecret.name}`);
    const ca = Buffer.from(s.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
    return ca ? { ok: true, ca } : { ok: false, error: `${missing}no ca.crt in ${where} yet` };
  } catch (e) {
    return { ok: false, error: `${missing}cannot read ${where}: ${firstLine(e)}` };
  }
}

/** Minted JWTs, one per connection (nats-rotation.ts renews them in turns). */
export function jwtCredentials(o: JwtCredentialOptions): RotatingCredentials {
  const rest = kubeRest(o.caSecret.kc);
  const issue: JwtIssue = async (publicKey) => {
    let token: string;
    try {
      token = (await readFile(o.tokenFile, 'utf8')).trim();
    } catch (e) {
      return { ok: false, error: `no ServiceAccount token at ${o.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}` };
    }
    const ca = await readCa(rest, o);
    if (!ca.ok) return ca;
    try {
      const r = await post(o.url, ca.ca, token, { publicKey });
      const body = JSON.parse(r.body || '{}') as { jwt?: string; expiresAtMs?: number; error?: string };
      if (r.code !== 200 || !body.jwt || !body.expiresAtMs)
        return { ok: false, error: `credential refused by ${o.url}: ${r.code}: ${body.error ?? 'no JWT'}` };
      return { ok: true, jwt: body.jwt, expiresAtMs: body.expiresAtMs };
    } catch (e) {
      return { ok: false, error: `credential endpoint ${o.url}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
    }
  };
  return jwtSlotCredentials(issue, o.log);
}
