// The visualizer's side of the state feed: reads `feed.*`, `snap.*` and `hb.*` (a read-only
// viewer's subjects) and turns them into VizInputs. A node is up while its heartbeats arrive (down
// after 3 of its intervals without one); a node seen for the first time, restarted (new
// incarnation) or whose feed has a gap is asked for a snapshot on `snapreq.<node>`. Feed
// messages already seen (same incarnation, seq not above the last) are dropped. The controller
// (no heartbeats) is asked for its allocations' snapshot at start, whenever NATS comes back, and
// when its feed restarts (a new lease term) or has a gap.
import type { Clock, CoordBus } from './coord-ports.js';
import { decodeFeed, decodeSnapshot } from '../codecs/state-feed.js';
import { decodeHeartbeat } from '../codecs/coord.js';
import { CONTROLLER_FEED_ID, Kind, allOf, parseSubject, snapshotRequestSubject } from '../domain/subjects.js';
import type { VizInput } from '../domain/viz-model.js';

export interface FeedReaderOptions {
  readonly cluster: string;
  readonly bus: CoordBus;
  readonly clock: Clock;
  /** Wall time of inputs (ms). */
  readonly stamp: () => number;
  readonly onInput: (x: VizInput) => void;
}

interface NodeSeen {
  /** Heartbeat incarnation (the coordinator's). */
  inc: number;
  /** The state feed's own incarnation and last seq (another value than the heartbeats'). */
  feedInc: number;
  seq: number;
  lastHb: number;
  intervalMs: number;
  up: boolean;
}

export class FeedReader {
  private readonly nodes = new Map<string, NodeSeen>();
  /** The controller's feed: incarnation and last seq. */
  private readonly ctl = { inc: -1, seq: 0 };
  private readonly unsubs: Array<() => void> = [];
  private timer: unknown;
  private stopped = false;

  constructor(private readonly o: FeedReaderOptions) {}

  start(): void {
    const { bus, cluster } = this.o;
    this.unsubs.push(bus.subscribe(allOf(cluster, Kind.heartbeat), (_s, d) => this.onHeartbeat(d)));
    this.unsubs.push(bus.subscribe(allOf(cluster, Kind.feed), (s, d) => this.onFeed(s, d)));
    this.unsubs.push(bus.subscribe(allOf(cluster, Kind.snapshot), (_s, d) => this.onSnapshot(d)));
    this.unsubs.push(
      bus.onStatus((up) => {
        this.o.onInput({ t: 'nats', at: this.o.stamp(), up, who: 'viz' });
        if (up) this.ask(CONTROLLER_FEED_ID);
      }),
    );
    this.ask(CONTROLLER_FEED_ID);
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    for (const u of this.unsubs) u();
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
  }

  private ask(node: string): void {
    if (this.o.bus.isUp()) this.o.bus.publish(snapshotRequestSubject(this.o.cluster, node), new Uint8Array());
  }

  private onHeartbeat(d: Uint8Array): void {
    const r = decodeHeartbeat(d);
    if (!r.ok) return;
    const hb = r.value;
    const now = this.o.clock.now();
    const n = this.nodes.get(hb.node);
    if (!n || hb.inc !== n.inc) {
      this.nodes.set(hb.node, { inc: hb.inc, feedInc: -1, seq: 0, lastHb: now, intervalMs: hb.intervalMs, up: true });
      this.o.onInput({ t: 'node', node: hb.node, at: this.o.stamp(), up: true });
      this.ask(hb.node);
      return;
    }
    n.lastHb = now;
    n.intervalMs = hb.intervalMs;
    if (!n.up) {
      n.up = true;
      this.o.onInput({ t: 'node', node: hb.node, at: this.o.stamp(), up: true });
      this.ask(hb.node);
    }
  }

  private onFeed(subject: string, d: Uint8Array): void {
    const r = decodeFeed(d);
    if (!r.ok || parseSubject(subject)?.id !== r.value.node) return;
    const m = r.value;
    if (m.node === CONTROLLER_FEED_ID) {
      if (this.ctl.inc === m.inc && m.seq <= this.ctl.seq) return;
      const gap = this.ctl.inc !== m.inc || m.seq !== this.ctl.seq + 1 || (m.dropped ?? 0) > 0;
      this.ctl.inc = m.inc;
      this.ctl.seq = m.seq;
      for (const t of m.transitions) this.o.onInput({ t: 'tr', r: t });
      if (gap) this.ask(CONTROLLER_FEED_ID);
      return;
    }
    const n = this.nodes.get(m.node);
    // A speaker publishes through two connections (NatsBus's mirror): the second copy is dropped.
    if (n && n.feedInc === m.inc && m.seq <= n.seq) return;
    const gap = !n || n.feedInc !== m.inc || m.seq !== n.seq + 1 || (m.dropped ?? 0) > 0;
    if (n) {
      n.feedInc = m.inc;
      n.seq = m.seq;
    }
    for (const t of m.transitions) this.o.onInput({ t: 'tr', r: t });
    if (gap && n) this.ask(m.node);
  }

  private onSnapshot(d: Uint8Array): void {
    const r = decodeSnapshot(d);
    if (!r.ok) return;
    const s = r.value;
    if (s.node === CONTROLLER_FEED_ID && (this.ctl.inc !== s.inc || s.seq >= this.ctl.seq)) {
      this.ctl.inc = s.inc;
      this.ctl.seq = s.seq;
    }
    const n = this.nodes.get(s.node);
    if (n && n.feedInc === s.inc) n.seq = Math.max(n.seq, s.seq);
    else if (n) {
      n.feedInc = s.inc;
      n.seq = s.seq;
    }
    this.o.onInput({ t: 'snap', node: s.node, at: s.at, machines: s.machines });
  }

  /** Marks nodes down after 3 heartbeat intervals of silence. */
  private tick(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    for (const [node, n] of this.nodes)
      if (n.up && now - n.lastHb > 3 * n.intervalMs) {
        n.up = false;
        this.o.onInput({ t: 'node', node, at: this.o.stamp(), up: false });
      }
    this.timer = this.o.clock.setTimeout(() => this.tick(), 50);
  }
}
