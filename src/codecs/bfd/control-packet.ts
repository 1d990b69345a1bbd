// BFD Control packet codec (RFC 5880 §4.1) with the packet-level reception checks of §6.8.6.
// Pure: no I/O, decode never throws. Session-level checks (discriminator lookup, authentication
// in use) need session state and live in `checkForSession` below; the transport and the session
// machine call it.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       My Discriminator                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                      Your Discriminator                       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Desired Min TX Interval                    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                   Required Min RX Interval                    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 Required Min Echo RX Interval                 |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Auth Type   |   Auth Len    |    Authentication Data...     |   (only when A is set)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Intervals are in microseconds on the wire and here.
import type { Result } from '../../domain/result.js';

/** Session states as carried in the Sta field (RFC 5880 §4.1). */
export const BfdState = { adminDown: 0, down: 1, init: 2, up: 3 } as const;
export type BfdStateName = keyof typeof BfdState;
export type BfdStateCode = (typeof BfdState)[BfdStateName];
export const BFD_STATE_NAMES: readonly BfdStateName[] = ['adminDown', 'down', 'init', 'up'];

/** Diagnostic codes (RFC 5880 §4.1). Values 9–31 are reserved but carried through as numbers. */
export const BfdDiag = {
  none: 0,
  controlDetectionTimeExpired: 1,
  echoFunctionFailed: 2,
  neighborSignaledSessionDown: 3,
  forwardingPlaneReset: 4,
  pathDown: 5,
  concatenatedPathDown: 6,
  administrativelyDown: 7,
  reverseConcatenatedPathDown: 8,
} as const;
export type BfdDiagCode = (typeof BfdDiag)[keyof typeof BfdDiag];

export const BFD_VERSION = 1;
/** Mandatory section length (§4.1). */
export const BFD_MIN_LENGTH = 24;
/** Mandatory section plus the minimal authentication header (§6.8.6). */
export const BFD_MIN_LENGTH_AUTH = 26;

export interface BfdAuthSection {
  readonly type: number;
  /** Auth Len field, includes type and length bytes. */
  readonly length: number;
  readonly data: Uint8Array;
}

export interface BfdControlPacket {
  readonly version: number;
  /** 0..31 */
  readonly diag: number;
  readonly state: BfdStateCode;
  readonly poll: boolean;
  readonly final: boolean;
  /** C: control plane independent. */
  readonly cpi: boolean;
  /** D: demand mode (not supported by our sessions; decoded for completeness). */
  readonly demand: boolean;
  /** M: multipoint, must be zero. */
  readonly multipoint: boolean;
  readonly detectMult: number;
  readonly myDiscr: number;
  readonly yourDiscr: number;
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
  /** Present exactly when the A bit is set. */
  readonly auth?: BfdAuthSection;
}

export type BfdDecodeErrorCode =
  | 'short'
  | 'version'
  | 'length'
  | 'lengthExceedsPayload'
  | 'detectMultZero'
  | 'multipoint'
  | 'myDiscrZero'
  | 'yourDiscrZeroWithState'
  | 'authLength';

export interface BfdDecodeError {
  readonly code: BfdDecodeErrorCode;
  /** RFC clause of the rule that discarded the packet. */
  readonly rfc: string;
  readonly message: string;
}

export type BfdDecodeResult = Result<BfdControlPacket, BfdDecodeError>;

function fail(code: BfdDecodeErrorCode, message: string): BfdDecodeResult {
  return { ok: false, error: { code, rfc: 'RFC 5880 §6.8.6', message } };
}

/**
 * Decodes one BFD Control packet from a UDP payload and applies the packet-level discard rules
 * of RFC 5880 §6.8.6 in the RFC's order. Trailing bytes beyond Length are ignored.
 */
export function decodeControl(buf: Uint8Array): BfdDecodeResult {
  if (buf.length < BFD_MIN_LENGTH) return fail('short', `payload of ${buf.length} bytes is shorter than ${BFD_MIN_LENGTH}`);
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >>> 5;
  // §6.8.6: "If the version number is not correct (1), the packet MUST be discarded."
  if (version !== BFD_VERSION) return fail('version', `version ${version}, expected ${BFD_VERSION}`);
  const authBit = (b1 & 0x04) !== 0;
  const length = buf[3]!;
  // §6.8.6: Length less than 24 (A clear) or 26 (A set): discard.
  const min = authBit ? BFD_MIN_LENGTH_AUTH : BFD_MIN_LENGTH;
  if (length < min) return fail('length', `length ${length} is less than ${min}`);
  // §6.8.6: Length greater than the payload of the encapsulating protocol: discard.
  if (length > buf.length) return fail('lengthExceedsPayload', `length ${length} exceeds payload of ${buf.length} bytes`);
  const detectMult = buf[2]!;
  // §6.8.6: "If the Detect Mult field is zero, the packet MUST be discarded."
  if (detectMult === 0) return fail('detectMultZero', 'detect multiplier is zero');
  // §6.8.6: "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
  if ((b1 & 0x01) !== 0) return fail('multipoint', 'multipoint bit is set');
  const dv = new DataView(buf.buffer, buf.byteOffset, length);
  const myDiscr = dv.getUint32(4);
  // §6.8.6: "If the My Discriminator field is zero, the packet MUST be discarded."
  if (myDiscr === 0) return fail('myDiscrZero', 'my discriminator is zero');
  const yourDiscr = dv.getUint32(8);
  const state = (b1 >>> 6) as BfdStateCode;
  // §6.8.6: Your Discriminator zero and State neither Down nor AdminDown: discard.
  if (yourDiscr === 0 && state !== BfdState.down && state !== BfdState.adminDown) {
    return fail('yourDiscrZeroWithState', `your discriminator is zero in state ${BFD_STATE_NAMES[state]}`);
  }
  let auth: BfdAuthSection | undefined;
  if (authBit) {
    const authLen = buf[BFD_MIN_LENGTH + 1]!;
    // §4.2: Auth Len covers the whole section; it must fit in Length.
    if (authLen < 2 || BFD_MIN_LENGTH + authLen > length)
      return fail('authLength', `auth length ${authLen} does not fit in packet length ${length}`);
    auth = {
      type: buf[BFD_MIN_LENGTH]!,
      length: authLen,
      data: buf.slice(BFD_MIN_LENGTH + 2, BFD_MIN_LENGTH + authLen),
    };
  }
  const value: BfdControlPacket = {
    version,
    diag: b0 & 0x1f,
    state,
    poll: (b1 & 0x20) !== 0,
    final: (b1 & 0x10) !== 0,
    cpi: (b1 & 0x08) !== 0,
    demand: (b1 & 0x02) !== 0,
    multipoint: false,
    detectMult,
    myDiscr,
    yourDiscr,
    desiredMinTxUs: dv.getUint32(12),
    requiredMinRxUs: dv.getUint32(16),
    requiredMinEchoRxUs: dv.getUint32(20),
    ...(auth ? { auth } : {}),
  };
  return { ok: true, value };
}

/** Encodes a Control packet. Fields are masked to their widths; Length is computed. */
export function encodeControl(p: BfdControlPacket): Uint8Array {
  const authLen = p.auth ? p.auth.data.length + 2 : 0;
  const length = BFD_MIN_LENGTH + authLen;
  const buf = new Uint8Array(length);
  const dv = new DataView(buf.buffer);
  buf[0] = ((p.version & 0x07) << 5) | (p.diag & 0x1f);
  buf[1] =
    ((p.state & 0x03) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  buf[2] = p.detectMult & 0xff;
  buf[3] = length;
  dv.setUint32(4, p.myDiscr >>> 0);
  dv.setUint32(8, p.yourDiscr >>> 0);
  dv.setUint32(12, p.desiredMinTxUs >>> 0);
  dv.setUint32(16, p.requiredMinRxUs >>> 0);
  dv.setUint32(20, p.requiredMinEchoRxUs >>> 0);
  if (p.auth) {
    buf[24] = p.auth.type & 0xff;
    buf[25] = authLen;
    buf.set(p.auth.data, 26);
  }
  return buf;
}

export type BfdSessionRejectCode = 'yourDiscrMismatch' | 'authNotInUse' | 'authRequired';

/** What a session knows to apply the session-level rules of §6.8.6. */
export interface BfdSessionView {
  readonly localDiscr: number;
  /** bfd.AuthType; 0 = no authentication (the only mode we implement). */
  readonly authType: number;
}

/**
 * Session-level discard rules of RFC 5880 §6.8.6 for a packet already demultiplexed to `s`.
 * Returns undefined when the packet is accepted.
 */
export function checkForSession(p: BfdControlPacket, s: BfdSessionView): BfdSessionRejectCode | undefined {
  // §6.8.6: a nonzero Your Discriminator selects the session; no match: discard.
  if (p.yourDiscr !== 0 && p.yourDiscr !== s.localDiscr) return 'yourDiscrMismatch';
  // §6.8.6: A bit set and no authentication in use (bfd.AuthType zero): discard.
  if (p.auth && s.authType === 0) return 'authNotInUse';
  // §6.8.6: A bit clear and authentication in use: discard.
  if (!p.auth && s.authType !== 0) return 'authRequired';
  return undefined;
}
