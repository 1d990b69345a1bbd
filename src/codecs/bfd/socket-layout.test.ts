import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalAddress } from '../../actors/bfd-transport.actor.js';
import {
  findPktinfoAddr,
  formatAddress,
  parseAddress,
  pktinfoSpace,
  readU32,
  sockaddrAddrOffset,
  sockaddrFamily,
  sockaddrPort,
  writePktinfo,
  writeSockaddr,
  writeU32,
} from './socket-layout.js';

const hex = (u8: Uint8Array) => Buffer.from(u8).toString('hex');

test('parseAddress: IPv4, IPv6 with and without ::, embedded IPv4, scope id; rejects the rest', () => {
  assert.equal(hex(parseAddress('198.51.100.66')!), 'c6336442');
  assert.equal(hex(parseAddress('2001:db8:5::100:1')!), '20010db8000500000000000001000001');
  assert.equal(hex(parseAddress('::')!), '0'.repeat(32));
  assert.equal(hex(parseAddress('::ffff:203.0.113.9')!), '00000000000000000000ffffcb007109');
  assert.equal(hex(parseAddress('2001:DB8:0:0:0:0:0:1')!), '20010db8000000000000000000000001');
  assert.equal(hex(parseAddress('fe80::1%eth0')!), 'fe800000000000000000000000000001');
  for (const bad of ['', '1.2.3', '1.2.3.256', '2001:db8::1::2', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', 'g::1', 'host']) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

test("formatAddress gives the transport's canonical form (and round-trips parseAddress)", () => {
  const v4 = parseAddress('198.51.100.65')!;
  assert.equal(formatAddress(v4, 0, 4), '198.51.100.65');
  assert.equal(formatAddress(parseAddress('2001:db8:5::1')!, 0, 6), '2001:db8:5:0:0:0:0:1');
  assert.equal(formatAddress(parseAddress('::ffff:198.51.100.65')!, 0, 6), '198.51.100.65');
  fc.assert(
    fc.property(fc.ipV6(), (a) => {
      const s = formatAddress(parseAddress(a)!, 0, 6);
      // (canonicalAddress does not read an embedded dotted IPv4 suffix; ours does.)
      if (!a.includes('.')) assert.equal(s, canonicalAddress(a));
      assert.deepEqual(parseAddress(s), parseAddress(a));
    }),
  );
  fc.assert(
    fc.property(fc.ipV4(), (a) => {
      assert.equal(formatAddress(parseAddress(a)!, 0, 4), a);
    }),
  );
});

test('sockaddr_in / sockaddr_in6 bytes', () => {
  const u8 = new Uint8Array(40).fill(0xee);
  assert.equal(writeSockaddr(u8, 4, parseAddress('198.51.100.65')!, 3784), 16);
  // family 2 (host order, LE), port 3784 = 0x0ec8 big-endian, address, 8 zero bytes.
  assert.equal(hex(u8.subarray(4, 20)), '02000ec8c63364410000000000000000');
  assert.equal(sockaddrFamily(u8, 4), 4);
  assert.equal(sockaddrPort(u8, 4), 3784);
  assert.equal(formatAddress(u8, 4 + sockaddrAddrOffset(4), 4), '198.51.100.65');
  assert.equal(writeSockaddr(u8, 0, parseAddress('2001:db8:5::1')!, 49152), 28);
  // family 10, port 0xc000, flowinfo 0, address, scope id 0.
  assert.equal(hex(u8.subarray(0, 28)), '0a00c0000000000020010db8000500000000000000000001' + '00000000');
  assert.equal(sockaddrFamily(u8, 0), 6);
  assert.equal(sockaddrPort(u8, 0), 49152);
  u8[0] = 1;
  assert.equal(sockaddrFamily(u8, 0), undefined);
});

test('packet-info control messages: written for sending, found when receiving', () => {
  const u8 = new Uint8Array(64);
  // cmsg_len 28 (16 + in_pktinfo 12), level IPPROTO_IP 0, type IP_PKTINFO 8, ifindex 0,
  // spec_dst = the source we want, addr 0; 8-byte aligned space 32.
  assert.equal(writePktinfo(u8, 0, parseAddress('198.51.100.66')!), 32);
  assert.equal(pktinfoSpace(4), 32);
  assert.equal(hex(u8.subarray(0, 32)), '1c00000000000000' + '00000000' + '08000000' + '00000000' + 'c6336442' + '00000000' + '00000000');
  assert.equal(writePktinfo(u8, 0, parseAddress('2001:db8:5::2')!), 40);
  assert.equal(pktinfoSpace(6), 40);
  // cmsg_len 36, level IPPROTO_IPV6 41, type IPV6_PKTINFO 50, in6_pktinfo { addr, ifindex 0 }.
  assert.equal(hex(u8.subarray(0, 36)), '2400000000000000' + '29000000' + '32000000' + '20010db8000500000000000000000002' + '00000000');
  // Received: the destination address of in6_pktinfo, after an unrelated message.
  const rx = new Uint8Array(96);
  writeU32(rx, 0, 20);
  writeU32(rx, 8, 1);
  writeU32(rx, 12, 29); // SOL_SOCKET / SO_TIMESTAMPING-like, 4 data bytes
  writePktinfo(rx, 24, parseAddress('2001:db8:5::100:a')!);
  const at = findPktinfoAddr(rx, 0, 24 + 36, 6);
  assert.equal(formatAddress(rx, at, 6), '2001:db8:5:0:0:0:100:a');
  assert.equal(findPktinfoAddr(rx, 0, 24, 6), -1, 'not in range');
  assert.equal(findPktinfoAddr(rx, 0, 24 + 36, 4), -1, 'wrong family');
  // IPv4: in_pktinfo.ipi_addr (data bytes 8..12) is the header destination.
  const r4 = new Uint8Array(32);
  writeU32(r4, 0, 28);
  writeU32(r4, 8, 0);
  writeU32(r4, 12, 8);
  r4.set(parseAddress('198.51.100.1')!, 20); // spec_dst (the local address routing would pick)
  r4.set(parseAddress('198.51.100.66')!, 24); // addr (the datagram's destination)
  assert.equal(formatAddress(r4, findPktinfoAddr(r4, 0, 32, 4), 4), '198.51.100.66');
  // A malformed length stops the walk.
  writeU32(r4, 0, 8);
  assert.equal(findPktinfoAddr(r4, 0, 32, 4), -1);
  assert.equal(readU32(new Uint8Array([1, 0, 0, 0x80]), 0), 0x80000001);
});
