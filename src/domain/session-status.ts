// Per-peer BGP session status of one node (pure: time is an argument): what the speaker writes to
// its BGPSessionState objects (src/api/mooring.ts) and the Events it records on the BGPPeer when a
// session comes up or goes down, from the peer supervisor's events.
import type { BGPSessionStateStatus } from '../api/mooring.js';

/** The supervisor's events this module reads (a subset of SpeakerEvent | BfdPeerEvent). */
export type SessionInput =
  /** `since`: when the state was entered, if the source knows better than the time it is told (FRR's session uptime). */
  | { readonly event: 'stateChanged'; readonly peer: string; readonly to: string; readonly since?: string }
  | { readonly event: 'sessionUp'; readonly peer: string; readonly since?: string }
  | { readonly event: 'sessionDown'; readonly peer: string; readonly reason: string; readonly detail: string }
  | { readonly event: 'bfdState'; readonly peer: string; readonly to: string };

export interface SessionView {
  readonly state: string;
  readonly since: string;
  readonly lastDown?: { readonly reason: string; readonly detail: string; readonly at: string };
  readonly bfd?: string;
}

/** RFC 4271 names of the session machine's states (src/machines/bgp-session.machine.ts). */
const RFC_STATE: Readonly<Record<string, string>> = {
  idle: 'Idle',
  connect: 'Connect',
  active: 'Active',
  openSent: 'OpenSent',
  openConfirm: 'OpenConfirm',
  established: 'Established',
};
export const rfcState = (s: string): string => RFC_STATE[s] ?? s;

export const SessionEventReason = { up: 'BGPSessionUp', down: 'BGPSessionDown' } as const;

export interface SessionEvent {
  readonly peer: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/**
 * One supervisor event applied to the views (a new map; unchanged entries shared), and the
 * Kubernetes Event it calls for: sessionUp → Normal BGPSessionUp, sessionDown → Warning
 * BGPSessionDown naming the typed reason and its detail.
 */
export function applySessionInput(
  views: ReadonlyMap<string, SessionView>,
  e: SessionInput,
  now: string,
  node: string,
): { views: Map<string, SessionView>; event?: SessionEvent } {
  const out = new Map(views);
  const cur = views.get(e.peer) ?? { state: 'Idle', since: now };
  switch (e.event) {
    case 'stateChanged': {
      const state = rfcState(e.to);
      if (state !== cur.state) out.set(e.peer, { ...cur, state, since: e.since ?? now });
      return { views: out };
    }
    case 'sessionUp':
      out.set(e.peer, { ...cur, state: 'Established', since: cur.state === 'Established' ? cur.since : (e.since ?? now) });
      return {
        views: out,
        event: { peer: e.peer, type: 'Normal', reason: SessionEventReason.up, message: `BGP session of node "${node}" Established` },
      };
    case 'sessionDown':
      out.set(e.peer, { ...cur, lastDown: { reason: e.reason, detail: e.detail, at: now } });
      return {
        views: out,
        event: {
          peer: e.peer,
          type: 'Warning',
          reason: SessionEventReason.down,
          message: `BGP session of node "${node}" down: ${e.reason}${e.detail ? `: ${e.detail}` : ''}`,
        },
      };
    case 'bfdState':
      if (cur.bfd !== e.to) out.set(e.peer, { ...cur, bfd: e.to });
      return { views: out };
  }
}

/** The status a BGPSessionState holds for one peer. */
export function sessionStatus(
  node: string,
  peer: string,
  v: SessionView,
  o: { address?: string; sent: number; received: number; vrf?: string },
): BGPSessionStateStatus {
  return {
    node,
    peer,
    ...(o.address ? { peerAddress: o.address } : {}),
    vrf: o.vrf ?? '',
    bgpStatus: v.state,
    since: v.since,
    ...(v.lastDown ? { lastDownReason: v.lastDown.reason, lastDownDetail: v.lastDown.detail, lastDownTime: v.lastDown.at } : {}),
    prefixesSent: o.sent,
    prefixesReceived: o.received,
    bfdStatus: v.bfd ?? '',
  };
}

/** The object name of node's session to peer: readable, within 253 characters, distinct per (node, peer). */
export function sessionStateName(node: string, peer: string, hash: (s: string) => string): string {
  const base = `${node}-${peer}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  return `${base.slice(0, 240)}-${hash(`${node}\n${peer}`).slice(0, 10)}`;
}
