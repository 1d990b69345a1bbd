// The speaker's BGP/BFD runtime: the peer supervisor with the real BGP transport (TCP-MD5, TTL,
// GTSM sockets) and BFD ports, and its logs and BFD metrics. The speaker imports this module only
// when the first BGPPeer selects its node (src/actors/lazy-peers.ts), so an L2-only node never
// loads it.
// BFD: single-hop sessions (RFC 5881) on UDP 3784, received TTL 255; multi-hop ones (RFC 5883,
// ebgpMultiHop peers) on UDP 4784, received TTL at least the lowest minimumTtl of their profiles.
// The batched port (sendmmsg/recvmmsg, reading on readiness while idle), MOORING_BFD_IO=dgram for node:dgram.
import type { Meter } from '@opentelemetry/api';
import { BgpPeers } from '../actors/bgp-peers.js';
import { createBgpTransport } from '../actors/bgp-transport.actor.js';
import { registerBfdMetrics } from '../actors/bfd-metrics.js';
import { bgpSocketPort } from './bgp-socket.js';
import { linuxUnnumberedPort } from './unnumbered-link.js';
import { BFD_MULTIHOP_PORT } from './bfd-udp.js';
import { openBfdPort } from './bfd-port.js';
import type { Logger } from './log.js';

/** `onEvent` also sees every peer event (the state feed for `mooring viz`). */
type BgpPeersEvent = NonNullable<ConstructorParameters<typeof BgpPeers>[0]['onEvent']>;

export function createSpeakerPeers(o: { node: string; log: Logger; meter: Meter; onEvent?: BgpPeersEvent }): BgpPeers {
  const { log } = o;
  return new BgpPeers({
    nodeName: o.node,
    transport: () => createBgpTransport(bgpSocketPort),
    log,
    bfdPort: async ({ multihop, minTtl, timers }) => {
      const port = await openBfdPort({
        localAddresses: ['0.0.0.0', '::'],
        timers,
        ...(multihop ? { port: BFD_MULTIHOP_PORT, minTtl } : {}),
      });
      return { port, txSlotMs: port.txSlotMs };
    },
    onBfdReady: (samples) => registerBfdMetrics(o.meter, samples),
    // Unnumbered peers: the router's RAs on the interface name its link-local address.
    unnumbered: linuxUnnumberedPort({
      onInvalid: (iface, reason, count) =>
        log.warn('invalid router advertisements dropped', { event: 'bgp.raInvalid', interface: iface, reason, count }),
    }),
    onEvent: (e) => {
      o.onEvent?.(e);
      if (e.event === 'bfdState')
        log.info('bfd session', {
          event: 'bfd.transition',
          machine: 'bfdSession',
          peer: e.peer,
          multihop: e.multihop,
          from: e.from,
          to: e.to,
          reason: e.reason,
        });
      else if (e.event !== 'bfdCoupling') log.info('bgp', { ...e, event: `bgp.${e.event}` });
    },
  });
}
