// Issues a speaker's NATS credential (the controller's POST /nats/v1/credentials): the caller
// proves who it is with its projected ServiceAccount token (audience mooring-nats), the apiserver
// reviews it (TokenReview), the Pod it is bound to gives the node, and the issuer mints a user JWT
// for the caller's public nkey with that node's permissions only. A caller cannot choose its node.
// A Pod of the viewer ServiceAccount (`mooring viz`, when one is configured) gets the read-only
// `viewer` role instead (the same proof: a projected token bound to a live Pod).
// Answers are HTTP codes with a one-line reason; the token and the JWT are never logged.
import type { LogPort } from './bgp-peers.js';
import type { NatsRole } from '../domain/nats-config.js';
import { podNode, tokenOwner, type TokenReviewStatus } from '../domain/nats-auth.js';
import type { Result } from '../domain/result.js';

export interface PodFacts {
  readonly uid?: string;
  readonly nodeName?: string;
  readonly phase?: string;
  readonly deleting?: boolean;
}

export interface CredentialPorts {
  review(token: string, audience: string): Promise<Result<TokenReviewStatus>>;
  pod(namespace: string, name: string): Promise<Result<PodFacts | undefined>>;
  /** Undefined while the issuer keys are not loaded yet. */
  mint(userPublicKey: string, role: NatsRole): Promise<Result<{ jwt: string; expiresAtMs: number }> | undefined>;
  isUserKey(k: string): boolean;
  readonly log: LogPort;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The visualizer's ServiceAccount: its Pods get the `viewer` role (absent: nobody does). */
  readonly viewerServiceAccount?: string;
  readonly audience: string;
}

export interface CredentialAnswer {
  readonly code: number;
  readonly body: { jwt: string; expiresAtMs: number; node: string } | { error: string };
}

const no = (code: number, error: string): CredentialAnswer => ({ code, body: { error } });

export async function issueCredential(req: { bearer?: string; body: unknown }, p: CredentialPorts): Promise<CredentialAnswer> {
  const publicKey = (req.body as { publicKey?: unknown } | null)?.publicKey;
  if (typeof publicKey !== 'string' || !p.isUserKey(publicKey)) return no(400, 'body must be {"publicKey": "U…"} (a user nkey)');
  if (!req.bearer) return no(401, 'no bearer token');
  const review = await p.review(req.bearer, p.audience);
  if (!review.ok) return no(503, `token review failed: ${review.error}`);
  const want = { namespace: p.namespace, audience: p.audience };
  const speaker = tokenOwner(review.value, { ...want, serviceAccount: p.serviceAccount });
  const viewer =
    !speaker.ok && p.viewerServiceAccount ? tokenOwner(review.value, { ...want, serviceAccount: p.viewerServiceAccount }) : undefined;
  const owner = viewer?.ok ? viewer : speaker;
  if (!owner.ok) {
    p.log.warn('NATS credential refused', { event: 'nats.credential.refused', reason: owner.error });
    return no(401, owner.error);
  }
  const pod = await p.pod(p.namespace, owner.value.podName);
  if (!pod.ok) return no(503, `pod lookup failed: ${pod.error}`);
  const bound = podNode(owner.value, pod.value);
  if (!bound.ok) {
    p.log.warn('NATS credential refused', { event: 'nats.credential.refused', pod: owner.value.podName, reason: bound.error });
    return no(403, bound.error);
  }
  const role: { value: NatsRole } = { value: viewer?.ok ? { role: 'viewer' } : bound.value };
  const minted = await p.mint(publicKey, role.value);
  if (!minted) return no(503, 'issuer keys not loaded yet, retry');
  if (!minted.ok) return no(500, minted.error);
  const node = role.value.role === 'node' ? role.value.node : '';
  p.log.info('NATS credential issued', {
    event: 'nats.credential.issued',
    node,
    role: role.value.role,
    pod: owner.value.podName,
    user: publicKey,
    expiresAtMs: minted.value.expiresAtMs,
  });
  return { code: 200, body: { jwt: minted.value.jwt, expiresAtMs: minted.value.expiresAtMs, node } };
}
