// Fake L2 segment: which node answers ARP for which IP. A second announcer for an IP on the
// segment is seen by the other (its gratuitous ARP, or an answer to the conflict probe), which
// the fake reports as `onConflict` to both, one latency later, like the pcap announcer would.
import type { CarrierChange, L2AnnouncerPort, L2Conflict } from '../../src/actors/l2-port.js';
import type { SimClock } from './clock.js';

export class SimSegment {
  /** ip → nodes answering for it */
  readonly answering = new Map<string, Set<string>>();
  /** ip → [node, time] of the last takeover burst (first GARP) */
  readonly lastGarp = new Map<string, { node: string; at: number }>();
  /** IPs answered by more than one node right now (kept incrementally for cheap invariant checks). */
  readonly multi = new Set<string>();
  private readonly ports = new Map<string, SimL2>();
  /** Nodes whose segment link has no carrier: what they answer is not heard. */
  readonly carrierDown = new Set<string>();
  private readonly watchers: Array<(ip: string, answering: number, at: number) => void> = [];

  constructor(
    readonly clock: SimClock,
    readonly latencyMs = 1,
  ) {}

  port(node: string): SimL2 {
    const p = new SimL2(this, node);
    this.ports.set(node, p);
    return p;
  }

  /**
   * The node's link to the segment loses (or regains) carrier: while down, its answers are not
   * heard (taken off the segment, put back when it returns for what it still answers); the
   * node's port reports the change, as the pcap announcer reports a netlink carrier change.
   */
  setCarrier(node: string, up: boolean): void {
    if (up === !this.carrierDown.has(node)) return;
    if (up) this.carrierDown.delete(node);
    else this.carrierDown.add(node);
    const port = this.ports.get(node);
    if (!port) return;
    for (const ip of port.announced()) {
      if (up) this.announce(node, ip);
      else this.withdraw(node, ip);
    }
    port.setCarrier(up);
  }

  macOf(node: string): string {
    let h = 0;
    for (const ch of node) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return `02:00:${[24, 16, 8, 0].map((s) => ((h >>> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`;
  }

  /** Calls `cb` on every change of an IP's announcers (count after the change, time): exact gaps and overlaps. */
  watch(cb: (ip: string, answering: number, at: number) => void): () => void {
    this.watchers.push(cb);
    return () => {
      const i = this.watchers.indexOf(cb);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  private changed(ip: string, answering: number): void {
    for (const cb of this.watchers) cb(ip, answering, this.clock.now());
  }

  announce(node: string, ip: string): void {
    const set = this.answering.get(ip) ?? new Set<string>();
    if (set.has(node)) return;
    set.add(node);
    this.answering.set(ip, set);
    if (set.size > 1) this.multi.add(ip);
    this.changed(ip, set.size);
    this.lastGarp.set(ip, { node, at: this.clock.now() });
    for (const other of set) {
      if (other === node) continue;
      // each sees the other's frames
      this.clock.setTimeout(() => this.ports.get(other)?.conflict({ ip, mac: this.macOf(node), iface: 'eth0' }), this.latencyMs);
      this.clock.setTimeout(() => this.ports.get(node)?.conflict({ ip, mac: this.macOf(other), iface: 'eth0' }), this.latencyMs);
    }
  }

  withdraw(node: string, ip: string): void {
    const set = this.answering.get(ip);
    if (!set?.delete(node)) return;
    if (set.size <= 1) this.multi.delete(ip);
    if (set.size === 0) this.answering.delete(ip);
    this.changed(ip, set.size);
  }

  announcersOf(ip: string): string[] {
    return [...(this.answering.get(ip) ?? [])].sort();
  }
}

export class SimL2 implements L2AnnouncerPort {
  private readonly mine = new Set<string>();
  private readonly conflictCbs: Array<(ev: L2Conflict) => void> = [];
  private readonly carrierCbs: Array<(ev: CarrierChange) => void> = [];
  crashed = false;
  /** Test-only planted bug: carrier changes are not reported to the speaker. */
  deaf = false;

  constructor(
    private readonly seg: SimSegment,
    readonly node: string,
  ) {}

  announce(ip: string): void {
    if (this.crashed) return;
    this.mine.add(ip);
    if (!this.seg.carrierDown.has(this.node)) this.seg.announce(this.node, ip);
  }

  withdraw(ip: string): void {
    this.mine.delete(ip);
    this.seg.withdraw(this.node, ip);
  }

  announced(): readonly string[] {
    return [...this.mine];
  }

  onConflict(cb: (ev: L2Conflict) => void): () => void {
    this.conflictCbs.push(cb);
    return () => {
      const i = this.conflictCbs.indexOf(cb);
      if (i >= 0) this.conflictCbs.splice(i, 1);
    };
  }

  onCarrier(cb: (ev: CarrierChange) => void): () => void {
    this.carrierCbs.push(cb);
    return () => {
      const i = this.carrierCbs.indexOf(cb);
      if (i >= 0) this.carrierCbs.splice(i, 1);
    };
  }

  conflict(ev: L2Conflict): void {
    if (this.crashed || !this.mine.has(ev.ip)) return;
    for (const cb of [...this.conflictCbs]) cb(ev);
  }

  setCarrier(up: boolean): void {
    if (this.crashed || this.deaf) return;
    for (const cb of [...this.carrierCbs]) cb({ iface: 'eth0', up });
  }

  /** Process killed: it stops answering at once, without telling anyone. */
  crash(): void {
    this.crashed = true;
    for (const ip of this.mine) this.seg.withdraw(this.node, ip);
    this.mine.clear();
  }

  close(): Promise<void> {
    this.crash();
    return Promise.resolve();
  }
}
