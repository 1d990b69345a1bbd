import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { BfdDiag, BfdState, decodeControl, encodeControl, type BfdControlPacket } from '../codecs/bfd/control-packet.js';
import { bfdSessionMachine, sessionStateOf } from '../machines/bfd-session.machine.js';
import { BfdHub, canonicalAddress, type BfdDatagram, type BfdDatagramPort, type BfdRepeat } from './bfd-transport.actor.js';

/** An in-memory segment: datagrams arrive 1 ms later on the simulated clock; `cut` drops all. */
class FakeNet {
  readonly ports = new Map<string, FakePort>();
  cut = false;
  constructor(readonly clock: SimulatedClock) {}
  port(address: string): FakePort {
    const p = new FakePort(this, address);
    this.ports.set(canonicalAddress(address), p);
    return p;
  }
}
class FakePort implements BfdDatagramPort {
  readonly handlers = new Set<(d: BfdDatagram) => void>();
  readonly sent: Array<{ data: Uint8Array; to: string }> = [];
  constructor(
    private readonly net: FakeNet,
    readonly address: string,
  ) {}
  send(data: Uint8Array, to: string): void {
    this.sent.push({ data, to });
    if (this.net.cut) return;
    const dst = this.net.ports.get(canonicalAddress(to));
    this.net.clock.setTimeout(() => dst?.inject({ data, address: this.address, port: 49200, local: to }), 1);
  }
  inject(d: BfdDatagram): void {
    for (const h of this.handlers) h(d);
  }
  onDatagram(cb: (d: BfdDatagram) => void): () => void {
    this.handlers.add(cb);
    return () => this.handlers.delete(cb);
  }
  async close(): Promise<void> {
    this.handlers.clear();
  }
}

const advance = (clock: SimulatedClock, ms: number) => {
  for (let i = 0; i < ms; i++) clock.increment(1);
};

function session(hub: BfdHub, clock: SimulatedClock, peer: string, localDiscr: number, seed: number) {
  const actor = createActor(bfdSessionMachine.provide({ actors: { bfdTransport: hub.logic } }), {
    clock,
    input: { peer, localDiscr, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, seed },
  });
  actor.start();
  return actor;
}

test('two of our sessions over the hub reach Up, stay Up, then detect a cut', () => {
  const clock = new SimulatedClock();
  const net = new FakeNet(clock);
  const hubA = new BfdHub(net.port('198.51.100.65'));
  const hubB = new BfdHub(net.port('198.51.100.66'));
  const a = session(hubA, clock, '198.51.100.66', 11, 1);
  const b = session(hubB, clock, '198.51.100.65', 22, 2);
  advance(clock, 4000);
  assert.equal(sessionStateOf(a.getSnapshot().value), 'up');
  assert.equal(sessionStateOf(b.getSnapshot().value), 'up');
  // Poll sequences completed: both at the profile rate.
  assert.equal(a.getSnapshot().context.pollActive, false);
  assert.equal(a.getSnapshot().context.txInEffectUs, 100_000);
  const before = hubA.countersFor('198.51.100.66');
  advance(clock, 10_000);
  assert.equal(sessionStateOf(a.getSnapshot().value), 'up');
  const after = hubA.countersFor('198.51.100.66');
  // 10 s at 100 ms with jitter: between 100 and 134 packets each way.
  assert.ok(after.output - before.output >= 100 && after.output - before.output <= 134, `out ${after.output - before.output}`);
  assert.ok(after.input - before.input >= 100, `in ${after.input - before.input}`);
  net.cut = true;
  advance(clock, 400);
  assert.equal(sessionStateOf(a.getSnapshot().value), 'down');
  assert.equal(a.getSnapshot().context.localDiag, BfdDiag.controlDetectionTimeExpired);
  net.cut = false;
  advance(clock, 5000);
  assert.equal(sessionStateOf(a.getSnapshot().value), 'up');
  a.stop();
  b.stop();
});

test('admin down on one side: the other sees neighborAdminDown', () => {
  const clock = new SimulatedClock();
  const net = new FakeNet(clock);
  const hubA = new BfdHub(net.port('2001:db8:5::1'));
  const hubB = new BfdHub(net.port('2001:db8:5::2'));
  const a = session(hubA, clock, '2001:db8:5::2', 11, 1);
  const b = session(hubB, clock, '2001:DB8:5:0::1', 22, 2);
  advance(clock, 4000);
  assert.equal(sessionStateOf(b.getSnapshot().value), 'up');
  a.send({ type: 'bfd.admin.down' });
  advance(clock, 1100);
  assert.equal(sessionStateOf(b.getSnapshot().value), 'down');
  assert.equal(b.getSnapshot().context.downReason, 'neighborAdminDown');
  a.stop();
  b.stop();
});

const pkt = (p: Partial<BfdControlPacket>): Uint8Array =>
  encodeControl({
    version: 1,
    diag: 0,
    state: BfdState.down,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscr: 5,
    yourDiscr: 0,
    desiredMinTxUs: 1_000_000,
    requiredMinRxUs: 100_000,
    requiredMinEchoRxUs: 0,
    ...p,
  });

test('demultiplexing per §6.8.6: by Your Discriminator, else by source address; discards counted', () => {
  const clock = new SimulatedClock();
  const net = new FakeNet(clock);
  const port = net.port('198.51.100.65');
  const hub = new BfdHub(port);
  const got: Array<[string, number]> = [];
  const discards: string[] = [];
  hub.onDiscard = (r) => discards.push(r);
  hub.register(11, '198.51.100.66', (p) => got.push(['s11', p.myDiscr]));
  hub.register(12, '198.51.100.67', (p) => got.push(['s12', p.myDiscr]));
  const from = (address: string, data: Uint8Array) => port.inject({ data, address, port: 50000, local: '198.51.100.65' });
  from('198.51.100.66', pkt({})); // zero discr: by source
  from('198.51.100.67', pkt({ yourDiscr: 12, state: BfdState.up })); // by discriminator
  from('198.51.100.68', pkt({})); // unknown peer
  from('198.51.100.66', pkt({ yourDiscr: 99, state: BfdState.up })); // unknown discriminator
  from('198.51.100.66', pkt({ yourDiscr: 12, state: BfdState.up })); // right discr, wrong source
  from('198.51.100.66', new Uint8Array([1, 2, 3])); // undecodable
  from('::ffff:198.51.100.66', pkt({ myDiscr: 6 })); // v4-mapped source
  from('198.51.100.66', new Uint8Array([0x20])); // GTSM mark: TTL was not 255
  assert.deepEqual(got, [
    ['s11', 5],
    ['s12', 5],
    ['s11', 6],
  ]);
  assert.deepEqual(discards, ['unknownSession', 'unknownSession', 'sourceMismatch', 'decode', 'ttl']);
  assert.equal(hub.countersFor('198.51.100.66').input, 2);
  assert.equal(hub.countersFor('198.51.100.66').discarded, 4);
  assert.deepEqual(hub.discards, { ttl: 1, decode: 1, unknownSession: 2, sourceMismatch: 1 });
});

test('demultiplexing by (local, peer): one peer address, sessions from several of our addresses', () => {
  const clock = new SimulatedClock();
  const net = new FakeNet(clock);
  const port = net.port('2001:db8:5::100:1');
  const hub = new BfdHub(port);
  const got: string[] = [];
  hub.register(1, '2001:db8:5::1', () => got.push('a'), '2001:db8:5::100:1');
  hub.register(2, '2001:db8:5::1', () => got.push('b'), '2001:db8:5::100:2');
  const from = (local: string, data: Uint8Array) => port.inject({ data, address: '2001:db8:5::1', port: 50000, local });
  from('2001:db8:5::100:2', pkt({}));
  from('2001:db8:5::100:1', pkt({}));
  from('2001:db8:5::100:1', pkt({ yourDiscr: 2, state: BfdState.up })); // b's discriminator on a's address
  from('2001:db8:5::100:9', pkt({}));
  assert.deepEqual(got, ['b', 'a']);
  hub.send('2001:db8:5::1', decodeOk(pkt({})), '2001:db8:5::100:2');
  assert.equal(port.sent.length, 1);
});

const decodeOk = (b: Uint8Array): BfdControlPacket => {
  const r = decodeControl(b);
  assert.ok(r.ok);
  return r.value;
};

test('canonicalAddress folds case, zero runs and v4-mapped forms', () => {
  assert.equal(canonicalAddress('2001:DB8:5:0::1'), canonicalAddress('2001:db8:5::1'));
  assert.equal(canonicalAddress('2001:db8::'), canonicalAddress('2001:db8:0:0:0:0:0:0'));
  assert.equal(canonicalAddress('::1'), canonicalAddress('0:0:0:0:0:0:0:1'));
  assert.equal(canonicalAddress('::ffff:198.51.100.1'), '198.51.100.1');
  assert.notEqual(canonicalAddress('2001:db8::1'), canonicalAddress('2001:db8::2'));
});

test('repeat functions: handed out for datagrams accepted by Your Discriminator, they deliver the same packet until the session is gone', () => {
  const handlers: Array<(d: BfdDatagram) => BfdRepeat | void> = [];
  const port: BfdDatagramPort = {
    send: () => undefined,
    onDatagram: (cb) => {
      handlers.push(cb);
      return () => undefined;
    },
    close: async () => undefined,
  };
  const hub = new BfdHub(port);
  const got: BfdControlPacket[] = [];
  const off = hub.register(12, '198.51.100.67', (p) => got.push(p));
  const d = (data: Uint8Array, address = '198.51.100.67'): BfdDatagram => ({ data, address, port: 50000, local: '198.51.100.65' });
  const up = pkt({ yourDiscr: 12, state: BfdState.up });
  // Zero Your Discriminator (selected by address), discards: nothing to repeat.
  assert.equal(handlers[0]!(d(pkt({}))), undefined);
  assert.equal(handlers[0]!(d(up, '198.51.100.68')), undefined);
  assert.equal(handlers[0]!(d(new Uint8Array([1, 2, 3]))), undefined);
  const rep = handlers[0]!(d(up));
  assert.equal(typeof rep, 'function');
  // The same bytes again through the hub: the same function, the same packet object.
  assert.equal(handlers[0]!(d(up)), rep);
  assert.equal(got.length, 3);
  assert.equal(got[2], got[1]);
  const input = hub.countersFor('198.51.100.67').input;
  assert.equal((rep as BfdRepeat)(), true);
  assert.equal(got.length, 4);
  assert.equal(got[3], got[1], 'the last accepted packet, as the hub would decode it');
  assert.equal(hub.countersFor('198.51.100.67').input, input + 1);
  // A newer packet becomes what is repeated.
  handlers[0]!(d(pkt({ yourDiscr: 12, state: BfdState.up, detectMult: 5 })));
  (rep as BfdRepeat)();
  assert.equal(got[got.length - 1]!.detectMult, 5);
  // A session registered again under the same discriminator: the old function declines.
  const got2: BfdControlPacket[] = [];
  const off2 = hub.register(12, '198.51.100.67', (p) => got2.push(p));
  const n = got.length;
  assert.equal((rep as BfdRepeat)(), false);
  assert.equal(got.length, n);
  const rep2 = handlers[0]!(d(up)) as BfdRepeat;
  off2();
  assert.equal(rep2(), false, 'unregistered');
  off();
  assert.equal(got2.length, 1);
});
