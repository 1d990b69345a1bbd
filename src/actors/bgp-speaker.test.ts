import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromCallback, SimulatedClock } from 'xstate';
import { BgpSpeaker, sessionInput, type SpeakerEvent, type SpeakerPeerConfig } from './bgp-speaker.js';
import {
  decodeMessage,
  encodeOpen,
  encodeRouteRefresh,
  encodeUpdate,
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

const A: RouteAttrs = { communities: [65000 * 65536 + 100], largeCommunities: [] };
const f = (b: Uint8Array): Frame => {
  const r = unframe(b);
  assert.ok(r.ok);
  return r.value;
};

/**
 * One speaker with one peer `r` on a fake transport. `peer` replaces the default peer's fields
 * (an unnumbered peer, say), `localAddress` is what the connection reports as ours, `routerCaps`
 * adds to the capabilities in the router's OPEN.
 */
function harness(o: { peer?: Partial<SpeakerPeerConfig>; localAddress?: string; routerCaps?: Partial<Open['capabilities']> } = {}) {
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
    peers: [
      {
        name: 'r',
        peerAddress: '198.51.100.1',
        myAsn: 64512,
        peerAsn: 64513,
        holdTime: 90,
        families: ['ipv4', 'ipv6'],
        nextHopIpv6: '2001:db8:4::11',
        ...o.peer,
      },
    ],
  });
  const up = () => {
    speaker.start();
    clock.increment(0);
    assert.ok(push);
    push({ type: 'tcp.connected', localAddress: o.localAddress ?? '198.51.100.11' });
    push({
      type: 'bgp.frame',
      frame: f(
        frame(
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
              ...o.routerCaps,
            },
          }),
        ),
      ),
    });
    push({ type: 'bgp.frame', frame: f(keepalive()) });
  };
  const updates = () =>
    wire.map((b) => decodeMessage(f(b), { as4: true })).flatMap((m) => (m.ok && m.value.type === 'update' ? [m.value] : []));
  return { clock, wire, speaker, events, up, updates, peer: (e: BgpSessionEvent) => push?.(e) };
}

test('sessionInput maps MetalLB fields: eBGP TTL 1, multihop 255, GTSM min TTL, graceful restart', () => {
  const base = { name: 'p', peerAddress: '198.51.100.1', myAsn: 64512, peerAsn: 64513 };
  assert.equal(sessionInput(base, 'n').transport.ttl, 1);
  assert.equal(sessionInput({ ...base, ebgpMultiHop: true }, 'n').transport.ttl, 255);
  assert.equal(sessionInput({ ...base, peerAsn: 64512 }, 'n').transport.ttl, undefined);
  assert.deepEqual(
    [sessionInput({ ...base, gtsm: true }, 'n').transport.ttl, sessionInput({ ...base, gtsm: true }, 'n').transport.minTtl],
    [255, 254],
  );
  assert.deepEqual(sessionInput({ ...base, enableGracefulRestart: true }, 'n').gracefulRestart, { restartTime: 120 });
  assert.deepEqual(sessionInput({ ...base, peerAddress: '2001:db8:4::1' }, 'n').families, [6]);
});

test('full table then End-of-RIB per family on Established; diffs afterwards; re-send on ROUTE-REFRESH', () => {
  const h = harness();
  const v4 = Array.from({ length: 256 }, (_, i) => `203.0.113.${i}/32`);
  h.speaker.setRoutes(new Map([['r', new Map([...v4.map((p) => [p, A] as const), ['2001:db8:4:ff::1/128', A]])]]));
  h.up();
  const u = h.updates();
  const eor = u.map(endOfRibFamily).filter((x) => x !== undefined);
  assert.deepEqual(eor, [1, 2], 'End-of-RIB for IPv4 and IPv6, after the routes');
  const ann = u.filter((x) => endOfRibFamily(x) === undefined);
  assert.equal(ann.length, 2, 'one packed UPDATE per family');
  assert.equal(ann[0]?.nlri.length, 256);
  assert.equal(ann[0]?.attrs.nextHop, '198.51.100.11');
  assert.deepEqual(ann[0]?.attrs.asPath, [{ type: 2, asns: [64512] }]);
  assert.equal(ann[0]?.attrs.localPref, undefined, 'no LOCAL_PREF on eBGP');
  assert.deepEqual(ann[1]?.attrs.mpReach?.nextHops, ['2001:db8:4::11']);
  assert.deepEqual(h.speaker.metrics().r, {
    metallb_bgp_session_up: 1,
    metallb_bgp_updates_total: 2,
    metallb_bgp_announced_prefixes_total: 257,
    metallb_bgp_pending_prefixes_total: 257,
    mooring_bgp_session_state: 'established',
    mooring_bgp_nlri_total: 257,
    mooring_bgp_encode_errors_total: 0,
    mooring_bgp_received_prefixes: 0,
  });
  // A change sends only the difference.
  h.wire.length = 0;
  h.speaker.setRoutes(new Map([['r', new Map(v4.slice(1).map((p) => [p, A] as const))]]));
  const d = h.updates();
  assert.deepEqual(
    d.map((x) => [x.withdrawn, x.attrs.mpUnreach?.withdrawn ?? []]),
    [
      [['203.0.113.0/32'], []],
      [[], ['2001:db8:4:ff::1/128']],
    ],
  );
  // ROUTE-REFRESH for IPv4: the family is sent again (no End-of-RIB).
  h.wire.length = 0;
  h.peer({ type: 'bgp.frame', frame: f(encodeRouteRefresh({ afi: 1, safi: 1 })) });
  const rr = h.updates();
  assert.equal(rr.length, 1);
  assert.equal(rr[0]?.nlri.length, 255);
  assert.ok(h.events.some((e) => e.event === 'routeRefresh'));
});

test('a prefix the encoder refuses is reported and counted, never sent; the others still go out', () => {
  const h = harness();
  h.speaker.setRoutes(
    new Map([
      [
        'r',
        new Map([
          ['203.0.113.7/32', A],
          ['203.0.113.300/32', A],
          ['2001:db8:4:ff::1/128', A],
        ]),
      ],
    ]),
  );
  h.up();
  const ann = h.updates().filter((x) => endOfRibFamily(x) === undefined);
  assert.deepEqual(
    ann.map((x) => [...x.nlri, ...(x.attrs.mpReach?.nlri ?? [])]),
    [['203.0.113.7/32'], ['2001:db8:4:ff::1/128']],
  );
  const refused = h.events.filter((e) => e.event === 'routesRefused');
  assert.equal(refused.length, 1);
  assert.match(refused[0]?.event === 'routesRefused' ? refused[0].error : '', /"203\.0\.113\.300\/32"/);
  const m = h.speaker.metrics().r;
  assert.equal(m?.mooring_bgp_encode_errors_total, 1);
  assert.equal(m?.metallb_bgp_announced_prefixes_total, 2, 'the refused prefix is not in the Adj-RIB-Out');
});

test('session down clears the Adj-RIB-Out and the session_up metric', () => {
  const h = harness();
  h.speaker.setRoutes(new Map([['r', new Map([['203.0.113.1/32', A]])]]));
  h.up();
  h.peer({ type: 'tcp.closed' });
  const m = h.speaker.metrics().r;
  assert.equal(m?.metallb_bgp_session_up, 0);
  assert.equal(m?.metallb_bgp_announced_prefixes_total, 0);
  assert.equal(m?.metallb_bgp_pending_prefixes_total, 1, 'still to be advertised (MetalLB: pending outlives the session)');
  const down = h.events.find((e) => e.event === 'sessionDown');
  assert.ok(down?.event === 'sessionDown' && down.reason === 'connectionClosed');
});

test('pending prefixes: what should be advertised to the peer, before the session is up and after a change', () => {
  const h = harness();
  assert.equal(h.speaker.metrics().r?.metallb_bgp_pending_prefixes_total, 0);
  h.speaker.setRoutes(
    new Map([
      [
        'r',
        new Map([
          ['203.0.113.1/32', A],
          ['203.0.113.2/32', A],
        ]),
      ],
      ['other', new Map([['203.0.113.3/32', A]])],
    ]),
  );
  let m = h.speaker.metrics().r;
  assert.equal(m?.metallb_bgp_pending_prefixes_total, 2, 'desired for this peer, session not up');
  assert.equal(m?.metallb_bgp_announced_prefixes_total, 0);
  h.up();
  m = h.speaker.metrics().r;
  assert.equal(m?.metallb_bgp_pending_prefixes_total, 2);
  assert.equal(m?.metallb_bgp_announced_prefixes_total, 2);
  h.speaker.setRoutes(new Map([['r', new Map([['203.0.113.1/32', A]])]]));
  assert.equal(h.speaker.metrics().r?.metallb_bgp_pending_prefixes_total, 1);
});

test('asPathPrepend on the wire, the Adj-RIB-Out view with every attribute, and the prefixes the peer advertises counted', () => {
  const h = harness();
  const P: RouteAttrs = { asPathPrepend: 2, communities: [65000 * 65536 + 100], largeCommunities: [[1, 2, 3]] };
  h.speaker.setRoutes(new Map([['r', new Map([['203.0.113.7/32', P] as const, ['203.0.113.8/32', A] as const])]]));
  h.up();
  const ann = h.updates().filter((x) => endOfRibFamily(x) === undefined);
  const paths = new Map(ann.flatMap((u) => u.nlri.map((p) => [p, u.attrs.asPath] as const)));
  assert.deepEqual(paths.get('203.0.113.7/32'), [{ type: 2, asns: [64512, 64512, 64512] }], 'eBGP: the local AS once plus twice');
  assert.deepEqual(paths.get('203.0.113.8/32'), [{ type: 2, asns: [64512] }]);
  const [view] = h.speaker.adjRibOut();
  assert.deepEqual(view, {
    peer: 'r',
    address: '198.51.100.1:179',
    state: 'established',
    localAsn: 64512,
    peerAsn: 64513,
    ebgp: true,
    routerId: view?.routerId,
    peerRouterId: '198.51.100.1',
    families: ['ipv4', 'ipv6'],
    routes: [
      {
        prefix: '203.0.113.7/32',
        nextHop: '198.51.100.11',
        origin: 'igp',
        asPath: [64512, 64512, 64512],
        communities: ['65000:100'],
        largeCommunities: ['1:2:3'],
      },
      {
        prefix: '203.0.113.8/32',
        nextHop: '198.51.100.11',
        origin: 'igp',
        asPath: [64512],
        communities: ['65000:100'],
        largeCommunities: [],
      },
    ],
  });
  // The router advertises two prefixes, then withdraws one: counted, never installed.
  const upd = (body: Parameters<typeof encodeUpdate>[0]) => {
    const r = encodeUpdate(body, { as4: true });
    assert.ok(r.ok);
    h.peer({ type: 'bgp.frame', frame: f(frame(MessageType.update, r.value)) });
  };
  upd({
    withdrawn: [],
    nlri: ['198.51.100.0/25', '198.51.100.128/25'],
    attrs: { origin: 0, asPath: [{ type: 2, asns: [64513] }], nextHop: '198.51.100.1' },
  });
  assert.equal(h.speaker.metrics().r?.mooring_bgp_received_prefixes, 2);
  upd({ withdrawn: ['198.51.100.0/25'], nlri: [], attrs: {} });
  assert.equal(h.speaker.metrics().r?.mooring_bgp_received_prefixes, 1);
  // Down: nothing held either way.
  h.peer({ type: 'tcp.closed' } as never);
  assert.equal(h.speaker.metrics().r?.mooring_bgp_received_prefixes, 0);
  assert.deepEqual(h.speaker.adjRibOut()[0]?.routes, []);
});

test('stateChanged names the TCP substates (connect, openSent, openConfirm), not a character index', () => {
  const h = harness();
  h.up();
  const seen = h.events.flatMap((e) => (e.event === 'stateChanged' ? [e.to] : []));
  assert.ok(seen.includes('openSent') || seen.includes('connect'), JSON.stringify(seen));
  assert.ok(!seen.some((s) => /^\d+$/.test(s)), JSON.stringify(seen));
  assert.equal(seen.at(-1), 'established');
});

// The speaker on an unnumbered session (BGPPeer `interface`): the OPEN offers IPv4 and IPv6 and
// RFC 8950 extended next hop; IPv4 routes go in MP_REACH_NLRI (AFI 1) with our link-local
// address as next hop only when the router offered the capability too; IPv6 routes carry it
// as well, after a configured global next hop when there is one.
const PLAIN: RouteAttrs = { communities: [], largeCommunities: [] };
const OUR_LL = 'fe80::cc0d:b3ff:febb:502e';

function run(peer: Partial<SpeakerPeerConfig>, routerCaps: Partial<Open['capabilities']>) {
  const h = harness({
    // No family list: an unnumbered session defaults to both; no global IPv6 next hop unless given.
    peer: {
      peerAddress: 'fe80::1%eth0',
      interface: 'eth0',
      families: undefined,
      nextHopIpv6: undefined,
      ...peer,
    } as Partial<SpeakerPeerConfig>,
    // Node reports the local address of a link-local connection with its zone.
    localAddress: `${OUR_LL}%eth0`,
    routerCaps,
  });
  h.speaker.setRoutes(
    new Map([
      [
        'r',
        new Map([
          ['203.0.113.10/32', PLAIN],
          ['2001:db8:5::10/128', PLAIN],
        ]),
      ],
    ]),
  );
  h.up();
  const msgs = h.wire.map((b) => decodeMessage(f(b), { as4: true })).flatMap((m) => (m.ok ? [m.value] : []));
  const sentOpen = msgs.find((m) => m.type === 'open');
  const updates = h.updates().filter((u) => endOfRibFamily(u) === undefined);
  const rib = h.speaker.adjRibOut()[0];
  h.speaker.stop(false);
  return { sentOpen, updates, events: h.events, rib };
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
