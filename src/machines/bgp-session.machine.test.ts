import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, SimulatedClock, type EventObject } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  bgpSessionMachine,
  fallbackRouterId,
  negotiateTimers,
  type BgpSessionEmitted,
  type BgpSessionEvent,
  type BgpSessionInput,
  type BgpTransportInput,
  type TransportCommand,
} from './bgp-session.machine.js';
import {
  decodeMessage,
  encodeOpen,
  encodeNotification,
  encodeRouteRefresh,
  frame,
  keepalive,
  unframe,
  MessageType,
  type BgpMessage,
  type Open,
} from '../codecs/bgp/index.js';

const INPUT: BgpSessionInput = {
  peer: '198.51.100.1',
  localAsn: 64512,
  peerAsn: 64513,
  nodeName: 'node-a',
  holdTime: 90,
  families: [4, 6],
  transport: { peerAddress: '198.51.100.1', peerPort: 179 },
  retryInitialMs: 1000,
  retryMaxMs: 8000,
  connectTimeoutMs: 5000,
};

const peerOpen = (over: Partial<Open> = {}): Uint8Array =>
  frame(
    MessageType.open,
    encodeOpen({
      asn: 64513,
      holdTime: 9,
      routerId: '198.51.100.1',
      capabilities: {
        multiprotocol: [
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ],
        routeRefresh: true,
        fourOctetAs: 64513,
      },
      ...over,
    }),
  );

/** A harness: the machine with a fake transport that records what it sends and lets the test feed it. */
function harness(input: Partial<BgpSessionInput> = {}) {
  const clock = new SimulatedClock();
  const sent: BgpMessage[] = [];
  const starts: number[] = [];
  let stops = 0;
  let push: ((e: BgpSessionEvent) => void) | undefined;
  const fake = fromCallback<TransportCommand, BgpTransportInput>(({ receive, sendBack }) => {
    starts.push(clock.now());
    push = (e) => sendBack(e);
    receive((c) => {
      if (c.type !== 'send') return;
      const f = unframe(c.data);
      assert.ok(f.ok, 'machine sent a well-formed message');
      const m = decodeMessage(f.value, { as4: true });
      assert.ok(m.ok);
      sent.push(m.value);
    });
    return () => {
      stops++;
      push = undefined;
    };
  });
  const emitted: BgpSessionEmitted[] = [];
  const actor = createActor(bgpSessionMachine.provide({ actors: { bgpTransport: fake } }), { clock, input: { ...INPUT, ...input } });
  for (const t of ['session.established', 'session.down', 'session.routeRefresh'] as const) actor.on(t, (e) => emitted.push(e));
  actor.start();
  const fromPeer = (bytes: Uint8Array): void => {
    const f = unframe(bytes);
    assert.ok(f.ok);
    assert.ok(push, 'transport is running');
    push({ type: 'bgp.frame', frame: f.value });
  };
  return {
    clock,
    actor,
    sent,
    emitted,
    starts,
    fromPeer,
    get stops() {
      return stops;
    },
    tcp: (e: BgpSessionEvent) => {
      assert.ok(push, 'transport is running');
      push(e);
    },
    value: () => JSON.stringify(actor.getSnapshot().value),
    types: () => sent.map((m) => m.type),
  };
}

function establish(h: ReturnType<typeof harness>, open = peerOpen()): void {
  h.clock.increment(0);
  h.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  h.fromPeer(open);
  h.fromPeer(keepalive());
}

test('happy path: connect, OPEN with our capabilities, OpenConfirm, Established with min hold time', () => {
  const h = harness({ gracefulRestart: { restartTime: 120 } });
  assert.equal(h.value(), '{"idle":"holding"}');
  h.clock.increment(0);
  assert.equal(h.value(), '{"tcp":"connect"}');
  h.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  assert.equal(h.value(), '{"tcp":"openSent"}');
  const open = h.sent[0];
  assert.ok(open?.type === 'open');
  assert.equal(open.asn, 64512);
  assert.equal(open.holdTime, 90);
  assert.equal(open.routerId, '198.51.100.2', 'router ID falls back to the local IPv4 address');
  assert.deepEqual(open.capabilities.multiprotocol, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  assert.equal(open.capabilities.gracefulRestart?.restarting, true);
  assert.equal(open.capabilities.gracefulRestart?.restartTime, 120);
  h.fromPeer(peerOpen());
  assert.match(h.value(), /openConfirm/);
  assert.deepEqual(h.types(), ['open', 'keepalive']);
  h.fromPeer(keepalive());
  assert.match(h.value(), /established/);
  const est = h.emitted.find((e) => e.type === 'session.established');
  assert.ok(est?.type === 'session.established');
  assert.equal(est.negotiated.holdTime, 9);
  assert.equal(est.negotiated.keepaliveTime, 3);
  assert.deepEqual(est.negotiated.families, [4, 6]);
  assert.equal(est.negotiated.ebgp, true);
});

test('keepalive cadence is hold/3 and the hold timer is re-armed only by peer traffic', () => {
  const h = harness();
  establish(h);
  const n0 = h.sent.length;
  // Peer keeps talking every 2 s for 30 s: we send a KEEPALIVE every 3 s, the session stays up.
  // (1 s steps: SimulatedClock fires a due timer at the end of an increment.)
  for (let t = 1; t <= 30; t++) {
    h.clock.increment(1000);
    if (t % 2 === 0) h.fromPeer(keepalive());
  }
  assert.match(h.value(), /established/);
  assert.equal(h.sent.length - n0, 10, 'one KEEPALIVE per 3 s over 30 s');
  // Peer goes silent: hold (9 s) expires, NOTIFICATION 4/0 goes out, the transport is closed.
  h.clock.increment(8999);
  assert.match(h.value(), /established/);
  h.clock.increment(1);
  assert.match(h.value(), /idle/);
  const last = h.sent.at(-1);
  assert.ok(last?.type === 'notification' && last.code === 4);
  assert.equal(h.actor.getSnapshot().context.lastDown?.reason, 'holdTimerExpired');
  assert.equal(h.stops, 1);
  const down = h.emitted.find((e) => e.type === 'session.down');
  assert.ok(down?.type === 'session.down' && down.wasEstablished);
});

test('hold time 0 means no keepalives and no hold timer', () => {
  const h = harness({ holdTime: 0 });
  establish(h, peerOpen({ holdTime: 0 }));
  const n0 = h.sent.length;
  h.clock.increment(3_600_000);
  assert.match(h.value(), /established/);
  assert.equal(h.sent.length, n0);
});

test('timer negotiation table', () => {
  const cases = [
    { desc: 'ours lower', input: [30, 90, undefined], want: { holdTime: 30, keepaliveTime: 10 } },
    { desc: 'theirs lower', input: [90, 3, undefined], want: { holdTime: 3, keepaliveTime: 1 } },
    { desc: 'zero wins', input: [90, 0, undefined], want: { holdTime: 0, keepaliveTime: 0 } },
    { desc: 'configured keepalive lower', input: [90, 90, 5], want: { holdTime: 90, keepaliveTime: 5 } },
    { desc: 'configured keepalive capped at hold/3', input: [9, 90, 60], want: { holdTime: 9, keepaliveTime: 3 } },
  ] as const;
  for (const c of cases) assert.deepEqual(negotiateTimers(c.input[0], c.input[1], c.input[2]), c.want, c.desc);
});

test('wrong peer ASN: NOTIFICATION 2/2 and reason badPeerAs', () => {
  const h = harness();
  h.clock.increment(0);
  h.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  h.fromPeer(peerOpen({ asn: 65001, capabilities: { multiprotocol: [], routeRefresh: false, fourOctetAs: 65001 } }));
  assert.match(h.value(), /idle/);
  const n = h.sent.at(-1);
  assert.ok(n?.type === 'notification' && n.code === 2 && n.subcode === 2);
  const ld = h.actor.getSnapshot().context.lastDown;
  assert.equal(ld?.reason, 'badPeerAs');
  assert.match(ld?.detail ?? '', /65001 does not match the configured 64513/);
});

test('dynamicASN internal: a peer in our AS is accepted as iBGP; another AS is refused with badPeerAs', () => {
  const ok = harness({ peerAsn: 0, dynamicAsn: 'internal' });
  ok.clock.increment(0);
  ok.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  ok.fromPeer(peerOpen({ asn: 64512, capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: 64512 } }));
  ok.fromPeer(keepalive());
  assert.match(ok.value(), /established/);
  assert.equal(ok.actor.getSnapshot().context.negotiated?.ebgp, false);
  const bad = harness({ peerAsn: 0, dynamicAsn: 'internal' });
  bad.clock.increment(0);
  bad.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  bad.fromPeer(peerOpen({ asn: 64513 }));
  assert.equal(bad.actor.getSnapshot().context.lastDown?.reason, 'badPeerAs');
  assert.match(bad.actor.getSnapshot().context.lastDown?.detail ?? '', /64513 is not our 64512 \(dynamicASN internal\)/);
});

test('dynamicASN external: any other AS is accepted as eBGP; our own AS is refused', () => {
  const ok = harness({ peerAsn: 0, dynamicAsn: 'external' });
  ok.clock.increment(0);
  ok.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  ok.fromPeer(peerOpen({ asn: 65010, capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: 65010 } }));
  ok.fromPeer(keepalive());
  assert.match(ok.value(), /established/);
  assert.equal(ok.actor.getSnapshot().context.negotiated?.ebgp, true);
  const bad = harness({ peerAsn: 0, dynamicAsn: 'external' });
  bad.clock.increment(0);
  bad.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  bad.fromPeer(peerOpen({ asn: 64512, capabilities: { multiprotocol: [], routeRefresh: false, fourOctetAs: 64512 } }));
  assert.equal(bad.actor.getSnapshot().context.lastDown?.reason, 'badPeerAs');
});

test('NOTIFICATION from the peer: reason notificationReceived with the decoded text', () => {
  const h = harness();
  establish(h);
  h.fromPeer(encodeNotification({ code: 6, subcode: 2 }));
  const ld = h.actor.getSnapshot().context.lastDown;
  assert.equal(ld?.reason, 'notificationReceived');
  assert.match(ld?.detail ?? '', /cease: administrative shutdown/);
});

test('malformed message from the peer: NOTIFICATION with the codec error, reason notificationSent', () => {
  const h = harness();
  establish(h);
  // UPDATE whose path attribute length overruns the message (RFC 7606: session reset, 3/1).
  h.fromPeer(frame(MessageType.update, Uint8Array.of(0, 0, 0, 50)));
  const n = h.sent.at(-1);
  assert.ok(n?.type === 'notification' && n.code === 3 && n.subcode === 1);
  assert.equal(h.actor.getSnapshot().context.lastDown?.reason, 'notificationSent');
});

test('messages out of order give FSM errors (RFC 6608)', () => {
  const h = harness();
  h.clock.increment(0);
  h.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  h.fromPeer(keepalive());
  const n = h.sent.at(-1);
  assert.ok(n?.type === 'notification' && n.code === 5 && n.subcode === 1);
  assert.equal(h.actor.getSnapshot().context.lastDown?.reason, 'fsmError');
});

test('connect retry backs off 1 s, 2 s, 4 s, 8 s (cap) and resets after Established', () => {
  // Every attempt fails at once; walk the clock and record when the transport is started.
  const h2 = harness();
  h2.clock.increment(0);
  for (let t = 0; t < 40_000; t += 500) {
    if (h2.value() === '{"tcp":"connect"}') h2.tcp({ type: 'tcp.failed', error: 'ECONNREFUSED' });
    h2.clock.increment(500);
  }
  const gaps = h2.starts.slice(1).map((s, i) => s - (h2.starts[i] as number));
  assert.deepEqual(gaps.slice(0, 5), [1000, 2000, 4000, 8000, 8000]);
  assert.equal(h2.actor.getSnapshot().context.lastDown?.reason, 'connectFailed');
  while (h2.value() !== '{"tcp":"connect"}') h2.clock.increment(500);
  h2.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  h2.fromPeer(peerOpen());
  h2.fromPeer(keepalive());
  assert.equal(h2.actor.getSnapshot().context.failures, 0);
});

test('connect timeout moves to Active with reason connectTimeout', () => {
  const h = harness();
  h.clock.increment(0);
  h.clock.increment(5000);
  assert.equal(h.value(), '"active"');
  assert.equal(h.actor.getSnapshot().context.lastDown?.reason, 'connectTimeout');
});

test('BFD coupling: no establishment while BFD is down; bfd.down drops the session with CEASE', () => {
  const h = harness({ bfdRequired: true });
  h.clock.increment(10_000);
  assert.equal(h.value(), '{"idle":"ready"}', 'waits for BFD');
  assert.equal(h.starts.length, 0);
  h.actor.send({ type: 'bfd.up' });
  assert.equal(h.value(), '{"tcp":"connect"}');
  h.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  h.fromPeer(peerOpen());
  h.fromPeer(keepalive());
  assert.match(h.value(), /established/);
  h.actor.send({ type: 'bfd.down' });
  assert.match(h.value(), /idle/);
  const n = h.sent.at(-1);
  assert.ok(n?.type === 'notification' && n.code === 6);
  assert.equal(h.actor.getSnapshot().context.lastDown?.reason, 'bfdDown');
  h.clock.increment(60_000);
  assert.equal(h.value(), '{"idle":"ready"}', 'stays down until BFD is up again');
});

test('admin.down: CEASE admin shutdown, or no NOTIFICATION when graceful', () => {
  for (const graceful of [false, true]) {
    const h = harness();
    establish(h);
    const n0 = h.sent.length;
    h.actor.send({ type: 'admin.down', graceful });
    assert.match(h.value(), /idle/);
    assert.equal(h.actor.getSnapshot().context.lastDown?.reason, 'adminDown');
    if (graceful) assert.equal(h.sent.length, n0);
    else {
      const n = h.sent.at(-1);
      assert.ok(n?.type === 'notification' && n.code === 6 && n.subcode === 2);
    }
    h.clock.increment(60_000);
    assert.equal(h.starts.length, 1, 'stays down');
    h.actor.send({ type: 'admin.up' });
    assert.equal(h.starts.length, 2);
  }
});

test('routes.send is forwarded only when Established; ROUTE-REFRESH is emitted', () => {
  const h = harness();
  h.clock.increment(0);
  h.tcp({ type: 'tcp.connected', localAddress: '198.51.100.2' });
  h.actor.send({ type: 'routes.send', messages: [keepalive()] });
  assert.deepEqual(h.types(), ['open']);
  h.fromPeer(peerOpen());
  h.fromPeer(keepalive());
  h.actor.send({ type: 'routes.send', messages: [keepalive(), keepalive()] });
  assert.deepEqual(h.types(), ['open', 'keepalive', 'keepalive', 'keepalive']);
  h.fromPeer(encodeRouteRefresh({ afi: 2, safi: 1 }));
  assert.ok(h.emitted.some((e) => e.type === 'session.routeRefresh' && e.afi === 2));
});

test('router ID fallback follows MetalLB: IPv4 local address, IPv4 on the interface, else crc32(node) little-endian', () => {
  assert.equal(fallbackRouterId('198.51.100.2', undefined, 'n'), '198.51.100.2');
  assert.equal(fallbackRouterId('::ffff:198.51.100.2', undefined, 'n'), '198.51.100.2');
  assert.equal(fallbackRouterId('2001:db8:4::2', '198.51.100.9', 'n'), '198.51.100.9');
  // crc32("123456789") = 0xcbf43926, written little-endian.
  assert.equal(fallbackRouterId('2001:db8:4::2', undefined, '123456789'), '38.57.244.203');
});

test('xstate/graph: shortest paths reach every RFC 4271 state', () => {
  const after = (delay: string, id: string): BgpSessionEvent => ({ type: `xstate.after.${delay}.${id}` }) as unknown as BgpSessionEvent;
  const f = (b: Uint8Array) => {
    const r = unframe(b);
    assert.ok(r.ok);
    return r.value;
  };
  const events: BgpSessionEvent[] = [
    after('idleHold', 'bgpSession.idle.holding'),
    after('connectRetry', 'bgpSession.active'),
    { type: 'tcp.connected', localAddress: '198.51.100.2' },
    { type: 'tcp.failed', error: 'x' },
    { type: 'tcp.closed' },
    { type: 'bgp.frame', frame: f(peerOpen()) },
    { type: 'bgp.frame', frame: f(keepalive()) },
    { type: 'bgp.frame', frame: f(encodeNotification({ code: 6, subcode: 2 })) },
    { type: 'bfd.down' },
    { type: 'bfd.up' },
    { type: 'admin.down' },
    { type: 'admin.up' },
  ];
  const paths = getShortestPaths(bgpSessionMachine, {
    events: events as EventObject[] as BgpSessionEvent[],
    input: INPUT,
    serializeState: (s) => JSON.stringify({ v: s.value, bfd: s.context.bfdUp, admin: s.context.adminUp, r: s.context.lastDown?.reason }),
  });
  const leaf = (v: unknown): string =>
    typeof v === 'string'
      ? v
      : Object.entries(v as object)
          .map(([k, x]) => `${k}.${typeof x === 'string' ? x : Object.keys(x as object)[0]}`)
          .join(',');
  const reached = new Set(paths.map((p) => leaf(p.state.value).split('.').slice(0, 2).join('.')));
  for (const st of ['idle.holding', 'idle.ready', 'active', 'tcp.connect', 'tcp.openSent', 'tcp.openConfirm', 'tcp.established']) {
    assert.ok(reached.has(st), `reached ${st} (got ${[...reached].join(' ')})`);
  }
  const reasons = new Set(paths.map((p) => p.state.context.lastDown?.reason).filter(Boolean));
  for (const r of ['connectFailed', 'connectionClosed', 'notificationReceived', 'bfdDown', 'adminDown'])
    assert.ok(reasons.has(r as never), `reason ${r}`);
});
