// The whole product on one simulated clock: an in-memory Kubernetes API (src/adapters/memory/
// api-store.ts) feeds the real controller reconcile (ServiceReconciler, leading, writing Service
// status through the store's ServiceWriter) and whole real speakers (SpeakerNode driving a real
// Coordinator and a real BgpPeers), wired as src/bin/controller.ts and src/bin/speaker.ts wire
// them; only the adapters differ: the API store instead of informers and REST writers, the
// simulated NATS and KV (bus.ts) instead of NatsBus, the fake L2 segment (l2.ts) instead of pcap,
// a fake router (bgp-router.ts) behind the real BGP transport instead of TCP sockets, a node clock
// on the shared SimClock instead of the process timers. Not simulated: the controller's lease
// (one term runs from the start), BFD (no port), metrics and the monitoring server.
//
// A speaker process is killable: every port it was given (clock, object sources, status and Event
// sinks, bus connection, L2 port) goes dead at once and nothing graceful runs, like SIGKILL.
// Invariants, checked after every timer:
//   P1 at most one announcer per IP on the segment, except for at most `dualWindowMs`;
//   P2 an IP is in the status of at most one Service;
//   P3 settled (no change for `settleMs`): every IP in a Service's status whose Service has a ready
//      endpoint and an L2Advertisement is answered for by exactly one node, the one the election
//      picks over the speakers that are really running (without an L2Advertisement: by none); and
//      nothing moves (no take-over or release without a cause);
//   P4 no actor logged a bug (`bug: true`);
//   P5 a node whose segment carrier is down past the P1 window holds no IP; the router keeps no
//      path of a dead speaker, and (settled) none without a BGPPeer;
//   P6 a speaker's restart (`restart(name, true)`: nothing else going on) moves no IP but to the
//      restarted node and loses none: every change of an IP's announcers until the next cause
//      keeps its announcer or hands it to the restarted node, and a served IP answered before is
//      not left unanswered for longer than the P1 window.
// The death fast path (NATS connect/disconnect advisories, src/domain/presence.ts) is on, as the
// speaker runs it, unless `presence: false`.
import { Coordinator, type Transition } from '../../src/actors/coordinator.js';
import type { Clock } from '../../src/actors/coord-ports.js';
import type {
  DesiredStatus,
  EventSink,
  EventTarget,
  EventType,
  KubeObject,
  ObjectSource,
  StatusSink,
} from '../../src/actors/kube-ports.js';
import { ServiceReconciler, type Service } from '../../src/actors/service-reconciler.js';
import { SpeakerNode } from '../../src/actors/speaker-node.js';
import { BgpPeers, type BfdPortFactory, type LogPort } from '../../src/actors/bgp-peers.js';
import { TimerQueue } from '../../src/actors/timer-queue.js';
import { createBgpTransport } from '../../src/actors/bgp-transport.actor.js';
import {
  ApiStore,
  MemoryEventSink,
  MemoryStatusSink,
  type MemoryServiceWriter,
  type StoredObject,
} from '../../src/adapters/memory/api-store.js';
import { createLogger, type Logger } from '../../src/adapters/log.js';
import { CONFIG_KINDS, DEFAULT_NAMESPACE } from '../../src/api/metallb.js';
import { decide, HashOrder, type ElectionNode, type LiveView } from '../../src/domain/election.js';
import { DEFAULT_MEMBERSHIP, type MembershipConfig } from '../../src/domain/membership.js';
import { SERVICE_NAME_LABEL, type SpeakerPlan } from '../../src/domain/speaker-plan.js';
import { NodeClock, SimClock, rng } from './clock.js';
import { SimKv, SimNats, type SimConn } from './bus.js';
import { SimSegment, type SimL2 } from './l2.js';
import { SimRouter } from './bgp-router.js';
import { PRESENCE_ACCOUNT } from './cluster.js';

export interface ProductOptions {
  readonly seed: number;
  readonly nodes: readonly string[];
  readonly membership?: MembershipConfig;
  /** P1 tolerance; default: 2 × detection window + 100 ms (as the coordination simulator). */
  readonly dualWindowMs?: number;
  /** Quiet time after a change before P3 applies; default 3 × detection window + 500 ms. */
  readonly settleMs?: number;
  /** Namespace of the config objects (the speakers' and the controller's --namespace). */
  readonly namespace?: string;
  /**
   * A fake BGP router (lib/bgp-router.ts) the speakers' real transports connect to; without it, a
   * configured BGPPeer cannot be reached (the transport fails to connect).
   */
  readonly router?: { readonly address: string; readonly asn: number };
  /**
   * Test-only: a planted fencing bug, to show the invariants catch one. `zombie-l2`: a killed
   * speaker's L2 port keeps answering ARP for what it announced (its fencing never happens).
   * `deaf-carrier`: a speaker is never told its segment link lost carrier (it keeps its IPs).
   * `restart-loses`: a watched restart silently stops another running node's ARP answers (P6).
   */
  readonly plantedBug?: 'zombie-l2' | 'deaf-carrier' | 'restart-loses';
  /** The death fast path (servers' connection advisories); default on, as the speaker runs it. */
  readonly presence?: boolean;
}

/** One line of the run's record: what the test compares between two runs of one seed. */
export type LogEntry =
  | { at: number; kind: 'cause'; text: string }
  | { at: number; kind: 'transition'; node: string; ip: string; from: string; to: string; reason: string | undefined; epoch: number }
  | { at: number; kind: 'segment'; ip: string; announcers: string[] }
  | { at: number; kind: 'bgp'; node: string; prefix: string; up: boolean }
  | { at: number; kind: 'serviceStatus'; service: string; ingress: string[] }
  | { at: number; kind: 'event'; source: string; object: string; type: EventType; reason: string; message: string };

export interface TimedEvent {
  at: number;
  source: string;
  target: EventTarget;
  type: EventType;
  reason: string;
  message: string;
}

/** The apiserver's reachability: while down, watch events and writes wait (in order) for its return. */
interface ApiGate {
  up: boolean;
  waiting: Array<() => void>;
}

/** A speaker or controller process: every port it holds dies with it. */
class Process {
  alive = true;
  constructor(
    readonly name: string,
    readonly clock: NodeClock,
    private readonly api: ApiGate = { up: true, waiting: [] },
  ) {}

  /** Runs `fn` now, or when the apiserver is back (a watch resumes, a request is retried). */
  private viaApi(fn: () => void): void {
    if (this.api.up) fn();
    else this.api.waiting.push(fn);
  }

  /** The node clock, silenced once the process is dead (its timers never fire again). */
  gatedClock(): Clock {
    const c = this.clock;
    const live = (fn: () => void) => () => {
      if (this.alive) fn();
    };
    const afterIo = c.afterIo;
    return {
      now: () => c.now(),
      setTimeout: (fn, ms) => c.setTimeout(live(fn), ms),
      clearTimeout: (id) => c.clearTimeout(id),
      ...(afterIo ? { afterIo: (fn: () => void) => afterIo(live(fn)) } : {}),
    };
  }

  /** An informer's view of one kind: a dead process's watch is gone. */
  source<T extends KubeObject>(store: ApiStore, kind: string): ObjectSource<T> {
    const s = store.source<T>(kind);
    return {
      name: s.name,
      synced: s.synced,
      isSynced: () => s.isSynced(),
      list: () => s.list(),
      get: (n, ns) => s.get(n, ns),
      onChange: (cb) =>
        s.onChange((ev) => {
          if (this.alive) this.viaApi(() => this.alive && cb(ev));
        }),
    };
  }

  events(sink: EventSink): EventSink {
    return {
      record: (...a) => {
        if (this.alive) this.viaApi(() => sink.record(...a));
      },
      flush: () => sink.flush(),
    };
  }

  status(sink: StatusSink): StatusSink {
    return {
      configurationState: (n, v, e) => {
        if (this.alive) this.viaApi(() => void sink.configurationState(n, v, e));
        return Promise.resolve();
      },
      reconcile: (p, node, d) => {
        if (this.alive) this.viaApi(() => void sink.reconcile(p, node, d));
        return Promise.resolve();
      },
    };
  }
}

interface Speaker {
  readonly name: string;
  inc: number;
  proc?: Process;
  coord?: Coordinator;
  speaker?: SpeakerNode;
  peers?: BgpPeers;
  conn?: SimConn;
  l2?: SimL2;
}

/** Events with the simulated time and who recorded them; also kept in a MemoryEventSink per source. */
class TimedEventSink extends MemoryEventSink {
  constructor(
    private readonly source: string,
    private readonly p: SimProduct,
  ) {
    super();
  }
  override record(target: EventTarget, type: EventType, reason: string, message: string): void {
    super.record(target, type, reason, message);
    this.p.recordEvent({ at: this.p.clock.now(), source: this.source, target: { ...target }, type, reason, message });
  }
}

const noBfd: BfdPortFactory = () => Promise.reject(new Error('no BFD in this simulation'));

export class SimProduct {
  readonly clock = new SimClock();
  readonly nats: SimNats;
  readonly kv: SimKv;
  readonly seg: SimSegment;
  readonly router: SimRouter | undefined;
  readonly store = new ApiStore();
  readonly writer: MemoryServiceWriter;
  readonly namespace: string;
  readonly membership: MembershipConfig;
  readonly order = new HashOrder();
  /** The controller's Events and status objects. */
  readonly controllerEvents: MemoryEventSink;
  readonly controllerStatus = new MemoryStatusSink();
  /** Every speaker's status objects (keyed by plural/node, as the StatusSink writes them). */
  readonly speakerStatus = new MemoryStatusSink();
  readonly speakerEvents = new Map<string, MemoryEventSink>();
  readonly events: TimedEvent[] = [];
  readonly log: LogEntry[] = [];
  readonly violations: string[] = [];
  private readonly violationCount = new Map<string, number>();
  /** Log lines (JSON) of every actor, for diagnosis. */
  readonly logLines: string[] = [];
  /** How many times P3 was checked while settled (a run must show some, or P3 proved nothing). */
  settledChecks = 0;
  /** Restarts P6 watched (nothing else going on). */
  restartsWatched = 0;
  reconciler: ServiceReconciler | undefined;
  private controller: Process | undefined;
  private readonly speakers = new Map<string, Speaker>();
  private readonly random: () => number;
  private readonly dualWindowMs: number;
  readonly settleMs: number;
  private lastCauseAt = 0;
  private readonly dualSince = new Map<string, number>();
  private readonly lastSegment = new Map<string, string>();
  private readonly lastStatus = new Map<string, string>();
  private lastSettledCheck = -Infinity;
  // Incremental invariant state (every check costs what changed since the last, not the world):
  /** IPs whose announcers changed since the last noteSegment / the last P3 check. */
  private readonly segDirty = new Set<string>();
  private readonly p3Dirty = new Set<string>();
  /** P3 must look at every IP (a cause, a Service or EndpointSlice change, a new plan since the last check). */
  private p3All = true;
  private p3Plan: unknown;
  /** Service (ns/name) → its status IPs; IP → the Services whose status holds it (P2). */
  private readonly svcIps = new Map<string, string[]>();
  private readonly ipHolders = new Map<string, Set<string>>();
  /** IPs in two or more Services' status right now. */
  private readonly doubled = new Set<string>();
  /** Service (ns/name) → its EndpointSlices (ns/name) with a ready endpoint on a node. */
  private readonly readySlices = new Map<string, Set<string>>();
  private readonly sliceOwner = new Map<string, string>();
  /** A plan's IP → layer-2 service index (the election of an IP looks it up, not scans). */
  /** servedIps(), until a Service or EndpointSlice changes. */
  private served: Map<string, string> | undefined;
  private readonly planIndex = new WeakMap<object, Map<string, SpeakerPlan['l2']['services'][number]>>();
  /** Nodes cut off from NATS (setLink). */
  private readonly cutOff = new Set<string>();
  /** The apiserver (setApi): while down, every process's watches and writes wait. */
  private readonly api: ApiGate = { up: true, waiting: [] };
  /** Node → since when its carrier is down (P5). */
  private readonly carrierSince = new Map<string, number>();
  private lastP5 = -Infinity;
  /** P6: the node whose restart is watched (until the next cause), and served IPs unanswered since. */
  private restartOf: string | undefined;
  private readonly unansweredSince = new Map<string, number>();

  constructor(private readonly opts: ProductOptions) {
    this.random = rng(opts.seed);
    this.membership = opts.membership ?? DEFAULT_MEMBERSHIP;
    this.namespace = opts.namespace ?? DEFAULT_NAMESPACE;
    // With the fast path, three servers and a mirror connection per speaker (as deployed): a peer
    // counts for the fast path only with connections on two servers (src/domain/presence.ts).
    this.nats = opts.presence === false ? new SimNats(this.clock) : new SimNats(this.clock, 1, 3, PRESENCE_ACCOUNT);
    this.kv = new SimKv(this.clock);
    this.seg = new SimSegment(this.clock);
    this.router = opts.router ? new SimRouter(this.clock, opts.router.address, opts.router.asn, (n) => this.nodeAddress(n)) : undefined;
    if (this.router) this.router.onPath = (node, prefix, up) => this.log.push({ at: this.clock.now(), kind: 'bgp', node, prefix, up });
    this.writer = this.store.serviceWriter();
    this.controllerEvents = new TimedEventSink('controller', this);
    const detect = this.membership.intervalMs * this.membership.misses;
    this.dualWindowMs = opts.dualWindowMs ?? 2 * detect + 100;
    this.settleMs = opts.settleMs ?? 3 * detect + 500;
    for (const name of opts.nodes) this.speakers.set(name, { name, inc: 0 });
    // The store's own record of Service status, to log status changes as they land.
    this.store.source<Service>('Service').onChange((ev) => this.noteStatus(ev.type, ev.obj));
    this.store.source('EndpointSlice').onChange((ev) => this.noteSlice(ev.type, ev.obj));
    this.seg.watch((ip) => {
      this.segDirty.add(ip);
      this.p3Dirty.add(ip);
    });
  }

  /** A node's address (198.51.100.11, .12, ...: the BGP sessions' local address). */
  nodeAddress(node: string): string {
    const i = this.opts.nodes.indexOf(node);
    // 240 nodes fit the IPv4 test range; the rest get IPv6 documentation addresses.
    return i < 240 ? `198.51.100.${11 + i}` : `2001:db8:ffff::${(i + 1).toString(16)}`;
  }

  /** Detection window of the membership: heartbeat interval × misses (ms). */
  detectionMs(): number {
    return this.membership.intervalMs * this.membership.misses;
  }

  recordEvent(e: TimedEvent): void {
    this.events.push(e);
    this.log.push({
      at: e.at,
      kind: 'event',
      source: e.source,
      object: `${e.target.namespace}/${e.target.name}`,
      type: e.type,
      reason: e.reason,
      message: e.message,
    });
  }

  private logger(component: string, node?: string): Logger {
    return createLogger(
      { component, ...(node ? { node } : {}) },
      {
        level: 'info',
        now: () => new Date(this.clock.now()),
        write: (line) => {
          this.logLines.push(line);
          if (line.includes('"bug":true')) this.violate(`P4 ${component}${node ? ` on ${node}` : ''} logged a bug: ${line}`);
        },
      },
    );
  }

  // --- processes -------------------------------------------------------------------------------

  /**
   * Starts the leading controller now and every speaker at a seeded offset inside one heartbeat
   * interval (their node objects need not exist yet: they come through the store like any other).
   */
  start(): void {
    this.cause('start');
    this.startController();
    for (const name of this.speakers.keys()) {
      const delay = Math.floor(this.random() * this.membership.intervalMs);
      this.clock.setTimeout(() => this.boot(name), delay);
    }
  }

  /** The controller's term, wired as src/bin/controller.ts wires a leader's ServiceReconciler. */
  private startController(): void {
    const proc = new Process('controller', new NodeClock(this.clock), this.api);
    this.controller = proc;
    const log = this.logger('controller');
    this.reconciler = new ServiceReconciler({
      services: proc.source<Service>(this.store, 'Service'),
      namespaces: proc.source(this.store, 'Namespace'),
      config: CONFIG_KINDS.map((kind) => ({ kind, source: proc.source(this.store, kind) })),
      writer: this.writer,
      events: proc.events(this.controllerEvents),
      status: proc.status(this.controllerStatus),
      clock: proc.gatedClock(),
      log,
      namespace: this.namespace,
    });
    this.reconciler.start();
  }

  /** One speaker process, wired as src/bin/speaker.ts wires it (adapters aside). */
  private boot(name: string): void {
    const sp = this.speaker(name);
    sp.inc += 1;
    const proc = new Process(name, new NodeClock(this.clock), this.api);
    const clock = proc.gatedClock();
    const log = this.logger('speaker', name);
    const conn = this.nats.connect(name, this.opts.nodes.indexOf(name), this.opts.presence !== false, proc.clock);
    if (this.cutOff.has(name)) conn.setLink(false);
    const l2 = this.seg.port(name);
    l2.deaf = this.opts.plantedBug === 'deaf-carrier';
    const coord = new Coordinator({
      cluster: 'sim',
      node: name,
      inc: sp.inc,
      clock,
      bus: conn,
      l2,
      epochs: this.kv.store(conn),
      membership: this.membership,
      hashOrder: this.order,
      log: (rec) => {
        if (rec.event !== 'hb.dropped') log.debug('coord', rec);
      },
      ...(this.opts.presence === false ? {} : { presenceAccount: PRESENCE_ACCOUNT }),
    });
    coord.onTransition((t) => this.onTransition(t));
    const router = this.router;
    const peers = new BgpPeers({
      nodeName: name,
      log: log as LogPort,
      clock,
      timers: new TimerQueue(clock),
      random: () => Math.floor(this.random() * 0xfffffffe) + 1,
      // A dead process opens no connection (its old ones were closed by the kernel: kill()).
      transport: () =>
        createBgpTransport({
          connect: (o, signal) =>
            router && proc.alive
              ? router.port(name).connect(o, signal)
              : Promise.reject(new Error(router ? 'process dead' : 'no BGP router in this simulation')),
        }),
      bfdPort: noBfd,
      onEvent: (e) => {
        if (e.event !== 'bfdCoupling') log.info('bgp', { ...e, event: `bgp.${e.event}` });
      },
    });
    let events = this.speakerEvents.get(name);
    if (!events) {
      events = new TimedEventSink(`speaker-${name}`, this);
      this.speakerEvents.set(name, events);
    }
    const store = this.store;
    const speaker = new SpeakerNode({
      node: name,
      namespace: this.namespace,
      sources: {
        services: proc.source(store, 'Service'),
        endpointSlices: proc.source(store, 'EndpointSlice'),
        nodes: proc.source(store, 'Node'),
        namespaces: proc.source(store, 'Namespace'),
        secrets: proc.source(store, 'Secret'),
        config: CONFIG_KINDS.map((kind) => proc.source(store, kind)),
      },
      coordinator: coord,
      peers,
      events: proc.events(events),
      status: proc.status(this.speakerStatus),
      clock,
      log,
    });
    speaker.start();
    Object.assign(sp, { proc, coord, speaker, peers, conn, l2 });
    // A link without carrier at start is reported as the pcap announcer reports it (a change event).
    if (this.seg.carrierDown.has(name)) l2.setCarrier(false);
  }

  private speaker(name: string): Speaker {
    const sp = this.speakers.get(name);
    if (!sp) throw new Error(`no such node ${name}`);
    return sp;
  }

  /** SIGKILL: every port of the process dies at once; its ARP answers stop; nobody is told. */
  kill(name: string): void {
    const sp = this.speaker(name);
    if (!sp.proc?.alive) return;
    this.cause(`kill ${name}`);
    sp.proc.alive = false;
    sp.coord?.halt();
    if (this.opts.plantedBug !== 'zombie-l2') sp.l2?.crash();
    sp.conn?.close();
    this.router?.dropNode(name);
    this.noteSegment();
  }

  /**
   * A new process on the node (a new incarnation), from scratch: it lists everything again. With
   * `watch` (nothing else going on until the run settles), P6 holds it to moving no IP but to
   * itself and losing none.
   */
  restart(name: string, watch = false): void {
    const sp = this.speaker(name);
    if (sp.proc?.alive) return;
    this.cause(`restart ${name}`);
    if (watch) {
      this.restartOf = name;
      this.restartsWatched++;
    }
    this.boot(name);
    if (watch && this.opts.plantedBug === 'restart-loses') {
      const holders = new Set([...this.seg.answering.values()].flatMap((set) => [...set]));
      const other = [...this.speakers.values()].find((s) => s.name !== name && s.proc?.alive && holders.has(s.name));
      other?.l2?.crash();
    }
  }

  /**
   * The node's event loop blocks for `ms` (GC, a burst of work, a starved CPU): it sends no
   * heartbeat and reads nothing; then its late timers run before the messages that waited.
   */
  stall(name: string, ms: number): void {
    const sp = this.speaker(name);
    if (!sp.proc?.alive) return;
    this.cause(`stall ${name} ${ms} ms`);
    sp.proc.clock.stall(ms);
  }

  /** Cut (or restore) one node's path to NATS; it stays on the L2 segment. */
  setLink(name: string, up: boolean): void {
    const sp = this.speaker(name);
    this.cause(`${up ? 'heal' : 'isolate'} ${name} from NATS`);
    if (up) this.cutOff.delete(name);
    else this.cutOff.add(name);
    if (sp.proc?.alive) sp.conn?.setLink(up);
  }

  /** The whole NATS cluster down / back. */
  setNats(up: boolean): void {
    this.cause(`NATS ${up ? 'up' : 'down'}`);
    this.nats.setServerUp(up);
  }

  /** The node's segment link loses (or regains) carrier (a link flap); NATS is on another path. */
  setCarrier(name: string, up: boolean): void {
    this.speaker(name);
    this.cause(`carrier ${up ? 'up' : 'down'} on ${name}`);
    if (up) this.carrierSince.delete(name);
    else if (!this.carrierSince.has(name)) this.carrierSince.set(name, this.clock.now());
    this.seg.setCarrier(name, up);
  }

  /**
   * The apiserver unreachable (or back): watches deliver nothing and writes wait, then everything
   * that waited lands in order. Not a cause: nothing announced may move because of it (P3 holds
   * through it).
   */
  setApi(up: boolean): void {
    if (this.api.up === up) return;
    this.log.push({ at: this.clock.now(), kind: 'cause', text: `apiserver ${up ? 'back' : 'unavailable'}` });
    this.api.up = up;
    if (up) {
      this.writer.resume();
      for (const fn of this.api.waiting.splice(0)) fn();
    } else this.writer.pause();
  }

  apiUp(): boolean {
    return this.api.up;
  }

  /** Runs `fn` when the apiserver is back (a kubectl retried), after what already waited. */
  whenApiUp(fn: () => void): void {
    if (this.api.up) fn();
    else this.api.waiting.push(fn);
  }

  /** A running speaker that is connected to NATS (the ones the election may pick). */
  private connected(name: string): boolean {
    return this.isRunning(name) && !this.cutOff.has(name) && this.nats.isServerUp();
  }

  isRunning(name: string): boolean {
    return this.speakers.get(name)?.proc?.alive === true;
  }
  speakerNode(name: string): SpeakerNode | undefined {
    return this.speakers.get(name)?.speaker;
  }
  coordinator(name: string): Coordinator | undefined {
    return this.speakers.get(name)?.coord;
  }
  nodeNames(): string[] {
    return [...this.speakers.keys()];
  }

  // --- the API --------------------------------------------------------------------------------

  /** kubectl apply (create or replace; a replace without status keeps the status). */
  apply<T extends KubeObject>(obj: T): T {
    this.cause(`apply ${obj.kind ?? '?'} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? '?'}`);
    return this.store.apply(obj);
  }

  /** kubectl delete. */
  delete(kind: string, name: string, namespace?: string): boolean {
    this.cause(`delete ${kind} ${namespace ? `${namespace}/` : ''}${name}`);
    return this.store.delete(kind, name, namespace);
  }

  service(name: string, namespace = 'default'): StoredObject | undefined {
    return this.store.get('Service', name, namespace);
  }

  /** status.loadBalancer.ingress IPs of a Service. */
  ingress(name: string, namespace = 'default'): string[] {
    const s = this.service(name, namespace) as { status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } } | undefined;
    return (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => typeof x === 'string');
  }

  /** Who answers ARP for `ip` on the segment now. */
  announcers(ip: string): string[] {
    return this.seg.announcersOf(ip);
  }

  /** A node's ServiceL2Status objects as its speaker last wrote them. */
  l2Statuses(node: string): readonly DesiredStatus[] {
    return this.speakerStatus.statuses.get(`servicel2statuses/${node}`) ?? [];
  }

  // --- time -------------------------------------------------------------------------------------

  async run(ms: number): Promise<void> {
    await this.clock.advance(ms, (now) => this.check(now));
    this.check(this.clock.now());
  }

  /**
   * Runs the clock until `cond` holds (checked after every timer), at most `boundMs` of simulated
   * time. Returns the simulated time at which it first held, or undefined when it did not.
   */
  async runUntil(cond: () => boolean, boundMs: number, stepMs = 10): Promise<number | undefined> {
    if (cond()) return this.clock.now();
    const deadline = this.clock.now() + boundMs;
    let hit: number | undefined;
    while (hit === undefined && this.clock.now() < deadline) {
      await this.clock.advance(Math.min(stepMs, deadline - this.clock.now()), (now) => {
        this.check(now);
        if (hit === undefined && cond()) hit = now;
      });
      this.check(this.clock.now());
      if (hit === undefined && cond()) hit = this.clock.now();
    }
    return hit;
  }

  // --- invariants and records -------------------------------------------------------------------

  private cause(text: string): void {
    this.restartOf = undefined;
    this.unansweredSince.clear();
    this.lastCauseAt = this.clock.now();
    this.p3All = true;
    this.log.push({ at: this.clock.now(), kind: 'cause', text });
  }

  settled(now = this.clock.now()): boolean {
    return now - this.lastCauseAt >= this.settleMs;
  }

  /** Kept: the first 50 violations of each invariant (one flooding invariant hides no other). */
  private violate(msg: string): void {
    const id = msg.slice(0, msg.indexOf(' '));
    const n = (this.violationCount.get(id) ?? 0) + 1;
    this.violationCount.set(id, n);
    if (n <= 50) this.violations.push(`t=${this.clock.now()}ms ${msg}`);
  }

  private onTransition(t: Transition): void {
    this.log.push({ at: t.at, kind: 'transition', node: t.node, ip: t.ip, from: t.from, to: t.to, reason: t.reason, epoch: t.epoch });
    if (this.settled(t.at) && (t.to === 'announcing' || t.from === 'announcing')) {
      this.violate(`P3 ${t.ip} moved without cause on ${t.node}: ${t.from} → ${t.to} (${t.reason ?? ''})`);
    }
  }

  private noteSegment(): void {
    if (this.segDirty.size === 0) return;
    const ips = [...this.segDirty].sort();
    this.segDirty.clear();
    for (const ip of ips) {
      const who = this.announcers(ip);
      const now = who.join(',');
      const before = this.lastSegment.get(ip) ?? '';
      if (before === now) continue;
      if (this.restartOf !== undefined) this.noteRestartChange(ip, before, who);
      if (now === '') this.lastSegment.delete(ip);
      else this.lastSegment.set(ip, now);
      this.log.push({ at: this.clock.now(), kind: 'segment', ip, announcers: who });
    }
  }

  /** P6: one IP's announcers changed while a restart is watched. */
  private noteRestartChange(ip: string, before: string, who: string[]): void {
    const r = this.restartOf as string;
    const was = before === '' ? [] : before.split(',');
    if (who.length === 0) {
      if (was.length > 0 && this.servedIps().has(ip)) this.unansweredSince.set(ip, this.clock.now());
      return;
    }
    this.unansweredSince.delete(ip);
    const gone = was.filter((n) => !who.includes(n) && n !== r);
    if (gone.length > 0 && !who.includes(r)) this.violate(`P6 restart of ${r} moved ${ip} from ${gone.join(',')} to ${who.join(',')}`);
  }

  /** One Service changed: its status record (the log), its IPs' holders (P2), P3 looks at everything. */
  private noteStatus(type: string, s: KubeObject): void {
    const key = `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
    this.p3All = true;
    this.served = undefined;
    const ips = type === 'delete' ? [] : ingressOf(s);
    if (type === 'delete') this.lastStatus.delete(key);
    else {
      const ingress = ips.join(',');
      if (this.lastStatus.get(key) !== ingress)
        this.log.push({ at: this.clock.now(), kind: 'serviceStatus', service: key, ingress: [...ips] });
      this.lastStatus.set(key, ingress);
    }
    for (const ip of this.svcIps.get(key) ?? []) {
      const h = this.ipHolders.get(ip);
      h?.delete(key);
      if (h && h.size < 2) this.doubled.delete(ip);
      if (h?.size === 0) this.ipHolders.delete(ip);
    }
    if (ips.length === 0) this.svcIps.delete(key);
    else this.svcIps.set(key, ips);
    for (const ip of ips) {
      const h = this.ipHolders.get(ip) ?? new Set<string>();
      h.add(key);
      this.ipHolders.set(ip, h);
      if (h.size > 1) this.doubled.add(ip);
    }
  }

  /** One EndpointSlice changed: which Services have a ready endpoint. */
  private noteSlice(type: string, e: KubeObject & { endpoints?: Array<{ nodeName?: string; conditions?: { ready?: boolean } }> }): void {
    this.p3All = true;
    this.served = undefined;
    const key = `${e.metadata?.namespace ?? ''}/${e.metadata?.name ?? ''}`;
    const before = this.sliceOwner.get(key);
    if (before !== undefined) {
      this.readySlices.get(before)?.delete(key);
      this.sliceOwner.delete(key);
    }
    const svc = e.metadata?.labels?.[SERVICE_NAME_LABEL];
    const ready = (e.endpoints ?? []).some((x) => x.nodeName !== undefined && x.conditions?.ready !== false);
    if (type === 'delete' || svc === undefined || !ready) return;
    const owner = `${e.metadata?.namespace ?? ''}/${svc}`;
    this.sliceOwner.set(key, owner);
    const set = this.readySlices.get(owner) ?? new Set<string>();
    set.add(key);
    this.readySlices.set(owner, set);
  }

  /** The ground truth the election runs over: a node is live when its speaker runs and reaches NATS. */
  private truthLive(): LiveView {
    return { isLive: (n) => this.connected(n), carrierUp: (n) => !this.seg.carrierDown.has(n), draining: () => false };
  }

  /**
   * The node the MetalLB election picks for `ip` over the speakers that really run (the service's
   * L2 view, the advertisements and endpoint nodes, as a running speaker's plan has it).
   */
  expectedOwner(ip: string): string | undefined {
    return this.l2Election(ip)?.owner;
  }

  /** The plan of the first running speaker that has one (the cluster's view of the config). */
  private truthPlan(): SpeakerPlan | undefined {
    for (const sp of this.speakers.values()) {
      const plan = sp.proc?.alive ? sp.speaker?.plan() : undefined;
      if (plan) return plan;
    }
    return undefined;
  }

  /** The election for `ip`, or undefined when no running speaker's plan has it in layer 2. */
  private l2Election(ip: string, plan = this.truthPlan()): { owner: string | undefined } | undefined {
    if (!plan) return undefined;
    let index = this.planIndex.get(plan);
    if (!index) {
      index = new Map();
      for (const svc of plan.l2.services) for (const x of svc.ips) if (!index.has(x)) index.set(x, svc);
      this.planIndex.set(plan, index);
    }
    const svc = index.get(ip);
    if (!svc || svc.ips[0] === undefined) return undefined;
    const nodes = new Map<string, ElectionNode>(plan.l2.nodes.map((n) => [n.name, n]));
    const names = [...nodes.keys()];
    const view = { firstIp: svc.ips[0], ads: svc.ads, etpLocal: svc.etpLocal, endpointNodes: svc.endpointNodes };
    return { owner: decide({ svc: view, nodes, live: this.truthLive(), me: '\u0000', order: this.order, names }).owner };
  }

  /** Services with a ready endpoint on some node (the ones whose IPs must be announced): IP → Service. */
  private servedIps(): Map<string, string> {
    if (this.served) return this.served;
    const out = new Map<string, string>();
    for (const [svc, ips] of this.svcIps) if ((this.readySlices.get(svc)?.size ?? 0) > 0) for (const ip of ips) out.set(ip, svc);
    this.served = out;
    return out;
  }

  check(now: number): void {
    this.noteSegment();
    // P1: two answering nodes only inside the window.
    for (const ip of this.seg.multi) {
      const since = this.dualSince.get(ip) ?? now;
      this.dualSince.set(ip, since);
      if (now - since > this.dualWindowMs) this.violate(`P1 ${ip} answered by ${this.announcers(ip).join(',')} for ${now - since} ms`);
    }
    // P6: a watched restart leaves no served IP unanswered past the P1 window.
    for (const [ip, since] of this.unansweredSince) {
      if (!this.servedIps().has(ip)) this.unansweredSince.delete(ip);
      else if (now - since > this.dualWindowMs) {
        this.violate(`P6 restart of ${this.restartOf ?? ''} left ${ip} unanswered for ${now - since} ms`);
        this.unansweredSince.delete(ip);
      }
    }
    if (this.dualSince.size > this.seg.multi.size)
      for (const ip of this.dualSince.keys()) if (!this.seg.multi.has(ip)) this.dualSince.delete(ip);
    // P2: an IP is in one Service's status at most.
    for (const ip of this.doubled) {
      const [a, b] = [...(this.ipHolders.get(ip) ?? [])].sort();
      this.violate(`P2 ${ip} in the status of ${a ?? ''} and ${b ?? ''}`);
    }
    // P3: settled, every served layer-2 IP is answered for once, by the election's pick; an IP
    // not in layer 2 (no L2Advertisement) by nobody. Only what changed since the last check is
    // looked at again: every IP after a cause, a Service or EndpointSlice change or a new plan;
    // else the IPs whose announcers changed.
    // P5 (every 50 ms): a node whose carrier has been down past the fencing window holds no IP (it
    // released them: coming back it must not answer what another node took); the router holds
    // no path of a node whose speaker is dead, and none at all settled without a BGPPeer.
    if (now - this.lastP5 >= 50) {
      this.lastP5 = now;
      for (const [node, since] of this.carrierSince) {
        const held = this.isRunning(node) ? (this.speakers.get(node)?.l2?.announced() ?? []) : [];
        if (now - since > this.dualWindowMs && held.length > 0)
          this.violate(`P5 ${node} carrier down for ${now - since} ms still holds ${held.length} IPs (${held.slice(0, 3).join(',')})`);
      }
      if (this.router) {
        const noPeer = this.settled(now) && this.store.list('BGPPeer').length === 0;
        for (const [node, n] of this.router.advertisingNodes()) {
          if (!this.isRunning(node)) this.violate(`P5 dead ${node} still has ${n} BGP paths`);
          else if (noPeer) this.violate(`P5 ${node} has ${n} BGP paths without a BGPPeer`);
        }
      }
    }
    if (!this.settled(now) || now - this.lastSettledCheck < 50) return;
    this.lastSettledCheck = now;
    this.settledChecks++;
    const plan = this.truthPlan();
    if (plan !== this.p3Plan) this.p3All = true;
    this.p3Plan = plan;
    const served = this.servedIps();
    const ips = this.p3All ? [...served.keys()] : [...this.p3Dirty].filter((ip) => served.has(ip));
    this.p3All = false;
    this.p3Dirty.clear();
    for (const ip of ips) {
      const svc = served.get(ip) as string;
      const got = this.announcers(ip);
      const e = this.l2Election(ip, plan);
      // With no connected eligible node, a running node cut off from NATS may keep what it owned.
      const ok =
        e === undefined
          ? got.length === 0
          : e.owner === undefined
            ? got.every((n) => this.isRunning(n) && !this.connected(n))
            : got.length === 1 && got[0] === e.owner;
      if (!ok)
        this.violate(`P3 ${ip} (${svc}) answered by [${got.join(',')}], election says ${e ? (e.owner ?? 'nobody') : 'not in layer 2'}`);
    }
  }
}

/** status.loadBalancer.ingress IPs of a Service object. */
function ingressOf(s: KubeObject): string[] {
  const st = (s as { status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }).status;
  return (st?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => typeof x === 'string');
}

// --- objects -----------------------------------------------------------------------------------

export const objects = {
  namespace: (name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
  }),
  node: (name: string): KubeObject =>
    ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'NetworkUnavailable', status: 'False' },
        ],
      },
    }) as KubeObject,
  pool: (name: string, addresses: string[], namespace = DEFAULT_NAMESPACE): KubeObject =>
    ({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name, namespace },
      spec: { addresses },
    }) as KubeObject,
  l2Advertisement: (name: string, pools: string[], namespace = DEFAULT_NAMESPACE): KubeObject =>
    ({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name, namespace },
      spec: { ipAddressPools: pools },
    }) as KubeObject,
  loadBalancer: (name: string, namespace = 'default', family: 'IPv4' | 'IPv6' = 'IPv4'): KubeObject =>
    ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: {
        type: 'LoadBalancer',
        selector: { app: name },
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
        ipFamilies: [family],
        ipFamilyPolicy: 'SingleStack',
      },
    }) as KubeObject,
  bgpPeer: (name: string, myASN: number, peerASN: number, peerAddress: string, namespace = DEFAULT_NAMESPACE): KubeObject =>
    ({
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name, namespace },
      spec: { myASN, peerASN, peerAddress },
    }) as KubeObject,
  bgpAdvertisement: (name: string, pools: string[], namespace = DEFAULT_NAMESPACE): KubeObject =>
    ({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'BGPAdvertisement',
      metadata: { name, namespace },
      spec: { ipAddressPools: pools },
    }) as KubeObject,
  /** An EndpointSlice with one ready endpoint per node. */
  endpointSlice: (service: string, nodes: readonly string[], namespace = 'default'): KubeObject =>
    ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-1`, namespace, labels: { [SERVICE_NAME_LABEL]: service } },
      addressType: 'IPv4',
      endpoints: nodes.map((n, i) => ({
        addresses: [`198.51.100.${i + 10}`],
        nodeName: n,
        conditions: { ready: true, serving: true, terminating: false },
      })),
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    }) as KubeObject,
};
