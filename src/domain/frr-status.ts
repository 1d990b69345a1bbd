// The FRR backend's read-back, pure: FRR's `show bgp vrf all neighbors json` and `show bfd peers
// json` as one view per peer (by the rendered `description`, the BGPPeer's name), and the change
// from one read to the next as the events the native speaker emits (stateChanged, sessionUp,
// sessionDown with the same typed reasons, bfdState), which the session status
// (src/actors/session-status.ts) and the state feed consume. FRR 8.4's field names; fixtures
// captured from a real FRR are in test/fixtures/frr (scripts/capture-frr-status.ts).
import { describeNotification } from '../codecs/bgp/simple.js';
import type { IpFamily } from './ip-family.js';

/** FRR's bgpState → the native session's state names. */
const STATES: Readonly<Record<string, string>> = {
  Idle: 'idle',
  Connect: 'connect',
  Active: 'active',
  OpenSent: 'openSent',
  OpenConfirm: 'openConfirm',
  Established: 'established',
};

/** FRR's BFD status (bfdd's `show bfd peers json`, bgpd's peerBfdInfo) → the native BFD state names. */
const BFD_STATES: Readonly<Record<string, string>> = {
  up: 'up',
  down: 'down',
  init: 'init',
  shutdown: 'adminDown',
  'admin down': 'adminDown',
  admindown: 'adminDown',
};
export const frrBfdState = (s: string | undefined): string | undefined => (s === undefined ? undefined : BFD_STATES[s.toLowerCase()]);

/** What an established session agreed, as far as FRR shows it (the native speaker's `Negotiated`). */
export interface FrrSession {
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly as4: boolean;
  readonly families: readonly IpFamily[];
  readonly peerRouterId: string;
  readonly routerId: string;
  readonly ebgp: boolean;
  readonly peerGracefulRestart: boolean;
  readonly routeRefresh: boolean;
  readonly localAddress: string;
}

/** One neighbor as read back. */
export interface FrrNeighborView {
  /** Native state names (idle … established). */
  readonly state: string;
  readonly vrf: string;
  /** The neighbor's key in FRR (address, or interface for an unnumbered peer). */
  readonly neighbor: string;
  readonly updatesSent: number;
  readonly prefixesSent: number;
  readonly prefixesReceived: number;
  /** FRR's connectionsDropped: established sessions lost so far. */
  readonly dropped: number;
  /** Why the session last went down (only meaningful when `dropped` moves: FRR rewrites its reset reason on later attempts too). */
  readonly lastDown?: DownCause;
  /** FRR's own words for the last reset. */
  readonly lastResetDueTo?: string;
  /** NOTIFICATIONs sent and received so far (FRR's messageStats): each refused attempt adds one. */
  readonly notifications: number;
  /**
   * Why the last attempt was refused, when it ended in a NOTIFICATION before Established (a wrong
   * peer AS, an OPEN the peer refused): FRR counts no drop then, but says why.
   */
  readonly refused?: DownCause;
  /** BFD state in native names, when the peer has BFD. */
  readonly bfd?: string;
  readonly session?: FrrSession;
  /** When an established session came up (FRR's bgpTimerUpEstablishedEpoch), RFC 3339. */
  readonly upSince?: string;
}

export interface DownCause {
  readonly reason: string;
  readonly detail: string;
}

interface NeighborJson {
  nbrDesc?: string;
  bgpState?: string;
  nbrExternalLink?: boolean;
  remoteRouterId?: string;
  localRouterId?: string;
  bgpTimerHoldTimeMsecs?: number;
  bgpTimerKeepAliveIntervalMsecs?: number;
  neighborCapabilities?: {
    '4byteAs'?: string;
    routeRefresh?: string;
    gracefulRestart?: string;
    multiprotocolExtensions?: Record<string, { advertisedAndReceived?: boolean }>;
  };
  messageStats?: { updatesSent?: number; notificationsSent?: number; notificationsRecv?: number };
  addressFamilyInfo?: Record<string, { sentPrefixCounter?: number; acceptedPrefixCounter?: number }>;
  connectionsDropped?: number;
  lastResetDueTo?: string;
  lastErrorCodeSubcode?: string;
  lastNotificationReason?: string;
  hostLocal?: string;
  hostForeign?: string;
  peerBfdInfo?: { status?: string };
  bgpTimerUpEstablishedEpoch?: number;
}

interface BfdPeerJson {
  peer?: string;
  vrf?: string;
  interface?: string;
  status?: string;
}

/** FRR's reset reasons that are configuration changes on our side (bgpd.c peer_down_str). */
const ADMIN_RESETS = new Set([
  'Admin. shutdown',
  'User reset',
  'Neighbor deleted',
  'Router ID changed',
  'Remote AS changed',
  'Local AS change',
  'Cluster ID changed',
  'Confederation identifier changed',
  'Confederation peer changed',
  'RR client config change',
  'RS client config change',
  'Update source change',
  'Address family activated',
  'Peer-group add member',
  'Peer-group delete member',
  'Capability changed',
  'Passive config change',
  'Multihop config change',
  'Intf peering v6only config change',
  'AS Set config change',
]);
/** Resets where the connection itself went away. */
const CONNECTION_RESETS = new Set([
  'Peer closed the session',
  'NSF peer closed the session',
  'Socket Error',
  'Interface down',
  'Neighbor address lost',
  'Waiting for NHT',
]);

/**
 * FRR's last reset of a neighbor as the native speaker's typed down reason (adminDown,
 * notificationReceived, notificationSent, holdTimerExpired, bfdDown, badPeerAs, connectionClosed),
 * with a detail in the native speaker's words; FRR's own reason when nothing maps (`other`).
 */
export function frrDownCause(n: Pick<NeighborJson, 'lastResetDueTo' | 'lastErrorCodeSubcode' | 'lastNotificationReason'>): DownCause {
  const due = n.lastResetDueTo ?? '';
  const hex = /^[0-9a-f]{4}$/i.test(n.lastErrorCodeSubcode ?? '') ? (n.lastErrorCodeSubcode as string) : undefined;
  const code = hex ? parseInt(hex.slice(0, 2), 16) : undefined;
  const subcode = hex ? parseInt(hex.slice(2), 16) : 0;
  const text = (c: number, s: number) => {
    const d = describeNotification(c, s);
    // A subcode our table lacks (RFC 9384's 6/10 BFD down): FRR's own name for it.
    return d.includes('(subcode') && n.lastNotificationReason ? n.lastNotificationReason : d;
  };
  if (due === 'BGP Notification received' && code !== undefined)
    return { reason: 'notificationReceived', detail: `peer sent NOTIFICATION ${code}/${subcode}: ${text(code, subcode)}` };
  if (due === 'BGP Notification send' && code !== undefined) {
    if (code === 4) return { reason: 'holdTimerExpired', detail: 'no message from the peer within the hold time' };
    if (code === 6 && subcode === 10) return { reason: 'bfdDown', detail: 'BFD session down' };
    if (code === 2 && subcode === 2) return { reason: 'badPeerAs', detail: `sent NOTIFICATION 2/2: ${text(2, 2)}` };
    return { reason: 'notificationSent', detail: `sent NOTIFICATION ${code}/${subcode}: ${text(code, subcode)}` };
  }
  if (due === 'BFD down received') return { reason: 'bfdDown', detail: 'BFD session down' };
  if (due === 'Reached received prefix count') return { reason: 'notificationSent', detail: 'maximum number of prefixes reached' };
  if (ADMIN_RESETS.has(due)) return { reason: 'adminDown', detail: `administratively down (FRR: ${due})` };
  if (CONNECTION_RESETS.has(due)) return { reason: 'connectionClosed', detail: `connection closed (FRR: ${due})` };
  return { reason: 'other', detail: `FRR: ${due || 'no reason given'}` };
}

/** The last reset was a NOTIFICATION (sent or received) with its code: a reason FRR can name. */
const refusal = (x: NeighborJson): boolean =>
  (x.lastResetDueTo === 'BGP Notification send' || x.lastResetDueTo === 'BGP Notification received') &&
  /^[0-9a-f]{4}$/i.test(x.lastErrorCodeSubcode ?? '');

const sum = (afs: NeighborJson['addressFamilyInfo'], k: 'sentPrefixCounter' | 'acceptedPrefixCounter') =>
  Object.values(afs ?? {}).reduce((a, f) => a + (f[k] ?? 0), 0);

function sessionOf(x: NeighborJson): FrrSession {
  const caps = x.neighborCapabilities ?? {};
  const both = (s: string | undefined) => s !== undefined && s.startsWith('advertisedAndReceived');
  const families: IpFamily[] = [];
  for (const [af, v] of Object.entries(caps.multiprotocolExtensions ?? {}))
    if (v.advertisedAndReceived) {
      const f = af.startsWith('ipv4') ? 4 : af.startsWith('ipv6') ? 6 : undefined;
      if (f && !families.includes(f)) families.push(f);
    }
  return {
    holdTime: Math.round((x.bgpTimerHoldTimeMsecs ?? 0) / 1000),
    keepaliveTime: Math.round((x.bgpTimerKeepAliveIntervalMsecs ?? 0) / 1000),
    as4: both(caps['4byteAs']),
    families: families.sort(),
    peerRouterId: x.remoteRouterId ?? '',
    routerId: x.localRouterId ?? '',
    ebgp: x.nbrExternalLink === true,
    peerGracefulRestart: both(caps.gracefulRestart) || caps.gracefulRestart === 'received',
    routeRefresh: both(caps.routeRefresh) || (caps.routeRefresh ?? '').startsWith('received'),
    localAddress: x.hostLocal ?? '',
  };
}

/**
 * `show bgp vrf all neighbors json` (and `show bfd peers json` when read) → one view per peer,
 * keyed by the neighbor's description (the BGPPeer's name; neighbors without one are not ours).
 * A neighbor's BFD state comes from bfdd's session to the same address in the same VRF, else from
 * bgpd's own peerBfdInfo. Anything but the expected shapes gives an empty map.
 */
export function frrReadBack(neighbors: unknown, bfdPeers?: unknown): Map<string, FrrNeighborView> {
  const out = new Map<string, FrrNeighborView>();
  if (!neighbors || typeof neighbors !== 'object') return out;
  const bfd = Array.isArray(bfdPeers) ? (bfdPeers as BfdPeerJson[]) : [];
  for (const [vrfKey, vrf] of Object.entries(neighbors as Record<string, unknown>)) {
    if (!vrf || typeof vrf !== 'object') continue;
    const vrfName = typeof (vrf as { vrfName?: unknown }).vrfName === 'string' ? (vrf as { vrfName: string }).vrfName : vrfKey;
    for (const [key, n] of Object.entries(vrf as Record<string, unknown>)) {
      if (!n || typeof n !== 'object') continue;
      const x = n as NeighborJson;
      if (!x.nbrDesc || !x.bgpState) continue;
      const state = STATES[x.bgpState] ?? 'idle';
      const fromBfdd = bfd.find(
        (b) => (b.vrf ?? 'default') === vrfName && (b.peer === key || (!!x.hostForeign && b.peer === x.hostForeign)),
      );
      const bfdState = frrBfdState(fromBfdd?.status) ?? frrBfdState(x.peerBfdInfo?.status);
      out.set(x.nbrDesc, {
        state,
        vrf: vrfName === 'default' ? '' : vrfName,
        neighbor: key,
        updatesSent: x.messageStats?.updatesSent ?? 0,
        prefixesSent: sum(x.addressFamilyInfo, 'sentPrefixCounter'),
        prefixesReceived: sum(x.addressFamilyInfo, 'acceptedPrefixCounter'),
        dropped: x.connectionsDropped ?? 0,
        ...((x.connectionsDropped ?? 0) > 0 ? { lastDown: frrDownCause(x) } : {}),
        ...(x.lastResetDueTo ? { lastResetDueTo: x.lastResetDueTo } : {}),
        notifications: (x.messageStats?.notificationsSent ?? 0) + (x.messageStats?.notificationsRecv ?? 0),
        ...(state !== 'established' && refusal(x) ? { refused: frrDownCause(x) } : {}),
        ...(bfdState ? { bfd: bfdState } : {}),
        ...(state === 'established' ? { session: sessionOf(x) } : {}),
        ...(state === 'established' && typeof x.bgpTimerUpEstablishedEpoch === 'number' && x.bgpTimerUpEstablishedEpoch > 0
          ? { upSince: new Date(x.bgpTimerUpEstablishedEpoch * 1000).toISOString().replace(/\.\d+Z$/, 'Z') }
          : {}),
      });
    }
  }
  return out;
}

/** The events of one read-back against the previous one, in the native speaker's shapes. */
export type FrrSessionEvent =
  | { readonly event: 'stateChanged'; readonly peer: string; readonly from: string; readonly to: string; readonly since?: string }
  | { readonly event: 'sessionUp'; readonly peer: string; readonly session: FrrSession; readonly since?: string }
  | { readonly event: 'sessionDown'; readonly peer: string; readonly reason: string; readonly detail: string }
  | { readonly event: 'bfdState'; readonly peer: string; readonly from: string; readonly to: string };

/**
 * What changed between two read-backs, as events: a session that left Established, or whose
 * connectionsDropped moved (a flap between two reads included), gives sessionDown with FRR's
 * reset reason mapped (frrDownCause); one that reached Established gives sessionUp; every state
 * change stateChanged; a BFD change bfdState. A peer seen for the first time starts from idle
 * (BFD from down) and its earlier drops are history, not events; an established one carries FRR's
 * uptime as `since`. An attempt refused before Established (FRR counts no drop: a wrong peer AS,
 * an OPEN the peer refused) gives sessionDown with the NOTIFICATION's reason, as the native
 * speaker's refused session does: each time FRR's NOTIFICATION count moves while not established,
 * and for a peer first seen not established with such a refusal on record.
 */
export function frrSessionEvents(
  prev: ReadonlyMap<string, FrrNeighborView>,
  next: ReadonlyMap<string, FrrNeighborView>,
): FrrSessionEvent[] {
  const out: FrrSessionEvent[] = [];
  for (const [peer, n] of next) {
    const p = prev.get(peer);
    const from = p?.state ?? 'idle';
    const dropped = p !== undefined && (n.dropped > p.dropped || (from === 'established' && n.state !== 'established'));
    if (dropped) {
      const cause = n.lastDown ?? frrDownCause(n.lastResetDueTo ? { lastResetDueTo: n.lastResetDueTo } : {});
      out.push({ event: 'sessionDown', peer, reason: cause.reason, detail: cause.detail });
      // Down and up again between two reads: the passage through idle is shown too.
      if (from === 'established' && n.state === 'established') out.push({ event: 'stateChanged', peer, from, to: 'idle' });
    }
    // Refused before Established: one event per refused attempt seen (FRR keeps only the last reason).
    const refused = !dropped && n.refused && (p === undefined ? n.dropped === 0 : n.notifications > p.notifications);
    if (refused && n.refused) out.push({ event: 'sessionDown', peer, reason: n.refused.reason, detail: n.refused.detail });
    const before = dropped && from === 'established' && n.state === 'established' ? 'idle' : from;
    // An established session says since when (FRR's uptime: right after a speaker restart too).
    const since = n.state === 'established' && n.upSince ? { since: n.upSince } : {};
    if (n.state !== before) out.push({ event: 'stateChanged', peer, from: before, to: n.state, ...since });
    if (n.state === 'established' && before !== 'established' && n.session)
      out.push({ event: 'sessionUp', peer, session: n.session, ...since });
    const bfdFrom = p?.bfd ?? 'down';
    if (n.bfd !== undefined && n.bfd !== bfdFrom) out.push({ event: 'bfdState', peer, from: bfdFrom, to: n.bfd });
  }
  return out;
}
