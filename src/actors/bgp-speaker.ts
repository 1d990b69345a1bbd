// The BGP speaker of one node: one bgpSession actor per peer, plus the Adj-RIB-Out of each
// session (what was sent), fed by desired routes from domain/bgp-advertisements.ts. On
// Established it sends the whole table packed into as few UPDATEs as fit, then End-of-RIB per
// family (RFC 4724); on a change it sends the diff; on ROUTE-REFRESH it re-sends the family; on
// down it forgets what was sent. Metrics are plain counters here (MetalLB names); the OpenTelemetry
// wiring reads `metrics()`.
import { createActor, type Actor, type ActorOptions, type AnyActorLogic } from 'xstate';
import {
  Afi,
  Origin,
  buildAnnouncements,
  buildWithdrawals,
  canonicalPrefix,
  endOfRib,
  type EncodeError,
  type Result,
} from '../codecs/bgp/index.js';
import { bgpSessionMachine, type BgpSessionInput, type Family, type Negotiated } from '../machines/bgp-session.machine.js';
import { attrsKey, diffRoutes, originatedAsPath, type RouteAttrs } from '../domain/bgp-advertisements.js';
import { familyOfText, fromBgpFamily, isLinkLocalText, type BgpIpFamily } from '../domain/ip-family.js';
import { adjRibOutRoutes, type AdjRibOutRoute } from '../domain/adj-rib-out.js';

export interface SpeakerPeerConfig {
  readonly name: string;
  readonly peerAddress: string;
  readonly peerPort?: number;
  readonly myAsn: number;
  readonly peerAsn: number;
  /** MetalLB's dynamicASN (then peerAsn is ignored). */
  readonly dynamicAsn?: 'internal' | 'external';
  /** Seconds (MetalLB default 90). */
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  readonly routerId?: string;
  readonly sourceAddress?: string;
  readonly password?: string;
  readonly ebgpMultiHop?: boolean;
  /** GTSM (RFC 5082): TTL 255 out, minimum TTL 254 in. */
  readonly gtsm?: boolean;
  readonly enableGracefulRestart?: boolean;
  readonly restartTime?: number;
  /** Address families, as BGP configuration spells them (the config files' format). */
  readonly families?: readonly BgpIpFamily[];
  /** Next hops for a family the session's own address cannot serve (e.g. IPv6 routes over IPv4). */
  readonly nextHopIpv4?: string;
  readonly nextHopIpv6?: string;
  readonly connectTimeMs?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  readonly bfdRequired?: boolean;
  /** FRR backend only (the native backend refuses peers with it, nativePeerLimits). */
  readonly vrf?: string;
  /**
   * BGP unnumbered: the session goes to the router's IPv6 link-local address on this interface
   * (BgpPeers resolves it into `peerAddress` as `fe80::…%iface`), carries IPv4 and IPv6 unless
   * `families` says otherwise, and sends IPv4 routes with an IPv6 next hop (RFC 8950).
   */
  readonly interface?: string;
  readonly localAsn?: number;
}

export type SpeakerEvent =
  | { event: 'sessionUp'; peer: string; negotiated: Negotiated }
  | { event: 'sessionDown'; peer: string; reason: string; detail: string }
  | { event: 'stateChanged'; peer: string; from: string; to: string }
  | { event: 'routesSent'; peer: string; updates: number; announced: number; withdrawn: number; nlriPerUpdate: number }
  | { event: 'endOfRib'; peer: string; family: Family }
  | { event: 'routeRefresh'; peer: string; afi: number }
  | { event: 'nextHopMissing'; peer: string; family: Family }
  /** Prefixes the UPDATE encoder refused (`error` names them): left out of what is sent. */
  | { event: 'routesRefused'; peer: string; family: Family; prefixes: number; error: string };

export type { AdjRibOutRoute };
export interface AdjRibOut {
  readonly peer: string;
  readonly address: string;
  readonly state: string;
  readonly localAsn: number;
  /** The configured peer ASN (absent with dynamicASN). */
  readonly peerAsn?: number;
  readonly ebgp?: boolean;
  readonly routerId?: string;
  readonly peerRouterId?: string;
  readonly families?: readonly string[];
  readonly routes: readonly AdjRibOutRoute[];
}

export interface PeerMetrics {
  metallb_bgp_session_up: number;
  metallb_bgp_updates_total: number;
  metallb_bgp_announced_prefixes_total: number;
  /** Prefixes that should be advertised on the session (desired for this peer), up or not: as MetalLB native. */
  metallb_bgp_pending_prefixes_total: number;
  mooring_bgp_session_state: string;
  mooring_bgp_nlri_total: number;
  /** Prefixes the UPDATE encoder refused (they do not parse or are of another family). */
  mooring_bgp_encode_errors_total: number;
  /** Prefixes the peer currently advertises to us (Adj-RIB-In size; the routes themselves are not used). */
  mooring_bgp_received_prefixes?: number;
}

/** Maps MetalLB-style peer fields onto the machine's input (TTL rules as MetalLB + GTSM). */
export function sessionInput(p: SpeakerPeerConfig, nodeName: string): BgpSessionInput {
  const ebgp = p.dynamicAsn ? p.dynamicAsn === 'external' : p.myAsn !== p.peerAsn;
  const ttl = p.gtsm ? 255 : ebgp ? (p.ebgpMultiHop ? 255 : 1) : undefined;
  return {
    peer: p.name,
    localAsn: p.myAsn,
    peerAsn: p.peerAsn,
    ...(p.dynamicAsn ? { dynamicAsn: p.dynamicAsn } : {}),
    nodeName,
    holdTime: p.holdTime ?? 90,
    ...(p.keepaliveTime !== undefined ? { keepaliveTime: p.keepaliveTime } : {}),
    ...(p.routerId ? { routerId: p.routerId } : {}),
    families: p.families
      ? p.families.map(fromBgpFamily).filter((f) => f !== undefined)
      : p.interface
        ? [4, 6]
        : [familyOfText(p.peerAddress)],
    ...(p.interface ? { extendedNextHop: true } : {}),
    transport: {
      peerAddress: p.peerAddress,
      peerPort: p.peerPort ?? 179,
      ...(p.sourceAddress ? { sourceAddress: p.sourceAddress } : {}),
      ...(p.password ? { password: p.password } : {}),
      ...(ttl !== undefined ? { ttl } : {}),
      ...(p.gtsm ? { minTtl: 254 } : {}),
    },
    ...(p.connectTimeMs !== undefined ? { connectTimeoutMs: p.connectTimeMs } : {}),
    ...(p.retryInitialMs !== undefined ? { retryInitialMs: p.retryInitialMs } : {}),
    ...(p.retryMaxMs !== undefined ? { retryMaxMs: p.retryMaxMs } : {}),
    ...(p.bfdRequired ? { bfdRequired: true } : {}),
    ...(p.enableGracefulRestart ? { gracefulRestart: { restartTime: p.restartTime ?? 120 } } : {}),
  };
}

const familyOf = familyOfText;
const AFI: Record<Family, Afi> = { 4: Afi.ipv4, 6: Afi.ipv6 };

interface PeerState {
  readonly cfg: SpeakerPeerConfig;
  readonly actor: Actor<typeof bgpSessionMachine>;
  /** Adj-RIB-Out: prefix → attrsKey, only while Established. */
  readonly sent: Map<string, string>;
  /** The attributes behind `sent` (shared per UPDATE group), for `mooringctl routes`. */
  readonly sentAttrs: Map<string, RouteAttrs>;
  negotiated: Negotiated | undefined;
  readonly metrics: PeerMetrics;
  /** Adj-RIB-In prefixes (counted for the session status; never installed). */
  readonly received: Set<string>;
}

export class BgpSpeaker {
  private readonly peers = new Map<string, PeerState>();
  private desired = new Map<string, Map<string, RouteAttrs>>();

  constructor(
    private readonly opts: {
      nodeName: string;
      peers: readonly SpeakerPeerConfig[];
      transport: AnyActorLogic;
      onEvent?: (e: SpeakerEvent) => void;
      /** XState clock (a SimulatedClock in tests). */
      clock?: ActorOptions<AnyActorLogic>['clock'];
    },
  ) {
    for (const cfg of opts.peers) {
      const machine = bgpSessionMachine.provide({ actors: { bgpTransport: opts.transport as never } });
      const actor = createActor(machine, { input: sessionInput(cfg, opts.nodeName), ...(opts.clock ? { clock: opts.clock } : {}) });
      const st: PeerState = {
        cfg,
        actor,
        sent: new Map(),
        negotiated: undefined,
        metrics: {
          metallb_bgp_session_up: 0,
          metallb_bgp_updates_total: 0,
          metallb_bgp_announced_prefixes_total: 0,
          metallb_bgp_pending_prefixes_total: 0,
          mooring_bgp_session_state: 'idle',
          mooring_bgp_nlri_total: 0,
          mooring_bgp_encode_errors_total: 0,
          mooring_bgp_received_prefixes: 0,
        },
        received: new Set(),
        sentAttrs: new Map(),
      };
      this.peers.set(cfg.name, st);
      actor.on('session.established', (e) => {
        st.negotiated = e.negotiated;
        st.sent.clear();
        st.sentAttrs.clear();
        st.metrics.metallb_bgp_session_up = 1;
        this.emit({ event: 'sessionUp', peer: cfg.name, negotiated: e.negotiated });
        this.sync(st, true);
      });
      actor.on('session.down', (e) => {
        st.negotiated = undefined;
        st.sent.clear();
        st.sentAttrs.clear();
        st.metrics.metallb_bgp_session_up = 0;
        st.metrics.metallb_bgp_announced_prefixes_total = 0;
        st.received.clear();
        st.metrics.mooring_bgp_received_prefixes = 0;
        this.emit({ event: 'sessionDown', peer: cfg.name, reason: e.reason, detail: e.detail });
      });
      actor.on('session.updateReceived', ({ update: u }) => {
        for (const p of u.withdrawn) st.received.delete(p);
        for (const p of u.attrs.mpUnreach?.withdrawn ?? []) st.received.delete(p);
        for (const p of u.nlri) st.received.add(p);
        for (const p of u.attrs.mpReach?.nlri ?? []) st.received.add(p);
        st.metrics.mooring_bgp_received_prefixes = st.received.size;
      });
      actor.on('session.routeRefresh', (e) => {
        this.emit({ event: 'routeRefresh', peer: cfg.name, afi: e.afi });
        const fam: Family = e.afi === Afi.ipv6 ? 6 : 4;
        for (const p of [...st.sent.keys()]) if (familyOf(p) === fam) st.sent.delete(p); // sentAttrs: rewritten by the resend
        this.sync(st, false);
      });
      let prev = 'idle';
      actor.subscribe((s) => {
        const v = s.value;
        const top = typeof v === 'string' ? v : (Object.keys(v)[0] ?? '');
        // tcp's substate: a name when atomic (connect, openSent, openConfirm), an object when compound (established).
        const sub = top === 'tcp' && typeof v === 'object' ? (v as Record<string, unknown>).tcp : undefined;
        const inner = typeof sub === 'string' ? sub : sub && typeof sub === 'object' ? (Object.keys(sub)[0] ?? top) : top;
        const state = inner === 'closing' ? prev : inner;
        if (state !== prev) {
          this.emit({ event: 'stateChanged', peer: cfg.name, from: prev, to: state });
          prev = state;
          st.metrics.mooring_bgp_session_state = state;
        }
      });
    }
  }

  start(): void {
    for (const p of this.peers.values()) p.actor.start();
  }

  /** Replaces the desired routes (peer name → prefix → attributes) and sends the differences. */
  setRoutes(desired: Map<string, Map<string, RouteAttrs>>): void {
    this.desired = desired;
    for (const st of this.peers.values()) {
      st.metrics.metallb_bgp_pending_prefixes_total = desired.get(st.cfg.name)?.size ?? 0;
      this.sync(st, false);
    }
  }

  /** Forwards BFD state to a peer's session (issue 5 couples its bfdSession here). */
  bfd(peer: string, up: boolean): void {
    this.peers.get(peer)?.actor.send({ type: up ? 'bfd.up' : 'bfd.down' });
  }

  /**
   * Stops every session: CEASE, or — for peers with graceful restart when `graceful` — close
   * without NOTIFICATION so the router keeps our routes for the restart time (RFC 4724).
   */
  stop(graceful: boolean): void {
    for (const st of this.peers.values()) {
      st.actor.send({ type: 'admin.down', graceful: graceful && st.cfg.enableGracefulRestart === true });
      st.actor.stop();
    }
  }

  metrics(): Record<string, PeerMetrics> {
    return Object.fromEntries([...this.peers].map(([k, v]) => [k, { ...v.metrics }]));
  }

  /**
   * What each peer holds from us (Adj-RIB-Out), every path attribute as sent: `mooringctl routes`
   * reads it from the speaker's monitoring port. Empty while a session is down.
   */
  adjRibOut(): AdjRibOut[] {
    return [...this.peers.values()].map((st) => {
      const n = st.negotiated;
      const sent = n
        ? [...st.sent.keys()].flatMap((p) => {
            const a = st.sentAttrs.get(p);
            return a ? [[p, a] as const] : [];
          })
        : [];
      const routes = adjRibOutRoutes(sent, {
        localAsn: st.cfg.myAsn,
        ebgp: n?.ebgp ?? false,
        nextHop: (p) => this.nextHop(st, familyOf(p)) ?? '',
      });
      return {
        peer: st.cfg.name,
        address: `${st.cfg.peerAddress}:${st.cfg.peerPort ?? 179}`,
        state: st.metrics.mooring_bgp_session_state,
        localAsn: st.cfg.myAsn,
        ...(st.cfg.peerAsn ? { peerAsn: st.cfg.peerAsn } : {}),
        ...(n
          ? {
              ebgp: n.ebgp,
              routerId: n.routerId,
              peerRouterId: n.peerRouterId,
              families: [...n.families].map((f) => (f === 4 ? 'ipv4' : 'ipv6')),
            }
          : {}),
        routes,
      };
    });
  }

  state(peer: string): string | undefined {
    return this.peers.get(peer)?.metrics.mooring_bgp_session_state;
  }

  private emit(e: SpeakerEvent): void {
    this.opts.onEvent?.(e);
  }

  private nextHop(st: PeerState, fam: Family): string | undefined {
    const nh = this.nextHops(st, fam);
    return nh && (nh.linkLocal ? `${nh.nextHop},${nh.linkLocal}` : nh.nextHop);
  }

  /**
   * The next hop of a family on this session: the configured one, else our address on the
   * connection. Unnumbered (our address is link-local): IPv6 routes go with it, as the second
   * (link-local) next hop after a configured global one (32 octets) or alone (16); IPv4 routes
   * the same way when both sides advertised RFC 8950 extended next hop, else not at all.
   */
  private nextHops(st: PeerState, fam: Family): { nextHop: string; linkLocal?: string } | undefined {
    const n = st.negotiated;
    if (!n) return undefined;
    const local = n.localAddress.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1').replace(/%.*$/, '');
    const localFam = familyOfText(local);
    const ll = localFam === 6 && isLinkLocalText(local) ? local : undefined;
    const v6 = (): { nextHop: string; linkLocal?: string } | undefined =>
      ll ? (st.cfg.nextHopIpv6 ? { nextHop: st.cfg.nextHopIpv6, linkLocal: ll } : { nextHop: ll }) : undefined;
    if (fam === 4) {
      if (st.cfg.nextHopIpv4) return { nextHop: st.cfg.nextHopIpv4 };
      if (localFam === 4) return { nextHop: local };
      return n.extendedNextHopIpv4 ? v6() : undefined;
    }
    if (ll) return v6();
    const nh = st.cfg.nextHopIpv6 ?? (localFam === 6 ? local : undefined);
    return nh === undefined ? undefined : { nextHop: nh };
  }

  private sync(st: PeerState, initial: boolean): void {
    const n = st.negotiated;
    if (!n) return;
    const desired = new Map<string, RouteAttrs>();
    const usable = new Map<Family, { nextHop: string; linkLocal?: string }>();
    for (const fam of n.families) {
      const nh = this.nextHops(st, fam);
      if (nh) usable.set(fam, nh);
      else if (initial) this.emit({ event: 'nextHopMissing', peer: st.cfg.name, family: fam });
    }
    for (const [p, a] of this.desired.get(st.cfg.name) ?? []) if (usable.has(familyOf(p))) desired.set(p, a);
    const diff = diffRoutes(st.sent, desired);
    const messages: Uint8Array[] = [];
    const ebgp = n.ebgp;
    let announced = 0;
    const refused = new Set<string>();
    for (const fam of usable.keys()) {
      const wd = diff.withdraw.filter((p) => familyOf(p) === fam);
      if (wd.length > 0) messages.push(...this.encode(st, fam, wd, refused, (ps) => buildWithdrawals(AFI[fam], ps)));
      for (const g of diff.announce) {
        const prefixes = g.prefixes.filter((p) => familyOf(p) === fam);
        if (prefixes.length === 0) continue;
        const before = refused.size;
        messages.push(
          ...this.encode(st, fam, prefixes, refused, (ps) =>
            buildAnnouncements(
              AFI[fam],
              ps,
              {
                origin: Origin.igp,
                asPath: originatedAsPath(st.cfg.myAsn, ebgp, g.attrs.asPathPrepend),
                nextHop: usable.get(fam)?.nextHop as string,
                ...(!ebgp ? { localPref: g.attrs.localPref ?? 100 } : {}),
                ...(g.attrs.communities.length > 0 ? { communities: g.attrs.communities } : {}),
                ...(g.attrs.largeCommunities.length > 0 ? { largeCommunities: g.attrs.largeCommunities } : {}),
              },
              { as4: n.as4 },
              usable.get(fam)?.linkLocal,
            ),
          ),
        );
        announced += prefixes.length - (refused.size - before);
      }
    }
    for (const p of diff.withdraw)
      if (!refused.has(p)) {
        st.sent.delete(p);
        st.sentAttrs.delete(p);
      }
    for (const g of diff.announce)
      for (const p of g.prefixes)
        if (usable.has(familyOf(p)) && !refused.has(p)) {
          st.sent.set(p, attrsKey(g.attrs));
          st.sentAttrs.set(p, g.attrs);
        }
    const updates = messages.length;
    if (initial)
      for (const fam of n.families) {
        messages.push(endOfRib(AFI[fam]));
      }
    if (messages.length > 0) st.actor.send({ type: 'routes.send', messages });
    st.metrics.metallb_bgp_updates_total += updates;
    st.metrics.mooring_bgp_nlri_total += announced + diff.withdraw.length;
    st.metrics.metallb_bgp_announced_prefixes_total = st.sent.size;
    if (updates > 0) {
      this.emit({
        event: 'routesSent',
        peer: st.cfg.name,
        updates,
        announced,
        withdrawn: diff.withdraw.length,
        nlriPerUpdate: Math.round((announced + diff.withdraw.length) / updates),
      });
    }
    if (initial) for (const fam of n.families) this.emit({ event: 'endOfRib', peer: st.cfg.name, family: fam });
  }

  /**
   * Runs an UPDATE builder over `prefixes`. Prefixes it refuses (they do not parse, or are of
   * another family) are reported, counted, added to `refused` and left out; the rest are built. A
   * fault that is not a prefix's (a bad next hop) refuses them all.
   */
  private encode(
    st: PeerState,
    fam: Family,
    prefixes: readonly string[],
    refused: Set<string>,
    build: (ps: readonly string[]) => Result<Uint8Array[], EncodeError>,
  ): Uint8Array[] {
    let r = build(prefixes);
    if (!r.ok && r.error.prefixes.length > 0) {
      this.refuse(st, fam, r.error.prefixes, r.error.message, refused);
      const bad = new Set(r.error.prefixes);
      const rest = prefixes.filter((p) => !bad.has(p));
      if (rest.length === 0) return [];
      r = build(rest);
    }
    if (r.ok) return r.value;
    this.refuse(
      st,
      fam,
      prefixes.filter((p) => !refused.has(p)),
      r.error.message,
      refused,
    );
    return [];
  }

  private refuse(st: PeerState, fam: Family, prefixes: readonly string[], error: string, refused: Set<string>): void {
    for (const p of prefixes) refused.add(p);
    st.metrics.mooring_bgp_encode_errors_total += prefixes.length;
    this.emit({ event: 'routesRefused', peer: st.cfg.name, family: fam, prefixes: prefixes.length, error });
  }
}

/** Prefix list → desired routes for every peer with the same attributes (bench/test shortcut). */
export function uniformRoutes(
  peers: readonly string[],
  prefixes: readonly string[],
  attrs: RouteAttrs,
): Map<string, Map<string, RouteAttrs>> {
  const m = new Map<string, RouteAttrs>();
  for (const p of prefixes) {
    const c = canonicalPrefix(p);
    if (c) m.set(c, attrs);
  }
  return new Map(peers.map((p) => [p, m]));
}
