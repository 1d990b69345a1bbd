// In-memory NATS for the simulator: subjects with `*`/`>` wildcards, per-node connections that
// can be cut (node isolated from NATS) or all cut (NATS down), delivery after a seeded latency on
// the simulated clock, in publish order per connection. Servers: each connection sits on one of
// `servers`; killing a server drops its connections for a reconnect gap, after which they come
// back on another server (what nats.js does). A connection may have a publish-only mirror on
// another server, as the NatsBus adapter opens (src/adapters/nats.ts). And a KV with
// compare-and-set that can be made unavailable.
import {
  KvErrorKind,
  type CoordBus,
  type EpochStore,
  type KvEntry,
  type KvFailure,
  type KvRead,
  type KvWrite,
} from '../../src/actors/coord-ports.js';
import type { NodeClock, SimClock } from './clock.js';
import type { ConnId } from '../../src/codecs/coord.js';
import { encodeConnAdvisory } from '../../src/codecs/nats-advisory.js';
import { presenceSubjects, subjectMatches } from '../../src/domain/subjects.js';

interface Sub {
  pattern: string;
  cb: (subject: string, data: Uint8Array) => void;
  conn: SimConn;
}

export class SimNats {
  /** Wildcard subscriptions grouped by pattern: a publish tests each distinct pattern once. */
  private readonly subs = new Map<string, Sub[]>();
  /** Subscriptions without wildcards (e.g. every node's own drain subject), by subject. */
  private readonly exact = new Map<string, Sub[]>();
  private serverUp = true;
  readonly conns = new Map<string, SimConn>();
  private readonly all: SimConn[] = [];
  private readonly serverAlive: boolean[];
  published = 0;
  /** Client ids per server, as a server numbers its connections. */
  private nextCid = 1;
  /** The servers' own connection, publishing advisories (always up while NATS is). */
  private sys: SimConn | undefined;
  /** Advisories published (connect, disconnect). */
  readonly advisories = { connect: 0, disconnect: 0 };

  constructor(
    readonly clock: SimClock,
    readonly latencyMs = 1,
    readonly servers = 1,
    /** Publish connect/disconnect advisories for this account (the death fast path), as the system account exports them. */
    readonly presenceAccount?: string,
  ) {
    this.serverAlive = Array.from({ length: servers }, () => true);
  }

  cid(): number {
    return this.nextCid++;
  }

  /** A live server reports a client connection opened or closed (a dead one reports nothing). */
  advise(kind: 'connect' | 'disconnect', conn: SimConn, delayMs = 0): void {
    if (this.presenceAccount === undefined || conn.node === '$server' || !this.serverAlive[conn.server]) return;
    const id = conn.id();
    this.advisories[kind]++;
    const subj = presenceSubjects(this.presenceAccount);
    this.sys ??= new SimConn(this, '$server');
    const sys = this.sys;
    this.clock.setTimeout(
      () => this.deliver(sys, kind === 'connect' ? subj.connect : subj.disconnect, encodeConnAdvisory({ kind, conn: id })),
      delayMs,
    );
  }

  /** A node's connection on `server`; with `mirror`, plus a publish-only one on the next server. */
  connect(node: string, server = 0, mirror = false, clock?: NodeClock): SimConn {
    const c = new SimConn(this, node, server % this.servers, clock);
    this.conns.set(node, c);
    this.all.push(c);
    if (mirror && this.servers > 1) {
      c.mirror = new SimConn(this, node, (server + 1) % this.servers, undefined, `${node}-mirror`);
      this.all.push(c.mirror);
    }
    return c;
  }

  /**
   * SIGKILL of one server: its clients lose their connection and, `reconnectGapMs` later, are
   * connected to the next live server. Nothing they publish in between gets through.
   */
  killServer(i: number, reconnectGapMs: number): void {
    this.serverAlive[i] = false;
    for (const c of this.all) {
      if (c.server !== i || c.closed) continue;
      c.reconnecting = true;
      c.refresh();
      this.clock.setTimeout(() => {
        const next = this.serverAlive.findIndex((up, k) => up && k !== i);
        if (next >= 0) c.server = next;
        c.cid = this.cid();
        c.reconnecting = false;
        c.refresh();
        this.advise('connect', c);
      }, reconnectGapMs);
    }
  }

  /**
   * A live server closes one of a client's connections (or the client drops it: a reset, a
   * slow-consumer kick) while the process lives: the server reports it closed, `disconnectDelayMs`
   * later (a stalled server reporting late); the client is back on the next server `reconnectMs`
   * after the drop, which that server reports.
   */
  dropConnection(c: SimConn, reconnectMs: number, disconnectDelayMs = 0): void {
    if (c.closed || c.reconnecting) return;
    this.advise('disconnect', c, disconnectDelayMs);
    c.reconnecting = true;
    c.refresh();
    this.clock.setTimeout(() => {
      const next = this.serverAlive.findIndex((up, k) => up && k !== c.server);
      if (next >= 0) c.server = next;
      c.cid = this.cid();
      c.reconnecting = false;
      c.refresh();
      this.advise('connect', c);
    }, reconnectMs);
  }

  restartServer(i: number): void {
    this.serverAlive[i] = true;
  }

  /** Whole NATS cluster down / back. */
  setServerUp(up: boolean): void {
    this.serverUp = up;
    for (const c of this.conns.values()) c.refresh();
  }

  isServerUp(): boolean {
    return this.serverUp;
  }

  addSub(s: Sub): () => void {
    const index = /(^|\.)(\*|>)(\.|$)/.test(s.pattern) ? this.subs : this.exact;
    const list = index.get(s.pattern) ?? [];
    list.push(s);
    index.set(s.pattern, list);
    return () => {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
    };
  }

  deliver(from: SimConn, subject: string, data: Uint8Array): void {
    if (!from.isUp()) return;
    this.published++;
    // One timer per publish (not per subscriber): fan-out at scale stays cheap.
    this.clock.setTimeout(() => {
      const exact = this.exact.get(subject);
      if (exact) for (const s of [...exact]) if (s.conn.isUp()) s.cb(subject, data);
      for (const [pattern, list] of this.subs) {
        if (!subjectMatches(pattern, subject)) continue;
        for (const s of [...list]) if (s.conn.isUp()) s.cb(subject, data);
      }
    }, this.latencyMs);
  }
}

export class SimConn implements CoordBus {
  private linkUp = true;
  private lastUp: boolean;
  closed = false;
  reconnecting = false;
  /** Publish-only second connection (NatsBus mirror). */
  mirror: SimConn | undefined;
  /** Client id on its server (a new one on every reconnect). */
  cid: number;
  private readonly statusCbs: Array<(up: boolean) => void> = [];

  constructor(
    private readonly nats: SimNats,
    readonly node: string,
    public server = 0,
    private readonly clock?: NodeClock,
    /** Client name (the mirror's is `<node>-mirror`, as NatsBus names it). */
    readonly name = node,
  ) {
    this.lastUp = this.isUp();
    this.cid = nats.cid();
    nats.advise('connect', this);
  }

  /** This connection as its server names it. */
  id(): ConnId {
    return { s: `sim-${this.server}`, c: this.cid, n: this.name };
  }

  /** Primary and mirror while connected (heartbeats carry them: src/domain/presence.ts). */
  connections(): ConnId[] {
    return [this, this.mirror].filter((c): c is SimConn => !!c && c.isUp()).map((c) => c.id());
  }

  isUp(): boolean {
    return !this.closed && !this.reconnecting && this.linkUp && this.nats.isServerUp();
  }

  /**
   * Cut or restore this node's path to NATS (the L2 segment is unaffected). `silent`: the client
   * is not told (a cut without RST, before pings time out); only the traffic stops.
   */
  setLink(up: boolean, silent = false): void {
    this.mirror?.setLink(up, silent);
    this.linkUp = up;
    if (silent) this.lastUp = this.isUp();
    else this.refresh();
  }

  refresh(): void {
    const up = this.isUp();
    if (up === this.lastUp) return;
    this.lastUp = up;
    // The client notices a dead connection a little later than the cut (ping/TCP), here 1 ms.
    this.nats.clock.setTimeout(() => {
      if (this.isUp() === up) for (const cb of [...this.statusCbs]) cb(up);
    }, 1);
  }

  /** The process ends: the kernel closes its sockets, and a server that can still see it reports it (not through a cut link). */
  close(): void {
    this.mirror?.close();
    if (!this.closed && this.linkUp && !this.reconnecting && this.nats.isServerUp()) this.nats.advise('disconnect', this);
    this.closed = true;
    this.refresh();
  }

  publish(subject: string, data: Uint8Array): void {
    this.nats.deliver(this, subject, data);
    if (this.mirror) this.nats.deliver(this.mirror, subject, data);
  }

  subscribe(subject: string, cb: (subject: string, data: Uint8Array) => void): () => void {
    // A stalled node reads its messages when its stall ends.
    return this.nats.addSub({ pattern: subject, cb: this.clock ? this.clock.input(cb) : cb, conn: this });
  }

  onStatus(cb: (up: boolean) => void): () => void {
    this.statusCbs.push(cb);
    return () => {
      const i = this.statusCbs.indexOf(cb);
      if (i >= 0) this.statusCbs.splice(i, 1);
    };
  }
}

/**
 * JetStream KV stand-in: revisions, create/update CAS (`conflict` when it loses), and an outage
 * switch (`unavailable` while off, or while the node's connection is down).
 */
export class SimKv {
  private readonly data = new Map<string, KvEntry>();
  private rev = 0;
  available = true;
  ops = 0;
  /** Failures handed out, by kind. */
  readonly failures = { conflict: 0, unavailable: 0 };

  constructor(
    private readonly clock: SimClock,
    private readonly latencyMs = 2,
  ) {}

  private later<R>(conn: SimConn, fn: () => R): Promise<R | KvFailure<'unavailable'>> {
    this.ops++;
    return new Promise((resolve) => {
      this.clock.setTimeout(() => {
        if (!this.available) resolve(this.fail(KvErrorKind.unavailable, 'kv unavailable'));
        else if (!conn.isUp()) resolve(this.fail(KvErrorKind.unavailable, 'not connected'));
        else resolve(fn());
      }, this.latencyMs);
    });
  }

  private fail<K extends KvErrorKind>(kind: K, error: string): KvFailure<K> {
    this.failures[kind]++;
    return { ok: false, kind, error };
  }

  store(conn: SimConn): EpochStore {
    const put = (key: string, value: Uint8Array): KvWrite => {
      this.data.set(key, { value, revision: ++this.rev });
      return { ok: true, revision: this.rev };
    };
    return {
      get: (key) => this.later(conn, (): KvRead => ({ ok: true, entry: this.data.get(key) ?? null })),
      create: (key, value) =>
        this.later(conn, (): KvWrite =>
          this.data.has(key) ? this.fail(KvErrorKind.conflict, 'wrong last sequence: key exists') : put(key, value),
        ),
      update: (key, value, revision) =>
        this.later(conn, (): KvWrite =>
          this.data.get(key)?.revision !== revision ? this.fail(KvErrorKind.conflict, 'wrong last sequence') : put(key, value),
        ),
    };
  }

  peek(key: string): KvEntry | undefined {
    return this.data.get(key);
  }
}
