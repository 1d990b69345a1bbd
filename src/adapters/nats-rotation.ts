// Minted NATS credentials, one per connection, renewed in turns (src/domain/nats-auth.ts
// nextRotation). The server closes a connection when its user JWT expires, and peers judge a node
// dead as soon as every one of its connections has closed (the death fast path): if the primary and
// the mirror held JWTs with the same expiry, both would drop together once per lifetime and the
// node's IPs would move. So each connection (slot 0: primary, 1: mirror) has its own JWT; the
// rotator renews one at a time, then re-establishes that connection with it (NatsBus.reconnect),
// only while the other is up, well before the old JWT expires. Failures are logged and retried
// with backoff. JWTs and seeds are never logged.
import { backoffDelay, type BackoffPolicy } from '../domain/backoff.js';
import { jwtAccount, nextRotation, type SlotCredential } from '../domain/nats-auth.js';
import type { Logger } from './log.js';
import type { NatsBus } from './nats.js';
import { newUserKey } from './nats-issuer.js';
import type { NatsCredential, NatsCredentialSource } from './speaker-nats.js';

/** Asks the issuer for a user JWT for `publicKey` (the controller's endpoint, or a local issuer in labs). */
export type JwtIssue = (publicKey: string) => Promise<{ ok: true; jwt: string; expiresAtMs: number } | { ok: false; error: string }>;

/** A credential source whose connections each hold their own JWT, renewed by `rotateCredentials`. */
export interface RotatingCredentials extends NatsCredentialSource {
  /** Gets a fresh JWT for `slot` now (its connection picks it up when it next connects). */
  renew(slot: number): Promise<NatsCredential>;
  /** Each slot's current credential (issued, expires), in slot order; empty until the first. */
  lifetimes(): SlotCredential[];
  /** The account the JWTs are issued in (its public key): the servers' advisories name it so. */
  account(): string | undefined;
}

export function isRotating(c: NatsCredentialSource): c is RotatingCredentials {
  return typeof (c as Partial<RotatingCredentials>).renew === 'function';
}

/** One user nkey (made in memory) and one JWT per slot. */
export function jwtSlotCredentials(issue: JwtIssue, log: Logger, now: () => number = Date.now): RotatingCredentials {
  const key = newUserKey();
  const seed = new TextDecoder().decode(key.seed);
  const slots: Array<{ jwt: string; issuedMs: number; expiresMs: number } | undefined> = [];
  let account: string | undefined;
  const credential = (slot: number): NatsCredential => ({ ok: true, auth: { jwt: () => slots[slot]?.jwt ?? '', nkeySeed: seed } });
  const renew = async (slot: number): Promise<NatsCredential> => {
    const issuedMs = now();
    const r = await issue(key.publicKey);
    if (!r.ok) return r;
    slots[slot] = { jwt: r.jwt, issuedMs, expiresMs: r.expiresAtMs };
    account = jwtAccount(r.jwt) ?? account;
    log.info('NATS credential received', { event: 'nats.credential.received', slot, user: key.publicKey, expiresAtMs: r.expiresAtMs });
    return credential(slot);
  };
  return {
    get: async (slot = 0) => (slots[slot] && now() < (slots[slot]?.expiresMs ?? 0) ? credential(slot) : renew(slot)),
    renew,
    lifetimes: () => slots.flatMap((s) => (s ? [{ issuedMs: s.issuedMs, expiresMs: s.expiresMs }] : [])),
    account: () => account,
  };
}

const RETRY: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/**
 * Renews the due slot's JWT and re-establishes that connection, one at a time, never taking a
 * connection down while the other is down (it waits for it). Returns a stop function.
 */
export function rotateCredentials(
  bus: Pick<NatsBus, 'slotUp' | 'reconnect'>,
  creds: RotatingCredentials,
  o: { log: Logger; now?: () => number; retry?: BackoffPolicy },
): () => void {
  const now = o.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let attempt = 0;
  const later = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void step(), Math.max(0, ms));
    timer.unref();
  };
  const step = async (): Promise<void> => {
    const next = nextRotation(creds.lifetimes());
    if (stopped || !next) return;
    const wait = next.atMs - now();
    if (wait > 0) return later(wait);
    // One connection at a time: the other must be up before this one goes down, unless this one is
    // down already (e.g. its JWT expired while the issuer was away): then its renewal is what helps.
    const slot = next.slot === 0 ? 0 : 1;
    if (bus.slotUp(slot) && !bus.slotUp(slot === 0 ? 1 : 0)) return later(200);
    const r = await creds.renew(next.slot);
    if (stopped) return;
    if (!r.ok) {
      o.log.error(r.error, { event: 'nats.credential.renewFailed', slot: next.slot, attempt });
      return later(backoffDelay(attempt++, Math.random, o.retry ?? RETRY));
    }
    attempt = 0;
    o.log.info('NATS connection re-established with its renewed credential', { event: 'nats.credential.rotate', slot: next.slot });
    await bus.reconnect(slot);
    o.log.info('NATS connection up with its renewed credential', { event: 'nats.credential.rotated', slot: next.slot });
    later(0);
  };
  later(0);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
