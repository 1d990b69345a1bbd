// The small messages: KEEPALIVE (RFC 4271 §4.4, header only), NOTIFICATION (§4.5) and
// ROUTE-REFRESH (RFC 2918 §3, RFC 7313 subtype).
//
//   NOTIFICATION: | Error code (1) | Error subcode (1) | Data (variable) |
//   ROUTE-REFRESH: | AFI (2) | Reserved / subtype (1) | SAFI (1) |
import { u16, Writer } from './bytes.js';
import { frame } from './header.js';
import { ErrorCode, HeaderSubcode, MessageType, type Result, fail, ok } from './types.js';

export interface Notification {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}
export interface RouteRefresh {
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

export const keepalive = (): Uint8Array => frame(MessageType.keepalive, new Uint8Array(0));

export function encodeNotification(n: { code: number; subcode: number; data?: Uint8Array }): Uint8Array {
  return frame(
    MessageType.notification,
    new Writer(2 + (n.data?.length ?? 0))
      .u8(n.code)
      .u8(n.subcode)
      .bytes(n.data ?? new Uint8Array(0))
      .finish(),
  );
}

export function decodeNotification(b: Uint8Array): Result<Notification> {
  if (b.length < 2) return fail(ErrorCode.messageHeader, HeaderSubcode.badMessageLength, 'NOTIFICATION shorter than 2 octets');
  return ok({ code: b[0] as number, subcode: b[1] as number, data: b.slice(2) });
}

export function encodeRouteRefresh(r: { afi: number; safi: number; subtype?: number }): Uint8Array {
  return frame(
    MessageType.routeRefresh,
    new Writer(4)
      .u16(r.afi)
      .u8(r.subtype ?? 0)
      .u8(r.safi)
      .finish(),
  );
}

export function decodeRouteRefresh(b: Uint8Array): Result<RouteRefresh> {
  // RFC 7313 §5: a bad length is a ROUTE-REFRESH message error (code 7, subcode 1).
  if (b.length !== 4) return fail(ErrorCode.routeRefresh, 1, `ROUTE-REFRESH body ${b.length} octets != 4`, b.slice());
  return ok({ afi: u16(b, 0), safi: b[3] as number, subtype: b[2] as number });
}

/** Human text for a NOTIFICATION, used in down reasons and logs. */
export function describeNotification(code: number, subcode: number): string {
  const codes: Record<number, string> = {
    1: 'message header error',
    2: 'OPEN message error',
    3: 'UPDATE message error',
    4: 'hold timer expired',
    5: 'FSM error',
    6: 'cease',
    7: 'ROUTE-REFRESH message error',
  };
  const subs: Record<string, string> = {
    '2/1': 'unsupported version number',
    '2/2': 'bad peer AS',
    '2/3': 'bad BGP identifier',
    '2/4': 'unsupported optional parameter',
    '2/6': 'unacceptable hold time',
    '2/7': 'unsupported capability',
    '6/1': 'maximum number of prefixes reached',
    '6/2': 'administrative shutdown',
    '6/3': 'peer de-configured',
    '6/4': 'administrative reset',
    '6/5': 'connection rejected',
    '6/6': 'other configuration change',
    '6/7': 'connection collision resolution',
    '6/8': 'out of resources',
    '6/9': 'hard reset',
  };
  const base = codes[code] ?? `error code ${code}`;
  const sub = subs[`${code}/${subcode}`];
  return sub ? `${base}: ${sub}` : `${base} (subcode ${subcode})`;
}
