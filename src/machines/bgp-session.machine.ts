// bgpSession: one BGP-4 session to one peer (RFC 4271 §8), active side only (as MetalLB's
// speaker: it connects, it never listens).
//
//   idle ──(idleHold, canStart)──▶ connect ──tcp.connected──▶ openSent ──OPEN ok──▶ openConfirm
//     ▲                              │ tcp.failed / connectTimeout          KEEPALIVE │
//     │                              ▼                                               ▼
//     └──── every down transition ── active ──(connectRetry)──▶ connect       established
//          (typed reason, failures++)
//
// Timers are named `after` delays computed from context (`connectRetry`, `idleHold`,
// `connectTimeout`, `openHoldTime`, `holdTime`, `keepaliveInterval`). Hold and keepalive run in
// parallel regions so that a received message re-arms only the hold timer; one definition
// (`timerRegions`) serves OpenConfirm and Established. Guards and actions are named in `setup()`;
// the reasons and details of the down transitions are in `DOWN` and the functions at the end of
// the file. Bytes leave through the invoked `bgpTransport` actor (`{ type: 'send', data }`),
// which reports `tcp.*` events and `bgp.frame`s; frames are decoded here (the codec needs the
// negotiated 4-octet AS flag) and re-raised as `bgp.open`, `bgp.keepalive`, `bgp.update`,
// `bgp.notification`, `bgp.routeRefresh` or `bgp.error`.
//
// The Adj-RIB-Out lives outside (the session runner): it listens to the emitted
// `session.established` / `session.down` / `session.routeRefresh` and pushes `routes.send`.
import { assign, emit, enqueueActions, fromCallback, setup } from 'xstate';
import {
  Afi,
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  OpenSubcode,
  Treatment,
  Safi,
  decodeMessage,
  describeNotification,
  encodeNotification,
  encodeOpen,
  frame,
  keepalive,
  MessageType,
  type BgpError,
  type Frame,
  type Open,
  type Update,
} from '../codecs/bgp/index.js';
import type { IpFamily } from '../domain/ip-family.js';

export const DownReason = {
  adminDown: 'adminDown',
  connectFailed: 'connectFailed',
  connectTimeout: 'connectTimeout',
  connectionClosed: 'connectionClosed',
  holdTimerExpired: 'holdTimerExpired',
  notificationReceived: 'notificationReceived',
  notificationSent: 'notificationSent',
  badPeerAs: 'badPeerAs',
  bfdDown: 'bfdDown',
  fsmError: 'fsmError',
} as const;
export type DownReason = (typeof DownReason)[keyof typeof DownReason];

/** An address family of the session (BGP config's 'ipv4'/'ipv6' convert at the edge: domain/ip-family.ts). */
export type Family = IpFamily;

/** What the transport needs to open the connection (bound in src/bin). */
export interface BgpTransportInput {
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly sourceAddress?: string;
  /** TCP-MD5 key (RFC 2385). Never logged. */
  readonly password?: string;
  /** Outgoing IP TTL / hop limit: 1 for single-hop eBGP, 255 for multihop or GTSM. */
  readonly ttl?: number;
  /** GTSM (RFC 5082): drop incoming segments with TTL below this (254 for one hop). */
  readonly minTtl?: number;
}

/** Whether an OPEN's ASN is the one configured (or, with dynamicASN, within its rule). */
export function peerAsAccepted(input: Pick<BgpSessionInput, 'localAsn' | 'peerAsn' | 'dynamicAsn'>, asn: number): boolean {
  if (input.dynamicAsn === 'internal') return asn === input.localAsn;
  if (input.dynamicAsn === 'external') return asn !== input.localAsn;
  return asn === input.peerAsn;
}

export interface BgpSessionInput {
  /** Label used in logs and metrics (MetalLB labels by peer address). */
  readonly peer: string;
  readonly localAsn: number;
  /** The peer's ASN; ignored when `dynamicAsn` is set (the OPEN's ASN is taken, within its rule). */
  readonly peerAsn: number;
  /** MetalLB's dynamicASN: accept the peer's ASN from its OPEN if equal to ours (internal) or different (external). */
  readonly dynamicAsn?: 'internal' | 'external';
  /** Configured router ID; when absent MetalLB's fallback applies at connect time. */
  readonly routerId?: string;
  readonly nodeName: string;
  /** Our hold time in seconds (0 = no keepalives, else >= 3). */
  readonly holdTime: number;
  /** Configured keepalive in seconds (defaults to holdTime / 3). */
  readonly keepaliveTime?: number;
  readonly families: readonly Family[];
  readonly transport: BgpTransportInput;
  readonly connectTimeoutMs?: number;
  /** ConnectRetry backoff: first delay and cap (ms). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Do not establish while BFD is down (BGPPeer with a bfdProfile). */
  readonly bfdRequired?: boolean;
  /** RFC 4724 restarting-speaker support: restart time in seconds. */
  readonly gracefulRestart?: { readonly restartTime: number };
  /** Start administratively down. */
  readonly adminDown?: boolean;
  /** Advertise RFC 8950 extended next hop for IPv4 unicast over IPv6 (unnumbered sessions). */
  readonly extendedNextHop?: boolean;
}

export interface Negotiated {
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly as4: boolean;
  readonly families: readonly Family[];
  readonly peerRouterId: string;
  readonly routerId: string;
  readonly ebgp: boolean;
  readonly peerGracefulRestart: boolean;
  readonly routeRefresh: boolean;
  /** Our address on the connection (the default next hop, as MetalLB). */
  readonly localAddress: string;
  /**
   * Both sides advertised RFC 8950 extended next hop for IPv4 unicast over IPv6: IPv4 routes
   * may be sent with an IPv6 next hop (only when we advertised it: `input.extendedNextHop`).
   */
  readonly extendedNextHopIpv4?: boolean;
  /** Capabilities in the peer's OPEN dropped as malformed (treated as not offered), for the logs. */
  readonly malformedCapabilities?: readonly string[];
}

export interface BgpSessionContext {
  readonly input: BgpSessionInput;
  routerId: string | undefined;
  localAddress: string | undefined;
  negotiated: Negotiated | undefined;
  /** Consecutive failures since the last Established (drives the backoff). */
  failures: number;
  bfdUp: boolean;
  adminUp: boolean;
  lastDown: { reason: DownReason; detail: string } | undefined;
  /** Whether this process has sent an OPEN before (graceful restart R bit on the first). */
  openCount: number;
  established: boolean;
  /** The down transition in progress (set by `down`, acted on by `commitDown`). */
  pendingDown: DownSpec | undefined;
}

export type BgpSessionEvent =
  | { type: 'tcp.connected'; localAddress: string; localIpv4OnInterface?: string }
  | { type: 'tcp.failed'; error: string }
  | { type: 'tcp.closed'; error?: string }
  | { type: 'bgp.frame'; frame: Frame }
  | { type: 'bgp.open'; open: Open }
  | { type: 'bgp.keepalive' }
  | { type: 'bgp.update'; update: Update }
  | { type: 'bgp.notification'; code: number; subcode: number; data: Uint8Array }
  | { type: 'bgp.routeRefresh'; afi: number; safi: number; subtype: number }
  | { type: 'bgp.error'; error: BgpError }
  | { type: 'bfd.up' }
  | { type: 'bfd.down' }
  | { type: 'admin.up' }
  /** `graceful`: close without NOTIFICATION so a graceful-restart helper keeps our routes. */
  | { type: 'admin.down'; graceful?: boolean }
  /** Pre-built UPDATE messages from the Adj-RIB-Out; dropped unless Established. */
  | { type: 'routes.send'; messages: readonly Uint8Array[] };

export type BgpSessionEmitted =
  | { type: 'session.established'; negotiated: Negotiated }
  | { type: 'session.down'; reason: DownReason; detail: string; wasEstablished: boolean }
  | { type: 'session.routeRefresh'; afi: number; safi: number }
  | { type: 'session.updateReceived'; update: Update };

export type TransportCommand = { type: 'send'; data: Uint8Array } | { type: 'close' };

const OPEN_HOLD_MS = 240_000; // RFC 4271 §8.2.2: "a large value", 4 minutes suggested.

const backoffMs = (ctx: BgpSessionContext): number => {
  const first = ctx.input.retryInitialMs ?? 1000;
  const max = ctx.input.retryMaxMs ?? 30_000;
  if (ctx.failures <= 0) return 0;
  return Math.min(max, first * 2 ** Math.min(ctx.failures - 1, 20));
};

/** RFC 4271 §4.2 / §10: hold time is the minimum of both; keepalive a third of it unless configured lower. */
export function negotiateTimers(ours: number, theirs: number, keepaliveConfigured?: number): { holdTime: number; keepaliveTime: number } {
  const holdTime = Math.min(ours, theirs);
  if (holdTime === 0) return { holdTime: 0, keepaliveTime: 0 };
  const third = Math.max(1, Math.floor(holdTime / 3));
  const keepaliveTime = keepaliveConfigured !== undefined && keepaliveConfigured > 0 ? Math.min(keepaliveConfigured, third) : third;
  return { holdTime, keepaliveTime };
}

/** crc32 (IEEE) for MetalLB's hashed router ID. */
function crc32(s: string): number {
  let c = 0xffffffff;
  for (const b of new TextEncoder().encode(s)) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * MetalLB's router-ID fallback (native.go getRouterID): the local IPv4 address of the
 * connection; for IPv6, the first IPv4 address on the same interface; else crc32(node name)
 * written little-endian.
 */
export function fallbackRouterId(localAddress: string, localIpv4OnInterface: string | undefined, nodeName: string): string {
  const v4 = localAddress.startsWith('::ffff:') ? localAddress.slice(7) : localAddress;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return v4;
  if (localIpv4OnInterface) return localIpv4OnInterface;
  const h = crc32(nodeName);
  return `${h & 0xff}.${(h >>> 8) & 0xff}.${(h >>> 16) & 0xff}.${h >>> 24}`;
}

const FAMILY_AFI: Record<Family, number> = { 4: Afi.ipv4, 6: Afi.ipv6 };

function buildOpen(ctx: BgpSessionContext): Uint8Array {
  const i = ctx.input;
  const gr = i.gracefulRestart;
  return frame(
    MessageType.open,
    encodeOpen({
      asn: i.localAsn,
      holdTime: i.holdTime,
      routerId: ctx.routerId ?? '0.0.0.0',
      capabilities: {
        multiprotocol: i.families.map((f) => ({ afi: FAMILY_AFI[f], safi: Safi.unicast })),
        routeRefresh: true,
        ...(i.extendedNextHop ? { extendedNextHop: [{ afi: Afi.ipv4, safi: Safi.unicast, nextHopAfi: Afi.ipv6 }] } : {}),
        fourOctetAs: i.localAsn,
        ...(gr
          ? {
              gracefulRestart: {
                // R bit on the first OPEN of this process: we may have restarted (RFC 4724 §3).
                restarting: ctx.openCount === 0,
                restartTime: gr.restartTime,
                // Forwarding state is the kernel's on the router side; ours is stateless: F set.
                families: i.families.map((f) => ({ afi: FAMILY_AFI[f], safi: Safi.unicast, forwardingPreserved: true })),
              },
            }
          : {}),
      },
    }),
  );
}

/** The shape of down-transition actions: reason + detail (+ optional NOTIFICATION sent first). */
export type DownSpec = {
  reason: DownReason;
  detail: string;
  notify?: { code: number; subcode: number; data?: Uint8Array };
  next?: 'active';
};

// The down transitions that carry no event data (those that do are built by the functions at the
// end of this file). `next: 'active'` ends in Active (RFC 4271 §8.2.2: a TCP failure before the
// peer's OPEN retries after ConnectRetry); the others go to Idle.
const CEASE_ADMIN_RESET = { code: ErrorCode.cease, subcode: CeaseSubcode.adminReset };
const CEASE_ADMIN_SHUTDOWN = { code: ErrorCode.cease, subcode: CeaseSubcode.adminShutdown };
const DOWN = {
  bfd: { reason: DownReason.bfdDown, detail: 'BFD session down' },
  bfdOnConnection: { reason: DownReason.bfdDown, detail: 'BFD session down', notify: CEASE_ADMIN_RESET },
  admin: { reason: DownReason.adminDown, detail: 'administratively down' },
  adminOnConnection: { reason: DownReason.adminDown, detail: 'administratively down', notify: CEASE_ADMIN_SHUTDOWN },
  adminGraceful: { reason: DownReason.adminDown, detail: 'administratively down (graceful restart: no NOTIFICATION)' },
  connectTimeout: { reason: DownReason.connectTimeout, detail: 'TCP connect timed out', next: 'active' },
  closedWhileConnecting: { reason: DownReason.connectFailed, detail: 'connection closed while connecting', next: 'active' },
  openHoldExpired: {
    reason: DownReason.holdTimerExpired,
    detail: 'no OPEN from the peer within 240 s',
    notify: { code: ErrorCode.holdTimerExpired, subcode: 0 },
  },
  peerLacksAs4: {
    reason: DownReason.notificationSent,
    detail: 'peer does not support 4-octet ASNs, ours needs them',
    notify: { code: ErrorCode.open, subcode: OpenSubcode.unsupportedCapability },
  },
} as const satisfies Record<string, DownSpec>;

const bgpSetup = setup({
  types: {
    context: {} as BgpSessionContext,
    events: {} as BgpSessionEvent,
    input: {} as BgpSessionInput,
    emitted: {} as BgpSessionEmitted,
  },
  actors: {
    // Bound with `.provide` in src/bin; tests bind a fake. This default never connects.
    bgpTransport: fromCallback<TransportCommand, BgpTransportInput>(() => undefined),
  },
  delays: {
    idleHold: ({ context }) => backoffMs(context),
    connectRetry: ({ context }) => Math.max(backoffMs(context), context.input.retryInitialMs ?? 1000),
    connectTimeout: ({ context }) => context.input.connectTimeoutMs ?? 10_000,
    openHoldTime: () => OPEN_HOLD_MS,
    holdTime: ({ context }) => (context.negotiated?.holdTime ?? 0) * 1000,
    keepaliveInterval: ({ context }) => (context.negotiated?.keepaliveTime ?? 0) * 1000,
  },
  guards: {
    canStart: ({ context }) => context.adminUp && (!context.input.bfdRequired || context.bfdUp),
    downToActive: ({ context }) => context.pendingDown?.next === 'active',
    holdEnabled: ({ context }) => (context.negotiated?.holdTime ?? 0) > 0,
    gracefulStop: ({ event }) => event.type === 'admin.down' && event.graceful === true,
    wrongPeerAs: ({ context, event }) => event.type === 'bgp.open' && !peerAsAccepted(context.input, event.open.asn),
    sameRouterId: ({ context, event }) =>
      event.type === 'bgp.open' && context.input.localAsn === event.open.asn && event.open.routerId === context.routerId,
    peerLacksAs4: ({ context, event }) =>
      event.type === 'bgp.open' && context.input.localAsn > 0xffff && event.open.capabilities.fourOctetAs === undefined,
  },
  actions: {
    markBfdUp: assign({ bfdUp: true }),
    markBfdDown: assign({ bfdUp: false }),
    markAdminUp: assign({ adminUp: true }),
    markAdminDown: assign({ adminUp: false }),
    markEstablished: assign({ failures: 0, lastDown: undefined, established: true }),
    emitEstablished: emit(({ context }) => ({ type: 'session.established' as const, negotiated: context.negotiated as Negotiated })),
    emitUpdateReceived: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'bgp.update') enqueue.emit({ type: 'session.updateReceived', update: event.update });
    }),
    emitRouteRefresh: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'bgp.routeRefresh') enqueue.emit({ type: 'session.routeRefresh', afi: event.afi, safi: event.safi });
    }),
    decodeFrame: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'bgp.frame') return;
      const r = decodeMessage(event.frame, { as4: context.negotiated?.as4 ?? true, ebgp: context.negotiated?.ebgp ?? true });
      if (!r.ok) {
        // Treat-as-withdraw / attribute-discard concern routes we receive; we install none, so
        // only a session reset changes the session (RFC 7606 §2). The message still counts as
        // traffic for the hold timer.
        if (r.error.treatment === Treatment.sessionReset) enqueue.raise({ type: 'bgp.error', error: r.error });
        else enqueue.raise({ type: 'bgp.keepalive' });
        return;
      }
      const m = r.value;
      switch (m.type) {
        case 'open': {
          const { type: _t, ...open } = m;
          enqueue.raise({ type: 'bgp.open', open });
          break;
        }
        case 'keepalive':
          enqueue.raise({ type: 'bgp.keepalive' });
          break;
        case 'update': {
          const { type: _t, ...update } = m;
          enqueue.raise({ type: 'bgp.update', update });
          break;
        }
        case 'notification':
          enqueue.raise({ type: 'bgp.notification', code: m.code, subcode: m.subcode, data: m.data });
          break;
        case 'routeRefresh':
          enqueue.raise({ type: 'bgp.routeRefresh', afi: m.afi, safi: m.safi, subtype: m.subtype });
          break;
      }
    }),
    /** Every down transition records its reason first; `commitDown` then acts on it. */
    down: assign((_, s: DownSpec) => ({ pendingDown: s })),
    /** NOTIFICATION (when due), reason, backoff counter, emitted event. */
    commitDown: enqueueActions(({ context, enqueue }) => {
      const s = context.pendingDown;
      if (!s) return;
      if (s.notify) enqueue.sendTo('transport', { type: 'send', data: encodeNotification(s.notify) } satisfies TransportCommand);
      enqueue.assign({
        failures: context.failures + 1,
        lastDown: { reason: s.reason, detail: s.detail },
        negotiated: undefined,
        established: false,
      });
      enqueue.emit({ type: 'session.down', reason: s.reason, detail: s.detail, wasEstablished: context.established });
    }),
    sendOpen: enqueueActions(({ context, enqueue }) => {
      enqueue.sendTo('transport', { type: 'send', data: buildOpen(context) } satisfies TransportCommand);
      enqueue.assign({ openCount: context.openCount + 1 });
    }),
    sendKeepalive: enqueueActions(({ enqueue }) => {
      enqueue.sendTo('transport', { type: 'send', data: keepalive() } satisfies TransportCommand);
    }),
    forwardRoutes: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'routes.send') return;
      for (const data of event.messages) enqueue.sendTo('transport', { type: 'send', data } satisfies TransportCommand);
    }),
    negotiate: assign(({ context, event }) => {
      if (event.type !== 'bgp.open') return {};
      const o = event.open;
      const t = negotiateTimers(context.input.holdTime, o.holdTime, context.input.keepaliveTime);
      // No MP capability from the peer means IPv4 unicast only (RFC 4760 §8).
      const mp = o.capabilities.multiprotocol;
      const peerFams = mp.length === 0 ? [{ afi: Afi.ipv4, safi: Safi.unicast }] : mp;
      const families = context.input.families.filter((f) => peerFams.some((p) => p.afi === FAMILY_AFI[f] && p.safi === Safi.unicast));
      return {
        negotiated: {
          ...t,
          as4: o.capabilities.fourOctetAs !== undefined,
          families,
          peerRouterId: o.routerId,
          routerId: context.routerId ?? '0.0.0.0',
          ebgp: context.input.localAsn !== o.asn,
          peerGracefulRestart: o.capabilities.gracefulRestart !== undefined,
          routeRefresh: o.capabilities.routeRefresh,
          localAddress: context.localAddress ?? '',
          ...(context.input.extendedNextHop &&
          (o.capabilities.extendedNextHop ?? []).some((t) => t.afi === Afi.ipv4 && t.safi === Safi.unicast && t.nextHopAfi === Afi.ipv6)
            ? { extendedNextHopIpv4: true }
            : {}),
          ...(o.capabilities.malformed ? { malformedCapabilities: o.capabilities.malformed.map((m) => `${m.code}: ${m.reason}`) } : {}),
        },
      };
    }),
    connected: assign(({ context, event }) => {
      if (event.type !== 'tcp.connected') return {};
      const { localAddress, localIpv4OnInterface } = event;
      return {
        localAddress,
        routerId: context.input.routerId ?? fallbackRouterId(localAddress, localIpv4OnInterface, context.input.nodeName),
      };
    }),
  },
});

const CLOSING = '#bgpSession.tcp.closing';

/**
 * The timers of a session past OPEN, one definition for OpenConfirm and Established (RFC 4271
 * §8.2.2), in parallel regions so that a received message re-arms only the hold timer:
 *   hold       expires into a NOTIFICATION and down (holdTimerExpired); in Established every
 *              message from the peer re-arms it (`rearmOnMessages`). In OpenConfirm the only
 *              acceptable message, KEEPALIVE, leaves for Established, which arms it afresh;
 *   keepalive  sends a KEEPALIVE every interval.
 * Both are off when the negotiated hold time is 0.
 */
function timerRegions(rearmOnMessages: boolean) {
  const rearm = { target: 'armed', reenter: true } as const;
  return {
    hold: bgpSetup.createStateConfig({
      initial: 'armed',
      states: {
        armed: {
          // A self-transition on the atomic state re-arms only this region's timer.
          on: rearmOnMessages
            ? {
                'bgp.keepalive': rearm,
                'bgp.update': { ...rearm, actions: 'emitUpdateReceived' },
                'bgp.routeRefresh': { ...rearm, actions: 'emitRouteRefresh' },
              }
            : {},
          after: {
            holdTime: { guard: 'holdEnabled', target: CLOSING, actions: { type: 'down', params: ({ context }) => holdExpired(context) } },
          },
        },
      },
    }),
    keepalive: bgpSetup.createStateConfig({
      initial: 'armed',
      states: {
        armed: { after: { keepaliveInterval: { guard: 'holdEnabled', target: 'armed', reenter: true, actions: 'sendKeepalive' } } },
      },
    }),
  };
}

export const bgpSessionMachine = bgpSetup.createMachine({
  id: 'bgpSession',
  context: ({ input }) => ({
    input,
    routerId: input.routerId,
    localAddress: undefined,
    negotiated: undefined,
    failures: 0,
    bfdUp: false,
    adminUp: !input.adminDown,
    lastDown: undefined,
    openCount: 0,
    established: false,
    pendingDown: undefined,
  }),
  initial: 'idle',
  on: {
    'bfd.up': { actions: 'markBfdUp' },
    'bfd.down': { actions: 'markBfdDown' },
    'admin.up': { actions: 'markAdminUp' },
    'admin.down': { actions: 'markAdminDown' },
  },
  states: {
    idle: {
      initial: 'holding',
      states: {
        // IdleHold: the backoff after a failure (0 for the first start).
        holding: { after: { idleHold: 'ready' } },
        ready: { always: { guard: 'canStart', target: '#bgpSession.tcp' } },
      },
    },
    active: {
      // TCP failed: wait ConnectRetry (with backoff), then try again.
      after: { connectRetry: [{ guard: 'canStart', target: 'tcp' }, { target: 'idle' }] },
      on: {
        'bfd.down': { target: 'idle', actions: ['markBfdDown', { type: 'down', params: DOWN.bfd }, 'commitDown'] },
        'admin.down': { target: 'idle', actions: ['markAdminDown', { type: 'down', params: DOWN.admin }, 'commitDown'] },
      },
    },
    tcp: {
      // The transport lives exactly as long as this state: leaving it closes the socket.
      invoke: { id: 'transport', src: 'bgpTransport', input: ({ context }) => context.input.transport },
      initial: 'connect',
      on: {
        'bgp.frame': { actions: 'decodeFrame' },
        'bgp.error': { target: '.closing', actions: { type: 'down', params: ({ event }) => malformed(event.error) } },
        'bgp.notification': {
          target: '.closing',
          actions: { type: 'down', params: ({ event }) => notificationReceived(event.code, event.subcode) },
        },
        'tcp.closed': { target: '.closing', actions: { type: 'down', params: ({ event }) => connectionClosed(event.error) } },
        'bfd.down': { target: '.closing', actions: ['markBfdDown', { type: 'down', params: DOWN.bfdOnConnection }] },
        'admin.down': [
          { guard: 'gracefulStop', target: '.closing', actions: ['markAdminDown', { type: 'down', params: DOWN.adminGraceful }] },
          { target: '.closing', actions: ['markAdminDown', { type: 'down', params: DOWN.adminOnConnection }] },
        ],
      },
      states: {
        // Transient: flushes the NOTIFICATION (if any) while the transport is still alive, records
        // the reason, then leaves; leaving `tcp` stops the transport (which ends the socket).
        closing: {
          entry: 'commitDown',
          always: [{ guard: 'downToActive', target: '#bgpSession.active' }, { target: '#bgpSession.idle' }],
        },
        connect: {
          after: { connectTimeout: { target: CLOSING, actions: { type: 'down', params: DOWN.connectTimeout } } },
          on: {
            'tcp.connected': { target: 'openSent', actions: 'connected' },
            'tcp.failed': { target: CLOSING, actions: { type: 'down', params: ({ event }) => connectFailed(event.error) } },
            'tcp.closed': { target: CLOSING, actions: { type: 'down', params: DOWN.closedWhileConnecting } },
          },
        },
        openSent: {
          entry: 'sendOpen',
          after: { openHoldTime: { target: CLOSING, actions: { type: 'down', params: DOWN.openHoldExpired } } },
          on: {
            // RFC 4271 §8.2.2: a TCP failure in OpenSent goes to Active.
            'tcp.closed': { target: CLOSING, actions: { type: 'down', params: ({ event }) => closedBeforeOpen(event.error) } },
            'bgp.open': [
              {
                guard: 'wrongPeerAs',
                target: CLOSING,
                actions: { type: 'down', params: ({ context, event }) => badPeerAs(context.input, event.open.asn) },
              },
              {
                guard: 'sameRouterId',
                target: CLOSING,
                actions: { type: 'down', params: ({ event }) => sameRouterId(event.open.routerId) },
              },
              { guard: 'peerLacksAs4', target: CLOSING, actions: { type: 'down', params: DOWN.peerLacksAs4 } },
              { target: 'openConfirm', actions: ['negotiate', 'sendKeepalive'] },
            ],
            'bgp.keepalive': unexpected(FsmSubcode.unexpectedInOpenSent, 'KEEPALIVE before OPEN'),
            'bgp.update': unexpected(FsmSubcode.unexpectedInOpenSent, 'UPDATE before OPEN'),
            'bgp.routeRefresh': unexpected(FsmSubcode.unexpectedInOpenSent, 'ROUTE-REFRESH before OPEN'),
          },
        },
        openConfirm: {
          type: 'parallel',
          on: {
            'bgp.keepalive': { target: 'established' },
            'bgp.open': unexpected(FsmSubcode.unexpectedInOpenConfirm, 'second OPEN'),
            'bgp.update': unexpected(FsmSubcode.unexpectedInOpenConfirm, 'UPDATE before KEEPALIVE'),
            'bgp.routeRefresh': unexpected(FsmSubcode.unexpectedInOpenConfirm, 'ROUTE-REFRESH before KEEPALIVE'),
          },
          states: timerRegions(false),
        },
        established: {
          type: 'parallel',
          entry: ['markEstablished', 'emitEstablished'],
          on: {
            'bgp.open': unexpected(FsmSubcode.unexpectedInEstablished, 'OPEN in Established'),
            'routes.send': { actions: 'forwardRoutes' },
          },
          // Hold: re-armed by every message from the peer (RFC 4271 §8.2.2 Established).
          states: timerRegions(true),
        },
      },
    },
  },
});

/** A message the state does not accept: NOTIFICATION (FSM error, RFC 6608 subcode) and down. */
function unexpected(subcode: number, detail: string) {
  const params: DownSpec = { reason: DownReason.fsmError, detail, notify: { code: ErrorCode.fsm, subcode } };
  return { target: CLOSING, actions: { type: 'down', params } } as const;
}

function holdExpired(context: BgpSessionContext): DownSpec {
  return {
    reason: DownReason.holdTimerExpired,
    detail: `no message from the peer for ${context.negotiated?.holdTime ?? 0} s`,
    notify: { code: ErrorCode.holdTimerExpired, subcode: 0 },
  };
}

function malformed(error: BgpError): DownSpec {
  return { reason: DownReason.notificationSent, detail: `malformed message from the peer: ${error.message}`, notify: error };
}

function notificationReceived(code: number, subcode: number): DownSpec {
  const detail = `peer sent NOTIFICATION ${code}/${subcode}: ${describeNotification(code, subcode)}`;
  return { reason: DownReason.notificationReceived, detail };
}

function connectionClosed(error: string | undefined): DownSpec {
  return { reason: DownReason.connectionClosed, detail: `connection closed by the peer${error ? `: ${error}` : ''}` };
}

function connectFailed(error: string): DownSpec {
  return { reason: DownReason.connectFailed, detail: `TCP connect failed: ${error}`, next: 'active' };
}

function closedBeforeOpen(error: string | undefined): DownSpec {
  const detail = `connection closed before the peer's OPEN${error ? `: ${error}` : ''}`;
  return { reason: DownReason.connectionClosed, detail, next: 'active' };
}

function badPeerAs(input: BgpSessionInput, asn: number): DownSpec {
  const rule = input.dynamicAsn;
  const detail = rule
    ? `peer ASN ${asn} is ${rule === 'internal' ? 'not' : 'equal to'} our ${input.localAsn} (dynamicASN ${rule})`
    : `peer ASN ${asn} does not match the configured ${input.peerAsn}`;
  return { reason: DownReason.badPeerAs, detail, notify: { code: ErrorCode.open, subcode: OpenSubcode.badPeerAs } };
}

function sameRouterId(routerId: string): DownSpec {
  const notify = { code: ErrorCode.open, subcode: OpenSubcode.badBgpIdentifier };
  return { reason: DownReason.notificationSent, detail: `peer router ID ${routerId} equals ours`, notify };
}
