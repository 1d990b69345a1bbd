// One decoded BGP message of any type, from a frame produced by the Framer.
import { type Frame } from './header.js';
import { decodeOpen, type Open } from './open.js';
import { decodeNotification, decodeRouteRefresh, type Notification, type RouteRefresh } from './simple.js';
import { decodeUpdate, type Update, type UpdateError } from './update.js';
import type { DecodeContext } from './attributes.js';
import { ErrorCode, HeaderSubcode, MessageType, type Result, fail, ok } from './types.js';

export type BgpMessage =
  | ({ readonly type: 'open' } & Open)
  | ({ readonly type: 'update' } & Update)
  | ({ readonly type: 'notification' } & Notification)
  | { readonly type: 'keepalive' }
  | ({ readonly type: 'routeRefresh' } & RouteRefresh);

export function decodeMessage(f: Frame, ctx: DecodeContext): Result<BgpMessage, UpdateError> {
  switch (f.type) {
    case MessageType.open: {
      const r = decodeOpen(f.body);
      return r.ok ? ok({ type: 'open', ...r.value }) : r;
    }
    case MessageType.update: {
      const r = decodeUpdate(f.body, ctx);
      return r.ok ? ok({ type: 'update', ...r.value }) : r;
    }
    case MessageType.notification: {
      const r = decodeNotification(f.body);
      return r.ok ? ok({ type: 'notification', ...r.value }) : r;
    }
    case MessageType.keepalive:
      return f.body.length === 0
        ? ok({ type: 'keepalive' })
        : fail(ErrorCode.messageHeader, HeaderSubcode.badMessageLength, 'KEEPALIVE with a body');
    case MessageType.routeRefresh: {
      const r = decodeRouteRefresh(f.body);
      return r.ok ? ok({ type: 'routeRefresh', ...r.value }) : r;
    }
    default:
      return fail(ErrorCode.messageHeader, HeaderSubcode.badMessageType, `unknown message type ${f.type}`, Uint8Array.of(f.type));
  }
}
