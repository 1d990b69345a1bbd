// NATS decentralized auth for Mooring (nats-server ≥ 2.2 operator mode; no auth callout, which
// needs 2.10): the controller holds an operator, the MOORING account (JetStream on) and a system
// account; the servers trust them through a config with the operator JWT and the account JWTs
// preloaded (resolver MEMORY). Each speaker makes its own user nkey in memory and gets a short-lived
// user JWT from the controller, which proves who asks with a TokenReview of the speaker's
// projected ServiceAccount token and takes the node from the Pod: the JWT carries that node's
// permissions (nats-config.ts rolePermissions, the one source). Pure: claims, config text, the
// token review's meaning, and when to renew. Signing and keys are the adapters' (nats-issuer.ts).
import type { NatsRole, RolePermissions } from './nats-config.js';
import { rolePermissions } from './nats-config.js';
import { err, ok, type Result } from './result.js';

/** The account's limits: unlimited, JetStream enabled (memory and file), as `accounts { jetstream: enabled }` did. */
export const ACCOUNT_LIMITS = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
} as const;

/** The audience the speaker's projected token is bound to (it is good for nothing else). */
export const NATS_TOKEN_AUDIENCE = 'mooring-nats';

/**
 * The `nats` section of a user JWT for a role: its permissions, nothing else. `account` is the
 * public key (`A…`) of the account it is issued in: in operator mode the servers name accounts by
 * key, so the advisories a node may read are `$SYS.ACCOUNT.<key>.CONNECT`/`.DISCONNECT`.
 */
export function userClaims(cluster: string, r: NatsRole, account?: string): { pub: { allow: string[] }; sub: { allow: string[] } } {
  const p: RolePermissions = rolePermissions(cluster, r, account);
  return { pub: { allow: [...p.pub] }, sub: { allow: [...p.sub] } };
}

/** The user's name in the JWT (shown by the server): `node:<node>` / `admin`. */
export const roleName = (r: NatsRole): string => (r.role === 'node' ? `node:${r.node}` : r.role);

/** Expiry (seconds since the epoch, as JWTs count) of a credential issued at `nowMs`. */
export const expirySeconds = (nowMs: number, lifetimeMs: number): number => Math.floor((nowMs + lifetimeMs) / 1000);

/** When to ask for the next one: two thirds into its life (a third left for retries). */
export function renewAtMs(issuedMs: number, expiresMs: number): number {
  return issuedMs + Math.floor(((expiresMs - issuedMs) * 2) / 3);
}

/** One connection's current credential (the speaker's primary is slot 0, its mirror slot 1). */
export interface SlotCredential {
  readonly issuedMs: number;
  readonly expiresMs: number;
}

/**
 * Which connection renews its credential next, and when (then reconnects with it). The server
 * closes a connection when its user JWT expires, and peers judge a node dead when every one of its
 * connections has closed (presence.ts): the connections must never lapse, nor reconnect, together.
 * So each has its own credential and they take turns: the one with the oldest credential renews
 * 1/(2n) of a lifetime after the newest was issued. With two connections issued together at t0,
 * the primary renews at t0 + L/4, the mirror at t0 + L/2, the primary at t0 + 3L/4, …: each
 * credential is replaced at half its life, a quarter of a lifetime apart from the other's. Never
 * later than two thirds into the oldest's life (a third left for retries when the issuer is down).
 */
export function nextRotation(slots: readonly SlotCredential[]): { readonly slot: number; readonly atMs: number } | undefined {
  if (slots.length === 0) return undefined;
  let slot = 0;
  let newest = -Infinity;
  slots.forEach((c, i) => {
    if (c.issuedMs < (slots[slot] as SlotCredential).issuedMs) slot = i;
    newest = Math.max(newest, c.issuedMs);
  });
  const oldest = slots[slot] as SlotCredential;
  const life = oldest.expiresMs - oldest.issuedMs;
  const atMs = Math.min(newest + Math.floor(life / (2 * slots.length)), renewAtMs(oldest.issuedMs, oldest.expiresMs));
  return { slot, atMs };
}

/**
 * The account a user JWT was issued in (its `issuer_account` when signed with a signing key, else
 * its issuer): the key the servers name the account by. Undefined when it is not a JWT. Reads the
 * claims only; the servers verify the signature.
 */
export function jwtAccount(jwt: string): string | undefined {
  const part = jwt.split('.')[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const c = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)))) as {
      iss?: unknown;
      nats?: { issuer_account?: unknown };
    };
    const acc = c.nats?.issuer_account ?? c.iss;
    return typeof acc === 'string' && /^A[A-Z2-7]{55}$/.test(acc) ? acc : undefined;
  } catch {
    return undefined;
  }
}

/** Marks a configuration with the presence exports/imports: an older one is rewritten by the controller. */
export const AUTH_CONF_VERSION = '# mooring-nats-auth v2 (presence advisories exported)';

/** The server configuration block: trust the operator, preload the accounts, name the system account. */
export function operatorModeConfig(o: { operatorJwt: string; systemAccount: string; accounts: Readonly<Record<string, string>> }): string {
  const q = (s: string): string => JSON.stringify(s);
  const preload = Object.keys(o.accounts)
    .sort()
    .map((pub) => `  ${pub}: ${q(o.accounts[pub] ?? '')}`);
  return [
    '# Generated by the Mooring controller (src/domain/nats-auth.ts): operator mode, accounts preloaded.',
    '# Public JWTs only; no seed is in this file. Users are minted per node by the controller.',
    AUTH_CONF_VERSION,
    `operator: ${q(o.operatorJwt)}`,
    `system_account: ${o.systemAccount}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    ...preload,
    '}',
    '',
  ].join('\n');
}

/** A TokenReview's answer (authentication.k8s.io/v1 status), as far as it matters here. */
export interface TokenReviewStatus {
  readonly authenticated?: boolean;
  readonly audiences?: readonly string[];
  readonly user?: { readonly username?: string; readonly extra?: Readonly<Record<string, readonly string[]>> };
  readonly error?: string;
}

/** Who a reviewed token belongs to: the speaker's Pod (its node comes from the Pod itself). */
export interface TokenOwner {
  readonly podName: string;
  readonly podUid: string;
}

/**
 * Accepts a token only when the apiserver authenticated it for our audience, as the speaker's
 * ServiceAccount, and bound to a Pod (a projected token: legacy Secret tokens have no Pod).
 */
export function tokenOwner(
  s: TokenReviewStatus,
  want: { namespace: string; serviceAccount: string; audience: string },
): Result<TokenOwner> {
  if (s.authenticated !== true) return err(`token not authenticated${s.error ? `: ${s.error}` : ''}`);
  if (!(s.audiences ?? []).includes(want.audience)) return err(`token not for audience ${want.audience}`);
  const user = `system:serviceaccount:${want.namespace}:${want.serviceAccount}`;
  if (s.user?.username !== user) return err(`token of ${s.user?.username ?? 'nobody'}, not ${user}`);
  const podName = s.user.extra?.['authentication.kubernetes.io/pod-name']?.[0];
  const podUid = s.user.extra?.['authentication.kubernetes.io/pod-uid']?.[0];
  if (!podName || !podUid) return err('token not bound to a Pod (use a projected ServiceAccount token)');
  return ok({ podName, podUid });
}

/** The node a credential is for: the Pod must be the one the token was bound to, scheduled, and running. */
export function podNode(
  owner: TokenOwner,
  pod: { uid?: string; nodeName?: string; phase?: string; deleting?: boolean } | undefined,
): Result<NatsRole> {
  if (!pod) return err(`pod ${owner.podName} not found`);
  if (pod.uid !== owner.podUid) return err(`pod ${owner.podName} is not the one the token was issued to`);
  if (pod.deleting) return err(`pod ${owner.podName} is being deleted`);
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return err(`pod ${owner.podName} has ended`);
  if (!pod.nodeName) return err(`pod ${owner.podName} is not scheduled`);
  return ok({ role: 'node', node: pod.nodeName });
}
