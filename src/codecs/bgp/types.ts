// BGP-4 wire constants and the codec's error model (RFC 4271 §4, §6; RFC 7606 treatments).
// A decode error already says which NOTIFICATION to send (code/subcode/data) and how the session
// must react, so callers never re-derive RFC 7606 rules.
import { ok, type Result as AnyResult } from '../../domain/result.js';

export const MessageType = { open: 1, update: 2, notification: 3, keepalive: 4, routeRefresh: 5 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 6608 FSM error). */
export const ErrorCode = {
  messageHeader: 1,
  open: 2,
  update: 3,
  holdTimerExpired: 4,
  fsm: 5,
  cease: 6,
  routeRefresh: 7,
} as const;

export const HeaderSubcode = { connectionNotSynchronized: 1, badMessageLength: 2, badMessageType: 3 } as const;
export const OpenSubcode = {
  unsupportedVersion: 1,
  badPeerAs: 2,
  badBgpIdentifier: 3,
  unsupportedOptionalParameter: 4,
  unacceptableHoldTime: 6,
  unsupportedCapability: 7,
} as const;
export const UpdateSubcode = {
  malformedAttributeList: 1,
  unrecognizedWellKnown: 2,
  missingWellKnown: 3,
  attributeFlags: 4,
  attributeLength: 5,
  invalidOrigin: 6,
  invalidNextHop: 8,
  optionalAttribute: 9,
  invalidNetworkField: 10,
  malformedAsPath: 11,
} as const;
/** RFC 6608. */
export const FsmSubcode = { unspecified: 0, unexpectedInOpenSent: 1, unexpectedInOpenConfirm: 2, unexpectedInEstablished: 3 } as const;
/** RFC 4486 / RFC 8538. */
export const CeaseSubcode = {
  maxPrefixes: 1,
  adminShutdown: 2,
  peerDeconfigured: 3,
  adminReset: 4,
  connectionRejected: 5,
  otherConfigChange: 6,
  connectionCollision: 7,
  outOfResources: 8,
  hardReset: 9,
} as const;

/** RFC 7606 §2: how a malformed message is handled. */
export const Treatment = {
  sessionReset: 'session-reset',
  treatAsWithdraw: 'treat-as-withdraw',
  attributeDiscard: 'attribute-discard',
} as const;
export type Treatment = (typeof Treatment)[keyof typeof Treatment];

export interface BgpError {
  readonly code: number;
  readonly subcode: number;
  /** NOTIFICATION data field (RFC 4271 §6: e.g. the offending attribute or length). */
  readonly data: Uint8Array;
  readonly treatment: Treatment;
  readonly message: string;
}

/** The one Result (domain/result.ts), failing with a BgpError unless told otherwise. */
export type Result<T, E = BgpError> = AnyResult<T, E>;

export { ok };

/**
 * Why a message could not be encoded: `message` names the offending input; `prefixes` lists every
 * prefix refused (empty when the fault is elsewhere, e.g. a next hop), so a caller can drop those
 * and encode the rest.
 */
export interface EncodeError {
  readonly message: string;
  readonly prefixes: readonly string[];
}
export const fail = (
  code: number,
  subcode: number,
  message: string,
  data: Uint8Array = new Uint8Array(0),
  treatment: Treatment = Treatment.sessionReset,
): { ok: false; error: BgpError } => ({ ok: false, error: { code, subcode, data, treatment, message } });

export const Afi = { ipv4: 1, ipv6: 2 } as const;
export type Afi = (typeof Afi)[keyof typeof Afi];
export const Safi = { unicast: 1 } as const;

export const HEADER_LEN = 19;
export const MAX_MESSAGE_LEN = 4096;
export const AS_TRANS = 23456;
