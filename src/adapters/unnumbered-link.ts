// BGP unnumbered on Linux: per interface, a pcap capture of IPv6 Router Advertisements (and
// Router Solicitations) and the injection of our own RAs. The router's RAs name its link-local
// address (src/domain/unnumbered.ts chooses among them); ours — router lifetime 0, so nobody
// takes this node for a default router — let a router such as FRR, which learns unnumbered
// neighbours from the RAs it receives (zebra rtadv), accept our connection. We send one at start,
// one on every Router Solicitation, and then every RA_INTERVAL_MS (FRR's own interval on
// unnumbered links is 10 s).
import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { UnnumberedPort } from '../actors/bgp-peers.js';
import { decodeEthernet, encodeEthernet, EtherType } from '../codecs/ethernet.js';
import { ALL_NODES, decodeIpv6 } from '../codecs/ndp.js';
import { decodeRouterAdvertisement, encodeRouterAdvertisement } from '../codecs/ra.js';
import { chooseUnnumberedPeer } from '../domain/unnumbered.js';
import { isLinkLocalText } from '../domain/ip-family.js';
import { loadPcap } from './pcap-link.js';

/** Router Solicitations and Advertisements only: nothing else wakes us. */
export const RA_FILTER = 'icmp6 and (ip6[40] == 133 or ip6[40] == 134)';
export const RA_INTERVAL_MS = 10_000;
const ALL_NODES_MAC = '33:33:00:00:00:01';
const MIN_FRAME = 60;

/** Our link-local addresses on `iface` (no scope). */
function ownLinkLocal(iface: string): string[] {
  return (os.networkInterfaces()[iface] ?? []).filter((a) => a.family === 'IPv6' && isLinkLocalText(a.address)).map((a) => a.address);
}

export interface UnnumberedLinkOptions {
  /**
   * Invalid RAs dropped on an interface: called for the first, then at most once a minute with
   * the count since the last call (a flood of bad packets does not flood the logs).
   */
  readonly onInvalid?: (iface: string, reason: string, count: number) => void;
  readonly intervalMs?: number;
}

export function linuxUnnumberedPort(o: UnnumberedLinkOptions = {}): UnnumberedPort {
  return {
    watch(iface, onRouter, onError) {
      let closed = false;
      let session:
        { inject(b: Buffer): void; close(): void; on(ev: 'packet', cb: (p: { buf: Buffer; header: Buffer }) => void): void } | undefined;
      let timer: NodeJS.Timeout | undefined;
      const heard = new Map<string, number>();
      let current: string | undefined;
      let mac: string | undefined;
      let invalid = 0;
      let invalidReportedAt = -Infinity;
      const dropInvalid = (reason: string): void => {
        invalid++;
        const now = Date.now();
        if (now - invalidReportedAt < 60_000) return;
        invalidReportedAt = now;
        o.onInvalid?.(iface, reason, invalid);
        invalid = 0;
      };
      const decide = (): void => {
        const now = Date.now();
        const c = chooseUnnumberedPeer({
          iface,
          heard: [...heard].map(([address, at]) => ({ address, ageMs: now - at })),
          own: ownLinkLocal(iface),
          ...(current ? { current } : {}),
        });
        if (c.scoped !== current) {
          current = c.scoped;
          onRouter(c.scoped);
        }
      };
      const sendRa = (): void => {
        if (!session || !mac) return;
        // Before DAD finishes there is no usable link-local address yet: the next tick sends.
        const src = ownLinkLocal(iface)[0];
        if (!src) return;
        const frame = encodeEthernet({
          dst: ALL_NODES_MAC,
          src: mac,
          etherType: EtherType.ipv6,
          payload: encodeRouterAdvertisement(src, ALL_NODES, { sourceLinkAddr: mac }),
        });
        const out = Buffer.alloc(Math.max(MIN_FRAME, frame.length));
        out.set(frame);
        try {
          session.inject(out);
        } catch (e) {
          onError(`sending a router advertisement on ${iface}: ${String(e)}`);
        }
      };
      void loadPcap().then(
        (pcap) => {
          if (closed) return;
          try {
            mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().toLowerCase();
            session = pcap.createSession(iface, {
              filter: RA_FILTER,
              promiscuous: false,
              buffer_timeout: 0,
              snap_length: 512,
            }) as typeof session;
          } catch (e) {
            onError(`interface ${iface}: ${String(e)}`);
            return;
          }
          session?.on('packet', (p) => {
            const caplen = p.header.readUInt32LE(8);
            const b = Uint8Array.prototype.slice.call(p.buf, 0, Math.min(caplen, p.buf.length));
            const eth = decodeEthernet(b);
            if (!eth.ok || eth.value.etherType !== EtherType.ipv6) return;
            const ip = decodeIpv6(eth.value.payload);
            if (!ip.ok) return dropInvalid(ip.error);
            if (ip.value.payload[0] === 133) {
              // A Router Solicitation (a router starting up): answer at once.
              if (!ownLinkLocal(iface).includes(ip.value.src)) sendRa();
              return;
            }
            const ra = decodeRouterAdvertisement(ip.value);
            if (!ra.ok) return dropInvalid(ra.error);
            if (!ra.value) return;
            heard.set(ra.value.src, Date.now());
            decide();
          });
          sendRa();
          timer = setInterval(() => {
            sendRa();
            decide();
          }, o.intervalMs ?? RA_INTERVAL_MS);
          timer.unref();
        },
        (e: unknown) => onError(e instanceof Error ? e.message : String(e)),
      );
      return {
        close() {
          closed = true;
          if (timer) clearInterval(timer);
          session?.close();
          session = undefined;
        },
      };
    },
  };
}
