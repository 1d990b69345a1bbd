// BFD → BGP coupling (RFC 5882). A bfdSession leaving Up because the path failed (detection time
// expired, or the neighbor signalled Down) takes its bgpSession down at once: `{type:'bfd.down'}`
// (the BGP machine's reason `bfdDown`). Entering Up sends `{type:'bfd.up'}` (a BGPPeer with a
// bfdProfile does not establish before it). An AdminDown on either side is not a path failure:
// RFC 5882 §3.2 says the client must not be taken down for it, so nothing is sent.
import type { BfdDownReason, BfdSessionStateName } from './bfd-session-state.js';

export type BgpBfdEvent = { type: 'bfd.up' } | { type: 'bfd.down' };

/**
 * Whether a BGPPeer gets a BFD session (and its BGP session waits for it): it names a
 * bfdProfile. An `ebgpMultiHop` peer's session is multi-hop (RFC 5883, UDP 4784), as FRR gives it
 * in MetalLB's FRR mode; any other single hop (RFC 5881).
 */
export function peerUsesBfd<P extends { bfdProfile?: string | undefined; ebgpMultiHop: boolean }>(p: P): p is P & { bfdProfile: string } {
  return p.bfdProfile !== undefined && p.bfdProfile !== '';
}

/**
 * Whether the peer's BGP session waits for BFD Up before it starts: single hop only. A multi-hop
 * peer's BFD can follow BGP: FRR's bgpd (8.4, measured) registers a multi-hop BFD session only
 * once the BGP session has a local address ("_bfd_sess_valid: multi hop but no local address
 * provided", even with `update-source`), so waiting for BFD first would keep both down. BFD
 * going down still takes an established multi-hop session down (reason bfdDown).
 */
export function bgpWaitsForBfd(p: { bfdProfile?: string | undefined; ebgpMultiHop: boolean }): boolean {
  return peerUsesBfd(p) && !p.ebgpMultiHop;
}

export interface BfdView {
  readonly state: BfdSessionStateName;
  readonly downReason: BfdDownReason | null;
}

const PATH_FAILURES: ReadonlySet<BfdDownReason> = new Set(['detectTimeExpired', 'neighborDown']);

/** The event for the BGP session when a BFD session moves from `prev` (undefined at start) to `next`. */
export function bgpEventForBfd(prev: BfdView | undefined, next: BfdView): BgpBfdEvent | undefined {
  const wasUp = prev?.state === 'up';
  if (next.state === 'up') return wasUp ? undefined : { type: 'bfd.up' };
  if (wasUp && next.downReason !== null && PATH_FAILURES.has(next.downReason)) return { type: 'bfd.down' };
  return undefined;
}
