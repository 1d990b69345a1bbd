// bgpTransport: the actor a bgpSession machine invokes for the life of one TCP connection. It
// connects through a BgpSocketPort (src/adapters/bgp-socket.ts in production, fakes in tests),
// frames the byte stream with the pure codec Framer and reports `tcp.*` / `bgp.frame` /
// `bgp.error` events; it writes what the machine sends. Stopping it closes the connection
// gracefully (queued bytes such as a NOTIFICATION are flushed first).
import { fromCallback } from 'xstate';
import { Framer } from '../codecs/bgp/index.js';
import type { BgpSessionEvent, BgpTransportInput, TransportCommand } from '../machines/bgp-session.machine.js';

export interface BgpConnectOptions extends BgpTransportInput {
  readonly timeoutMs: number;
}

export interface BgpConnection {
  readonly localAddress: string;
  readonly localIpv4OnInterface: string | undefined;
  write(data: Uint8Array): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  /** Called once when the connection is gone, with the socket error if any. */
  onClose(cb: (error?: string) => void): void;
  close(): void;
}

export interface BgpSocketPort {
  connect(o: BgpConnectOptions, signal: { readonly aborted: boolean }): Promise<BgpConnection>;
}

/** Byte counters the speaker exposes as metrics. */
export interface TransportStats {
  bytesOut: number;
  bytesIn: number;
  messagesOut: number;
}

export function createBgpTransport(port: BgpSocketPort, opts: { connectTimeoutMs?: number; stats?: TransportStats } = {}) {
  return fromCallback<TransportCommand, BgpTransportInput>(({ input, sendBack, receive }) => {
    const signal = { aborted: false };
    let conn: BgpConnection | undefined;
    const send = (e: BgpSessionEvent): void => {
      if (!signal.aborted) sendBack(e);
    };
    receive((cmd) => {
      if (!conn) return;
      if (cmd.type === 'send') {
        conn.write(cmd.data);
        if (opts.stats) {
          opts.stats.bytesOut += cmd.data.length;
          opts.stats.messagesOut++;
        }
      } else conn.close();
    });
    port.connect({ ...input, timeoutMs: opts.connectTimeoutMs ?? 10_000 }, signal).then(
      (c) => {
        if (signal.aborted) {
          c.close();
          return;
        }
        conn = c;
        const framer = new Framer();
        c.onData((chunk) => {
          if (opts.stats) opts.stats.bytesIn += chunk.length;
          for (const r of framer.push(chunk)) {
            if (r.ok) send({ type: 'bgp.frame', frame: r.value });
            else {
              send({ type: 'bgp.error', error: r.error });
              return;
            }
          }
        });
        c.onClose((error) => send({ type: 'tcp.closed', ...(error ? { error } : {}) }));
        send({
          type: 'tcp.connected',
          localAddress: c.localAddress,
          ...(c.localIpv4OnInterface ? { localIpv4OnInterface: c.localIpv4OnInterface } : {}),
        });
      },
      (e: unknown) => send({ type: 'tcp.failed', error: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      signal.aborted = true;
      conn?.close();
    };
  });
}
