import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromCallback, SimulatedClock } from 'xstate';
import { BgpSpeaker, sessionInput, type SpeakerEvent } from './bgp-speaker.js';
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
} from '../codecs/bgp/index.js';
import type { BgpSessionEvent, BgpTransportInput, TransportCommand } from '../machines/bgp-session.machine.js';
import type { RouteAttrs } from '../domain/bgp-advertisements.js';

const A: RouteAttrs = { communities: [65000 * 65536 + 100], largeCommunities: [] };
const f = (b: Uint8Array): Frame => {
  const r = unframe(b);
  assert.ok(r.ok);
  return r.value;
};

function harness() {
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
      },
    ],
  });
  const up = () => {
    speaker.start();
    clock.increment(0);
    assert.ok(push);
    push({ type: 'tcp.connected', localAddress: '198.51.100.11' });
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
