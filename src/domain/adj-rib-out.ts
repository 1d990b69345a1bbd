// What a node sends a peer, route by route with every attribute, as `mooringctl routes` shows it
// (GET /routes on the speaker): the same for the native speaker (what it sent) and the FRR backend
// (what FRR was told to send). Pure.
import { originatedAsPath, type RouteAttrs } from './bgp-advertisements.js';

export interface AdjRibOutRoute {
  readonly prefix: string;
  readonly nextHop: string;
  readonly origin: 'igp';
  readonly asPath: readonly number[];
  /** iBGP only (RFC 4271 §5.1.5): the advertisement's, 100 by default. */
  readonly localPref?: number;
  /** "65000:100". */
  readonly communities: readonly string[];
  /** "1:2:3". */
  readonly largeCommunities: readonly string[];
}

/** "hi:lo" of a 32-bit community. */
export const communityText = (c: number): string => `${Math.floor(c / 65536)}:${c % 65536}`;

/**
 * Routes with their attributes as the peer receives them, sorted by prefix: AS_PATH as
 * originated (the local AS on eBGP, prepended as asked), LOCAL_PREF on iBGP only, communities as
 * hi:lo, large communities as a:b:c; `nextHop` gives each prefix's next hop.
 */
export function adjRibOutRoutes(
  routes: Iterable<readonly [string, RouteAttrs]>,
  o: { readonly localAsn: number; readonly ebgp: boolean; readonly nextHop: (prefix: string) => string },
): AdjRibOutRoute[] {
  const out: AdjRibOutRoute[] = [];
  for (const [prefix, a] of routes)
    out.push({
      prefix,
      nextHop: o.nextHop(prefix),
      origin: 'igp',
      asPath: originatedAsPath(o.localAsn, o.ebgp, a.asPathPrepend).flatMap((s) => [...s.asns]),
      ...(!o.ebgp ? { localPref: a.localPref ?? 100 } : {}),
      communities: a.communities.map(communityText),
      largeCommunities: a.largeCommunities.map((c) => c.join(':')),
    });
  return out.sort((x, y) => (x.prefix < y.prefix ? -1 : x.prefix > y.prefix ? 1 : 0));
}
