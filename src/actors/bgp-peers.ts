// Peer supervision for one node: one BgpSpeaker per BGP peer, started, restarted (only the peer
// whose settings or BFD profile settings changed) and stopped as the peer list changes, fed the
// desired routes; and the BFD runtime of the node: one datagram port per kind (single-hop, UDP
// 3784; multi-hop, UDP 4784) opened on first use, one hub per port, one shared TimerQueue, the
// multi-hop received-TTL floor (the lowest minimumTtl of the live multi-hop sessions), and one
// BFD session per peer with a profile, coupled to its BGP session (BFD down takes BGP down at
// once). Sockets, timers and randomness come through the options, so the speaker, the
// bgp-speaker and bfd-bgp-node binaries and the simulator run this same code.
import { randomInt } from 'node:crypto';
import type { AnyActorLogic } from 'xstate';
import { BgpSpeaker, type AdjRibOut, type PeerMetrics, type SpeakerEvent } from './bgp-speaker.js';
import { BfdHub, type BfdDatagramPort } from './bfd-transport.actor.js';
import { coupleBfdToBgp } from './bfd-bgp-coupling.js';
import { BfdSessionTracker, sampleBfd, type BfdSessionSample } from './bfd-metrics.js';
import { createBfdSession, type BfdSession } from './bfd-session-runner.js';
import { TimerQueue } from './timer-queue.js';
import type { Clock } from './coord-ports.js';
import { realClock } from './coord-ports.js';
import { bfdSessionSettings } from '../domain/bfd-profile.js';
import type { RouteAttrs } from '../domain/bgp-advertisements.js';
import { sessionStateOf } from '../machines/bfd-session.machine.js';

// Peer specs, refusals and the log port live in peer-specs.ts (the speaker's loop needs them
// without loading the BGP/BFD runtime); re-exported for this module's importers.
export { formatRefusals, peerConfig, peerSpecs, refusedPeers, type LogPort, type PeerRefusal, type PeerSpec } from './peer-specs.js';
import type { LogPort, PeerSpec } from './peer-specs.js';

/** A BFD port with what the runtime may use of the real adapters (all optional). */
export interface BfdPort extends BfdDatagramPort {
  /** The received-TTL check is in force (false: the kernel filter could not be attached). */
  readonly gtsm?: boolean;
  /** Sent packets carry DSCP CS6. */
  readonly dscp?: boolean;
  /** Replaces the received-TTL floor (multi-hop); false when it cannot. */
  setMinTtl?(minTtl: number): boolean;
}

/** Opens the port of one kind; `timers` is the shared queue (a batched port polls on it). */
export type BfdPortFactory = (req: { multihop: boolean; minTtl: number; timers: TimerQueue }) => Promise<{
  port: BfdPort;
  /** Sessions' periodic transmissions on this grid (ms), so a batched port sends them together. */
  txSlotMs?: number;
}>;

export type BfdPeerEvent =
  | { event: 'bfdState'; peer: string; address: string; multihop: boolean; from: string; to: string; diag: number; reason: string | null }
  | { event: 'bfdCoupling'; peer: string; send: 'bfd.up' | 'bfd.down' };

export interface BgpPeersOptions {
  readonly nodeName: string;
  /** A bgpTransport actor logic per session (createBgpTransport over the socket adapter; a fake in tests). */
  readonly transport: () => AnyActorLogic;
  readonly bfdPort: BfdPortFactory;
  readonly log: LogPort;
  /** Every BGP speaker event and BFD state change / coupling, for logs. */
  readonly onEvent?: (e: SpeakerEvent | BfdPeerEvent) => void;
  /** Delays (closing a stopped BFD session after its AdminDown went out) and the BGP machines' timers. */
  readonly clock?: Clock;
  /** The BFD sessions' timer queue (default: on the process timers). */
  readonly timers?: TimerQueue;
  /** Random 32-bit values for BFD discriminators and jitter seeds (default: crypto). */
  readonly random?: () => number;
  /** Called once, when the first BFD port is open: register BFD metrics on `samples`. */
  readonly onBfdReady?: (samples: () => readonly BfdSessionSample[]) => void;
  /**
   * Unnumbered peers (BGPPeer `interface`): finds the router's link-local address on an
   * interface (src/adapters/unnumbered-link.ts: its Router Advertisements). Without it such
   * peers wait, logged once.
   */
  readonly unnumbered?: UnnumberedPort;
}

/** Watches one interface for the router to peer with (unnumbered BGP). */
export interface UnnumberedPort {
  /**
   * Starts watching `iface`: `onRouter` gets the router's address scoped to the interface
   * (`fe80::1%eth0`) when it is found or changes, undefined when it is lost; `onError` when the
   * interface cannot be watched. Our own RAs are sent meanwhile so the router learns us.
   */
  watch(iface: string, onRouter: (scoped: string | undefined) => void, onError: (message: string) => void): { close(): void };
}

interface BfdRuntime {
  port: BfdPort;
  hub: BfdHub;
  txSlotMs: number;
}
interface BfdRun {
  actor: BfdSession;
  tracker: BfdSessionTracker;
  hub: BfdHub;
  uncouple: () => void;
}
interface PeerRun {
  key: string;
  spec: PeerSpec;
  speaker: BgpSpeaker;
  bfd?: BfdRun;
}

/** Time left for a stopped BFD session's AdminDown packets before its registration goes. */
const BFD_CLOSE_DELAY_MS = 300;

/** The settings that, changed, restart a peer's session: its BGP settings and its BFD settings. */
export function peerKey(spec: PeerSpec): string {
  return JSON.stringify([spec.bgp, spec.bfd ?? null]);
}

export class BgpPeers {
  private readonly runs = new Map<string, PeerRun>();
  private readonly runtimes = new Map<boolean, Promise<BfdRuntime>>();
  private readonly trackers = new Map<BfdSessionTracker, BfdHub>();
  private readonly multihopMinTtl = new Map<BfdSessionTracker, number>();
  private readonly clock: Clock;
  private readonly random: () => number;
  readonly timers: TimerQueue;
  private routes = new Map<string, Map<string, RouteAttrs>>();
  private bfdReady = false;
  private stopped = false;
  /** The specs last asked for (an unnumbered router found later re-applies them). */
  private lastSpecs: readonly PeerSpec[] = [];
  /** Unnumbered watchers per interface, with the router found there. */
  private readonly links = new Map<string, { watch: { close(): void }; router: string | undefined; waitingLogged: boolean }>();

  constructor(private readonly o: BgpPeersOptions) {
    this.clock = o.clock ?? realClock;
    this.timers = o.timers ?? new TimerQueue();
    this.random = o.random ?? (() => randomInt(1, 0xffffffff));
  }

  /**
   * Makes the running peers `specs` (peers without an address are skipped). An unnumbered peer
   * (`interface`, no address) runs once its router is found on the interface, to that router's
   * link-local address; a new address restarts it.
   */
  reconcile(specs: readonly PeerSpec[]): void {
    if (this.stopped) return;
    this.lastSpecs = specs;
    const want = new Map(this.resolveUnnumbered(specs).map((s) => [s.bgp.name, s]));
    for (const [name, run] of this.runs) {
      const w = want.get(name);
      if (w && peerKey(w) === run.key) continue;
      this.o.log.info('stopping BGP session', { event: 'bgp.peerRemoved', peer: name, reason: w ? 'configChanged' : 'peerRemoved' });
      run.speaker.stop(false);
      this.stopBfd(run.bfd);
      this.runs.delete(name);
    }
    for (const [name, spec] of want) if (!this.runs.has(name)) this.startPeer(name, spec);
  }

  /** Specs with an address: unnumbered ones given their router's address, those still waiting left out. */
  private resolveUnnumbered(specs: readonly PeerSpec[]): PeerSpec[] {
    const ifaces = new Set(specs.flatMap((s) => (s.bgp.interface && !s.bgp.peerAddress ? [s.bgp.interface] : [])));
    for (const [iface, l] of this.links)
      if (!ifaces.has(iface)) {
        l.watch.close();
        this.links.delete(iface);
      }
    for (const iface of ifaces) if (!this.links.has(iface)) this.watchLink(iface);
    return specs.flatMap((s) => {
      if (s.bgp.peerAddress) return [s];
      const iface = s.bgp.interface;
      if (!iface) return [];
      const l = this.links.get(iface);
      if (!l?.router) {
        if (l && !l.waitingLogged) {
          l.waitingLogged = true;
          this.o.log.info('unnumbered BGP peer waits for a router advertisement on its interface', {
            event: 'bgp.unnumberedWaiting',
            peer: s.bgp.name,
            interface: iface,
          });
        }
        return [];
      }
      return [{ ...s, bgp: { ...s.bgp, peerAddress: l.router } }];
    });
  }

  private watchLink(iface: string): void {
    const port = this.o.unnumbered;
    const entry = { watch: { close: () => {} }, router: undefined as string | undefined, waitingLogged: false };
    this.links.set(iface, entry);
    if (!port) {
      this.o.log.error('unnumbered BGP peer cannot run: no interface watcher in this process', {
        event: 'bgp.unnumberedUnavailable',
        interface: iface,
      });
      return;
    }
    entry.watch = port.watch(
      iface,
      (router) => {
        // A router no longer heard keeps its session (the hold timer judges it); a new one restarts it.
        if (this.stopped || this.links.get(iface) !== entry || !router || entry.router === router) return;
        this.o.log.info('unnumbered BGP router', {
          event: 'bgp.unnumberedRouter',
          interface: iface,
          from: entry.router ?? null,
          to: router,
        });
        entry.router = router;
        this.reconcile(this.lastSpecs);
      },
      (message) =>
        this.o.log.error('cannot watch the interface of an unnumbered BGP peer', {
          event: 'bgp.unnumberedError',
          interface: iface,
          err: message,
        }),
    );
  }

  /** Desired routes, peer name → prefix → attributes (kept for peers started later). */
  setRoutes(routes: Map<string, Map<string, RouteAttrs>>): void {
    this.routes = routes;
    for (const run of this.runs.values()) run.speaker.setRoutes(routes);
  }

  /** The running peers (name → spec). */
  peers(): ReadonlyMap<string, PeerSpec> {
    return new Map([...this.runs].map(([n, r]) => [n, r.spec]));
  }

  /** BGP session state per peer ('idle', 'connect', ..., 'established'). */
  states(): Map<string, string> {
    return new Map([...this.runs].map(([n, r]) => [n, r.speaker.state(n) ?? 'idle']));
  }

  /** What each peer holds from this node, every attribute as sent (`mooringctl routes`). */
  adjRibOut(): AdjRibOut[] {
    return [...this.runs].flatMap(([n, r]) => r.speaker.adjRibOut().filter((x) => x.peer === n));
  }

  /** BGP counters per peer, with the peer's address and port. */
  metrics(): Array<{ peer: string; address: string; port: number; metrics: PeerMetrics | undefined }> {
    return [...this.runs].map(([n, r]) => ({
      peer: n,
      address: r.spec.bgp.peerAddress,
      port: r.spec.bgp.peerPort ?? 179,
      metrics: r.speaker.metrics()[n],
    }));
  }

  /** BFD session states per peer (peers with a running BFD session). */
  bfdStates(): Map<string, string> {
    return new Map([...this.runs].flatMap(([n, r]) => (r.bfd ? [[n, sessionStateOf(r.bfd.actor.getSnapshot().value)] as const] : [])));
  }

  /**
   * Every session as it is now, for the state feed's snapshot: a BGP session per peer (id: the
   * BGPPeer name) and a BFD session per peer with one (id: `<peer> <address>`, reason: its last
   * down reason), as the feed's records name them.
   */
  machines(): Array<{ machine: 'bgpSession' | 'bfdSession'; id: string; state: string; reason?: string }> {
    return [...this.runs].flatMap(([n, r]) => {
      const bgp = { machine: 'bgpSession' as const, id: n, state: r.speaker.state(n) ?? 'idle' };
      if (!r.bfd || !r.spec.bfd) return [bgp];
      const snap = r.bfd.actor.getSnapshot();
      const reason = snap.context.downReason;
      return [
        bgp,
        {
          machine: 'bfdSession' as const,
          id: `${n} ${r.spec.bfd.address}`,
          state: sessionStateOf(snap.value),
          ...(reason ? { reason } : {}),
        },
      ];
    });
  }

  /** BFD samples for metrics (peer label: the BFD address). */
  bfdSamples(): BfdSessionSample[] {
    return [...this.trackers].flatMap(([t, hub]) => sampleBfd(hub, [t]));
  }

  /** Forwards a BFD state by hand (tests, a BFD implemented elsewhere). */
  bfd(peer: string, up: boolean): void {
    this.runs.get(peer)?.speaker.bfd(peer, up);
  }

  /**
   * Stops every peer (graceful: peers with graceful restart keep our routes) and its BFD session
   * (AdminDown), then, once the AdminDown packets had their time, closes the BFD ports.
   */
  async stop(graceful: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const l of this.links.values()) l.watch.close();
    this.links.clear();
    for (const run of this.runs.values()) {
      run.speaker.stop(graceful);
      this.stopBfd(run.bfd);
    }
    this.runs.clear();
    if (this.runtimes.size === 0) return;
    await new Promise<void>((r) => {
      this.clock.setTimeout(r, BFD_CLOSE_DELAY_MS + 50);
    });
    for (const rt of this.runtimes.values()) {
      const r = await rt.catch(() => undefined);
      if (r) {
        r.hub.close();
        await r.port.close().catch(() => undefined);
      }
    }
    this.runtimes.clear();
  }

  private startPeer(name: string, spec: PeerSpec): void {
    const speaker = new BgpSpeaker({
      nodeName: this.o.nodeName,
      peers: [spec.bgp],
      transport: this.o.transport(),
      onEvent: (e) => this.o.onEvent?.(e),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
    const run: PeerRun = { key: peerKey(spec), spec, speaker };
    this.runs.set(name, run);
    speaker.setRoutes(this.routes);
    speaker.start();
    const bfd = spec.bfd;
    if (!bfd) return;
    void this.startBfd(name, bfd, speaker).then(
      (b) => {
        if (this.runs.get(name) === run) run.bfd = b;
        else this.stopBfd(b);
      },
      (err: unknown) =>
        this.o.log.error('cannot start BFD', { event: 'bfd.error', peer: name, err: err instanceof Error ? err : String(err) }),
    );
  }

  private runtime(multihop: boolean, minTtl: number): Promise<BfdRuntime> {
    let rt = this.runtimes.get(multihop);
    if (!rt) {
      rt = this.o.bfdPort({ multihop, minTtl, timers: this.timers }).then(({ port, txSlotMs }) => {
        if (port.gtsm === false)
          this.o.log.warn('BFD received-TTL check (GTSM) not available: koffi did not load', { event: 'bfd.noGtsm', multihop });
        if (port.dscp === false)
          this.o.log.warn('BFD packets sent without DSCP CS6: koffi did not load', { event: 'bfd.noDscp', multihop });
        if (!this.bfdReady) {
          this.bfdReady = true;
          this.o.onBfdReady?.(() => this.bfdSamples());
        }
        return { port, hub: new BfdHub(port), txSlotMs: txSlotMs ?? 0 };
      });
      this.runtimes.set(multihop, rt);
      rt.catch(() => this.runtimes.delete(multihop));
    }
    return rt;
  }

  /** The multi-hop port's TTL floor: the lowest minimumTtl of the live multi-hop sessions. */
  private applyMultihopMinTtl(): void {
    const rt = this.runtimes.get(true);
    if (!rt || this.multihopMinTtl.size === 0) return;
    const floor = Math.min(...this.multihopMinTtl.values());
    void rt.then(
      (r) => {
        if (!r.port.setMinTtl?.(floor)) this.o.log.warn('cannot set the multi-hop BFD TTL floor', { event: 'bfd.noGtsm', minTtl: floor });
      },
      () => undefined,
    );
  }

  private async startBfd(name: string, bfd: NonNullable<PeerSpec['bfd']>, speaker: BgpSpeaker): Promise<BfdRun | undefined> {
    const settings = bfdSessionSettings(bfd.profile);
    if (!settings.ok) {
      this.o.log.error('invalid BFD profile', { event: 'bfd.invalidProfile', peer: name, err: JSON.stringify(settings.errors) });
      return undefined;
    }
    const minTtl = settings.value.minimumTtl;
    const rt = await this.runtime(bfd.multihop, minTtl);
    const actor = createBfdSession(
      rt.hub,
      this.timers,
      {
        peer: bfd.address,
        ...(bfd.local ? { local: bfd.local } : {}),
        localDiscr: this.random(),
        seed: this.random(),
        ...settings.value,
      },
      undefined,
      { txSlotMs: rt.txSlotMs },
    );
    let prev = 'down';
    actor.subscribe((snap) => {
      const to = sessionStateOf(snap.value);
      if (to !== prev)
        this.o.onEvent?.({
          event: 'bfdState',
          peer: name,
          address: bfd.address,
          multihop: bfd.multihop,
          from: prev,
          to,
          diag: snap.context.localDiag,
          reason: snap.context.downReason,
        });
      prev = to;
    });
    // Subscribed before start so the first Up is never missed.
    const uncouple = coupleBfdToBgp(actor, (ev) => {
      this.o.onEvent?.({ event: 'bfdCoupling', peer: name, send: ev.type });
      speaker.bfd(name, ev.type === 'bfd.up');
    });
    const tracker = new BfdSessionTracker(bfd.address, actor);
    this.trackers.set(tracker, rt.hub);
    if (bfd.multihop) {
      this.multihopMinTtl.set(tracker, minTtl);
      this.applyMultihopMinTtl();
    }
    actor.start();
    return { actor, tracker, hub: rt.hub, uncouple };
  }

  private stopBfd(run: BfdRun | undefined): void {
    if (!run) return;
    run.actor.send({ type: 'bfd.admin.down' });
    run.uncouple();
    run.tracker.stop();
    this.trackers.delete(run.tracker);
    if (this.multihopMinTtl.delete(run.tracker)) this.applyMultihopMinTtl();
    this.clock.setTimeout(() => run.actor.close(), BFD_CLOSE_DELAY_MS);
  }
}
