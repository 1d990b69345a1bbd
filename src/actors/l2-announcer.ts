// The Layer 2 announcer: implements L2AnnouncerPort over per-interface links (pcap in
// production, fakes in tests). It owns the per-interface sets of answered IPs, the takeover
// burst, the periodic refresh and conflict probe, solicited-node multicast membership, carrier
// polling and MetalLB's layer2 counters. Every protocol decision is in domain/l2-responder.ts.
import type { L2AnnouncerPort, L2Conflict, CarrierChange, NoInterface } from './l2-port.js';
import { realClock, type Clock } from './clock.js';
import { respond, gratuitousFrames, probeFrame, solicitedNodeMac, isIpv6, type ResponderView } from '../domain/l2-responder.js';
import { selectInterfaces, type IfaceFacts } from '../domain/l2-interfaces.js';
import { parseIpv4 } from '../codecs/arp.js';
import { normalizeIpv6 } from '../codecs/ndp.js';
import type { IpFamily } from '../domain/ip-family.js';

/** One interface's raw frame I/O. `onFrame` receives a buffer the callee may keep. */
export interface L2Link {
  readonly iface: string;
  readonly mac: string;
  send(frame: Uint8Array): void;
  onFrame(cb: (frame: Uint8Array) => void): void;
  close(): void;
}

/** The host: interface facts, capture handles, multicast membership, carrier. */
export interface L2Host {
  interfaces(): IfaceFacts[];
  open(iface: string): L2Link;
  /** Adds/removes an Ethernet multicast address to the NIC filter (solicited-node groups). */
  joinMulticast(iface: string, mac: string): void;
  leaveMulticast(iface: string, mac: string): void;
  /** Whether the NIC accepts all multicast (used past `maxMulticastGroups`). */
  setAllMulticast(iface: string, on: boolean): void;
  /** Carrier state, undefined when unknown (interface gone). */
  carrier(iface: string): boolean | undefined;
}

export interface L2AnnouncerOptions {
  /** L2Advertisement `interfaces` used when announce() names none (empty/undefined = all eligible). */
  readonly interfaces?: readonly string[];
  /** Interface name exclusions (regular expressions); MetalLB's defaults when undefined. */
  readonly exclude?: readonly string[];
  /** Takeover burst: how many rounds of GARP/unsolicited NA, and the spacing between them. */
  readonly burstRounds?: number;
  readonly burstSpacingMs?: number;
  /** Periodic re-announcement and conflict probe of every announced IP; 0 disables. */
  readonly refreshMs?: number;
  /** Send an RFC 5227 probe for every announced IP at each refresh. */
  readonly probeOnRefresh?: boolean;
  readonly carrierPollMs?: number;
  /** How often interface facts (flags, masters) are re-read for eligibility; carrier is polled faster. */
  readonly interfaceScanMs?: number;
  /** The same (ip, mac) conflict is reported at most once per this period. */
  readonly conflictHoldMs?: number;
  /** Beyond this many solicited-node groups on one NIC, switch it to all-multicast instead. */
  readonly maxMulticastGroups?: number;
  readonly clock?: Clock;
  /** Diagnostic hook (the bin logs these as JSON lines). */
  readonly log?: (ev: Record<string, unknown>) => void;
}

export interface L2IpCounters {
  /** metallb_layer2_requests_received */
  requestsReceived: number;
  /** metallb_layer2_responses_sent */
  responsesSent: number;
  /** metallb_layer2_gratuitous_sent */
  gratuitousSent: number;
}

export interface L2Stats {
  readonly byIp: ReadonlyMap<string, Readonly<L2IpCounters>>;
  readonly malformed: number;
  readonly conflicts: number;
}

interface IfaceState {
  readonly link: L2Link;
  readonly owned: Set<string>;
  readonly probing: Set<string>;
  /** solicited-node MAC → number of announced IPs needing it. */
  readonly groups: Map<string, number>;
  allMulti: boolean;
  carrier: boolean | undefined;
}

/** Canonical text of an IP (dotted quad or RFC 5952), or undefined when not an IP. */
export function canonicalIp(ip: string): string | undefined {
  if (ip.includes(':')) return normalizeIpv6(ip);
  const b = parseIpv4(ip);
  return b ? b.join('.') : undefined;
}

export class L2Announcer implements L2AnnouncerPort {
  private readonly ifaces = new Map<string, IfaceState>();
  /** ip → interfaces it is announced on. */
  private readonly ips = new Map<string, Set<string>>();
  /**
   * Encoded announcement frames per announced IP (for the MAC they were built with): the refresh
   * re-sends every IP every `refreshMs`, and encoding from text each time topped an idle
   * speaker's profile at 1,000 IPs (idle CPU 4.0–5.3 % → 3.3–3.4 %, docs/e2e-lab.md). Dropped on withdraw.
   */
  private readonly frameCache = new Map<string, Map<string, { gratuitous: Uint8Array[]; probe?: Uint8Array }>>();
  private readonly counters = new Map<string, L2IpCounters>();
  private malformed = 0;
  private conflictCount = 0;
  private readonly conflictSeen = new Map<string, number>();
  private readonly conflictCbs = new Set<(ev: L2Conflict) => void>();
  private readonly noIfaceCbs = new Set<(ev: NoInterface) => void>();
  private readonly carrierCbs = new Set<(ev: CarrierChange) => void>();
  private readonly timers = new Set<unknown>();
  private eligible: readonly string[] = [];
  private eligible4: readonly string[] = [];
  private eligible6: readonly string[] = [];
  private facts: readonly IfaceFacts[] = [];
  private closed = false;
  private readonly clock: Clock;
  private readonly o: Required<Omit<L2AnnouncerOptions, 'interfaces' | 'exclude' | 'clock' | 'log'>>;

  constructor(
    private readonly host: L2Host,
    private readonly opts: L2AnnouncerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.o = {
      burstRounds: opts.burstRounds ?? 3,
      burstSpacingMs: opts.burstSpacingMs ?? 250,
      refreshMs: opts.refreshMs ?? 10_000,
      probeOnRefresh: opts.probeOnRefresh ?? true,
      carrierPollMs: opts.carrierPollMs ?? 200,
      interfaceScanMs: opts.interfaceScanMs ?? 2000,
      conflictHoldMs: opts.conflictHoldMs ?? 1000,
      maxMulticastGroups: opts.maxMulticastGroups ?? 256,
    };
    this.refreshEligible();
    if (this.o.carrierPollMs > 0) this.every(this.o.carrierPollMs, () => this.pollCarrier());
    if (this.o.interfaceScanMs > 0) this.every(this.o.interfaceScanMs, () => this.refreshEligible());
    if (this.o.refreshMs > 0) this.every(this.o.refreshMs, () => this.refresh());
  }

  /** Interfaces that announce() without a list would use, from the last interface scan. */
  eligibleInterfaces(): readonly string[] {
    return this.eligible;
  }

  announce(ip: string, ifaces?: readonly string[]): void {
    const key = this.key(ip);
    if (this.closed || key === undefined) return;
    const targets = this.targets(ifaces, isIpv6(key) ? 6 : 4);
    const had = this.ips.get(key) ?? new Set<string>();
    if (targets.length === 0 && ifaces !== undefined && ifaces.length > 0 && had.size > 0) {
      // The new set names only interfaces this host does not have (or cannot use): answer on none.
      for (const name of had) {
        const st = this.ifaces.get(name);
        if (!st) continue;
        st.owned.delete(key);
        if (isIpv6(key)) this.leave(st, key);
      }
      this.ips.delete(key);
      this.opts.log?.({ event: 'l2.noInterface', ip: key, wanted: ifaces, eligible: this.eligible, dropped: [...had] });
      this.noInterface(key, ifaces);
      return;
    }
    const fresh = targets.filter((i) => !had.has(i));
    // A new set replaces the old one (L2AnnouncerPort.announce): interfaces no longer in it stop
    // answering, after the added ones started. A set naming only absent interfaces answers on none (above).
    const stale = targets.length > 0 ? [...had].filter((i) => !targets.includes(i)) : [];
    if (fresh.length === 0 && stale.length === 0) {
      if (had.size === 0)
        this.opts.log?.({ event: 'l2.noInterface', ip: key, wanted: ifaces ?? this.opts.interfaces ?? [], eligible: this.eligible });
      if (had.size === 0) this.noInterface(key, ifaces ?? this.opts.interfaces ?? []);
      return;
    }
    for (const name of fresh) {
      const st = this.iface(name);
      if (!st) continue;
      st.probing.delete(key);
      st.owned.add(key);
      had.add(name);
      if (isIpv6(key)) this.join(st, key);
    }
    if (had.size === 0) {
      this.opts.log?.({ event: 'l2.noInterface', ip: key, wanted: ifaces ?? this.opts.interfaces ?? [], eligible: this.eligible });
      this.noInterface(key, ifaces ?? this.opts.interfaces ?? []);
      return;
    }
    // Only once a wanted interface answers (one that failed to open leaves the old set in place).
    if (targets.some((i) => had.has(i))) {
      for (const name of stale) {
        had.delete(name);
        const st = this.ifaces.get(name);
        if (!st) continue;
        st.owned.delete(key);
        if (isIpv6(key)) this.leave(st, key);
      }
    }
    this.ips.set(key, had);
    this.opts.log?.({
      event: 'l2.announce',
      ip: key,
      ifaces: [...had],
      ...(stale.length > 0 ? { dropped: stale.filter((n) => !had.has(n)) } : {}),
    });
    this.burst(
      key,
      fresh.filter((n) => had.has(n)),
    );
  }

  /** Opens every eligible interface now (L2AnnouncerPort.prepare): opening a capture takes tens of ms. */
  prepare(): void {
    if (this.closed) return;
    for (const name of this.eligible) this.iface(name);
  }

  withdraw(ip: string): void {
    const key = this.key(ip);
    if (key === undefined) return;
    const on = this.ips.get(key);
    for (const st of this.ifaces.values()) st.probing.delete(key);
    if (!on) return;
    this.ips.delete(key);
    this.frameCache.delete(key);
    for (const name of on) {
      const st = this.ifaces.get(name);
      if (!st) continue;
      st.owned.delete(key);
      if (isIpv6(key)) this.leave(st, key);
    }
    this.opts.log?.({ event: 'l2.withdraw', ip: key });
  }

  /**
   * Watches `ip` for other holders without answering for it (RFC 5227 probing), sending one
   * probe now; a holder's answer is reported through onConflict. Ends at announce/withdraw.
   */
  probe(ip: string, ifaces?: readonly string[]): void {
    const key = this.key(ip);
    if (this.closed || key === undefined || this.ips.has(key)) return;
    for (const name of this.targets(ifaces, isIpv6(key) ? 6 : 4)) {
      const st = this.iface(name);
      if (!st) continue;
      st.probing.add(key);
      this.send(st, probeFrame(key, st.link.mac));
    }
  }

  announced(): readonly string[] {
    return [...this.ips.keys()];
  }

  onNoInterface(cb: (ev: NoInterface) => void): () => void {
    this.noIfaceCbs.add(cb);
    return () => this.noIfaceCbs.delete(cb);
  }

  private noInterface(ip: string, wanted: readonly string[]): void {
    for (const cb of this.noIfaceCbs) cb({ ip, wanted: [...wanted], eligible: [...this.eligible] });
  }

  onConflict(cb: (ev: L2Conflict) => void): () => void {
    this.conflictCbs.add(cb);
    return () => this.conflictCbs.delete(cb);
  }

  onCarrier(cb: (ev: CarrierChange) => void): () => void {
    this.carrierCbs.add(cb);
    return () => this.carrierCbs.delete(cb);
  }

  stats(): L2Stats {
    return { byIp: this.counters, malformed: this.malformed, conflicts: this.conflictCount };
  }

  /** Sends the takeover burst for every announced IP now (also what refresh does). */
  announceAll(): void {
    for (const [ip, on] of this.ips) for (const name of on) this.sendGratuitous(ip, name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.timers) this.clock.clearTimeout(h);
    this.timers.clear();
    for (const ip of [...this.ips.keys()]) this.withdraw(ip);
    for (const st of this.ifaces.values()) {
      if (st.allMulti) this.host.setAllMulticast(st.link.iface, false);
      st.link.close();
    }
    this.ifaces.clear();
  }

  // --- internals ---------------------------------------------------------------------------

  private key(ip: string): string | undefined {
    const k = canonicalIp(ip);
    if (k === undefined) this.opts.log?.({ event: 'l2.badIp', ip, bug: true });
    return k;
  }

  private targets(ifaces: readonly string[] | undefined, family: IpFamily): readonly string[] {
    if (!ifaces || ifaces.length === 0) return family === 4 ? this.eligible4 : this.eligible6;
    // Interface facts are re-read every interfaceScanMs, not per announce: announcing thousands
    // of IPs must not read /sys thousands of times.
    return selectInterfaces(this.facts, ifaces, this.opts.exclude, family).selected;
  }

  private refreshEligible(): void {
    this.facts = this.host.interfaces();
    this.eligible = selectInterfaces(this.facts, this.opts.interfaces, this.opts.exclude).selected;
    this.eligible4 = selectInterfaces(this.facts, this.opts.interfaces, this.opts.exclude, 4).selected;
    this.eligible6 = selectInterfaces(this.facts, this.opts.interfaces, this.opts.exclude, 6).selected;
  }

  private iface(name: string): IfaceState | undefined {
    const have = this.ifaces.get(name);
    if (have) return have;
    let link: L2Link;
    try {
      link = this.host.open(name);
    } catch (e) {
      this.opts.log?.({ event: 'l2.openFailed', iface: name, err: String(e) });
      return undefined;
    }
    const st: IfaceState = {
      link,
      owned: new Set(),
      probing: new Set(),
      groups: new Map(),
      allMulti: false,
      carrier: this.host.carrier(name),
    };
    const view: ResponderView = { mac: link.mac, owned: st.owned, probing: st.probing };
    link.onFrame((frame) => {
      // The callback runs inside the capture library's read loop: nothing may escape it.
      try {
        this.onFrame(st, view, frame);
      } catch (e) {
        this.opts.log?.({ event: 'l2.frameFailed', iface: name, err: String(e), bug: true });
      }
    });
    this.ifaces.set(name, st);
    return st;
  }

  private onFrame(st: IfaceState, view: ResponderView, frame: Uint8Array): void {
    if (this.closed) return;
    const out = respond(frame, view);
    if (out.malformed !== undefined) {
      this.malformed++;
      return;
    }
    if (out.requestFor !== undefined) this.count(out.requestFor).requestsReceived++;
    for (const r of out.replies) {
      this.send(st, r);
      if (out.requestFor !== undefined) this.count(out.requestFor).responsesSent++;
    }
    if (out.conflict) this.conflict({ ...out.conflict, iface: st.link.iface });
  }

  private conflict(ev: L2Conflict): void {
    const k = `${ev.iface}|${ev.ip}|${ev.mac}`;
    const now = this.clock.now();
    const last = this.conflictSeen.get(k);
    if (last !== undefined && now - last < this.o.conflictHoldMs) return;
    if (this.conflictSeen.size >= 4096) {
      for (const [key, at] of this.conflictSeen) if (now - at >= this.o.conflictHoldMs) this.conflictSeen.delete(key);
    }
    this.conflictSeen.set(k, now);
    this.conflictCount++;
    this.opts.log?.({ event: 'l2.conflict', ip: ev.ip, mac: ev.mac, iface: ev.iface });
    for (const cb of this.conflictCbs) cb(ev);
  }

  private count(ip: string): L2IpCounters {
    let c = this.counters.get(ip);
    if (!c) {
      c = { requestsReceived: 0, responsesSent: 0, gratuitousSent: 0 };
      this.counters.set(ip, c);
    }
    return c;
  }

  private send(st: IfaceState, frame: Uint8Array): void {
    try {
      st.link.send(frame);
    } catch (e) {
      this.opts.log?.({ event: 'l2.sendFailed', iface: st.link.iface, err: String(e) });
    }
  }

  private sendGratuitous(ip: string, name: string): void {
    const st = this.ifaces.get(name);
    if (!st) return;
    const frames = this.cachedFrames(ip, st.link.mac).gratuitous;
    for (const f of frames) this.send(st, f);
    this.count(ip).gratuitousSent += frames.length;
  }

  /** The frames announcing `ip` from `mac` (per interface MAC: one IP may be on several links). */
  private cachedFrames(ip: string, mac: string): { gratuitous: Uint8Array[]; probe?: Uint8Array } {
    let byMac = this.frameCache.get(ip);
    let c = byMac?.get(mac);
    if (!c) {
      c = { gratuitous: gratuitousFrames(ip, mac) };
      if (!this.ips.has(ip)) return c; // only announced IPs are kept
      if (!byMac) this.frameCache.set(ip, (byMac = new Map()));
      byMac.set(mac, c);
    }
    return c;
  }

  private burst(ip: string, names: readonly string[]): void {
    for (const n of names) this.sendGratuitous(ip, n);
    for (let round = 1; round < this.o.burstRounds; round++) {
      this.after(round * this.o.burstSpacingMs, () => {
        const on = this.ips.get(ip);
        if (on) for (const n of names) if (on.has(n)) this.sendGratuitous(ip, n);
      });
    }
  }

  private refresh(): void {
    this.announceAll();
    if (!this.o.probeOnRefresh) return;
    for (const [ip, on] of this.ips) {
      for (const name of on) {
        const st = this.ifaces.get(name);
        if (!st) continue;
        const c = this.cachedFrames(ip, st.link.mac);
        this.send(st, (c.probe ??= probeFrame(ip, st.link.mac)));
      }
    }
  }

  private join(st: IfaceState, ip: string): void {
    const mac = solicitedNodeMac(ip);
    if (mac === undefined) return;
    const n = st.groups.get(mac) ?? 0;
    st.groups.set(mac, n + 1);
    if (n > 0 || st.allMulti) return;
    if (st.groups.size > this.o.maxMulticastGroups) {
      st.allMulti = true;
      this.host.setAllMulticast(st.link.iface, true);
      return;
    }
    this.host.joinMulticast(st.link.iface, mac);
  }

  private leave(st: IfaceState, ip: string): void {
    const mac = solicitedNodeMac(ip);
    if (mac === undefined) return;
    const n = st.groups.get(mac) ?? 0;
    if (n > 1) {
      st.groups.set(mac, n - 1);
      return;
    }
    st.groups.delete(mac);
    if (!st.allMulti) this.host.leaveMulticast(st.link.iface, mac);
  }

  private pollCarrier(): void {
    for (const st of this.ifaces.values()) {
      const now = this.host.carrier(st.link.iface);
      const wasUp = st.carrier === true;
      st.carrier = now;
      // An interface that disappeared (undefined) counts as down.
      if ((now === true) === wasUp) continue;
      const ev: CarrierChange = { iface: st.link.iface, up: now === true };
      this.opts.log?.({ event: 'l2.carrier', iface: ev.iface, up: ev.up });
      for (const cb of this.carrierCbs) cb(ev);
      // Carrier back: the segment may have forgotten us (switch FDB flushed on link down).
      if (ev.up) for (const ip of st.owned) this.sendGratuitous(ip, st.link.iface);
    }
  }

  private after(ms: number, fn: () => void): void {
    const h = this.clock.setTimeout(() => {
      this.timers.delete(h);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(h);
  }

  private every(ms: number, fn: () => void): void {
    const tick = (): void => {
      fn();
      this.after(ms, tick);
    };
    this.after(ms, tick);
  }
}
