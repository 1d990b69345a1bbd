// The speaker on an unnumbered session (BGPPeer `interface`): the OPEN offers IPv4 and IPv6 and
// RFC 8950 extended next hop; IPv4 routes go in MP_REACH_NLRI (AFI 1) with our link-local
// address as next hop only when the router offered the capability too; IPv6 routes carry it
// as well, after a configured global next hop when there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromCallback, SimulatedClock } from 'xstate';
import { BgpSpeaker, sessionInput, type SpeakerEvent, type SpeakerPeerConfig } from './bgp-speaker.js';
import {
  decodeMessage,
  encodeOpen,
  endOfRibFamily,
  frame,
  keepalive,
  unframe,
  MessageType,
  type Frame,
  type Open,
} from '../codecs/bgp/index.js';
import type { BgpSessionEvent, BgpTransportInput, TransportCommand } from '../machines/bgp-session.machine.js';
import type { RouteAttrs } from '../domain/bgp-advertisements.js';

const A: RouteAttrs = { communities: [], largeCommunities: [] };
const OUR_LL = 'fe80::cc0d:b3ff:febb:502e';
const f = (b: Uint8Array): Frame => {
  const r = unframe(b);
  assert.ok(r.ok);
  return r.value;
};

function run(peer: Partial<SpeakerPeerConfig>, routerCaps: Partial<Open['capabilities']>) {
  const clock = new SimulatedClock();
  const wire: Uint8Array[] = [];
  let push: ((e: BgpSessionEvent) => void) | undefined;
  const transport = fromCallback<TransportCommand, BgpTransportInput>(({ sendBack, receive }) => {
    push = (e) => sendBack(e);
    receive((c) => {
      if (c.type === 'send') wire.push(c.data);
    });
    return () => {
      push = undefined;
    };
  });
  const events: SpeakerEvent[] = [];
  const speaker = new BgpSpeaker({
    nodeName: 'node-a',
    clock,
    transport,
    onEvent: (e) => events.push(e),
    peers: [{ name: 'r', peerAddress: 'fe80::1%eth0', interface: 'eth0', myAsn: 64512, peerAsn: 64513, holdTime: 90, ...peer }],
  });
  speaker.setRoutes(
    new Map([
      [
        'r',
        new Map([
          ['203.0.113.10/32', A],
          ['2001:db8:5::10/128', A],
        ]),
      ],
    ]),
  );
  speaker.start();
  clock.increment(0);
  assert.ok(push);
  // Node reports the local address of a link-local connection with its zone.
  push({ type: 'tcp.connected', localAddress: `${OUR_LL}%eth0` });
  const open = frame(
    MessageType.open,
    encodeOpen({
      asn: 64513,
      holdTime: 90,
      routerId: '198.51.100.1',
      capabilities: {
        multiprotocol: [
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ],
        routeRefresh: true,
        fourOctetAs: 64513,
        ...routerCaps,
      },
    }),
  );
  push({ type: 'bgp.frame', frame: f(open) });
  push({ type: 'bgp.frame', frame: f(keepalive()) });
  const msgs = wire.map((b) => decodeMessage(f(b), { as4: true })).flatMap((m) => (m.ok ? [m.value] : []));
  const sentOpen = msgs.find((m) => m.type === 'open');
  const updates = msgs.flatMap((m) => (m.type === 'update' && endOfRibFamily(m) === undefined ? [m] : []));
  const rib = speaker.adjRibOut()[0];
  speaker.stop(false);
  return { sentOpen, updates, events, rib };
}

const EXT_NH = { extendedNextHop: [{ afi: 1, safi: 1, nextHopAfi: 2 }] };

test('sessionInput: an unnumbered peer carries IPv4 and IPv6 and asks for extended next hop', () => {
  const i = sessionInput({ name: 'r', peerAddress: 'fe80::1%eth0', interface: 'eth0', myAsn: 64512, peerAsn: 64513 }, 'n');
  assert.deepEqual([i.families, i.extendedNextHop, i.transport.ttl], [[4, 6], true, 1]);
  const only6 = sessionInput(
    { name: 'r', peerAddress: 'fe80::1%eth0', interface: 'eth0', myAsn: 64512, peerAsn: 64513, families: ['ipv6'] },
    'n',
  );
  assert.deepEqual(only6.families, [6]);
  assert.equal(sessionInput({ name: 'r', peerAddress: '198.51.100.1', myAsn: 64512, peerAsn: 64513 }, 'n').extendedNextHop, undefined);
});

test('both sides offer extended next hop: IPv4 in MP_REACH_NLRI AFI 1 and IPv6, each via our link-local address (16 octets)', () => {
  const r = run({}, EXT_NH);
  assert.ok(r.sentOpen?.type === 'open');
  assert.deepEqual(r.sentOpen.capabilities.extendedNextHop, [{ afi: 1, safi: 1, nextHopAfi: 2 }]);
  assert.deepEqual(r.sentOpen.capabilities.multiprotocol, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  const v4 = r.updates.find((u) => u.attrs.mpReach?.afi === 1);
  const v6 = r.updates.find((u) => u.attrs.mpReach?.afi === 2);
  assert.deepEqual(v4?.attrs.mpReach, { afi: 1, safi: 1, nextHops: [OUR_LL], nlri: ['203.0.113.10/32'] });
  assert.equal(v4?.attrs.nextHop, undefined);
  assert.deepEqual(v4?.nlri, []);
  assert.deepEqual(v6?.attrs.mpReach, { afi: 2, safi: 1, nextHops: [OUR_LL], nlri: ['2001:db8:5::10/128'] });
  assert.deepEqual(
    r.rib?.routes.map((x) => [x.prefix, x.nextHop]),
    [
      ['2001:db8:5::10/128', OUR_LL],
      ['203.0.113.10/32', OUR_LL],
    ],
  );
  assert.equal(
    r.events.find((e) => e.event === 'nextHopMissing'),
    undefined,
  );
});

test('a configured global IPv6 next hop goes first, our link-local second (32 octets)', () => {
  const r = run({ nextHopIpv6: '2001:db8:4::11' }, EXT_NH);
  for (const afi of [1, 2]) {
    assert.deepEqual(
      r.updates.find((u) => u.attrs.mpReach?.afi === afi)?.attrs.mpReach?.nextHops,
      ['2001:db8:4::11', OUR_LL],
      `AFI ${afi}`,
    );
  }
});

test('the router does not offer extended next hop: no IPv4 route is sent (RFC 8950 §4), nextHopMissing says so; IPv6 still goes', () => {
  const r = run({}, {});
  assert.equal(
    r.updates.find((u) => u.attrs.mpReach?.afi === 1 || u.nlri.length > 0),
    undefined,
  );
  assert.deepEqual(r.updates.find((u) => u.attrs.mpReach?.afi === 2)?.attrs.mpReach?.nlri, ['2001:db8:5::10/128']);
  assert.deepEqual(
    r.events.filter((e) => e.event === 'nextHopMissing'),
    [{ event: 'nextHopMissing', peer: 'r', family: 4 }],
  );
});

test('a malformed extended next hop capability from the router counts as not offered', () => {
  // Length 4 is not a multiple of 6: carried as an unknown-length raw capability via `unknown`.
  const r = run({}, { unknown: [{ code: 5, value: Uint8Array.of(0, 1, 0, 1) }] });
  assert.equal(
    r.updates.find((u) => u.attrs.mpReach?.afi === 1),
    undefined,
  );
  assert.equal(r.events.filter((e) => e.event === 'nextHopMissing').length, 1);
  const up = r.events.find((e) => e.event === 'sessionUp');
  assert.deepEqual(up?.event === 'sessionUp' && up.negotiated.malformedCapabilities, [
    '5: extended next hop capability length 4 is not a positive multiple of 6',
  ]);
});
