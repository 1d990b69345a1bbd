// The controller's NATS issuer: operator, MOORING account and system account nkeys (seeds kept
// in a Secret only the controller reads), their JWTs for the servers' config, and user JWTs minted
// for one role each (domain/nats-auth.ts: permissions from nats-config.ts). Also the speaker's
// side: a user nkey made in memory. Seeds and JWTs are never logged.
import { createAccount, createOperator, createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import { Algorithms, encodeAccount, encodeOperator, encodeUser } from '@nats-io/jwt';
import type { NatsRole } from '../domain/nats-config.js';
import { ACCOUNT_LIMITS, expirySeconds, operatorModeConfig, roleName, userClaims } from '../domain/nats-auth.js';
import { presenceSubscribeAllow } from '../domain/nats-config.js';

/** Seeds (`SO…`, `SA…`, `SA…`) as text: the Secret's content. */
export interface IssuerSeeds {
  readonly operator: string;
  readonly account: string;
  readonly system: string;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export function newIssuerSeeds(): IssuerSeeds {
  return { operator: text(createOperator().getSeed()), account: text(createAccount().getSeed()), system: text(createAccount().getSeed()) };
}

/** Whether stored seeds are well-formed keys of the right kinds. */
export function validSeeds(s: Partial<IssuerSeeds>): s is IssuerSeeds {
  try {
    return (
      !!s.operator &&
      !!s.account &&
      !!s.system &&
      fromSeed(bytes(s.operator)).getPublicKey().startsWith('O') &&
      fromSeed(bytes(s.account)).getPublicKey().startsWith('A') &&
      fromSeed(bytes(s.system)).getPublicKey().startsWith('A')
    );
  } catch {
    return false;
  }
}

export const accountPublicKey = (s: IssuerSeeds): string => fromSeed(bytes(s.account)).getPublicKey();

/** The nats-server configuration block (operator mode, accounts preloaded): public JWTs only. */
export async function serverAuthConfig(s: IssuerSeeds): Promise<string> {
  const op = fromSeed(bytes(s.operator));
  const acc = fromSeed(bytes(s.account));
  const sys = fromSeed(bytes(s.system));
  const opts = { algorithm: Algorithms.v2 };
  const operatorJwt = await encodeOperator('mooring', op, { system_account: sys.getPublicKey() }, opts);
  // Death fast path, least privilege: the system account exports exactly the MOORING account's
  // connect/disconnect advisories (the servers name it by its key), MOORING imports exactly those;
  // no MOORING user may publish `$SYS.>` (nats-config.ts), so only the servers produce them.
  const advisories = presenceSubscribeAllow(acc.getPublicKey());
  const exports = advisories.map((subject) => ({ name: subject, subject, type: 'stream' as const }));
  const imports = advisories.map((subject) => ({ name: subject, subject, account: sys.getPublicKey(), type: 'stream' as const }));
  const accountJwt = await encodeAccount('MOORING', acc, { limits: { ...ACCOUNT_LIMITS }, imports }, { ...opts, signer: op });
  // Its limits stay 0 (no connections, no JetStream) but for the exports (0 would refuse the JWT).
  const systemJwt = await encodeAccount('SYS', sys, { exports, limits: { exports: exports.length } }, { ...opts, signer: op });
  return operatorModeConfig({
    operatorJwt,
    systemAccount: sys.getPublicKey(),
    accounts: { [acc.getPublicKey()]: accountJwt, [sys.getPublicKey()]: systemJwt },
  });
}

/** A user JWT for `userPublicKey` (`U…`) with `role`'s permissions, expiring `lifetimeMs` after `nowMs`. */
export async function mintUserJwt(
  s: IssuerSeeds,
  userPublicKey: string,
  cluster: string,
  role: NatsRole,
  nowMs: number,
  lifetimeMs: number,
): Promise<{ jwt: string; expiresAtMs: number }> {
  const exp = expirySeconds(nowMs, lifetimeMs);
  const account = fromSeed(bytes(s.account));
  const jwt = await encodeUser(roleName(role), fromPublic(userPublicKey), account, userClaims(cluster, role, account.getPublicKey()), {
    algorithm: Algorithms.v2,
    exp,
  });
  return { jwt, expiresAtMs: exp * 1000 };
}

/** Whether `k` is a user public key (checksum included). */
export function isUserPublicKey(k: string): boolean {
  try {
    return k.startsWith('U') && fromPublic(k).getPublicKey() === k;
  } catch {
    return false;
  }
}

/** A speaker's own user nkey, made in memory (it never leaves the process). */
export function newUserKey(): { publicKey: string; seed: Uint8Array } {
  const u = createUser();
  return { publicKey: u.getPublicKey(), seed: u.getSeed() };
}
