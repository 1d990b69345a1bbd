// BGP unnumbered (BGPPeer `interface`): which address the session opens to (pure).
//
// The router on the other end of the interface is found by its IPv6 Router Advertisements.
// FRR sends them on every `neighbor <ifname> interface` link (it turns RAs on there itself) and
// learns its neighbour's address the same way, from the RAs it receives. Reading the RAs
// (rather than the kernel's neighbour table, or waiting for the router to connect) works
// whatever the node's sysctls say (a Kubernetes node forwards, so the kernel may ignore RAs for
// its own configuration), needs no listening socket, and names only routers: hosts do not send
// RAs. The RA's source is the router's link-local address; the session goes to it, scoped to
// the interface (`fe80::1%eth0`).
//
// Rules, for a link that should have exactly one router:
// - our own RAs (captured on the way out) and non-link-local sources are ignored;
// - a sender not heard for `expireMs` is forgotten (a replaced router's old address);
// - the current peer stays while it is still heard, even when another router appears (a
//   session is not torn down for a newcomer);
// - otherwise the most recently heard sender is chosen, ties by the lowest address; more than one
//   candidate is reported as `ambiguous` so the operator can see why.

import { isLinkLocalText } from './ip-family.js';

export interface RaHeard {
  /** The sender's link-local address (no scope). */
  readonly address: string;
  /** Milliseconds since its last RA. */
  readonly ageMs: number;
}

export interface UnnumberedChoice {
  /** The router's link-local address, undefined while none is heard. */
  readonly address: string | undefined;
  /** `address%iface`, what a socket connects to. */
  readonly scoped: string | undefined;
  /** Other routers heard on the link (a point-to-point link should have none). */
  readonly ambiguous: readonly string[];
}

/** FRR's RA interval on unnumbered links is 10 s: six missed RAs forget a router. */
export const UNNUMBERED_EXPIRE_MS = 60_000;

export function chooseUnnumberedPeer(o: {
  readonly iface: string;
  readonly heard: readonly RaHeard[];
  /** Our own addresses on the interface (our RAs come back through the capture). */
  readonly own: readonly string[];
  /** The address the session uses now, if any. */
  readonly current?: string;
  readonly expireMs?: number;
}): UnnumberedChoice {
  const own = new Set(o.own.map((a) => a.toLowerCase().replace(/%.*$/, '')));
  const expire = o.expireMs ?? UNNUMBERED_EXPIRE_MS;
  const live = new Map<string, number>();
  for (const h of o.heard) {
    const a = h.address.toLowerCase().replace(/%.*$/, '');
    if (!isLinkLocalText(a) || own.has(a) || h.ageMs > expire) continue;
    live.set(a, Math.min(h.ageMs, live.get(a) ?? Infinity));
  }
  const ranked = [...live].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0)).map(([a]) => a);
  const cur = o.current?.toLowerCase().replace(/%.*$/, '');
  const address = cur !== undefined && live.has(cur) ? cur : ranked[0];
  return {
    address,
    scoped: address === undefined ? undefined : `${address}%${o.iface}`,
    ambiguous: ranked.filter((a) => a !== address),
  };
}
