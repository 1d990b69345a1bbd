// The speaker's BGP session status: one BGPSessionState per BGPPeer of this node (src/api/mooring.ts),
// from the peer supervisor's events and counters, and Events on the BGPPeer when a session comes up
// or goes down (typed reason), through the speaker's Event rate limit (domain/event-limiter.ts).
// Writes only what changed, at most one per object per `minIntervalMs` (the last state always goes
// out), and checks the counters every `pollMs` (prefix counts move without an event). Objects of
// peers this node no longer has are deleted, those left by an earlier run too.
import type { Clock } from './clock.js';
import { HeldEventTimer } from './held-event-timer.js';
import type { EventSink } from './kube-ports.js';
import type { BGPSessionStateStatus } from '../api/mooring.js';
import { DEFAULT_EVENT_LIMITS, emptyLimiter, limitEvents, type EventLimits, type LimiterState } from '../domain/event-limiter.js';
import {
  applySessionInput,
  sessionStateName,
  sessionStatus,
  type SessionEvent,
  type SessionInput,
  type SessionView,
} from '../domain/session-status.js';

/** Where BGPSessionState objects go (the adapter: src/adapters/kube/session-state.ts). */
export interface SessionStateSink {
  /** Names of this node's objects on the server. */
  list(node: string): Promise<string[]>;
  /** Creates or replaces the status of `name`. */
  write(name: string, node: string, peer: string, status: BGPSessionStateStatus): Promise<void>;
  remove(name: string): Promise<void>;
}

/** What the reporter reads of the peer supervisor. */
export interface SessionCounters {
  metrics(): ReadonlyArray<{
    peer: string;
    address: string;
    port: number;
    metrics: { metallb_bgp_announced_prefixes_total: number; mooring_bgp_received_prefixes?: number } | undefined;
  }>;
}

export interface SessionStatusOptions {
  readonly node: string;
  /** Namespace of the BGPPeers (Events name them). */
  readonly namespace: string;
  readonly sink: SessionStateSink;
  readonly events: EventSink;
  readonly peers: SessionCounters;
  readonly clock: Clock;
  /** Wall-clock time as RFC 3339 (the statuses' since/lastDownTime). */
  readonly wallTime: () => string;
  readonly hash: (s: string) => string;
  readonly minIntervalMs?: number;
  readonly pollMs?: number;
  readonly eventLimits?: EventLimits;
  readonly onError?: (err: unknown) => void;
}

export class SessionStatusReporter {
  private views = new Map<string, SessionView>();
  private readonly written = new Map<string, { json: string; at: number }>();
  private readonly timers = new Map<string, unknown>();
  private stale = new Set<string>();
  /** Peer → the object written for it. */
  private readonly objects = new Map<string, string>();
  private limiter: LimiterState<SessionEvent> = emptyLimiter();
  private readonly limiterTimer: HeldEventTimer;
  private pollTimer: unknown;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: SessionStatusOptions) {
    this.limiterTimer = new HeldEventTimer(o.clock, () => this.offer([]));
  }

  /** Lists objects left by an earlier run (deleted unless their peer is back) and starts polling the counters. */
  start(): void {
    this.serial(async () => {
      for (const n of await this.o.sink.list(this.o.node)) if (!this.written.has(n)) this.stale.add(n);
    });
    this.poll();
  }

  /** Feed every supervisor event here (others are ignored). */
  peerEvent(e: { event: string; peer?: string }): void {
    if (this.stopped || !e.peer || !['stateChanged', 'sessionUp', 'sessionDown', 'bfdState', 'routesSent'].includes(e.event)) return;
    if (e.event !== 'routesSent') {
      const r = applySessionInput(this.views, e as SessionInput, this.o.wallTime(), this.o.node);
      this.views = r.views;
      if (r.event) this.offer([r.event]);
    }
    this.schedule(e.peer);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) this.o.clock.clearTimeout(t);
    this.timers.clear();
    if (this.pollTimer !== undefined) this.o.clock.clearTimeout(this.pollTimer);
    this.limiterTimer.stop();
  }

  /** Waits for the writes queued so far (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  private name(peer: string): string {
    return sessionStateName(this.o.node, peer, this.o.hash);
  }

  private poll(): void {
    if (this.stopped) return;
    const current = new Set(this.o.peers.metrics().map((m) => m.peer));
    for (const peer of current) this.schedule(peer);
    // Peers gone from the supervisor: their objects go, and so does what we knew of them.
    for (const peer of [...this.views.keys()]) if (!current.has(peer)) this.views.delete(peer);
    for (const [peer, name] of [...this.objects])
      if (!current.has(peer)) {
        this.objects.delete(peer);
        this.stale.add(name);
      }
    for (const n of this.stale)
      if (![...current].some((p) => this.name(p) === n)) {
        this.stale.delete(n);
        this.written.delete(n);
        this.serial(() => this.o.sink.remove(n));
      }
    this.pollTimer = this.o.clock.setTimeout(() => this.poll(), this.o.pollMs ?? 5_000);
  }

  private schedule(peer: string): void {
    if (this.stopped || this.timers.has(peer)) return;
    const last = this.written.get(this.name(peer));
    const wait = last === undefined ? 0 : Math.max(0, last.at + (this.o.minIntervalMs ?? 1_000) - this.o.clock.now());
    this.timers.set(
      peer,
      this.o.clock.setTimeout(() => {
        this.timers.delete(peer);
        this.flush(peer);
      }, wait),
    );
  }

  private flush(peer: string): void {
    const m = this.o.peers.metrics().find((x) => x.peer === peer);
    if (!m || this.stopped) return;
    const view = this.views.get(peer) ?? { state: 'Idle', since: this.o.wallTime() };
    if (!this.views.has(peer)) this.views.set(peer, view);
    const status = sessionStatus(this.o.node, peer, view, {
      address: `${m.address}:${m.port}`,
      sent: m.metrics?.metallb_bgp_announced_prefixes_total ?? 0,
      received: m.metrics?.mooring_bgp_received_prefixes ?? 0,
    });
    const name = this.name(peer);
    const json = JSON.stringify(status);
    this.stale.delete(name);
    this.objects.set(peer, name);
    if (this.written.get(name)?.json === json) return;
    this.written.set(name, { json, at: this.o.clock.now() });
    this.serial(() => this.o.sink.write(name, this.o.node, peer, status));
  }

  private serial(f: () => Promise<void>): void {
    this.chain = this.chain.then(f).catch((err: unknown) => {
      this.written.clear(); // rewrite everything on the next change or poll
      this.o.onError?.(err);
    });
  }

  private offer(events: readonly SessionEvent[]): void {
    if (this.stopped) return;
    const { clock } = this.o;
    const out = limitEvents(
      this.limiter,
      events.map((e) => ({ bucket: `bgppeer/${e.peer}\n${e.reason}`, slot: `bgppeer/${e.peer}`, event: e })),
      () => true,
      clock.now(),
      this.o.eventLimits ?? DEFAULT_EVENT_LIMITS,
    );
    this.limiter = out.state;
    for (const { event: e, unreported } of out.send) {
      const more = unreported > 0 ? ` (${unreported} earlier change${unreported === 1 ? '' : 's'} not reported: rate limit)` : '';
      this.o.events.record(
        { kind: 'BGPPeer', apiVersion: 'metallb.io/v1beta2', namespace: this.o.namespace, name: e.peer },
        e.type,
        e.reason,
        e.message + more,
      );
    }
    this.limiterTimer.arm(out.nextAt);
  }
}
