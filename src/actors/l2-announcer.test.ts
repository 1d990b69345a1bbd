import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from './clock.js';
import { L2Announcer, canonicalIp, type L2Host, type L2Link } from './l2-announcer.js';
import { IFF, type IfaceFacts } from '../domain/l2-interfaces.js';
import { decodeEthernet, encodeEthernet, EtherType } from '../codecs/ethernet.js';
import { decodeArp, encodeArp, ArpOp } from '../codecs/arp.js';
import { decodeIpv6, decodeNdp, encodeNdp } from '../codecs/ndp.js';
import type { L2Conflict, CarrierChange } from './l2-port.js';

const UP = IFF.up | IFF.broadcast | IFF.multicast;

/** Virtual time: timers fire only when the test advances the clock. */
class FakeClock implements Clock {
  t = 0;
  private q: Array<{ at: number; fn: () => void; id: number }> = [];
  private n = 0;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.n;
    this.q.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown) {
    this.q = this.q.filter((e) => e.id !== h);
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      this.q.sort((a, b) => a.at - b.at || a.id - b.id);
      const e = this.q[0];
      if (!e || e.at > end) break;
      this.q.shift();
      this.t = e.at;
      e.fn();
    }
    this.t = end;
  }
  pending() {
    return this.q.length;
  }
}

class FakeLink implements L2Link {
  sent: Uint8Array[] = [];
  cb: ((f: Uint8Array) => void) | undefined;
  closed = false;
  constructor(
    readonly iface: string,
    readonly mac: string,
  ) {}
  send(f: Uint8Array) {
    this.sent.push(f);
  }
  onFrame(cb: (f: Uint8Array) => void) {
    this.cb = cb;
  }
  close() {
    this.closed = true;
  }
  deliver(f: Uint8Array) {
    this.cb?.(f);
  }
}

class FakeHost implements L2Host {
  links = new Map<string, FakeLink>();
  maddr = new Map<string, Set<string>>();
  allmulti = new Set<string>();
  carriers = new Map<string, boolean | undefined>([
    ['eth0', true],
    ['eth1', true],
  ]);
  facts: IfaceFacts[] = [
    { name: 'eth0', flags: UP },
    { name: 'eth1', flags: UP },
    { name: 'docker0', flags: UP },
  ];
  interfaces() {
    return this.facts;
  }
  open(iface: string) {
    const l = new FakeLink(iface, iface === 'eth0' ? '02:00:00:00:00:01' : '02:00:00:00:01:01');
    this.links.set(iface, l);
    return l;
  }
  joinMulticast(iface: string, mac: string) {
    const s = this.maddr.get(iface) ?? new Set();
    s.add(mac);
    this.maddr.set(iface, s);
  }
  leaveMulticast(iface: string, mac: string) {
    this.maddr.get(iface)?.delete(mac);
  }
  setAllMulticast(iface: string, on: boolean) {
    if (on) this.allmulti.add(iface);
    else this.allmulti.delete(iface);
  }
  carrier(iface: string) {
    return this.carriers.get(iface);
  }
}

function setup(opts: ConstructorParameters<typeof L2Announcer>[1] = {}) {
  const host = new FakeHost();
  const clock = new FakeClock();
  const a = new L2Announcer(host, { clock, ...opts });
  return { host, clock, a };
}

function kinds(frames: Uint8Array[]): string[] {
  return frames.map((f) => {
    const e = decodeEthernet(f);
    assert.ok(e.ok);
    if (e.value.etherType === EtherType.arp) {
      const a = decodeArp(e.value.payload);
      assert.ok(a.ok);
      if (a.value.senderIp === '0.0.0.0') return `probe ${a.value.targetIp}`;
      return `${a.value.op === ArpOp.request ? 'garp-req' : 'garp-rep'} ${a.value.senderIp}`;
    }
    const ip = decodeIpv6(e.value.payload);
    assert.ok(ip.ok);
    const m = decodeNdp(ip.value);
    assert.ok(m.ok);
    assert.notEqual(m.value.kind, 'other');
    return `${m.value.kind === 'ns' ? 'dad-ns' : 'una'} ${m.value.kind === 'other' ? '' : m.value.target}`;
  });
}

test('announce: takeover burst on every eligible interface, repeated, then refresh with probe', () => {
  const { host, clock, a } = setup({ burstRounds: 2, burstSpacingMs: 100, refreshMs: 1000 });
  a.announce('203.0.113.50');
  assert.deepEqual(a.announced(), ['203.0.113.50']);
  assert.deepEqual([...host.links.keys()], ['eth0', 'eth1']); // docker0 excluded by default
  const eth0 = host.links.get('eth0')!;
  assert.deepEqual(kinds(eth0.sent), ['garp-req 203.0.113.50', 'garp-rep 203.0.113.50']);
  clock.advance(100);
  assert.equal(eth0.sent.length, 4);
  clock.advance(899);
  assert.equal(eth0.sent.length, 4);
  clock.advance(1);
  assert.deepEqual(kinds(eth0.sent.slice(4)), ['garp-req 203.0.113.50', 'garp-rep 203.0.113.50', 'probe 203.0.113.50']);
  // 2 interfaces x (2 burst rounds + 1 refresh) x (request + reply).
  assert.equal(a.stats().byIp.get('203.0.113.50')?.gratuitousSent, 12);
});

test('prepare opens the eligible interfaces before any announce, and announce then reuses them', () => {
  const { host, a } = setup();
  assert.equal(host.links.size, 0);
  a.prepare();
  assert.deepEqual([...host.links.keys()], ['eth0', 'eth1']);
  const eth0 = host.links.get('eth0');
  a.prepare();
  a.announce('203.0.113.50');
  assert.equal(host.links.get('eth0'), eth0, 'not reopened');
  assert.deepEqual(kinds(eth0!.sent), ['garp-req 203.0.113.50', 'garp-rep 203.0.113.50']);
  assert.deepEqual(a.announced(), ['203.0.113.50'], 'prepare announces nothing');
});

test('refresh re-sends the takeover frames byte for byte, each interface with its own MAC, for every announced IP', () => {
  const { host, clock, a } = setup({ burstRounds: 1, refreshMs: 1000, probeOnRefresh: false });
  const ips = ['203.0.113.50', '203.0.113.51', '2001:db8:6::50'];
  for (const ip of ips) a.announce(ip);
  const burst = new Map([...host.links].map(([n, l]) => [n, l.sent.map((f) => Buffer.from(f).toString('hex'))]));
  for (const l of host.links.values()) l.sent = [];
  clock.advance(1000);
  clock.advance(1000);
  for (const [name, l] of host.links) {
    const once = burst.get(name)!;
    assert.deepEqual(
      l.sent.map((f) => Buffer.from(f).toString('hex')),
      [...once, ...once],
      `${name}: refresh = burst, twice`,
    );
    for (const f of l.sent) {
      const e = decodeEthernet(f);
      assert.ok(e.ok);
      assert.equal(e.value.src, l.mac, `${name} sends with its own MAC`);
    }
  }
  // A withdrawn IP is not re-announced; one announced again is announced as before.
  a.withdraw('203.0.113.51');
  for (const l of host.links.values()) l.sent = [];
  clock.advance(1000);
  assert.deepEqual(kinds(host.links.get('eth0')!.sent), ['garp-req 203.0.113.50', 'garp-rep 203.0.113.50', 'una 2001:db8:6::50']);
});

test('announce is idempotent and honours an explicit interface list', () => {
  const { host, a } = setup({ burstRounds: 1 });
  a.announce('203.0.113.50', ['eth1']);
  a.announce('203.0.113.50', ['eth1']);
  assert.deepEqual([...host.links.keys()], ['eth1']);
  assert.equal(host.links.get('eth1')!.sent.length, 2);
  a.announce('203.0.113.50', ['docker0']); // excluded: nothing happens
  assert.equal(host.links.has('docker0'), false);
});

test('announce with another interface set replaces the set: added ones answer (burst), dropped ones stop, kept ones never pause', () => {
  const { host, a } = setup({ burstRounds: 1 });
  const req = (tip: string) =>
    encodeEthernet({
      dst: 'ff:ff:ff:ff:ff:ff',
      src: '02:00:00:00:00:0c',
      etherType: EtherType.arp,
      payload: encodeArp({
        op: ArpOp.request,
        senderMac: '02:00:00:00:00:0c',
        senderIp: '203.0.113.10',
        targetMac: '00:00:00:00:00:00',
        targetIp: tip,
      }),
    });
  /** Whether `iface` answers an ARP request for the IP now. */
  const answers = (iface: string): boolean => {
    const l = host.links.get(iface);
    if (!l) return false;
    const before = l.sent.length;
    l.deliver(req('203.0.113.50'));
    return l.sent.length > before;
  };
  a.announce('203.0.113.50', ['eth0']);
  assert.deepEqual([answers('eth0'), answers('eth1')], [true, false]);
  a.announce('203.0.113.50', ['eth0', 'eth1']);
  assert.deepEqual([answers('eth0'), answers('eth1')], [true, true]);
  assert.deepEqual(
    kinds(host.links.get('eth1')!.sent.slice(0, 2)),
    ['garp-req 203.0.113.50', 'garp-rep 203.0.113.50'],
    'takeover burst on the added interface',
  );
  const eth0Sent = host.links.get('eth0')!.sent.length;
  a.announce('203.0.113.50', ['eth1']);
  assert.deepEqual([answers('eth0'), answers('eth1')], [false, true]);
  assert.equal(host.links.get('eth0')!.sent.length, eth0Sent, 'nothing sent on the dropped interface');
  assert.deepEqual(a.announced(), ['203.0.113.50']);
  // A set that selects nothing here (an excluded or absent interface) answers on none, as an
  // L2Advertisement naming only interfaces the node does not have.
  a.announce('203.0.113.50', ['docker0']);
  assert.deepEqual([answers('eth0'), answers('eth1')], [false, false]);
  assert.deepEqual(a.announced(), []);
  // Back to every eligible interface.
  a.announce('203.0.113.50');
  assert.deepEqual([answers('eth0'), answers('eth1')], [true, true]);
  a.withdraw('203.0.113.50');
  assert.deepEqual([answers('eth0'), answers('eth1')], [false, false]);
});

test('IPv6: a replaced interface set leaves the solicited-node group on the dropped interface only', () => {
  const { host, a } = setup({ burstRounds: 1 });
  a.announce('2001:db8:6::50', ['eth0']);
  assert.deepEqual([...host.maddr.get('eth0')!], ['33:33:ff:00:00:50']);
  a.announce('2001:db8:6::50', ['eth1']);
  assert.deepEqual([...host.maddr.get('eth0')!], []);
  assert.deepEqual([...host.maddr.get('eth1')!], ['33:33:ff:00:00:50']);
});

test('IPv6: unsolicited NA burst, solicited-node group joined once per group and left on withdraw', () => {
  const { host, a } = setup({ burstRounds: 1, interfaces: ['eth0'] });
  a.announce('2001:DB8:6:0::50');
  a.announce('2001:db8:7::50'); // same low 24 bits: same solicited-node group
  assert.deepEqual(a.announced(), ['2001:db8:6::50', '2001:db8:7::50']);
  assert.deepEqual(kinds(host.links.get('eth0')!.sent), ['una 2001:db8:6::50', 'una 2001:db8:7::50']);
  assert.deepEqual([...host.maddr.get('eth0')!], ['33:33:ff:00:00:50']);
  a.withdraw('2001:db8:6::50');
  assert.deepEqual([...host.maddr.get('eth0')!], ['33:33:ff:00:00:50']);
  a.withdraw('2001:db8:7::50');
  assert.deepEqual([...host.maddr.get('eth0')!], []);
});

test('IPv6: past maxMulticastGroups the NIC goes all-multicast instead', () => {
  const { host, a } = setup({ burstRounds: 1, interfaces: ['eth0'], maxMulticastGroups: 2 });
  for (const n of [1, 2, 3, 4]) a.announce(`2001:db8:6::${n}`);
  assert.equal(host.maddr.get('eth0')!.size, 2);
  assert.ok(host.allmulti.has('eth0'));
  void a.close();
  assert.ok(!host.allmulti.has('eth0'));
});

test('answers ARP and NS for owned IPs only, counting requests and responses', () => {
  const { host, a } = setup({ burstRounds: 1, interfaces: ['eth0'] });
  a.announce('203.0.113.50');
  a.announce('2001:db8:6::50');
  const eth0 = host.links.get('eth0')!;
  eth0.sent = [];
  const req = (tip: string) =>
    encodeEthernet({
      dst: 'ff:ff:ff:ff:ff:ff',
      src: '02:00:00:00:00:0c',
      etherType: EtherType.arp,
      payload: encodeArp({
        op: ArpOp.request,
        senderMac: '02:00:00:00:00:0c',
        senderIp: '203.0.113.10',
        targetMac: '00:00:00:00:00:00',
        targetIp: tip,
      }),
    });
  eth0.deliver(req('203.0.113.50'));
  eth0.deliver(req('203.0.113.51'));
  eth0.deliver(
    encodeEthernet({
      dst: '33:33:ff:00:00:50',
      src: '02:00:00:00:00:0c',
      etherType: EtherType.ipv6,
      payload: encodeNdp('2001:db8:6::10', 'ff02::1:ff00:50', {
        kind: 'ns',
        target: '2001:db8:6::50',
        sourceLinkAddr: '02:00:00:00:00:0c',
      }),
    }),
  );
  eth0.deliver(new Uint8Array([1, 2, 3]));
  assert.equal(eth0.sent.length, 2);
  assert.deepEqual(a.stats().byIp.get('203.0.113.50'), { requestsReceived: 1, responsesSent: 1, gratuitousSent: 2 });
  assert.deepEqual(a.stats().byIp.get('2001:db8:6::50'), { requestsReceived: 1, responsesSent: 1, gratuitousSent: 1 });
  assert.equal(a.stats().byIp.get('203.0.113.51'), undefined);
  assert.equal(a.stats().malformed, 1);
  a.withdraw('203.0.113.50');
  eth0.deliver(req('203.0.113.50'));
  assert.equal(eth0.sent.length, 2);
});

test('conflict: another MAC claiming an announced or probed IP is reported, deduplicated per hold period', () => {
  const { host, clock, a } = setup({ burstRounds: 1, interfaces: ['eth0'], conflictHoldMs: 1000 });
  const seen: L2Conflict[] = [];
  const off = a.onConflict((c) => seen.push(c));
  a.announce('203.0.113.50');
  const eth0 = host.links.get('eth0')!;
  const garp = encodeEthernet({
    dst: 'ff:ff:ff:ff:ff:ff',
    src: '02:00:00:00:00:0e',
    etherType: EtherType.arp,
    payload: encodeArp({
      op: ArpOp.reply,
      senderMac: '02:00:00:00:00:0e',
      senderIp: '203.0.113.50',
      targetMac: 'ff:ff:ff:ff:ff:ff',
      targetIp: '203.0.113.50',
    }),
  });
  eth0.deliver(garp);
  eth0.deliver(garp);
  assert.deepEqual(seen, [{ ip: '203.0.113.50', mac: '02:00:00:00:00:0e', iface: 'eth0' }]);
  clock.advance(1000);
  eth0.deliver(garp);
  assert.equal(seen.length, 2);
  // Probing an IP someone else holds.
  a.probe('203.0.113.52');
  assert.deepEqual(kinds(eth0.sent.slice(-1)), ['probe 203.0.113.52']);
  eth0.deliver(
    encodeEthernet({
      dst: '02:00:00:00:00:01',
      src: '02:00:00:00:00:0f',
      etherType: EtherType.arp,
      payload: encodeArp({
        op: ArpOp.reply,
        senderMac: '02:00:00:00:00:0f',
        senderIp: '203.0.113.52',
        targetMac: '02:00:00:00:00:01',
        targetIp: '0.0.0.0',
      }),
    }),
  );
  assert.deepEqual(seen[2], { ip: '203.0.113.52', mac: '02:00:00:00:00:0f', iface: 'eth0' });
  off();
  clock.advance(1000);
  eth0.deliver(garp);
  assert.equal(seen.length, 3);
  assert.equal(a.stats().conflicts, 4);
});

test('carrier: down and up are reported; up re-announces', () => {
  const { host, clock, a } = setup({ burstRounds: 1, interfaces: ['eth0'], carrierPollMs: 100, refreshMs: 0 });
  const seen: CarrierChange[] = [];
  a.onCarrier((c) => seen.push(c));
  a.announce('203.0.113.50');
  const eth0 = host.links.get('eth0')!;
  clock.advance(300);
  assert.deepEqual(seen, []);
  host.carriers.set('eth0', false);
  clock.advance(100);
  assert.deepEqual(seen, [{ iface: 'eth0', up: false }]);
  const before = eth0.sent.length;
  host.carriers.set('eth0', true);
  clock.advance(100);
  assert.deepEqual(seen, [
    { iface: 'eth0', up: false },
    { iface: 'eth0', up: true },
  ]);
  assert.equal(eth0.sent.length, before + 2);
  host.carriers.set('eth0', undefined); // interface removed
  clock.advance(100);
  assert.deepEqual(seen.at(-1), { iface: 'eth0', up: false });
});

test('close: withdraws everything, closes links, stops timers', async () => {
  const { host, clock, a } = setup({ interfaces: ['eth0'] });
  a.announce('2001:db8:6::50');
  await a.close();
  assert.deepEqual(a.announced(), []);
  assert.ok(host.links.get('eth0')!.closed);
  assert.deepEqual([...host.maddr.get('eth0')!], []);
  assert.equal(clock.pending(), 0);
  a.announce('203.0.113.50');
  assert.deepEqual(a.announced(), []);
});

test('canonicalIp', () => {
  assert.equal(canonicalIp('203.0.113.050'), '203.0.113.50');
  assert.equal(canonicalIp('2001:0DB8:6::0050'), '2001:db8:6::50');
  assert.equal(canonicalIp('nope'), undefined);
});

test('interface facts are rescanned periodically: a new eligible interface is used, a downed one dropped', () => {
  const { host, clock, a } = setup({ interfaceScanMs: 1000, carrierPollMs: 0, refreshMs: 0 });
  assert.deepEqual(a.eligibleInterfaces(), ['eth0', 'eth1']);
  host.facts = [
    { name: 'eth0', flags: UP },
    { name: 'eth1', flags: IFF.broadcast },
    { name: 'eth2', flags: UP },
  ];
  clock.advance(999);
  assert.deepEqual(a.eligibleInterfaces(), ['eth0', 'eth1']);
  clock.advance(1);
  assert.deepEqual(a.eligibleInterfaces(), ['eth0', 'eth2']);
  a.announce('203.0.113.50');
  assert.deepEqual([...host.links.keys()], ['eth0', 'eth2']);
});

test('a link whose send fails does not break the announcer', () => {
  const { host, a } = setup({ burstRounds: 1, interfaces: ['eth0'] });
  const logs: Array<Record<string, unknown>> = [];
  const b = new L2Announcer(host, { clock: new FakeClock(), burstRounds: 1, interfaces: ['eth1'], log: (e) => logs.push(e) });
  b.announce('203.0.113.50');
  host.links.get('eth1')!.send = () => {
    throw new Error('ENETDOWN');
  };
  b.announce('203.0.113.51');
  assert.deepEqual(b.announced(), ['203.0.113.50', '203.0.113.51']);
  assert.ok(logs.some((l) => l.event === 'l2.sendFailed'));
  void a.close();
  void b.close();
});

test('announce with no usable interface is logged, not silently dropped', () => {
  const logs: Array<Record<string, unknown>> = [];
  const { a } = setup({ interfaces: ['eth9'], log: (e) => logs.push(e) });
  a.announce('203.0.113.50');
  assert.deepEqual(a.announced(), []);
  assert.deepEqual(
    logs.find((l) => l.event === 'l2.noInterface'),
    { event: 'l2.noInterface', ip: '203.0.113.50', wanted: ['eth9'], eligible: [] },
  );
});

test('announce with no usable interface is reported through onNoInterface (the speaker makes an Event of it)', () => {
  const { a } = setup({ interfaces: ['eth0'] });
  const seen: unknown[] = [];
  const off = a.onNoInterface((p) => seen.push(p));
  a.announce('203.0.113.50', ['eth9']);
  a.announce('203.0.113.51');
  assert.deepEqual(seen, [{ ip: '203.0.113.50', wanted: ['eth9'], eligible: ['eth0'] }]);
  off();
  a.announce('203.0.113.52', ['eth9']);
  assert.equal(seen.length, 1);
  void a.close();
});

test('per family: IPv4 only on broadcast-capable, IPv6 only on multicast-capable interfaces', () => {
  const host = new FakeHost();
  host.facts = [
    { name: 'eth0', flags: IFF.up | IFF.multicast },
    { name: 'eth1', flags: IFF.up | IFF.broadcast },
  ];
  const a = new L2Announcer(host, { clock: new FakeClock(), burstRounds: 1 });
  a.announce('203.0.113.50');
  a.announce('2001:db8:6::50');
  assert.deepEqual(kinds(host.links.get('eth1')!.sent), ['garp-req 203.0.113.50', 'garp-rep 203.0.113.50']);
  assert.deepEqual(kinds(host.links.get('eth0')!.sent), ['una 2001:db8:6::50']);
});
