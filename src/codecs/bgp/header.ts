// BGP message header and stream framing (RFC 4271 §4.1, §6.1).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                          Marker (16 x 0xff)                   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Length               |      Type     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The framer is a byte-driven accumulator that never touches a socket: push any chunking of the
// TCP stream, get whole messages back. A header error is fatal for the stream (§6.1).
import { u16, Writer } from './bytes.js';
import { ErrorCode, HeaderSubcode, HEADER_LEN, MAX_MESSAGE_LEN, MessageType, type BgpError, type Result, fail, ok } from './types.js';

export interface Frame {
  readonly type: number;
  readonly body: Uint8Array;
}

/** Minimum total length per type (§6.1: shorter is "Bad Message Length"). */
const MIN_LEN: Record<number, number> = {
  [MessageType.open]: 29,
  [MessageType.update]: 23,
  [MessageType.notification]: 21,
  [MessageType.keepalive]: 19,
  [MessageType.routeRefresh]: 23,
};

/** Wraps a body in a header. */
export function frame(type: MessageType, body: Uint8Array): Uint8Array {
  const w = new Writer(HEADER_LEN + body.length);
  for (let i = 0; i < 16; i++) w.u8(0xff);
  w.u16(HEADER_LEN + body.length)
    .u8(type)
    .bytes(body);
  return w.finish();
}

/** Validates the 19-byte header at `b[0..]`; returns total length and type. */
export function checkHeader(b: Uint8Array): Result<{ length: number; type: number }> {
  for (let i = 0; i < 16; i++) {
    if (b[i] !== 0xff) return fail(ErrorCode.messageHeader, HeaderSubcode.connectionNotSynchronized, 'marker is not all ones');
  }
  const length = u16(b, 16);
  const type = b[18] as number;
  const lenData = b.slice(16, 18);
  if (length < HEADER_LEN || length > MAX_MESSAGE_LEN) {
    return fail(ErrorCode.messageHeader, HeaderSubcode.badMessageLength, `length ${length} outside 19..4096`, lenData);
  }
  const min = MIN_LEN[type];
  if (min === undefined)
    return fail(ErrorCode.messageHeader, HeaderSubcode.badMessageType, `unknown message type ${type}`, Uint8Array.of(type));
  if (length < min || (type === MessageType.keepalive && length !== HEADER_LEN)) {
    return fail(ErrorCode.messageHeader, HeaderSubcode.badMessageLength, `length ${length} invalid for type ${type}`, lenData);
  }
  return ok({ length, type });
}

/** Decodes exactly one framed message (header included). */
export function unframe(b: Uint8Array): Result<Frame> {
  if (b.length < HEADER_LEN) return fail(ErrorCode.messageHeader, HeaderSubcode.badMessageLength, `short message (${b.length} bytes)`);
  const h = checkHeader(b);
  if (!h.ok) return h;
  if (h.value.length !== b.length) {
    return fail(
      ErrorCode.messageHeader,
      HeaderSubcode.badMessageLength,
      `length field ${h.value.length} != ${b.length} bytes`,
      b.slice(16, 18),
    );
  }
  return ok({ type: h.value.type, body: b.subarray(HEADER_LEN) });
}

/** Stream framer: accumulates TCP chunks and returns complete frames. */
export class Framer {
  private buf = new Uint8Array(8192);
  private start = 0;
  private end = 0;
  private error: BgpError | undefined;

  /** Returns every complete frame in arrival order; a header error ends the list and the stream. */
  push(chunk: Uint8Array): Array<Result<Frame>> {
    const out: Array<Result<Frame>> = [];
    if (this.error) return [{ ok: false, error: this.error }];
    this.append(chunk);
    while (this.end - this.start >= HEADER_LEN) {
      const view = this.buf.subarray(this.start, this.end);
      const h = checkHeader(view);
      if (!h.ok) {
        this.error = h.error;
        out.push(h);
        return out;
      }
      if (view.length < h.value.length) break;
      // Copy out: the internal buffer is reused.
      out.push(ok({ type: h.value.type, body: view.slice(HEADER_LEN, h.value.length) }));
      this.start += h.value.length;
    }
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return out;
  }

  /** Bytes waiting for the rest of their message. */
  get pending(): number {
    return this.end - this.start;
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const size = Math.max(this.buf.length, live + chunk.length);
      const next = size > this.buf.length ? new Uint8Array(size * 2) : this.buf;
      if (next === this.buf) this.buf.copyWithin(0, this.start, this.end);
      else next.set(this.buf.subarray(this.start, this.end));
      this.buf = next;
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }
}
