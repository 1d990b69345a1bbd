// OPEN message and capabilities (RFC 4271 §4.2, RFC 5492, RFC 4760 MP, RFC 6793 AS4,
// RFC 2918 route refresh, RFC 4724 graceful restart, RFC 8950 extended next hop encoding).
//
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |    Version    |     My Autonomous System      |   Hold Time   :
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   :               |                BGP Identifier                 :
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   :               | Opt Parm Len  |  Optional Parameters (type 2 = capabilities) ...
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   Capability: | Code (1) | Length (1) | Value (Length) |
import { u16, u32, Writer } from './bytes.js';
import { AS_TRANS, ErrorCode, OpenSubcode, type Result, fail, ok } from './types.js';

export const CapabilityCode = {
  multiprotocol: 1,
  routeRefresh: 2,
  extendedNextHop: 5,
  gracefulRestart: 64,
  fourOctetAs: 65,
  enhancedRouteRefresh: 70,
} as const;

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}
/**
 * One RFC 8950 §3 tuple: NLRI of (afi, safi) may carry a next hop of family `nextHopAfi`
 * (IPv4 unicast over an IPv6 next hop: afi 1, safi 1, nextHopAfi 2).
 */
export interface ExtendedNextHop extends AfiSafi {
  readonly nextHopAfi: number;
}
export interface GracefulRestartCap {
  /** R bit: the sender has restarted (RFC 4724 §3). */
  readonly restarting: boolean;
  readonly restartTime: number;
  /** Per family; `forwardingPreserved` is the F bit. */
  readonly families: ReadonlyArray<AfiSafi & { readonly forwardingPreserved: boolean }>;
}

export interface Capabilities {
  readonly multiprotocol: readonly AfiSafi[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh?: boolean;
  readonly fourOctetAs?: number;
  readonly gracefulRestart?: GracefulRestartCap;
  /** RFC 8950 extended next hop encoding (code 5): the tuples the sender accepts. */
  readonly extendedNextHop?: readonly ExtendedNextHop[];
  /**
   * Capabilities dropped as malformed (e.g. an extended next hop value whose length is not a
   * multiple of 6): treated as not advertised, as RFC 5492 §4 lets a speaker ignore a capability,
   * and kept here so they can be logged and counted.
   */
  readonly malformed?: ReadonlyArray<{ readonly code: number; readonly reason: string }>;
  /** Capabilities we do not interpret, kept for logs and round trips. */
  readonly unknown?: ReadonlyArray<{ readonly code: number; readonly value: Uint8Array }>;
}

export interface Open {
  readonly version: number;
  /** The real ASN: the 4-octet AS capability when present, else the 2-octet field. */
  readonly asn: number;
  readonly holdTime: number;
  readonly routerId: string;
  readonly capabilities: Capabilities;
}

export function encodeOpen(o: Omit<Open, 'version'> & { version?: number }): Uint8Array {
  const caps = new Writer(64);
  const cap = (code: number, value: Uint8Array): void => {
    caps.u8(code).u8(value.length).bytes(value);
  };
  for (const f of o.capabilities.multiprotocol) cap(CapabilityCode.multiprotocol, new Writer(4).u16(f.afi).u8(0).u8(f.safi).finish());
  if (o.capabilities.routeRefresh) cap(CapabilityCode.routeRefresh, new Uint8Array(0));
  const enh = o.capabilities.extendedNextHop ?? [];
  if (enh.length > 0) {
    const w = new Writer(6 * enh.length);
    for (const t of enh) w.u16(t.afi).u16(t.safi).u16(t.nextHopAfi);
    cap(CapabilityCode.extendedNextHop, w.finish());
  }
  if (o.capabilities.enhancedRouteRefresh) cap(CapabilityCode.enhancedRouteRefresh, new Uint8Array(0));
  const gr = o.capabilities.gracefulRestart;
  if (gr) {
    const w = new Writer(16).u16((gr.restarting ? 0x8000 : 0) | (gr.restartTime & 0x0fff));
    for (const f of gr.families)
      w.u16(f.afi)
        .u8(f.safi)
        .u8(f.forwardingPreserved ? 0x80 : 0);
    cap(CapabilityCode.gracefulRestart, w.finish());
  }
  const as4 = o.capabilities.fourOctetAs ?? o.asn;
  cap(CapabilityCode.fourOctetAs, new Writer(4).u32(as4).finish());
  for (const u of o.capabilities.unknown ?? []) cap(u.code, u.value);
  const capBytes = caps.finish();
  const w = new Writer(29 + capBytes.length);
  w.u8(o.version ?? 4)
    .u16(o.asn > 0xffff ? AS_TRANS : o.asn)
    .u16(o.holdTime);
  for (const part of o.routerId.split('.')) w.u8(Number(part));
  // One optional parameter of type 2 holding every capability (RFC 5492 §4).
  if (capBytes.length > 0)
    w.u8(capBytes.length + 2)
      .u8(2)
      .u8(capBytes.length)
      .bytes(capBytes);
  else w.u8(0);
  return w.finish();
}

function decodeCapabilities(b: Uint8Array, acc: MutableCaps): Result<null> {
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) return fail(ErrorCode.open, 0, 'capability header truncated');
    const code = b[i] as number;
    const len = b[i + 1] as number;
    const v = b.subarray(i + 2, i + 2 + len);
    if (v.length !== len) return fail(ErrorCode.open, 0, `capability ${code} overruns its parameter`);
    i += 2 + len;
    switch (code) {
      case CapabilityCode.multiprotocol:
        if (len !== 4) return fail(ErrorCode.open, 0, `multiprotocol capability length ${len} != 4`);
        acc.multiprotocol.push({ afi: u16(v, 0), safi: v[3] as number });
        break;
      case CapabilityCode.routeRefresh:
        acc.routeRefresh = true;
        break;
      case CapabilityCode.enhancedRouteRefresh:
        acc.enhancedRouteRefresh = true;
        break;
      case CapabilityCode.extendedNextHop: {
        // RFC 8950 §3: a list of 6-octet tuples (NLRI AFI 2, NLRI SAFI 2, next hop AFI 2).
        if (len === 0 || len % 6 !== 0) {
          acc.malformed.push({ code, reason: `extended next hop capability length ${len} is not a positive multiple of 6` });
          break;
        }
        for (let j = 0; j < len; j += 6) acc.extendedNextHop.push({ afi: u16(v, j), safi: u16(v, j + 2), nextHopAfi: u16(v, j + 4) });
        break;
      }
      case CapabilityCode.fourOctetAs:
        if (len !== 4) return fail(ErrorCode.open, 0, `4-octet AS capability length ${len} != 4`);
        acc.fourOctetAs = u32(v, 0);
        break;
      case CapabilityCode.gracefulRestart: {
        if (len < 2 || (len - 2) % 4 !== 0) return fail(ErrorCode.open, 0, `graceful restart capability length ${len}`);
        const flags = u16(v, 0);
        const families: Array<AfiSafi & { forwardingPreserved: boolean }> = [];
        for (let j = 2; j < len; j += 4)
          families.push({ afi: u16(v, j), safi: v[j + 2] as number, forwardingPreserved: ((v[j + 3] as number) & 0x80) !== 0 });
        acc.gracefulRestart = { restarting: (flags & 0x8000) !== 0, restartTime: flags & 0x0fff, families };
        break;
      }
      default:
        acc.unknown.push({ code, value: v.slice() });
    }
  }
  return ok(null);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MutableCaps = Mutable<Capabilities> & {
  multiprotocol: AfiSafi[];
  extendedNextHop: ExtendedNextHop[];
  malformed: Array<{ code: number; reason: string }>;
  unknown: Array<{ code: number; value: Uint8Array }>;
};

/** Decodes an OPEN body (after the header). Every error is a session reset (RFC 7606 does not relax OPEN). */
export function decodeOpen(b: Uint8Array): Result<Open> {
  if (b.length < 10) return fail(ErrorCode.messageHeader, 2, `OPEN body ${b.length} bytes < 10`);
  const version = b[0] as number;
  if (version !== 4) return fail(ErrorCode.open, OpenSubcode.unsupportedVersion, `BGP version ${version}`, Uint8Array.of(0, 4));
  const as2 = u16(b, 1);
  const holdTime = u16(b, 3);
  if (holdTime === 1 || holdTime === 2) return fail(ErrorCode.open, OpenSubcode.unacceptableHoldTime, `hold time ${holdTime} s`);
  const routerId = `${b[5]}.${b[6]}.${b[7]}.${b[8]}`;
  if (u32(b, 5) === 0) return fail(ErrorCode.open, OpenSubcode.badBgpIdentifier, 'BGP identifier 0.0.0.0');
  const optLen = b[9] as number;
  if (10 + optLen !== b.length) return fail(ErrorCode.open, 0, `optional parameters length ${optLen} does not match the message`);
  const caps: MutableCaps = { multiprotocol: [], routeRefresh: false, extendedNextHop: [], malformed: [], unknown: [] };
  let i = 10;
  while (i < b.length) {
    if (i + 2 > b.length) return fail(ErrorCode.open, 0, 'optional parameter truncated');
    const type = b[i] as number;
    const len = b[i + 1] as number;
    if (i + 2 + len > b.length) return fail(ErrorCode.open, 0, 'optional parameter overruns the message');
    if (type !== 2) return fail(ErrorCode.open, OpenSubcode.unsupportedOptionalParameter, `optional parameter type ${type}`);
    const r = decodeCapabilities(b.subarray(i + 2, i + 2 + len), caps);
    if (!r.ok) return r;
    i += 2 + len;
  }
  const asn = caps.fourOctetAs ?? as2;
  const capabilities: Capabilities = {
    multiprotocol: caps.multiprotocol,
    routeRefresh: caps.routeRefresh,
    ...(caps.enhancedRouteRefresh ? { enhancedRouteRefresh: true } : {}),
    ...(caps.fourOctetAs !== undefined ? { fourOctetAs: caps.fourOctetAs } : {}),
    ...(caps.gracefulRestart ? { gracefulRestart: caps.gracefulRestart } : {}),
    ...(caps.extendedNextHop.length > 0 ? { extendedNextHop: caps.extendedNextHop } : {}),
    ...(caps.malformed.length > 0 ? { malformed: caps.malformed } : {}),
    ...(caps.unknown.length > 0 ? { unknown: caps.unknown } : {}),
  };
  return ok({ version, asn, holdTime, routerId, capabilities });
}
