import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromCallback, SimulatedClock } from 'xstate';
import {
  BgpPeers,
  peerConfig,
  peerSpecs,
  refusedPeers,
  type BfdPort,
  type BfdPortFactory,
  type PeerSpec,
  type UnnumberedPort,
} from './bgp-peers.js';
import type { BfdDatagram } from './bfd-transport.actor.js';
import type { Clock } from './coord-ports.js';
import { TimerQueue } from './timer-queue.js';
import { decodeControl, encodeControl, BfdState, BfdDiag, type BfdControlPacket } from '../codecs/bfd/control-packet.js';
import { encodeOpen, frame, keepalive, unframe, MessageType, decodeMessage, type Frame } from '../codecs/bgp/index.js';
import type { BgpSessionEvent, BgpTransportInput, TransportCommand } from '../machines/bgp-session.machine.js';
import type { BfdProfile, Peer } from '../domain/config.js';

/** One fake TCP connection per started transport: what it was started for, what it sent, whether it was closed. */
interface Conn {
  input: BgpTransportInput;
  sent: Uint8Array[];
  closed: boolean;
  push: (e: BgpSessionEvent) => void;
}

class FakeBfdPort implements BfdPort {
  readonly sent: Array<{ data: Uint8Array; to: string }> = [];
  readonly handlers = new Set<(d: BfdDatagram) => void>();
  readonly minTtls: number[] = [];
  closed = false;
  constructor(readonly multihop: boolean) {}
  send(data: Uint8Array, to: string): void {
    this.sent.push({ data, to });
  }
  onDatagram(cb: (d: BfdDatagram) => void): () => void {
    this.handlers.add(cb);
    return () => this.handlers.delete(cb);
  }
  setMinTtl(minTtl: number): boolean {
    this.minTtls.push(minTtl);
    return true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  inject(d: BfdDatagram): void {
    for (const h of this.handlers) h(d);
  }
}

function harness(o: { unnumbered?: UnnumberedPort } = {}) {
  const sim = new SimulatedClock();
  const clock: Clock = {
    now: () => sim.now(),
    setTimeout: (fn, ms) => sim.setTimeout(fn, ms),
    clearTimeout: (id) => sim.clearTimeout(id as never),
  };
  const timers = new TimerQueue(clock);
  const conns: Conn[] = [];
  const transport = fromCallback<TransportCommand, BgpTransportInput>(({ input, sendBack, receive }) => {
    const c: Conn = { input, sent: [], closed: false, push: (e) => sendBack(e) };
    conns.push(c);
    receive((cmd) => {
      if (cmd.type === 'send') c.sent.push(cmd.data);
    });
    return () => {
      c.closed = true;
    };
  });
  const ports: FakeBfdPort[] = [];
  const opens: Array<{ multihop: boolean; minTtl: number }> = [];
  const bfdPort: BfdPortFactory = async (req) => {
    opens.push({ multihop: req.multihop, minTtl: req.minTtl });
    const p = new FakeBfdPort(req.multihop);
    ports.push(p);
    return { port: p };
  };
  const logs: Array<Record<string, unknown>> = [];
  const log = {
    info: (_m: string, f?: Record<string, unknown>) => logs.push({ ...f }),
    warn: (_m: string, f?: Record<string, unknown>) => logs.push({ ...f }),
    error: (_m: string, f?: Record<string, unknown>) => logs.push({ ...f }),
  };
  const events: Array<Record<string, unknown>> = [];
  let seq = 1;
  const peers = new BgpPeers({
    nodeName: 'n1',
    transport: () => transport,
    bfdPort,
    log,
    clock,
    timers,
    random: () => seq++,
    onEvent: (e) => events.push({ ...e }),
    ...(o.unnumbered ? { unnumbered: o.unnumbered } : {}),
  });
  /** Settles pending promises (the fake port factory's), then runs `ms` of simulated time. */
  const settle = () => new Promise<void>((r) => setImmediate(r));
  const advance = async (ms: number) => {
    await settle();
    for (let i = 0; i < ms; i++) {
      sim.increment(1);
      await Promise.resolve();
    }
    await settle();
  };
  const live = (addr: string) => conns.filter((c) => c.input.peerAddress === addr && !c.closed);
  return { sim, conns, ports, opens, logs, events, peers, advance, live };
}

const spec = (name: string, addr: string, extra: Partial<PeerSpec['bgp']> = {}, bfd?: PeerSpec['bfd']): PeerSpec => ({
  bgp: { name, peerAddress: addr, myAsn: 64512, peerAsn: 64513, holdTime: 90, ...extra },
  ...(bfd ? { bfd } : {}),
});
const f = (b: Uint8Array): Frame => {
  const r = unframe(b);
  assert.ok(r.ok);
  return r.value;
};
const A = '198.51.100.1';
const B = '198.51.100.2';

test('starts one session per peer; a peer without an address is skipped', async () => {
  const h = harness();
  h.peers.reconcile([spec('a', A), spec('b', B), spec('c', '')]);
  await h.advance(1);
  assert.deepEqual(h.conns.map((c) => c.input.peerAddress).sort(), [A, B]);
  assert.deepEqual([...h.peers.peers().keys()].sort(), ['a', 'b']);
  assert.deepEqual(h.opens, []);
});

test('a peer edit restarts only that peer; the same specs again change nothing', async () => {
  const h = harness();
  h.peers.reconcile([spec('a', A), spec('b', B)]);
  await h.advance(1);
  h.peers.reconcile([spec('a', A), spec('b', B)]);
  await h.advance(1);
  assert.equal(h.conns.length, 2);
  h.peers.reconcile([spec('a', A, { holdTime: 30 }), spec('b', B)]);
  await h.advance(1);
  assert.equal(h.conns.length, 3);
  assert.equal(h.conns.filter((c) => c.input.peerAddress === A && c.closed).length, 1);
  assert.equal(h.live(A).length, 1);
  assert.equal(h.live(B).length, 1);
  assert.equal(h.conns.find((c) => c.input.peerAddress === B)?.closed, false);
  assert.ok(h.logs.some((l) => l.event === 'bgp.peerRemoved' && l.peer === 'a' && l.reason === 'configChanged'));
});

test('a removed peer is stopped', async () => {
  const h = harness();
  h.peers.reconcile([spec('a', A), spec('b', B)]);
  await h.advance(1);
  h.peers.reconcile([spec('b', B)]);
  await h.advance(1);
  assert.equal(h.live(A).length, 0);
  assert.equal(h.live(B).length, 1);
  assert.deepEqual([...h.peers.states().keys()], ['b']);
  assert.ok(h.logs.some((l) => l.event === 'bgp.peerRemoved' && l.peer === 'a' && l.reason === 'peerRemoved'));
});

test('routes set before a peer starts are sent once it is established', async () => {
  const h = harness();
  const attrs = { communities: [], largeCommunities: [] };
  h.peers.setRoutes(new Map([['a', new Map([['203.0.113.1/32', attrs]])]]));
  h.peers.reconcile([spec('a', A)]);
  await h.advance(1);
  const c = h.live(A)[0];
  assert.ok(c);
  c.push({ type: 'tcp.connected', localAddress: '198.51.100.11' });
  c.push({
    type: 'bgp.frame',
    frame: f(
      frame(
        MessageType.open,
        encodeOpen({
          asn: 64513,
          holdTime: 90,
          routerId: A,
          capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: 64513 },
        }),
      ),
    ),
  });
  c.push({ type: 'bgp.frame', frame: f(keepalive()) });
  await h.advance(1);
  assert.equal(h.peers.states().get('a'), 'established');
  const nlri = c.sent
    .map((b) => decodeMessage(f(b), { as4: true }))
    .flatMap((m) => (m.ok && m.value.type === 'update' ? m.value.nlri : []));
  assert.deepEqual(nlri, ['203.0.113.1/32']);
  assert.equal(h.peers.metrics()[0]?.metrics?.metallb_bgp_announced_prefixes_total, 1);
});

test('two BFD peers starting together open the single-hop port once; a multi-hop peer opens its own', async () => {
  const h = harness();
  h.peers.reconcile([
    spec('a', A, {}, { address: A, multihop: false, profile: {} }),
    spec('b', B, {}, { address: B, multihop: false, profile: {} }),
    spec('m', '203.0.113.7', { ebgpMultiHop: true }, { address: '203.0.113.7', multihop: true, profile: { minimumTtl: 250 } }),
  ]);
  await h.advance(1);
  assert.deepEqual(h.opens.map((o) => o.multihop).sort(), [false, true]);
  assert.equal(h.opens.find((o) => o.multihop)?.minTtl, 250);
  assert.deepEqual([...h.peers.bfdStates().keys()].sort(), ['a', 'b', 'm']);
  // Every session transmits on its kind's port.
  await h.advance(2000);
  const single = h.ports.find((p) => !p.multihop);
  assert.deepEqual([...new Set(single?.sent.map((s) => s.to))].sort(), [A, B]);
  assert.deepEqual([...new Set(h.ports.find((p) => p.multihop)?.sent.map((s) => s.to))], ['203.0.113.7']);
});

test('a BFD profile change restarts the peer and replaces its BFD session on the same port', async () => {
  const h = harness();
  h.peers.reconcile([spec('a', A, {}, { address: A, multihop: false, profile: { transmitIntervalMs: 300 } })]);
  await h.advance(3000);
  const port = h.ports[0];
  assert.ok(port);
  const discrs = (from: number) =>
    new Set(
      port.sent
        .slice(from)
        .map((s) => decodeControl(s.data))
        .flatMap((r) => (r.ok ? [r.value.myDiscr] : [])),
    );
  assert.deepEqual(discrs(0), new Set([1]));
  h.peers.reconcile([spec('a', A, {}, { address: A, multihop: false, profile: { transmitIntervalMs: 100 } })]);
  await h.advance(400); // the old session is closed 300 ms after its AdminDown
  assert.equal(h.conns.filter((c) => c.closed).length, 1);
  assert.equal(h.live(A).length, 1);
  assert.equal(h.opens.length, 1);
  const mark = port.sent.length;
  await h.advance(3000);
  assert.deepEqual(discrs(mark), new Set([3]), 'only the new session (discriminator 3) transmits');
});

test('multi-hop TTL floor: the lowest minimumTtl of the live multi-hop sessions', async () => {
  const h = harness();
  const mh = (name: string, addr: string, minimumTtl: number) =>
    spec(name, addr, { ebgpMultiHop: true }, { address: addr, multihop: true, profile: { minimumTtl } });
  h.peers.reconcile([mh('m1', '203.0.113.7', 250), mh('m2', '203.0.113.8', 240)]);
  await h.advance(1);
  const port = h.ports[0];
  assert.ok(port);
  assert.equal(port.minTtls.at(-1), 240);
  h.peers.reconcile([mh('m1', '203.0.113.7', 250)]);
  await h.advance(1);
  assert.equal(port.minTtls.at(-1), 250);
});

test('BFD down (detection time expired) takes the coupled BGP session down; stop closes the ports', async () => {
  const h = harness();
  h.peers.reconcile([
    spec('a', A, { bfdRequired: true }, { address: A, multihop: false, profile: { receiveIntervalMs: 100, transmitIntervalMs: 100 } }),
  ]);
  await h.advance(1);
  const port = h.ports[0];
  assert.ok(port);
  // The peer's BFD (our discriminator is 1): Down, then Up (three-way handshake), then silence.
  const peerPacket = (state: BfdControlPacket['state']) =>
    encodeControl({
      version: 1,
      diag: BfdDiag.none,
      state,
      poll: false,
      final: false,
      cpi: false,
      demand: false,
      multipoint: false,
      detectMult: 3,
      myDiscr: 99,
      yourDiscr: 1,
      desiredMinTxUs: 100_000,
      requiredMinRxUs: 100_000,
      requiredMinEchoRxUs: 0,
    });
  await h.advance(500);
  port.inject({ data: peerPacket(BfdState.down), address: A, port: 49152, local: '198.51.100.11' });
  await h.advance(5);
  for (let i = 0; i < 20 && h.peers.bfdStates().get('a') !== 'up'; i++) {
    port.inject({ data: peerPacket(BfdState.up), address: A, port: 49152, local: '198.51.100.11' });
    await h.advance(50);
  }
  assert.equal(h.peers.bfdStates().get('a'), 'up');
  assert.ok(h.events.some((e) => e.event === 'bfdCoupling' && e.send === 'bfd.up'));
  const c = h.live(A)[0];
  assert.ok(c, 'BGP connects once BFD is up');
  c.push({ type: 'tcp.connected', localAddress: '198.51.100.11' });
  c.push({
    type: 'bgp.frame',
    frame: f(
      frame(
        MessageType.open,
        encodeOpen({
          asn: 64513,
          holdTime: 90,
          routerId: A,
          capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: 64513 },
        }),
      ),
    ),
  });
  c.push({ type: 'bgp.frame', frame: f(keepalive()) });
  await h.advance(1);
  assert.equal(h.peers.states().get('a'), 'established');
  // The peer goes silent: detection time (3 × 100 ms) passes.
  await h.advance(1000);
  assert.equal(h.peers.bfdStates().get('a'), 'down');
  assert.ok(h.events.some((e) => e.event === 'sessionDown' && e.peer === 'a' && e.reason === 'bfdDown'));
  const stopped = h.peers.stop(true);
  await h.advance(400);
  await stopped;
  assert.equal(port.closed, true);
});

/** A parsed BGPPeer (config.ts's Peer) with MetalLB's defaults, to A. */
const peer = (name: string, extra: Partial<Peer>): Peer => ({
  name,
  myASN: 64512,
  peerASN: 64513,
  address: A,
  port: 179,
  holdTimeMs: 90_000,
  keepaliveTimeMs: 30_000,
  nodeSelectors: [],
  passwordSource: 'none',
  enableGracefulRestart: false,
  ebgpMultiHop: false,
  vrf: '',
  disableMP: false,
  dualStackAddressFamily: false,
  ...extra,
});

test('peerSpecs: BGPPeers with a bfdProfile get BFD with the profile (multi-hop for ebgpMultiHop)', () => {
  const fast: BfdProfile = {
    name: 'fast',
    receiveIntervalMs: 100,
    transmitIntervalMs: 100,
    detectMultiplier: 3,
    echoIntervalMs: 50,
    echoMode: false,
    passiveMode: false,
    minimumTtl: 254,
  };
  const got = peerSpecs(
    [
      peer('plain', {}),
      peer('single', { bfdProfile: 'fast' }),
      peer('multi', { bfdProfile: 'fast', ebgpMultiHop: true }),
      peer('none', { address: undefined }),
    ],
    [fast],
  );
  assert.deepEqual(
    got.map((s) => [s.bgp.name, s.bgp.bfdRequired ?? false, s.bfd?.multihop, s.bfd?.profile]),
    [
      ['plain', false, undefined, undefined],
      ['single', true, false, fast],
      ['multi', false, true, fast],
    ],
  );
  assert.equal(got[0]?.bgp.holdTime, 90);
});

test('native backend limits: vrf peers are refused (no spec); unnumbered and localASN run; disableMP keeps the default families (table)', () => {
  const cases: Array<[Peer, Array<[string, string]>, readonly string[] | undefined]> = [
    [peer('plain', {}), [], undefined],
    [peer('vrf', { vrf: 'red' }), [['spec.vrf', 'red']], undefined],
    // Unnumbered: a spec with the interface and no address (BgpPeers finds the router's fe80::).
    [peer('unnumbered', { address: undefined, interface: 'eth1' }), [], undefined],
    [peer('both', { address: undefined, interface: 'eth1', vrf: 'red' }), [['spec.vrf', 'red']], undefined],
    // MetalLB 0.16: disableMP is the default behaviour (one family per session); dualStack still carries both.
    [peer('local-as', { localASN: 64999 }), [], undefined],
    [peer('nomp', { disableMP: true }), [], undefined],
    [peer('nomp-dual', { disableMP: true, dualStackAddressFamily: true }), [], ['ipv4', 'ipv6']],
  ];
  const specs = peerSpecs(
    cases.map(([p]) => p),
    [],
  );
  for (const [p, want, families] of cases) {
    assert.deepEqual(
      refusedPeers([p]).map((r) => [r.field, r.value]),
      want,
      p.name,
    );
    const spec = specs.find((s) => s.bgp.name === p.name);
    assert.equal(spec !== undefined, want.length === 0, `${p.name}: a session only when nothing is refused`);
    if (spec) assert.deepEqual(spec.bgp.families, families, p.name);
  }
  assert.deepEqual(peerConfig(peer('x', { disableMP: true })), peerConfig(peer('x', {})), 'disableMP changes nothing in the session');
  const un = specs.find((x) => x.bgp.name === 'unnumbered')?.bgp;
  assert.deepEqual([un?.interface, un?.peerAddress], ['eth1', '']);
  // localASN (local-as … replace-as): the session's AS in OPEN and AS_PATH is localASN, not myASN.
  assert.equal(specs.find((x) => x.bgp.name === 'local-as')?.bgp.myAsn, 64999);
  assert.equal(specs.find((x) => x.bgp.name === 'plain')?.bgp.myAsn, peer('plain', {}).myASN);
});

/** A fake interface watcher: the test says which router each interface sees. */
function fakeLinks() {
  const watches = new Map<string, { onRouter: (a: string | undefined) => void; closed: boolean }>();
  const port: UnnumberedPort = {
    watch(iface, onRouter) {
      const w = { onRouter, closed: false };
      watches.set(iface, w);
      return {
        close: () => {
          w.closed = true;
        },
      };
    },
  };
  return { port, watches };
}

test('unnumbered: a peer with an interface waits for its router, then runs to fe80::…%iface; a new router restarts it, a lost one keeps it', async () => {
  const links = fakeLinks();
  const h = harness({ unnumbered: links.port });
  const un = spec('u', '', { interface: 'eth1' });
  h.peers.reconcile([spec('a', A), un]);
  await h.advance(1);
  assert.deepEqual(
    h.conns.map((c) => c.input.peerAddress),
    [A],
  );
  assert.equal(h.logs.filter((l) => l.event === 'bgp.unnumberedWaiting').length, 1);
  h.peers.reconcile([spec('a', A), un]);
  assert.equal(h.logs.filter((l) => l.event === 'bgp.unnumberedWaiting').length, 1, 'waiting is logged once');
  const w = links.watches.get('eth1');
  assert.ok(w);
  w.onRouter('fe80::1%eth1');
  await h.advance(1);
  assert.equal(h.live('fe80::1%eth1').length, 1);
  // Both families and the extended next hop capability by default on an unnumbered session.
  assert.deepEqual(h.peers.peers().get('u')?.bgp.peerAddress, 'fe80::1%eth1');
  // Lost: the session stays (its hold timer judges it).
  w.onRouter(undefined);
  await h.advance(1);
  assert.equal(h.live('fe80::1%eth1').length, 1);
  // A different router: restarted towards it.
  w.onRouter('fe80::2%eth1');
  await h.advance(1);
  assert.equal(h.live('fe80::1%eth1').length, 0);
  assert.equal(h.live('fe80::2%eth1').length, 1);
  assert.deepEqual(
    h.logs.filter((l) => l.event === 'bgp.unnumberedRouter').map((l) => [l.from, l.to]),
    [
      [null, 'fe80::1%eth1'],
      ['fe80::1%eth1', 'fe80::2%eth1'],
    ],
  );
  // The peer removed: its session stops and the interface is no longer watched.
  h.peers.reconcile([spec('a', A)]);
  await h.advance(1);
  assert.equal(h.live('fe80::2%eth1').length, 0);
  assert.equal(w.closed, true);
  await h.peers.stop(false);
});

test('unnumbered without an interface watcher: the peer does not run, and says why', async () => {
  const h = harness();
  h.peers.reconcile([spec('u', '', { interface: 'eth1' })]);
  await h.advance(1);
  assert.equal(h.conns.length, 0);
  assert.equal(h.logs.filter((l) => l.event === 'bgp.unnumberedUnavailable').length, 1);
});
