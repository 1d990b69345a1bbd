// The deterministic simulated cluster: real Coordinators (membership, election, serviceIp
// machines) on one SimClock, an in-memory NATS and KV, a fake L2 segment. Scenario steps are
// timelines of faults; invariants are checked on every clock tick batch:
//   I1 at most one announcer per IP, except for at most `dualWindowMs` (the detection window);
//   I2 in steady state (no fault for `settleMs`, NATS up) every IP is announced by exactly the
//      node the election picks over the nodes that are really up; when none is eligible, only a
//      node cut off from NATS (keeping what it owned) may announce it;
//   I3 in steady state nothing moves (no announce/withdraw without a cause).
import { Coordinator, type ClusterSpec, type CoordDecoders, type ServiceSpec, type Transition } from '../../src/actors/coordinator.js';
import { decodeClaims, decodeHeartbeat, encodeDrain, type Claims, type Decoded, type Heartbeat } from '../../src/codecs/coord.js';
import { drainSubject } from '../../src/domain/subjects.js';
import { decide, HashOrder, type ElectionNode, type LiveView } from '../../src/domain/election.js';
import type { Labels } from '../../src/domain/label-selector.js';
import { DEFAULT_MEMBERSHIP, type MembershipConfig } from '../../src/domain/membership.js';
import { NodeClock, SimClock, rng } from './clock.js';
import { SimKv, SimNats, type SimConn } from './bus.js';
import { SimSegment, type SimL2 } from './l2.js';

/** The coordination account whose connect/disconnect advisories the simulated servers publish. */
export const PRESENCE_ACCOUNT = 'SIM';

export interface SimNodeSpec {
  readonly name: string;
  readonly labels?: Labels;
}

export interface SimOptions {
  readonly seed: number;
  readonly nodes: readonly SimNodeSpec[];
  readonly services: readonly ServiceSpec[];
  readonly membership?: MembershipConfig;
  readonly latencyMs?: number;
  readonly kv?: boolean;
  /** Nodes' clocks offer `afterIo` (Node's setImmediate); default true. */
  readonly stallAware?: boolean;
  /** Invariant I1 tolerance; default: detection window + resync + 100 ms. */
  readonly dualWindowMs?: number;
  /** Quiet time after a fault before I2/I3 apply. */
  readonly settleMs?: number;
  /** How often I2 is checked (it runs the election for every IP). */
  readonly steadyCheckEveryMs?: number;
  readonly claimsRefreshMs?: number;
  /** NATS servers (default 1); nodes are spread over them round-robin. */
  readonly natsServers?: number;
  /** Each node also publishes through a mirror connection on the next server (NatsBus does). */
  readonly mirror?: boolean;
  /** Servers report connections opened/closed and coordinators use it (the death fast path). */
  readonly presence?: boolean;
}

interface SimNode {
  spec: ElectionNode;
  coord?: Coordinator;
  conn?: SimConn;
  l2?: SimL2;
  inc: number;
  running: boolean;
  linkUp: boolean;
  carrier: boolean;
  draining: boolean;
  clock?: NodeClock;
}

export interface Failover {
  readonly ip: string;
  readonly from: string | undefined;
  readonly to: string;
  readonly at: number;
  /** Since the last fault (kill, isolation, …). */
  readonly afterMs: number;
  readonly cause: string;
}

export class SimCluster {
  readonly clock = new SimClock();
  readonly nats: SimNats;
  readonly kv: SimKv;
  readonly seg: SimSegment;
  readonly order = new HashOrder();
  readonly random: () => number;
  readonly nodes = new Map<string, SimNode>();
  services: ServiceSpec[];
  readonly violations: string[] = [];
  readonly failovers: Failover[] = [];
  readonly transitions: Transition[] = [];
  readonly log: Array<{ at: number; text: string }> = [];
  /** Coordinators' verdicts: a node saw NATS down, or declared a peer dead. */
  readonly coordEvents: Array<{ at: number; node: string; event: string; peer?: string | undefined; cause?: string }> = [];
  keepTransitions = true;
  /** How many times I2 was checked over every IP (a run must show some, or I2 proved nothing). */
  steadyChecks = 0;
  private readonly m: MembershipConfig;
  private readonly dualWindowMs: number;
  readonly settleMs: number;
  private readonly steadyEvery: number;
  private lastCauseAt = 0;
  private lastCause = 'start';
  private lastSteadyCheck = -Infinity;
  private readonly dualSince = new Map<string, number>();
  private readonly lastAnnouncer = new Map<string, string>();
  private names: string[] = [];
  /** One spec object while nothing changes, so every speaker shares the derived IP table. */
  private spec: ClusterSpec | undefined;
  private readonly codec: CoordDecoders;
  private admin: SimConn | undefined;

  constructor(private readonly opts: SimOptions) {
    this.random = rng(opts.seed);
    this.m = opts.membership ?? DEFAULT_MEMBERSHIP;
    this.nats = new SimNats(this.clock, opts.latencyMs ?? 1, opts.natsServers ?? 1, opts.presence ? PRESENCE_ACCOUNT : undefined);
    this.kv = new SimKv(this.clock);
    this.seg = new SimSegment(this.clock);
    const detect = this.m.intervalMs * this.m.misses;
    this.dualWindowMs = opts.dualWindowMs ?? 2 * detect + 100;
    this.settleMs = opts.settleMs ?? 3 * detect + 500;
    this.steadyEvery = opts.steadyCheckEveryMs ?? 50;
    this.services = [...opts.services];
    for (const n of opts.nodes) {
      this.nodes.set(n.name, {
        spec: { name: n.name, labels: n.labels ?? {} },
        inc: 1,
        running: false,
        linkUp: true,
        carrier: true,
        draining: false,
      });
    }
    this.names = [...this.nodes.keys()];
    const intern = new Map<string, string>();
    for (const n of this.names) intern.set(n, n);
    for (const svc of this.services) for (const ip of svc.ips) intern.set(ip, ip);
    this.codec = sharedDecoders(intern);
  }

  /** Starts every speaker at a seeded offset inside one heartbeat interval, then runs `warmupMs`. */
  async start(warmupMs = 2000): Promise<void> {
    for (const name of this.names) {
      const delay = Math.floor(this.random() * this.m.intervalMs);
      this.clock.setTimeout(() => this.boot(name), delay);
    }
    this.cause('start');
    await this.run(warmupMs);
  }

  private boot(name: string): void {
    const n = this.node(name);
    const clock = new NodeClock(this.clock, this.opts.stallAware ?? true);
    const conn = this.nats.connect(name, this.names.indexOf(name), this.opts.mirror ?? false, clock);
    conn.setLink(n.linkUp);
    const l2 = this.seg.port(name);
    const coord = new Coordinator({
      cluster: 'sim',
      node: name,
      inc: n.inc,
      clock,
      bus: conn,
      l2,
      epochs: this.opts.kv === false ? undefined : this.kv.store(conn),
      log: (ev) => {
        if (ev.event === 'nats.down' || ev.event === 'peer.dead' || ev.event === 'peer.connectionsGone')
          this.coordEvents.push({
            at: this.clock.now(),
            node: name,
            event: String(ev.event),
            peer: ev.peer as string | undefined,
            ...(ev.cause !== undefined ? { cause: String(ev.cause) } : {}),
          });
      },
      membership: this.m,
      hashOrder: this.order,
      claimsRefreshMs: this.opts.claimsRefreshMs ?? 5000,
      codec: this.codec,
      ...(this.opts.presence ? { presenceAccount: PRESENCE_ACCOUNT } : {}),
    });
    coord.onTransition((t) => this.onTransition(t));
    coord.setCluster(this.clusterSpec());
    coord.setDraining(n.draining);
    coord.start();
    if (!n.carrier) l2.setCarrier(false);
    Object.assign(n, { coord, conn, l2, clock, running: true });
  }

  private clusterSpec(): ClusterSpec {
    this.spec ??= { nodes: [...this.nodes.values()].map((n) => n.spec), services: this.services };
    return this.spec;
  }

  private node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no such node ${name}`);
    return n;
  }

  private cause(text: string): void {
    this.lastCauseAt = this.clock.now();
    this.lastCause = text;
    this.log.push({ at: this.clock.now(), text });
  }

  // --- faults and changes ------------------------------------------------------------------------

  /**
   * The node's event loop blocks for `ms` (GC, a burst of work, a starved CPU): it sends no
   * heartbeat and reads nothing; then its late timers run before the messages that waited.
   */
  stall(name: string, ms: number): void {
    const n = this.node(name);
    this.cause(`stall ${name} ${ms} ms`);
    n.clock?.stall(ms);
  }

  /** SIGKILL: the process stops; its ARP replies stop; nobody is told. */
  kill(name: string): void {
    const n = this.node(name);
    if (!n.running) return;
    this.cause(`kill ${name}`);
    n.coord?.halt();
    n.l2?.crash();
    n.conn?.close();
    n.running = false;
  }

  /** Restart after a kill: a new incarnation. */
  restart(name: string): void {
    const n = this.node(name);
    if (n.running) return;
    this.cause(`restart ${name}`);
    n.inc += 1;
    this.boot(name);
  }

  /** Cut (or restore) one node's path to NATS; it stays on the L2 segment. */
  setLink(name: string, up: boolean, silent = false): void {
    const n = this.node(name);
    this.cause(`${up ? 'heal' : 'isolate'} ${name} from NATS${silent ? ' (client not told)' : ''}`);
    n.linkUp = up;
    n.conn?.setLink(up, silent);
  }

  setNats(up: boolean): void {
    this.cause(`NATS ${up ? 'up' : 'down'}`);
    this.nats.setServerUp(up);
  }

  /** SIGKILL of one NATS server; its clients reconnect to another one after `reconnectGapMs`. */
  killNatsServer(i: number, reconnectGapMs: number): void {
    this.cause(`kill NATS server ${i}`);
    this.nats.killServer(i, reconnectGapMs);
  }

  /**
   * One node's NATS connection(s) closed by a live server while the process lives, back on another
   * server `reconnectMs` later; the close reported `disconnectDelayMs` late (a stalled server).
   */
  dropConnection(name: string, which: 'primary' | 'mirror' | 'both', reconnectMs: number, disconnectDelayMs = 0): void {
    const n = this.node(name);
    this.cause(`drop ${which} NATS connection of ${name} (back after ${reconnectMs} ms)`);
    const conns = which === 'primary' ? [n.conn] : which === 'mirror' ? [n.conn?.mirror] : [n.conn, n.conn?.mirror];
    for (const c of conns) if (c) this.nats.dropConnection(c, reconnectMs, disconnectDelayMs);
  }

  restartNatsServer(i: number): void {
    this.nats.restartServer(i);
  }

  setKv(up: boolean): void {
    this.cause(`KV ${up ? 'up' : 'down'}`);
    this.kv.available = up;
  }

  setCarrier(name: string, up: boolean): void {
    const n = this.node(name);
    this.cause(`carrier ${up ? 'up' : 'down'} on ${name}`);
    n.carrier = up;
    n.l2?.setCarrier(up);
  }

  drain(name: string, on = true): void {
    const n = this.node(name);
    this.cause(`${on ? 'drain' : 'undrain'} ${name}`);
    n.draining = on;
    n.coord?.setDraining(on);
  }

  /**
   * `mooringctl drain|undrain <node>`: the command goes over the bus to the node's coordinator
   * (subject `drain.<node>`, an admin connection), like the real CLI.
   */
  adminDrain(name: string, on = true): void {
    const n = this.node(name);
    this.cause(`mooringctl ${on ? 'drain' : 'undrain'} ${name}`);
    n.draining = on; // the truth the invariants compare against
    this.admin ??= this.nats.connect('mooringctl');
    this.admin.publish(drainSubject('sim', name), encodeDrain({ v: 1, node: name, draining: on }));
  }

  /** `kubectl cordon|uncordon <node>` (spec.unschedulable, as `kubectl drain` sets it), seen by every speaker's informer. */
  cordon(name: string, on = true): void {
    const n = this.node(name);
    this.cause(`${on ? 'cordon' : 'uncordon'} ${name}`);
    n.spec = { ...n.spec, ...(on ? { unschedulable: true } : { unschedulable: false }) };
    this.pushConfig();
  }

  setLabels(name: string, labels: Labels): void {
    const n = this.node(name);
    this.cause(`labels of ${name}`);
    n.spec = { ...n.spec, labels };
    this.pushConfig();
  }

  setEndpoints(service: string, nodes: readonly string[]): void {
    this.cause(`endpoints of ${service} → ${nodes.join(',') || 'none'}`);
    this.services = this.services.map((s) => (s.key === service ? { ...s, endpointNodes: new Set(nodes) } : s));
    this.pushConfig();
  }

  private pushConfig(): void {
    this.spec = undefined;
    // Informers on every speaker see the change at about the same time.
    for (const n of this.nodes.values()) if (n.running) n.coord?.setCluster(this.clusterSpec());
  }

  // --- running and checking ------------------------------------------------------------------------

  async run(ms: number): Promise<void> {
    await this.clock.advance(ms, (now) => this.check(now));
    this.check(this.clock.now());
  }

  announcers(ip: string): string[] {
    return this.seg.announcersOf(ip);
  }

  allIps(): string[] {
    return this.services.flatMap((s) => s.ips);
  }

  /** The owner the election picks over the nodes that are really up (running, on NATS, carrier). */
  expectedOwner(ip: string): string | undefined {
    const svc = this.services.find((s) => s.ips.includes(ip));
    if (!svc || svc.ips[0] === undefined) return undefined;
    return this.expectedFor(svc);
  }

  private truthLive(): LiveView {
    return {
      isLive: (x) => {
        const n = this.nodes.get(x);
        return !!n && n.running && n.linkUp;
      },
      carrierUp: (x) => this.nodes.get(x)?.carrier ?? false,
      draining: (x) => this.nodes.get(x)?.draining ?? false,
    };
  }

  private expectedFor(
    svc: ServiceSpec,
    live = this.truthLive(),
    nodes = new Map([...this.nodes].map(([k, v]) => [k, v.spec])),
  ): string | undefined {
    const view = { firstIp: svc.ips[0] as string, ads: svc.ads, etpLocal: svc.etpLocal, endpointNodes: svc.endpointNodes };
    // `me` = a name that is no node, so the result is purely the owner.
    const d = decide({ svc: view, nodes, live, me: '\u0000', order: this.order, names: this.names });
    return d.owner;
  }

  steady(now = this.clock.now()): boolean {
    return this.nats.isServerUp() && now - this.lastCauseAt >= this.settleMs;
  }

  private onTransition(t: Transition): void {
    if (this.keepTransitions) this.transitions.push(t);
    if (this.steady(t.at) && (t.to === 'announcing' || t.from === 'announcing')) {
      this.violate(`I3 ${t.ip} moved without cause on ${t.node}: ${t.from} → ${t.to} (${t.reason ?? ''})`);
    }
    if (t.to === 'announcing') {
      const from = this.lastAnnouncer.get(t.ip);
      if (from !== t.node)
        this.failovers.push({ ip: t.ip, from, to: t.node, at: t.at, afterMs: t.at - this.lastCauseAt, cause: this.lastCause });
      this.lastAnnouncer.set(t.ip, t.node);
    }
  }

  private violate(msg: string): void {
    if (this.violations.length < 50) this.violations.push(`t=${this.clock.now()}ms ${msg}`);
  }

  check(now: number): void {
    // I1: dual announcers only inside the window.
    for (const ip of this.seg.multi) {
      const since = this.dualSince.get(ip) ?? now;
      this.dualSince.set(ip, since);
      if (now - since > this.dualWindowMs) this.violate(`I1 ${ip} announced by ${this.announcers(ip).join(',')} for ${now - since} ms`);
    }
    for (const ip of this.dualSince.keys()) if (!this.seg.multi.has(ip)) this.dualSince.delete(ip);
    // I2: steady state = the truthful election.
    if (!this.steady(now) || now - this.lastSteadyCheck < this.steadyEvery) return;
    this.lastSteadyCheck = now;
    this.steadyChecks++;
    const live = this.truthLive();
    const nodes = new Map([...this.nodes].map(([k, v]) => [k, v.spec]));
    for (const svc of this.services) {
      const want = this.expectedFor(svc, live, nodes);
      for (const ip of svc.ips) {
        const got = this.seg.announcersOf(ip);
        // With no connected eligible node, a node cut off from NATS may keep what it owned.
        const ok =
          want === undefined
            ? got.every((n) => {
                const x = this.nodes.get(n);
                return !!x && x.running && !x.linkUp;
              })
            : got.length === 1 && got[0] === want;
        if (!ok) this.violate(`I2 ${ip} announced by [${got.join(',')}], election says ${want ?? 'nobody'}`);
      }
    }
  }

  /** ip → announcing nodes, for reports. */
  table(): Array<{ service: string; ip: string; announcers: string[] }> {
    return this.services.flatMap((s) => s.ips.map((ip) => ({ service: s.key, ip, announcers: this.announcers(ip) })));
  }

  isRunning(name: string): boolean {
    return this.node(name).running;
  }

  coordinator(name: string): Coordinator | undefined {
    return this.node(name).coord;
  }
}

/**
 * The in-memory bus hands every subscriber the same bytes, so a message is decoded once for all
 * speakers (the coordinators treat decoded payloads as read-only). Node names and IPs in decoded
 * payloads are interned to the spec's strings: map lookups then compare pointers, not contents,
 * which matters when 1,000 speakers each look up every heartbeat's sender.
 */
export function sharedDecoders(intern: Map<string, string>): CoordDecoders {
  const one = (x: string): string => {
    const c = intern.get(x);
    if (c !== undefined) return c;
    intern.set(x, x);
    return x;
  };
  const hbMemo = new WeakMap<Uint8Array, Decoded<Heartbeat>>();
  const claimsMemo = new WeakMap<Uint8Array, Decoded<Claims>>();
  return {
    heartbeat: (d) => {
      let r = hbMemo.get(d);
      if (!r) {
        r = decodeHeartbeat(d);
        if (r.ok) r = { ok: true, value: { ...r.value, node: one(r.value.node) } };
        hbMemo.set(d, r);
      }
      return r;
    },
    claims: (d) => {
      let r = claimsMemo.get(d);
      if (!r) {
        r = decodeClaims(d);
        if (r.ok)
          r = {
            ok: true,
            value: { ...r.value, node: one(r.value.node), claims: r.value.claims.map((c) => ({ ip: one(c.ip), epoch: c.epoch })) },
          };
        claimsMemo.set(d, r);
      }
      return r;
    },
  };
}

/** One service per IP: 203.0.113.0/24 for small runs, 2001:db8:5::/48 for scale runs (documentation ranges only). */
export function services(count: number, over: Partial<ServiceSpec> = {}, allNodes: readonly string[] = []): ServiceSpec[] {
  // One endpoint set for all (read-only): 10,000 services × 1,000 nodes would be 10⁷ set entries.
  const everywhere: ReadonlySet<string> = new Set(allNodes);
  return Array.from({ length: count }, (_, i) => ({
    key: `default/svc-${i}`,
    ips: [count <= 250 ? `203.0.113.${i + 1}` : `2001:db8:5::${(i + 1).toString(16)}`],
    ads: [{ name: 'l2' }],
    etpLocal: false,
    endpointNodes: everywhere,
    ...over,
  }));
}
