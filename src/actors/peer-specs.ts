// The config's BGPPeers selecting this node → peer specs, and the peers this node refuses: what
// the speaker's loop (src/actors/speaker-node.ts) needs without loading the BGP/BFD runtime
// (src/actors/bgp-peers.ts is imported only once a peer applies; the speaker idles lighter).
import type { SpeakerPeerConfig } from './bgp-speaker.js';
import type { BfdProfileSettings } from '../domain/bfd-profile.js';
import { bgpWaitsForBfd, peerUsesBfd } from '../domain/bfd-coupling.js';
import { sessionLocalAsn } from '../domain/bgp-advertisements.js';
import { nativePeerLimits, type BfdProfile, type Peer } from '../domain/config.js';
import { frrPeerLimits, type FrrPeer } from '../domain/frr-config.js';

/** Structured logs (the JSON logger satisfies it). */
export interface LogPort {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** One BGP peer and, when it has a BFD profile, its BFD session. */
export interface PeerSpec {
  readonly bgp: SpeakerPeerConfig;
  readonly bfd?: {
    /** The peer's address for BFD (usually the BGP peer address). */
    readonly address: string;
    /** Local address to send from (default: the port's address of the family). */
    readonly local?: string;
    /** RFC 5883 multi-hop session (UDP 4784) instead of single hop (RFC 5881, UDP 3784). */
    readonly multihop: boolean;
    readonly profile: BfdProfileSettings;
    /** The BFDProfile's name (the FRR backend renders it as a `bfd profile`). */
    readonly profileName?: string;
  };
}

/** A BGPPeer of the config → the session settings (MetalLB semantics). */
export function peerConfig(p: Peer): SpeakerPeerConfig {
  return {
    name: p.name,
    peerAddress: p.address ?? '',
    peerPort: p.port,
    // localASN (local-as … replace-as) stands in for myASN on this session: OPEN and AS_PATH.
    myAsn: sessionLocalAsn(p),
    // dynamicASN: the peer's ASN comes from its OPEN (same as ours for internal, any other for external).
    peerAsn: p.peerASN ?? (p.dynamicASN === 'internal' ? sessionLocalAsn(p) : 0),
    ...(p.dynamicASN ? { dynamicAsn: p.dynamicASN } : {}),
    holdTime: p.holdTimeMs / 1000,
    keepaliveTime: p.keepaliveTimeMs / 1000,
    ...(p.routerID ? { routerId: p.routerID } : {}),
    ...(p.sourceAddress ? { sourceAddress: p.sourceAddress } : {}),
    ...(p.password ? { password: p.password } : {}),
    ebgpMultiHop: p.ebgpMultiHop,
    enableGracefulRestart: p.enableGracefulRestart,
    ...(p.connectTimeMs !== undefined ? { connectTimeMs: p.connectTimeMs } : {}),
    ...(p.dualStackAddressFamily ? { families: ['ipv4', 'ipv6'] as const } : {}),
    // With a BFD profile, the session drops when BFD does; a single-hop one also does not come up
    // while BFD is down (bgpWaitsForBfd: a multi-hop router may register BFD only after BGP).
    ...(bgpWaitsForBfd(p) ? { bfdRequired: true } : {}),
    ...(p.vrf ? { vrf: p.vrf } : {}),
    ...(p.interface ? { interface: p.interface } : {}),
    ...(p.localASN ? { localAsn: p.localASN } : {}),
  };
}

/** The BGPPeer fields a backend cannot honour ([] when it runs the peer): nativePeerLimits, frrPeerLimits. */
export type PeerLimits = (p: Peer) => Array<{ field: string; value: string; message: string }>;

/** What the FRR backend cannot render (FRR takes VRFs, unnumbered peers and local-as). */
export const frrBackendPeerLimits: PeerLimits = (p) =>
  frrPeerLimits(frrPeerOf(p)).map((r) => ({
    field: r.field,
    value: r.field === 'spec.password' ? '(hidden)' : String(p[r.field.replace(/^spec\./, '') as keyof Peer] ?? ''),
    message: r.message,
  }));

/** The renderer's view of a BGPPeer, for its limits. */
function frrPeerOf(p: Peer): FrrPeer {
  return {
    name: p.name,
    ...(p.address ? { address: p.address } : {}),
    ...(p.interface ? { interface: p.interface } : {}),
    ...(p.vrf ? { vrf: p.vrf } : {}),
    ...(p.password ? { password: p.password } : {}),
    ...(p.bfdProfile ? { bfdProfile: p.bfdProfile } : {}),
    myAsn: p.myASN,
    peerAsn: p.peerASN ?? 0,
  };
}

/** A BGPPeer this node refuses: a field the native backend cannot honour (no session is started). */
export interface PeerRefusal {
  readonly kind: 'BGPPeer';
  readonly name: string;
  readonly field: string;
  readonly value: string;
  readonly message: string;
}

/** The peers selecting this node that it refuses, one entry per unsupported field (peerSpecs leaves them out). */
export function refusedPeers(peers: readonly Peer[], limits: PeerLimits = nativePeerLimits): PeerRefusal[] {
  return peers.flatMap((p) => limits(p).map((u) => ({ kind: 'BGPPeer' as const, name: p.name, ...u })));
}

/** One line per refusal, for ConfigurationState's errorSummary. */
export function formatRefusals(rs: readonly PeerRefusal[]): string {
  return rs.map((r) => `${r.kind}/${r.name}: ${r.field}: ${JSON.stringify(r.value)}: refused on this node: ${r.message}`).join('; ');
}

/**
 * The config's BGPPeers selecting this node → peer specs (peers refusedPeers names are left out). A peer naming a bfdProfile gets a BFD
 * session with that profile's settings (multi-hop for an ebgpMultiHop peer); a profile that does
 * not exist gives the defaults, as before.
 */
export function peerSpecs(peers: readonly Peer[], profiles: readonly BfdProfile[], limits: PeerLimits = nativePeerLimits): PeerSpec[] {
  return peers
    .filter((p) => (p.address || p.interface) && limits(p).length === 0)
    .map((p) => {
      const bgp = peerConfig(p);
      if (!peerUsesBfd(p) || !p.address) return { bgp };
      const profile = profiles.find((b) => b.name === p.bfdProfile);
      return {
        bgp,
        bfd: { address: p.address, multihop: p.ebgpMultiHop, profile: profile ?? {}, ...(profile ? { profileName: profile.name } : {}) },
      };
    });
}
