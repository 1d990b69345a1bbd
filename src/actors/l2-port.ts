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

/** An IP to answer for that has no interface to answer on: the set wanted exists nowhere on this host. */
export interface NoInterface {
  readonly ip: string;
  /** The interfaces asked for (empty: every eligible one, and there is none). */
  readonly wanted: readonly string[];
  /** The interfaces this host could announce on. */
  readonly eligible: readonly string[];
}

export interface CarrierChange {
  readonly iface: string;
  readonly up: boolean;
}

export interface L2AnnouncerPort {
  /**
   * Start answering ARP/NS for `ip` on the given interfaces (all eligible when omitted) and send
   * the takeover burst on each interface it was not answered on yet. Idempotent. Called again with
   * another set, the new set replaces the old one in the same call: answering starts on the added
   * interfaces first, then stops on the dropped ones (no request goes unanswered on an interface
   * that stays). A set that selects no interface on this host answers on none.
   */
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
  /** An announce() that found no interface to answer on (optional: for Events). Returns an unsubscribe function. */
  onNoInterface?(cb: (ev: NoInterface) => void): () => void;
  /** Link carrier changes on announcing interfaces. Returns an unsubscribe function. */
  onCarrier(cb: (ev: CarrierChange) => void): () => void;
  /** Stops replies and releases capture handles. */
  close(): Promise<void>;
}
