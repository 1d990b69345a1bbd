// In-memory NATS for the simulator: subjects with `*`/`>` wildcards, per-node connections that
// can be cut (node isolated from NATS) or all cut (NATS down), delivery after a seeded latency on
// the simulated clock, in publish order per connection. And a KV with compare-and-set that can be
// made unavailable.
import type { CoordBus, EpochStore, KvEntry } from '../../src/actors/coord-ports.js';
import type { SimClock } from './clock.js';

export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

interface Sub { pattern: string; cb: (subject: string, data: Uint8Array) => void; conn: SimConn }

export class SimNats {
  /** Subscriptions grouped by pattern: a publish tests each distinct pattern once. */
  private readonly subs = new Map<string, Sub[]>();
  private serverUp = true;
  readonly conns = new Map<string, SimConn>();
  published = 0;

  constructor(readonly clock: SimClock, readonly latencyMs = 1) {}

  connect(node: string): SimConn {
    const c = new SimConn(this, node);
    this.conns.set(node, c);
    return c;
  }

  /** Whole NATS cluster down / back. */
  setServerUp(up: boolean): void {
    this.serverUp = up;
    for (const c of this.conns.values()) c.refresh();
  }

  isServerUp(): boolean { return this.serverUp; }

  addSub(s: Sub): () => void {
    const list = this.subs.get(s.pattern) ?? [];
    list.push(s);
    this.subs.set(s.pattern, list);
    return () => { const i = list.indexOf(s); if (i >= 0) list.splice(i, 1); };
  }

  deliver(from: SimConn, subject: string, data: Uint8Array): void {
    if (!from.isUp()) return;
    this.published++;
    // One timer per publish (not per subscriber): fan-out at scale stays cheap.
    this.clock.setTimeout(() => {
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
  private readonly statusCbs: Array<(up: boolean) => void> = [];

  constructor(private readonly nats: SimNats, readonly node: string) {
    this.lastUp = this.isUp();
  }

  isUp(): boolean { return !this.closed && this.linkUp && this.nats.isServerUp(); }

  /**
   * Cut or restore this node's path to NATS (the L2 segment is unaffected). `silent`: the client
   * is not told (a cut without RST, before pings time out); only the traffic stops.
   */
  setLink(up: boolean, silent = false): void {
    this.linkUp = up;
    if (silent) this.lastUp = this.isUp();
    else this.refresh();
  }

  refresh(): void {
    const up = this.isUp();
    if (up === this.lastUp) return;
    this.lastUp = up;
    // The client notices a dead connection a little later than the cut (ping/TCP), here 1 ms.
    this.nats.clock.setTimeout(() => { if (this.isUp() === up) for (const cb of [...this.statusCbs]) cb(up); }, 1);
  }

  close(): void { this.closed = true; this.refresh(); }

  publish(subject: string, data: Uint8Array): void { this.nats.deliver(this, subject, data); }

  subscribe(subject: string, cb: (subject: string, data: Uint8Array) => void): () => void {
    return this.nats.addSub({ pattern: subject, cb, conn: this });
  }

  onStatus(cb: (up: boolean) => void): () => void {
    this.statusCbs.push(cb);
    return () => { const i = this.statusCbs.indexOf(cb); if (i >= 0) this.statusCbs.splice(i, 1); };
  }
}

/** JetStream KV stand-in: revisions, create/update CAS, and an outage switch. */
export class SimKv {
  private readonly data = new Map<string, KvEntry>();
  private rev = 0;
  available = true;
  ops = 0;

  constructor(private readonly clock: SimClock, private readonly latencyMs = 2) {}

  private later<T>(fn: () => T): Promise<T> {
    this.ops++;
    return new Promise<T>((resolve, reject) => {
      this.clock.setTimeout(() => {
        if (!this.available) { reject(new Error('kv unavailable')); return; }
        try { resolve(fn()); } catch (e) { reject(e instanceof Error ? e : new Error(String(e))); }
      }, this.latencyMs);
    });
  }

  store(conn: SimConn): EpochStore {
    const guard = (): void => { if (!conn.isUp()) throw new Error('not connected'); };
    return {
      get: (key) => this.later(() => { guard(); return this.data.get(key) ?? null; }),
      create: (key, value) => this.later(() => {
        guard();
        if (this.data.has(key)) throw new Error('wrong last sequence: key exists');
        this.data.set(key, { value, revision: ++this.rev });
        return this.rev;
      }),
      update: (key, value, revision) => this.later(() => {
        guard();
        if (this.data.get(key)?.revision !== revision) throw new Error('wrong last sequence');
        this.data.set(key, { value, revision: ++this.rev });
        return this.rev;
      }),
    };
  }

  peek(key: string): KvEntry | undefined { return this.data.get(key); }
}
