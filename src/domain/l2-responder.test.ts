import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEthernet, encodeEthernet, EtherType, fromHex, type EthernetFrame } from '../codecs/ethernet.js';
import { decodeArp, encodeArp, ArpOp, type ArpPacket } from '../codecs/arp.js';
import { decodeIpv6, decodeNdp, encodeNdp, type NdpOut } from '../codecs/ndp.js';
import { respond, gratuitousFrames, probeFrame, solicitedNodeMac, type ResponderView } from './l2-responder.js';

const OURS = '02:00:00:00:00:01';
const CLIENT = '02:00:00:00:00:0c';
const OTHER = '02:00:00:00:00:0e';
const view: ResponderView = Object.freeze({
  mac: OURS,
  owned: new Set(['203.0.113.50', '2001:db8:6::50']),
  probing: new Set(['203.0.113.51']),
});

function arpFrame(p: Partial<ArpPacket>, ethSrc = p.senderMac ?? CLIENT, dst = 'ff:ff:ff:ff:ff:ff', vlan?: number): Uint8Array {
  const a: ArpPacket = {
    op: ArpOp.request,
    senderMac: CLIENT,
    senderIp: '203.0.113.10',
    targetMac: '00:00:00:00:00:00',
    targetIp: '203.0.113.50',
    ...p,
  };
  return encodeEthernet({ dst, src: ethSrc, etherType: EtherType.arp, payload: encodeArp(a), ...(vlan === undefined ? {} : { vlan }) });
}
function ndpFrame(src: string, dst: string, msg: NdpOut, ethSrc = CLIENT, ethDst = '33:33:ff:00:00:50'): Uint8Array {
  return encodeEthernet({ dst: ethDst, src: ethSrc, etherType: EtherType.ipv6, payload: encodeNdp(src, dst, msg) });
}
function eth(b: Uint8Array | undefined): EthernetFrame {
  assert.ok(b);
  const r = decodeEthernet(b);
  assert.ok(r.ok);
  return r.value;
}
function arpOf(b: Uint8Array | undefined): ArpPacket {
  const r = decodeArp(eth(b).payload);
  assert.ok(r.ok);
  return r.value;
}
function ndpOf(b: Uint8Array | undefined) {
  const ip = decodeIpv6(eth(b).payload);
  assert.ok(ip.ok);
  const m = decodeNdp(ip.value);
  assert.ok(m.ok);
  return { ip: ip.value, msg: m.value };
}

test('ARP request for an owned IP: unicast reply with our MAC', () => {
  const out = respond(arpFrame({}), view);
  assert.equal(out.requestFor, '203.0.113.50');
  assert.equal(out.conflict, undefined);
  assert.equal(out.replies.length, 1);
  assert.equal(eth(out.replies[0]).dst, CLIENT);
  assert.equal(eth(out.replies[0]).src, OURS);
  assert.deepEqual(arpOf(out.replies[0]), {
    op: ArpOp.reply,
    senderMac: OURS,
    senderIp: '203.0.113.50',
    targetMac: CLIENT,
    targetIp: '203.0.113.10',
  });
});

test('ARP reply keeps the request VLAN tag', () => {
  const out = respond(arpFrame({}, CLIENT, 'ff:ff:ff:ff:ff:ff', 42), view);
  assert.equal(eth(out.replies[0]).vlan, 42);
});

const arpCases: Array<{
  desc: string;
  frame: Uint8Array;
  want: { replies: number; requestFor?: string; conflict?: { ip: string; mac: string } };
}> = [
  { desc: 'request for an IP we do not own', frame: arpFrame({ targetIp: '203.0.113.60' }), want: { replies: 0 } },
  { desc: 'request for a probed (not owned) IP', frame: arpFrame({ targetIp: '203.0.113.51' }), want: { replies: 0 } },
  {
    desc: 'RFC 5227 probe for an owned IP is defended',
    frame: arpFrame({ senderIp: '0.0.0.0' }),
    want: { replies: 1, requestFor: '203.0.113.50' },
  },
  {
    desc: 'another MAC replies for an owned IP',
    frame: arpFrame({ op: ArpOp.reply, senderMac: OTHER, senderIp: '203.0.113.50', targetIp: '203.0.113.10' }),
    want: { replies: 0, conflict: { ip: '203.0.113.50', mac: OTHER } },
  },
  {
    desc: 'another MAC sends gratuitous ARP for an owned IP',
    frame: arpFrame({ senderMac: OTHER, senderIp: '203.0.113.50', targetIp: '203.0.113.50' }),
    want: { replies: 0, conflict: { ip: '203.0.113.50', mac: OTHER } },
  },
  {
    desc: 'another MAC answers for a probed IP',
    frame: arpFrame({ op: ArpOp.reply, senderMac: OTHER, senderIp: '203.0.113.51' }),
    want: { replies: 0, conflict: { ip: '203.0.113.51', mac: OTHER } },
  },
  {
    desc: 'another MAC asks from an owned IP: answered and a conflict',
    frame: arpFrame({ senderMac: OTHER, senderIp: '203.0.113.51', targetIp: '203.0.113.50' }),
    want: { replies: 1, requestFor: '203.0.113.50', conflict: { ip: '203.0.113.51', mac: OTHER } },
  },
  {
    desc: 'our own frames (kernel or injected) are ignored',
    frame: arpFrame({ senderMac: OURS, senderIp: '203.0.113.50', targetIp: '203.0.113.50' }),
    want: { replies: 0 },
  },
  {
    desc: 'an IPv4 frame is ignored',
    frame: encodeEthernet({ dst: OURS, src: CLIENT, etherType: EtherType.ipv4, payload: new Uint8Array(20) }),
    want: { replies: 0 },
  },
];
for (const c of arpCases) {
  test(`ARP: ${c.desc}`, () => {
    const out = respond(c.frame, view);
    assert.equal(out.replies.length, c.want.replies);
    assert.equal(out.requestFor, c.want.requestFor);
    assert.deepEqual(out.conflict, c.want.conflict);
    assert.equal(out.malformed, undefined);
  });
}

test('NS for an owned IPv6 target: solicited NA (S+O) to the soliciting source', () => {
  const out = respond(
    ndpFrame('2001:db8:6::10', 'ff02::1:ff00:50', { kind: 'ns', target: '2001:db8:6::50', sourceLinkAddr: CLIENT }),
    view,
  );
  assert.equal(out.requestFor, '2001:db8:6::50');
  assert.equal(eth(out.replies[0]).dst, CLIENT);
  const { ip, msg } = ndpOf(out.replies[0]);
  assert.equal(ip.src, '2001:db8:6::50');
  assert.equal(ip.dst, '2001:db8:6::10');
  assert.equal(ip.hopLimit, 255);
  assert.deepEqual(msg, { kind: 'na', target: '2001:db8:6::50', router: false, solicited: true, override: true, targetLinkAddr: OURS });
});

test('DAD NS (source ::) for an owned target: NA to all-nodes, S=0, O=1', () => {
  const out = respond(ndpFrame('::', 'ff02::1:ff00:50', { kind: 'ns', target: '2001:db8:6::50' }), view);
  assert.equal(eth(out.replies[0]).dst, '33:33:00:00:00:01');
  const { ip, msg } = ndpOf(out.replies[0]);
  assert.equal(ip.dst, 'ff02::1');
  assert.deepEqual(msg, { kind: 'na', target: '2001:db8:6::50', router: false, solicited: false, override: true, targetLinkAddr: OURS });
  assert.equal(out.conflict, undefined);
});

const ndpCases: Array<{ desc: string; frame: Uint8Array; want: { replies: number; conflict?: { ip: string; mac: string } } }> = [
  {
    desc: 'NS for a target we do not own',
    frame: ndpFrame('2001:db8:6::10', 'ff02::1:ff00:60', { kind: 'ns', target: '2001:db8:6::60', sourceLinkAddr: CLIENT }),
    want: { replies: 0 },
  },
  {
    desc: 'another MAC advertises an owned IP',
    frame: ndpFrame(
      '2001:db8:6::50',
      'ff02::1',
      { kind: 'na', target: '2001:db8:6::50', solicited: false, override: true, targetLinkAddr: OTHER },
      OTHER,
    ),
    want: { replies: 0, conflict: { ip: '2001:db8:6::50', mac: OTHER } },
  },
  {
    desc: 'NA for an owned IP without option: the Ethernet source is the claimant',
    frame: ndpFrame('2001:db8:6::50', 'ff02::1', { kind: 'na', target: '2001:db8:6::50', solicited: false, override: true }, OTHER),
    want: { replies: 0, conflict: { ip: '2001:db8:6::50', mac: OTHER } },
  },
  {
    desc: 'NA from another IP is not ours to judge',
    frame: ndpFrame(
      '2001:db8:6::70',
      'ff02::1',
      { kind: 'na', target: '2001:db8:6::70', solicited: false, override: true, targetLinkAddr: OTHER },
      OTHER,
    ),
    want: { replies: 0 },
  },
  {
    desc: 'NS sourced from an owned IP by another MAC',
    frame: ndpFrame('2001:db8:6::50', 'ff02::1:ff00:99', { kind: 'ns', target: '2001:db8:6::99', sourceLinkAddr: OTHER }, OTHER),
    want: { replies: 0, conflict: { ip: '2001:db8:6::50', mac: OTHER } },
  },
];
for (const c of ndpCases) {
  test(`NDP: ${c.desc}`, () => {
    const out = respond(c.frame, view);
    assert.equal(out.replies.length, c.want.replies);
    assert.deepEqual(out.conflict, c.want.conflict);
  });
}

test('malformed frames are reported, not thrown', () => {
  assert.match(respond(new Uint8Array(5), view).malformed ?? '', /ethernet/);
  assert.match(respond(fromHex('ffffffffffff 02000000000c 0806 0001 0800'), view).malformed ?? '', /arp/);
  const ns = ndpFrame('2001:db8:6::10', 'ff02::1:ff00:50', { kind: 'ns', target: '2001:db8:6::50', sourceLinkAddr: CLIENT });
  ns[14 + 7] = 64; // hop limit 64: forged from off-link
  assert.match(respond(ns, view).malformed ?? '', /hop limit/);
});

test('respond never throws and only answers owned IPs (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      const out = respond(b, view);
      assert.ok(Array.isArray(out.replies));
    }),
    { numRuns: 3000 },
  );
  const ip = fc.constantFrom('203.0.113.50', '203.0.113.51', '203.0.113.60', '0.0.0.0');
  fc.assert(
    fc.property(fc.constantFrom(ArpOp.request, ArpOp.reply), ip, ip, (op, senderIp, targetIp) => {
      const out = respond(arpFrame({ op, senderIp, targetIp }), view);
      if (out.replies.length > 0) assert.ok(view.owned.has(targetIp));
    }),
  );
});

test('gratuitous ARP: request and reply, broadcast, sender = target = VIP', () => {
  const frames = gratuitousFrames('203.0.113.50', OURS);
  assert.equal(frames.length, 2);
  assert.deepEqual(
    frames.map((f) => arpOf(f)),
    [ArpOp.request, ArpOp.reply].map((op) => ({
      op,
      senderMac: OURS,
      senderIp: '203.0.113.50',
      targetMac: 'ff:ff:ff:ff:ff:ff',
      targetIp: '203.0.113.50',
    })),
  );
  for (const f of frames) assert.equal(eth(f).dst, 'ff:ff:ff:ff:ff:ff');
});

test('unsolicited NA: Override, not Solicited, to ff02::1', () => {
  const [f] = gratuitousFrames('2001:db8:6::50', OURS);
  assert.equal(eth(f).dst, '33:33:00:00:00:01');
  const { ip, msg } = ndpOf(f);
  assert.equal(ip.dst, 'ff02::1');
  assert.deepEqual(msg, { kind: 'na', target: '2001:db8:6::50', router: false, solicited: false, override: true, targetLinkAddr: OURS });
});

test('probes: ARP probe from 0.0.0.0, DAD NS from :: to the solicited-node group', () => {
  assert.deepEqual(arpOf(probeFrame('203.0.113.51', OURS)), {
    op: ArpOp.request,
    senderMac: OURS,
    senderIp: '0.0.0.0',
    targetMac: '00:00:00:00:00:00',
    targetIp: '203.0.113.51',
  });
  const f = probeFrame('2001:db8:6::51', OURS);
  assert.equal(eth(f).dst, '33:33:ff:00:00:51');
  const { ip, msg } = ndpOf(f);
  assert.equal(ip.src, '::');
  assert.equal(ip.dst, 'ff02::1:ff00:51');
  assert.deepEqual(msg, { kind: 'ns', target: '2001:db8:6::51' });
  assert.equal(solicitedNodeMac('2001:db8:6::1:2345'), '33:33:ff:01:23:45');
});

test("another announcer's burst and probe replies are conflicts for us (two-responder loop)", () => {
  const theirs: ResponderView = { mac: OTHER, owned: new Set(['203.0.113.50']) };
  for (const f of gratuitousFrames('203.0.113.50', OTHER)) assert.deepEqual(respond(f, view).conflict, { ip: '203.0.113.50', mac: OTHER });
  const answer = respond(probeFrame('203.0.113.50', OURS), theirs);
  assert.equal(answer.replies.length, 1);
  assert.deepEqual(respond(answer.replies[0]!, view).conflict, { ip: '203.0.113.50', mac: OTHER });
});
