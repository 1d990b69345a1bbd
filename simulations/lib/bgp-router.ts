// A fake BGP router for the product simulator: a BgpSocketPort per node (what the real
// createBgpTransport connects through; src/adapters/bgp-socket.ts in production) whose far end is
// a minimal router: it answers the speaker's OPEN with its own OPEN and a KEEPALIVE, answers
// KEEPALIVEs, and keeps what each session advertised (IPv4 NLRI and withdrawals, MP_REACH /
// MP_UNREACH). Bytes cross in both directions one latency later on the simulated clock. A session
// that closes (speaker stopped, or killed: the kernel closes a dead process's sockets) takes its
// routes with it (no graceful restart here).
import type { BgpConnection, BgpSocketPort } from '../../src/actors/bgp-transport.actor.js';
import { Framer, MessageType, decodeMessage, encodeOpen, frame, keepalive } from '../../src/codecs/bgp/index.js';
import type { SimClock } from './clock.js';

interface Session {
  node: string;
  routes: Set<string>;
  close: () => void;
}

export class SimRouter {
  private readonly sessions = new Set<Session>();
  /** Every session ever established, for reports. */
  established = 0;
  /** Called on every path change: a node's session starts or stops advertising `prefix`. */
  onPath: ((node: string, prefix: string, up: boolean) => void) | undefined;

  constructor(
    private readonly clock: SimClock,
    readonly address: string,
    readonly asn: number,
    private readonly nodeAddress: (node: string) => string,
    private readonly latencyMs = 1,
  ) {}

  /** node → prefixes it advertises now (sessions that are up). */
  routes(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const s of this.sessions) out.set(s.node, [...s.routes].sort());
    return out;
  }

  /** Nodes with a session that advertises something now (cheap: no sorting). */
  advertisingNodes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.sessions) if (s.routes.size > 0) out.set(s.node, (out.get(s.node) ?? 0) + s.routes.size);
    return out;
  }

  /** The nodes that advertise `prefix` now. */
  nextHops(prefix: string): string[] {
    return [...this.sessions]
      .filter((s) => s.routes.has(prefix))
      .map((s) => s.node)
      .sort();
  }

  /** The node's sockets close (its process died: the kernel sends FIN/RST). */
  dropNode(node: string): void {
    for (const s of [...this.sessions]) if (s.node === node) s.close();
  }

  port(node: string): BgpSocketPort {
    return {
      connect: (o) => {
        if (o.peerAddress !== this.address) return Promise.reject(new Error(`connect ${o.peerAddress}: no route to host`));
        return Promise.resolve(this.accept(node));
      },
    };
  }

  private accept(node: string): BgpConnection {
    const clock = this.clock;
    const framer = new Framer();
    let onData: ((chunk: Uint8Array) => void) | undefined;
    let onClose: ((error?: string) => void) | undefined;
    let open = true;
    const session: Session = {
      node,
      routes: new Set(),
      close: () => {
        if (!open) return;
        open = false;
        this.sessions.delete(session);
        for (const p of session.routes) this.onPath?.(node, p, false);
        session.routes.clear();
        clock.setTimeout(() => onClose?.(), this.latencyMs);
      },
    };
    const toSpeaker = (data: Uint8Array) =>
      clock.setTimeout(() => {
        if (open) onData?.(data);
      }, this.latencyMs);
    const fromSpeaker = (chunk: Uint8Array): void => {
      for (const r of framer.push(chunk)) {
        if (!r.ok) {
          session.close();
          return;
        }
        const m = decodeMessage(r.value, { as4: true });
        if (!m.ok) {
          session.close();
          return;
        }
        const msg = m.value;
        if (msg.type === 'open') {
          toSpeaker(
            frame(
              MessageType.open,
              encodeOpen({
                asn: this.asn,
                holdTime: msg.holdTime,
                routerId: this.address,
                capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: this.asn },
              }),
            ),
          );
          toSpeaker(keepalive());
        } else if (msg.type === 'keepalive') {
          if (!this.sessions.has(session)) {
            this.sessions.add(session);
            this.established++;
          }
          toSpeaker(keepalive());
        } else if (msg.type === 'update') {
          for (const p of [...msg.withdrawn, ...(msg.attrs.mpUnreach?.withdrawn ?? [])])
            if (session.routes.delete(p)) this.onPath?.(node, p, false);
          for (const p of [...msg.nlri, ...(msg.attrs.mpReach?.nlri ?? [])])
            if (!session.routes.has(p)) {
              session.routes.add(p);
              this.onPath?.(node, p, true);
            }
        } else if (msg.type === 'notification') {
          session.close();
        }
      }
    };
    return {
      localAddress: this.nodeAddress(node),
      localIpv4OnInterface: this.nodeAddress(node),
      write: (data) => {
        const copy = data.slice();
        clock.setTimeout(() => {
          if (open) fromSpeaker(copy);
        }, this.latencyMs);
      },
      onData: (cb) => {
        onData = cb;
      },
      onClose: (cb) => {
        onClose = cb;
      },
      close: () => session.close(),
    };
  }
}
