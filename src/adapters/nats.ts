// NATS adapter: the coordination bus (core NATS) and the epoch store (JetStream KV) over
// @nats-io/transport-node. Authenticates with user/password, an nkey seed or a user JWT, optional TLS,
// reconnects across every server of the cluster forever, and turns client status into
// up/down events. Secrets are never logged.
//
// Mirror connection: with more than one server, a second, publish-only connection is opened to a
// different server and every message is published on both. When a NATS server dies, its clients
// need a reconnect (≥ 100 ms, seconds on a loaded host) during which nothing they publish gets
// through; peers that hear no heartbeat for the detection window (300 ms) would declare them dead
// and take their IPs. With the mirror, a node's heartbeats keep flowing through the other server,
// so one server's death moves nothing (docs/coordination.md). Receivers drop the duplicate copies
// by sequence number. Subscriptions stay on the primary connection: while it reconnects, the node
// itself hears nothing (its own echo stops), so it freezes its membership view and takes nothing.
// After either connection reconnects, if both ended up on the same server, the mirror is reopened
// on another one (else the next death of that server would silence the node again).
import {
  connect,
  headers as newHeaders,
  jwtAuthenticator,
  nkeyAuthenticator,
  usernamePasswordAuthenticator,
  type NatsConnection,
  type ConnectionOptions,
  type MsgHdrs,
} from '@nats-io/transport-node';
import type { TraceHeaders } from '../actors/trace-port.js';
import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiCodes } from '@nats-io/jetstream';
import {
  KvErrorKind,
  type ConnId,
  type CoordBus,
  type EpochStore,
  type KvFailure,
  type KvRead,
  type KvWrite,
} from '../actors/coord-ports.js';

export interface NatsAuth {
  readonly user?: string;
  readonly pass?: string;
  /** nkey seed (`SU…`), e.g. from a Secret; with `jwt`, the seed of the JWT's user. */
  readonly nkeySeed?: string;
  /** A user JWT (decentralized auth), read at every (re)connect so a renewed one is used. */
  readonly jwt?: () => string;
}

export interface NatsTls {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface NatsOptions {
  /** e.g. ["nats://198.51.100.130:4222", …]: all servers of the cluster. */
  readonly servers: readonly string[];
  readonly auth?: NatsAuth;
  /** The mirror's own credential (default: `auth`): minted JWTs expire per connection, never together. */
  readonly mirrorAuth?: NatsAuth;
  readonly tls?: NatsTls;
  /** Client name shown by the server (the node name). */
  readonly name?: string;
  /** Try servers in the given order instead of shuffling them. */
  readonly noRandomize?: boolean;
  /** Also publish through a second connection to another server (default: when the cluster has ≥ 2). */
  readonly mirror?: boolean;
  readonly log?: (rec: Record<string, unknown>) => void;
}

export class NatsBusError extends Error {
  override name = 'NatsBusError';
  constructor(
    readonly code: 'connect' | 'kv',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** JetStream's "wrong last sequence" answers: the expected revision (0 on create) was not the key's. */
const WRONG_LAST_SEQUENCE: ReadonlySet<number> = new Set([
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
]);

/**
 * Classifies a KV write failure: a lost compare-and-set is a `conflict`; anything else (timeout,
 * no responders while a stream has no leader, connection closed or reconnecting, other API errors)
 * means the KV is `unavailable`. Matched by name and code, not `instanceof`, so a second copy of
 * the library in node_modules classifies the same.
 */
export function kvErrorKind(err: unknown): KvErrorKind {
  if (err instanceof Error && err.name === 'JetStreamApiError') {
    const code = (err as Error & { code?: unknown }).code;
    if (typeof code === 'number' && WRONG_LAST_SEQUENCE.has(code)) return KvErrorKind.conflict;
  }
  return KvErrorKind.unavailable;
}

function kvFailure<K extends KvErrorKind>(kind: K, err: unknown): KvFailure<K> {
  return { ok: false, kind, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

/** A KV write as a result value (see `kvErrorKind`). */
export async function kvWrite(op: () => Promise<number>): Promise<KvWrite> {
  try {
    return { ok: true, revision: await op() };
  } catch (err) {
    return kvFailure(kvErrorKind(err), err);
  }
}

export class NatsBus implements CoordBus {
  private up = true;
  /** Publish-only second connection to another server (see the header). */
  private mirror: NatsBus | undefined;
  private onReconnect: (() => void) | undefined;
  /** Replaces the mirror by a fresh connection (new before old closes); set when there is one. */
  private replaceMirror: (() => Promise<void>) | undefined;
  private closing = false;
  private readonly statusCbs = new Set<(up: boolean) => void>();
  private readonly enc = new TextEncoder();

  private constructor(
    readonly nc: NatsConnection,
    private readonly log: (rec: Record<string, unknown>) => void,
    /** The client name given to the server (advisories carry it). */
    private readonly name = '',
  ) {
    void this.watch();
  }

  static async connect(o: NatsOptions): Promise<NatsBus> {
    const bus = await NatsBus.open(o);
    const log = o.log ?? (() => {});
    // Any server but the primary's, the primary's last: the servers the cluster advertises
    // (gossiped, e.g. the pods behind one Service URL) first, then the configured ones.
    const pool = (): string[] => {
      const cur = bus.nc.getServer();
      const key = (u: string): string => u.replace(/^[a-z]+:\/\//, '');
      const seen = new Map<string, string>();
      for (const u of [...bus.nc.getServers().map((x) => x.listen), ...o.servers]) if (!seen.has(key(u))) seen.set(key(u), u);
      const all = [...seen.values()];
      return [...all.filter((u) => key(u) !== cur), ...all.filter((u) => key(u) === cur)];
    };
    if (!(o.mirror ?? pool().length > 1)) return bus;
    const openMirror = (): Promise<NatsBus> =>
      NatsBus.open({
        ...o,
        ...(o.mirrorAuth ? { auth: o.mirrorAuth } : {}),
        servers: pool(),
        noRandomize: true,
        name: o.name ? `${o.name}-mirror` : undefined,
        log: (rec) => log({ ...rec, connection: 'mirror' }),
      });
    let moving: Promise<void> | undefined;
    const replace = (): Promise<void> =>
      (moving = openMirror()
        .then(async (fresh) => {
          const old = bus.mirror;
          bus.mirror = fresh;
          fresh.onReconnect = spread;
          // Closed, not drained: it only duplicates what the primary sends, and a drain would wait
          // for a connection that may be reconnecting.
          await old?.nc.close().catch(() => {});
          if (bus.closing) await fresh.nc.close().catch(() => {});
        })
        .catch((err: unknown) => log({ component: 'nats', event: 'mirror.failed', err: String(err) }))
        .finally(() => {
          moving = undefined;
        }));
    const spread = (): void => {
      const m = bus.mirror;
      if (!m || moving || bus.closing || m.nc.getServer() !== bus.nc.getServer()) return;
      log({ component: 'nats', event: 'mirror.move', server: m.nc.getServer() });
      void replace();
    };
    // After a move in flight (it may have dialled with the previous credential), a new one.
    bus.replaceMirror = async () => {
      while (moving) await moving;
      await replace();
    };
    try {
      bus.mirror = await openMirror();
      bus.mirror.onReconnect = spread;
      bus.onReconnect = spread;
    } catch (err) {
      // Coordination works without it (a server's death may then move IPs): keep going.
      log({ component: 'nats', event: 'mirror.failed', err: String(err) });
    }
    return bus;
  }

  private static async open(o: NatsOptions): Promise<NatsBus> {
    const log = o.log ?? (() => {});
    const opts: ConnectionOptions = {
      servers: [...o.servers],
      name: o.name,
      // Never give up, and move to another server at once: detection is 300 ms, a reconnect must
      // beat it (docs/coordination.md, "one NATS server of three dies").
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      reconnectJitter: 0,
      reconnectJitterTLS: 0,
      pingInterval: 2000,
      maxPingOut: 2,
      noRandomize: o.noRandomize ?? false,
      ignoreClusterUpdates: false,
      timeout: 2000,
    };
    if (o.auth?.jwt && o.auth.nkeySeed) opts.authenticator = jwtAuthenticator(o.auth.jwt, new TextEncoder().encode(o.auth.nkeySeed));
    else if (o.auth?.nkeySeed) opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(o.auth.nkeySeed));
    else if (o.auth?.user) opts.authenticator = usernamePasswordAuthenticator(o.auth.user, o.auth.pass);
    if (o.tls) opts.tls = { caFile: o.tls.caFile, certFile: o.tls.certFile, keyFile: o.tls.keyFile };
    try {
      const nc = await connect(opts);
      log({ component: 'nats', event: 'connected', server: nc.getServer() });
      return new NatsBus(nc, log, o.name ?? '');
    } catch (err) {
      throw new NatsBusError('connect', `cannot connect to NATS (${o.servers.join(', ')}): ${(err as Error).message}`, { cause: err });
    }
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.log({ component: 'nats', event: 'disconnected', server: s.server });
          this.set(false);
          break;
        case 'reconnect':
          this.log({ component: 'nats', event: 'reconnected', server: s.server });
          this.set(true);
          this.onReconnect?.();
          break;
        case 'error':
          this.log({ component: 'nats', event: 'error', err: String(s.error) });
          break;
        default:
          break;
      }
    }
  }

  private set(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    for (const cb of this.statusCbs) cb(up);
  }

  isUp(): boolean {
    return this.up && !this.nc.isClosed();
  }

  /** Whether connection `slot` (0: primary, 1: mirror) is connected; no mirror counts as up (nothing to wait for). */
  slotUp(slot: 0 | 1): boolean {
    return slot === 0 ? this.isUp() : (this.mirror?.isUp() ?? true);
  }

  /**
   * Re-establishes one connection (0: primary, 1: mirror) so that it presents its renewed
   * credential, leaving the other alone: the mirror is replaced (the new one opens before the old
   * closes); the primary reconnects (its subscriptions are replayed) while the mirror keeps
   * publishing. Resolves when the connection is up again (or the bus is closing).
   */
  async reconnect(slot: 0 | 1): Promise<void> {
    if (this.closing) return;
    if (slot === 1) return this.replaceMirror?.();
    const back = new Promise<void>((resolve) => {
      const off = this.onStatus((up) => {
        if (up) {
          off();
          resolve();
        }
      });
    });
    try {
      await this.nc.reconnect();
    } catch (err) {
      this.log({ component: 'nats', event: 'reconnect.failed', err: String(err) });
      return;
    }
    await back;
  }

  /**
   * The connections as the servers name them (server id, client id, client name): primary, then
   * mirror, each while connected. Heartbeats carry them so peers learn of this process's death
   * from the servers' disconnect advisories (src/domain/presence.ts).
   */
  connections(): ConnId[] {
    const out: ConnId[] = [];
    for (const b of [this as NatsBus, this.mirror]) {
      const info = b?.isUp() && b.name ? b.nc.info : undefined;
      if (info) out.push({ s: info.server_id, c: info.client_id, n: b!.name });
    }
    return out;
  }

  publish(subject: string, data: Uint8Array, headers?: TraceHeaders): void {
    const h = headers ? natsHeaders(headers) : undefined;
    this.publishOwn(subject, data, h);
    this.mirror?.publishOwn(subject, data, h);
  }

  private publishOwn(subject: string, data: Uint8Array, h?: MsgHdrs): void {
    try {
      this.nc.publish(subject, data, h ? { headers: h } : undefined);
    } catch (err) {
      // Closed or draining: heartbeats simply stop, which is what peers must see.
      this.log({ component: 'nats', event: 'publish.failed', subject, err: String(err) });
    }
  }

  subscribe(subject: string, cb: (subject: string, data: Uint8Array, headers?: TraceHeaders) => void): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.log({ component: 'nats', event: 'subscription.error', subject, err: String(err) });
          return;
        }
        cb(msg.subject, msg.data, msg.headers ? traceHeaders(msg.headers) : undefined);
      },
    });
    return () => sub.unsubscribe();
  }

  onStatus(cb: (up: boolean) => void): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }

  /** Opens (or creates, replicated over `replicas` servers) the epoch bucket. */
  async epochStore(bucket: string, replicas = 3): Promise<EpochStore> {
    const kvm = new Kvm(this.nc);
    let kv: KV;
    try {
      kv = await kvm.create(bucket, { history: 1, replicas });
    } catch (err) {
      throw new NatsBusError('kv', `cannot open KV bucket ${bucket}: ${(err as Error).message}`, { cause: err });
    }
    return {
      get: async (key): Promise<KvRead> => {
        try {
          const e = await kv.get(key);
          return { ok: true, entry: e && e.operation === 'PUT' ? { value: e.value, revision: e.revision } : null };
        } catch (err) {
          return kvFailure(KvErrorKind.unavailable, err);
        }
      },
      create: (key, value) => kvWrite(() => kv.create(key, value)),
      update: (key, value, revision) => kvWrite(() => kv.update(key, value, revision)),
    };
  }

  /** Publishes raw text (tests, tools). */
  publishText(subject: string, text: string): void {
    this.publish(subject, this.enc.encode(text));
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.mirror?.nc.close().catch(() => {}); // see spread() in connect
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** A trace context (a few W3C headers) as NATS message headers. */
function natsHeaders(h: TraceHeaders): MsgHdrs {
  const out = newHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

/** A message's headers as a plain record (names as sent; NATS keeps their case). */
function traceHeaders(h: MsgHdrs): TraceHeaders {
  const out: Record<string, string> = {};
  for (const k of h.keys()) out[k] = h.get(k);
  return out;
}
