// The port between coordination (serviceIp machines) and the Layer 2 announcer (ARP/NDP over
// pcap). Coordination decides *who* announces; the announcer only does what it is told and
// reports what it sees on the wire. Fakes implement the same interface in tests and simulations.

export interface L2Conflict {
  /** The service IP another station answered for. */
  readonly ip: string;
  /** That station's MAC (lower-case, colon-separated). */
  readonly mac: string;
  readonly iface: string;
}

export interface CarrierChange {
  readonly iface: string;
  readonly up: boolean;
}

export interface L2AnnouncerPort {
  /** Start answering ARP/NS for `ip` on the given interfaces (all eligible when omitted) and send the takeover burst. Idempotent. */
  announce(ip: string, ifaces?: readonly string[]): void;
  /**
   * Open now the interfaces `announce()` without a list would use (capture, responder), so the
   * next first announce is not slowed by opening them: the coordinator calls it before it lets
   * an owner hand it an IP (failback). Optional; idempotent.
   */
  prepare?(): void;
  /** Stop answering for `ip`. Idempotent. */
  withdraw(ip: string): void;
  /** IPs currently answered for. */
  announced(): readonly string[];
  /** Another MAC answered for an IP we announce (or probe). Returns an unsubscribe function. */
  onConflict(cb: (ev: L2Conflict) => void): () => void;
  /** Link carrier changes on announcing interfaces. Returns an unsubscribe function. */
  onCarrier(cb: (ev: CarrierChange) => void): () => void;
  /** Stops replies and releases capture handles. */
  close(): Promise<void>;
}
