// Presence (pure): which NATS connections each peer has, from its heartbeats (the connections it
// says it has) and the servers' connect/disconnect advisories (src/codecs/nats-advisory.ts). When
// the last known connection of a peer closes at a live server, the process is most likely gone
// (the kernel closes a dead process's sockets at once): `disconnected` names the peer, and the
// membership table confirms its death a few ms later unless the peer shows a new connection
// meanwhile (src/domain/membership.ts, `connectionsGone`). Safety, by construction:
//   - a peer counts only if its last heartbeat listed connections on at least two servers: one
//     NATS server's death or stall leaves it a connection elsewhere, and a killed server sends no
//     advisory at all (its connections simply stay "known" until the peer's next heartbeat);
//   - a connection is identified by (server id, client id): a late DISCONNECT of an old connection
//     (a stalled server waking up) removes only that one, never the peer's new connections;
//   - a heartbeat all of whose connections are known closed was sent before the peer went away
//     (a copy delayed on another route): it is `stale`, and the caller drops it, so a dead peer is
//     not revived by its own last words;
//   - while our own connection is down we hear no advisories, and a peer's new connection made
//     meanwhile stays unknown: after our reconnect (`blinded`) no peer is judged by presence until
//     two of its heartbeats have listed what it has now (credential rotation reconnects every
//     node's primary at about the same time, which is exactly when peers replace connections).
// Nothing here reads a clock; `now` is passed in.
import type { ConnId } from '../codecs/coord.js';

/** At most this many closed connections are remembered (oldest forgotten first). */
export const MAX_GONE = 4096;

/** Heartbeats of a peer heard after our own reconnect before it is judged by presence again. */
export const VERIFY_HEARTBEATS = 2;

interface Conn {
  readonly node: string;
  /** Listed in the peer's last heartbeat (else learned from a CONNECT advisory). */
  advertised: boolean;
  readonly learnedAt: number;
}

interface PeerPresence {
  inc: number;
  seq: number;
  /** When its previous accepted heartbeat arrived: CONNECT-learned entries older than that and not listed since are dropped. */
  prevHbAt: number;
  lastHbAt: number;
  /** Its last heartbeat listed live connections on ≥ 2 servers: the fast path applies. */
  eligible: boolean;
  /** Heartbeats still to hear after our own reconnect before the fast path applies again. */
  unverified: number;
  readonly keys: Set<string>;
}

export type HeartbeatVerdict = 'ok' | 'stale';

const keyOf = (c: ConnId): string => `${c.s}/${c.c}`;

export class Presence {
  private readonly peers = new Map<string, PeerPresence>();
  private readonly conns = new Map<string, Conn>();
  private readonly byName = new Map<string, string>();
  /** Closed connections (insertion order = age). */
  private readonly gone = new Set<string>();

  constructor(readonly self: string) {}

  /**
   * A heartbeat of `node` (incarnation, sequence) listing `conns`. `stale` when every listed
   * connection is known closed: the caller drops it. Older heartbeats than the last accepted one
   * change nothing.
   */
  heartbeat(node: string, inc: number, seq: number, conns: readonly ConnId[] | undefined, now: number): HeartbeatVerdict {
    if (node === this.self || conns === undefined || conns.length === 0) return 'ok';
    if (conns.every((c) => this.gone.has(keyOf(c)))) return 'stale';
    let p = this.peers.get(node);
    if (p && (inc < p.inc || (inc === p.inc && seq <= p.seq))) return 'ok';
    if (!p) {
      p = { inc, seq, prevHbAt: now, lastHbAt: now, eligible: false, unverified: 0, keys: new Set() };
      this.peers.set(node, p);
    }
    p.inc = inc;
    p.seq = seq;
    p.prevHbAt = p.lastHbAt;
    p.lastHbAt = now;
    const listed = new Set<string>();
    const servers = new Set<string>();
    for (const c of conns) {
      const k = keyOf(c);
      this.byName.set(c.n, node);
      if (this.gone.has(k)) continue;
      listed.add(k);
      servers.add(c.s);
      const cur = this.conns.get(k);
      if (cur && cur.node === node) cur.advertised = true;
      else {
        if (cur) this.peers.get(cur.node)?.keys.delete(k);
        this.conns.set(k, { node, advertised: true, learnedAt: now });
      }
      p.keys.add(k);
    }
    // What it no longer lists it no longer has; a connection learned from an advisory is kept
    // until a heartbeat sent after it opened could have listed it.
    for (const k of p.keys) {
      if (listed.has(k)) continue;
      const c = this.conns.get(k);
      if (!c || c.advertised || c.learnedAt < p.prevHbAt) {
        p.keys.delete(k);
        this.conns.delete(k);
      }
    }
    if (p.unverified > 0) p.unverified--;
    p.eligible = servers.size >= 2 && p.unverified === 0;
    return 'ok';
  }

  /**
   * Our own connection was down and is back: advisories were missed meanwhile (a peer's new
   * connection would be unknown, and the close of its old one would name it). Every peer waits for
   * `VERIFY_HEARTBEATS` heartbeats before presence judges it again; heartbeats still judge it.
   */
  blinded(): void {
    for (const p of this.peers.values()) {
      p.unverified = VERIFY_HEARTBEATS;
      p.eligible = false;
    }
  }

  /** A CONNECT advisory: returns the peer that has a new connection (known by its client name), if any. */
  connected(conn: ConnId, now: number): string | undefined {
    const node = this.byName.get(conn.n);
    const k = keyOf(conn);
    if (node === undefined || node === this.self || this.gone.has(k)) return undefined;
    const p = this.peers.get(node);
    if (!p) return undefined;
    if (!this.conns.has(k)) this.conns.set(k, { node, advertised: false, learnedAt: now });
    p.keys.add(k);
    return node;
  }

  /**
   * A DISCONNECT advisory: returns the peer whose every known connection is now closed (and whose
   * last heartbeat had connections on two servers or more), if any.
   */
  disconnected(conn: ConnId): string | undefined {
    const k = keyOf(conn);
    this.gone.add(k);
    if (this.gone.size > MAX_GONE) {
      const oldest = this.gone.values().next().value;
      if (oldest !== undefined) this.gone.delete(oldest);
    }
    const c = this.conns.get(k);
    if (!c) return undefined;
    this.conns.delete(k);
    const p = this.peers.get(c.node);
    if (!p) return undefined;
    const had = p.keys.delete(k);
    return had && p.keys.size === 0 && p.eligible ? c.node : undefined;
  }

  /** Known live connections of a peer (tests, logs). */
  connectionsOf(node: string): number {
    return this.peers.get(node)?.keys.size ?? 0;
  }

  eligible(node: string): boolean {
    return this.peers.get(node)?.eligible ?? false;
  }
}
