// The speaker's NATS link, opened only when it is needed: the Coordinator (L2 election) talks to
// this CoordBus from the start, but nothing connects until `want()` is called (the speaker calls
// it when its configuration has an L2Advertisement), so a BGP-only node never dials NATS. Once
// wanted it gets a credential (a port: password file, or JWTs minted by the controller, one per
// connection, renewed in turns by nats-rotation.ts), connects
// (NatsBus: reconnects forever, mirror connection), replays the subscriptions made meanwhile,
// reports `up`, then opens the epoch store. Every failure (no credential yet, server unreachable,
// epoch bucket not there yet) is a one-line log and a retry with capped backoff: never a throw,
// never a stack trace. Credentials are never logged.
import { readFile } from 'node:fs/promises';
import type { CoordBus, EpochStore, KvFailure } from '../actors/coord-ports.js';
import { KvErrorKind } from '../actors/coord-ports.js';
import type { TraceHeaders } from '../actors/trace-port.js';
import { backoffDelay, type BackoffPolicy } from '../domain/backoff.js';
import type { Logger } from './log.js';
import { NatsBus, type NatsAuth } from './nats.js';
import { isRotating, rotateCredentials } from './nats-rotation.js';

/** A credential for the NATS connection, or why there is none yet (one line, no secret in it). */
export type NatsCredential = { readonly ok: true; readonly auth?: NatsAuth } | { readonly ok: false; readonly error: string };

export interface NatsCredentialSource {
  /** The credential of connection `slot` (0: primary, 1: mirror; minted JWTs differ per connection). */
  get(slot?: number): Promise<NatsCredential>;
}

/** No authentication, or a user + password (file, or a per-node file in a mounted Secret directory). */
export function passwordCredentials(o: { node: string; user?: string; passFile?: string; passDir?: string }): NatsCredentialSource {
  const file = o.passFile ?? (o.passDir ? `${o.passDir}/${o.node}` : undefined);
  const user = o.user ?? (o.passDir ? o.node : undefined);
  return {
    get: async () => {
      if (!file)
        return { ok: true, ...(user ? { auth: { user, ...(process.env.NATS_PASSWORD ? { pass: process.env.NATS_PASSWORD } : {}) } } : {}) };
      try {
        const pass = (await readFile(file, 'utf8')).trim();
        return { ok: true, auth: { user: user ?? o.node, pass } };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        return { ok: false, error: `no NATS password for node ${o.node}: ${file}: ${code}` };
      }
    },
  };
}

export type NatsLinkState = 'idle' | 'connecting' | 'up' | 'down';

export interface SpeakerNatsOptions {
  /** Comma-separated nats:// URLs; without them an L2 configuration cannot be served (reported, not fatal). */
  readonly urls: string | undefined;
  readonly node: string;
  readonly bucket: string;
  readonly kvReplicas: number;
  readonly credentials: NatsCredentialSource;
  readonly log: Logger;
  readonly backoff?: BackoffPolicy;
}

const RETRY: BackoffPolicy = { initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.2 };
const unavailable = (error: string): KvFailure<'unavailable'> => ({ ok: false, kind: KvErrorKind.unavailable, error });

export class SpeakerNats implements CoordBus {
  private bus: NatsBus | undefined;
  private store: EpochStore | undefined;
  private wanted = false;
  private closed = false;
  private lastError = '';
  private retry: NodeJS.Timeout | undefined;
  private stopRotation: (() => void) | undefined;
  private readonly subs = new Set<{ subject: string; cb: (s: string, d: Uint8Array, h?: TraceHeaders) => void; off?: () => void }>();
  private readonly statusCbs = new Set<(up: boolean) => void>();

  constructor(private readonly o: SpeakerNatsOptions) {}

  /** Starts connecting (idempotent). */
  want(): void {
    if (this.wanted || this.closed) return;
    this.wanted = true;
    this.o.log.info('L2 configuration present: connecting to NATS', { event: 'nats.wanted' });
    void this.connect(0);
  }

  state(): NatsLinkState {
    return !this.wanted ? 'idle' : !this.bus ? 'connecting' : this.bus.isUp() ? 'up' : 'down';
  }

  /** What readiness waits for: nothing when NATS is not wanted or connected. */
  waitingFor(): string[] {
    const s = this.state();
    if (s === 'idle' || s === 'up') return [];
    return [s === 'down' ? 'NATS: reconnecting' : `NATS: ${this.lastError || 'connecting'}`];
  }

  private async connect(attempt: number): Promise<void> {
    if (this.closed) return;
    const fail = (msg: string, event: string): void => {
      this.lastError = msg;
      const delay = backoffDelay(attempt, Math.random, this.o.backoff ?? RETRY);
      this.o.log.error(msg, { event, attempt, retryInMs: delay });
      this.retry = setTimeout(() => void this.connect(attempt + 1), delay);
    };
    if (!this.o.urls) return fail('an L2Advertisement needs NATS, but no --nats-url (NATS_URL) is set', 'nats.noUrl');
    const cred = await this.o.credentials.get(0);
    if (!cred.ok) return fail(cred.error, 'nats.noCredential');
    // The mirror's own credential (a minted JWT expiring apart from the primary's; see nats-rotation.ts).
    const mirror = isRotating(this.o.credentials) ? await this.o.credentials.get(1) : cred;
    if (!mirror.ok) return fail(mirror.error, 'nats.noCredential');
    try {
      const bus = await NatsBus.connect({
        servers: this.o.urls.split(','),
        name: `speaker-${this.o.node}`,
        ...(cred.auth ? { auth: cred.auth } : {}),
        ...(mirror.auth ? { mirrorAuth: mirror.auth } : {}),
        log: (rec) => this.o.log.info('nats', { ...rec, event: `nats.${String(rec.event ?? 'status')}` }),
      });
      if (this.closed) return void (await bus.close().catch(() => undefined));
      this.attach(bus);
    } catch (err) {
      fail(err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err), 'nats.connectFailed');
    }
  }

  private attach(bus: NatsBus): void {
    this.bus = bus;
    this.lastError = '';
    for (const s of this.subs) s.off = bus.subscribe(s.subject, s.cb);
    bus.onStatus((up) => this.emit(up));
    this.emit(bus.isUp());
    if (isRotating(this.o.credentials)) this.stopRotation = rotateCredentials(bus, this.o.credentials, { log: this.o.log });
    void this.openStore(bus);
  }

  /**
   * The account the servers name in their advisories: with minted JWTs, the issuing account's
   * public key (known once a credential arrived); else `fallback` (the password config's name).
   */
  presenceAccount(fallback: string): string | undefined {
    return isRotating(this.o.credentials) ? this.o.credentials.account() : fallback;
  }

  /** The epoch bucket, retried (500 ms, then every 5 s): until it opens, epoch writes are deferred. */
  private async openStore(bus: NatsBus): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.store = await bus.epochStore(this.o.bucket, this.o.kvReplicas);
        return;
      } catch (err) {
        if (attempt % 10 === 0) this.o.log.warn('epoch bucket not available yet', { event: 'kv.retry', attempt, err: String(err) });
        await new Promise((r) => setTimeout(r, attempt < 20 ? 500 : 5000));
      }
    }
  }

  private emit(up: boolean): void {
    for (const cb of this.statusCbs) cb(up);
  }

  publish(subject: string, data: Uint8Array, headers?: TraceHeaders): void {
    this.bus?.publish(subject, data, headers);
  }

  subscribe(subject: string, cb: (subject: string, data: Uint8Array, headers?: TraceHeaders) => void): () => void {
    const s: { subject: string; cb: typeof cb; off?: () => void } = { subject, cb };
    if (this.bus) s.off = this.bus.subscribe(subject, cb);
    this.subs.add(s);
    return () => {
      this.subs.delete(s);
      s.off?.();
    };
  }

  onStatus(cb: (up: boolean) => void): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }

  isUp(): boolean {
    return this.bus?.isUp() ?? false;
  }

  /** The epoch store: `unavailable` until the bucket is open (the Coordinator defers and retries). */
  readonly epochs: EpochStore = {
    get: async (key) => (this.store ? this.store.get(key) : unavailable('epoch bucket not open')),
    create: async (key, value) => (this.store ? this.store.create(key, value) : unavailable('epoch bucket not open')),
    update: async (key, value, rev) => (this.store ? this.store.update(key, value, rev) : unavailable('epoch bucket not open')),
  };

  async flush(): Promise<void> {
    await this.bus?.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.stopRotation?.();
    await this.bus?.close();
  }
}
