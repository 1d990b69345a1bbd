import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeBpf, gtsmFilter, GTSM_MARK_LENGTH, isGtsmMark, SKF_NET_OFF, type BpfInsn } from './gtsm-filter.js';

/**
 * The few classic BPF instructions the filter uses, run as the kernel runs a socket filter on a
 * UDP socket's packet: A/X registers, absolute loads from the transport data (UDP header on) or,
 * at SKF_NET_OFF + n, from the network header. Returns the bytes to keep (0: drop).
 */
function runBpf(prog: readonly BpfInsn[], network: Uint8Array, transport: Uint8Array): number {
  let a = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    switch (code) {
      case 0x30: {
        // ld b [k]
        const off = k | 0;
        const byte = off >= SKF_NET_OFF && off < 0 ? network[off - SKF_NET_OFF] : transport[off];
        if (byte === undefined) return 0; // out of range: the kernel drops
        a = byte;
        break;
      }
      case 0x15:
        pc += a === k ? jt : jf;
        break; // jeq #k
      case 0x35:
        pc += a >= k ? jt : jf;
        break; // jge #k
      case 0x06:
        return k; // ret #k
      default:
        throw new Error(`opcode ${code.toString(16)} not modelled`);
    }
  }
  return 0;
}

const ipv4 = (ttl: number) => Uint8Array.from([0x45, 0, 0, 52, 0, 0, 0x40, 0, ttl, 17, 0, 0, 198, 51, 100, 65, 198, 51, 100, 66]);
const ipv6 = (hops: number) => {
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h[5] = 32;
  h[6] = 17;
  h[7] = hops;
  return h;
};
const udpBfd = new Uint8Array(8 + 24).fill(0x20);

/** What the socket delivers: the UDP payload after trimming to the filter's answer. */
const delivered = (keep: number) => Math.max(0, Math.min(keep, udpBfd.length) - 8);

test('RFC 5881 §5: IPv4 TTL 255 keeps the datagram, any other TTL leaves a 1-byte mark', () => {
  const f = gtsmFilter(4);
  assert.equal(delivered(runBpf(f, ipv4(255), udpBfd)), 24);
  for (const ttl of [254, 64, 1, 0]) assert.equal(delivered(runBpf(f, ipv4(ttl), udpBfd)), GTSM_MARK_LENGTH, `TTL ${ttl}`);
});

test('RFC 5881 §5: IPv6 Hop Limit 255 keeps the datagram, any other leaves a 1-byte mark', () => {
  const f = gtsmFilter(6);
  assert.equal(delivered(runBpf(f, ipv6(255), udpBfd)), 24);
  for (const h of [254, 128, 1]) assert.equal(delivered(runBpf(f, ipv6(h), udpBfd)), GTSM_MARK_LENGTH, `hop limit ${h}`);
});

test('property: delivered whole exactly when the TTL byte is 255', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), (ttl, v6) => {
      const keep = runBpf(gtsmFilter(v6 ? 6 : 4), v6 ? ipv6(ttl) : ipv4(ttl), udpBfd);
      return (delivered(keep) === 24) === (ttl === 255) && (ttl === 255 || delivered(keep) === GTSM_MARK_LENGTH);
    }),
  );
});

test('RFC 5883 §5 (multi-hop): TTL/Hop Limit at or above the configured floor kept, below it marked', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 }), fc.boolean(), (ttl, floor, v6) => {
      const keep = runBpf(gtsmFilter(v6 ? 6 : 4, floor), v6 ? ipv6(ttl) : ipv4(ttl), udpBfd);
      return delivered(keep) === (ttl >= floor ? 24 : GTSM_MARK_LENGTH);
    }),
  );
  // MetalLB's default minimumTtl 254: one routed hop (254) passes, two (253) do not.
  assert.equal(delivered(runBpf(gtsmFilter(4, 254), ipv4(254), udpBfd)), 24);
  assert.equal(delivered(runBpf(gtsmFilter(4, 254), ipv4(253), udpBfd)), GTSM_MARK_LENGTH);
  // 255 is the single-hop program (jeq), byte for byte.
  assert.deepEqual(gtsmFilter(6, 255), gtsmFilter(6));
});

test('struct sock_filter encoding: code, jt, jf, k in host byte order', () => {
  const le = encodeBpf(gtsmFilter(4), true);
  assert.equal(le.length, 32);
  // ldb [SKF_NET_OFF + 8]: code 0x0030, k 0xfff00008
  assert.equal(Buffer.from(le.subarray(0, 8)).toString('hex'), '300000000800f0ff');
  // jeq #255, jt 0, jf 1
  assert.equal(Buffer.from(le.subarray(8, 16)).toString('hex'), '15000001ff000000');
  // ret #9 (UDP header + the 1-byte mark)
  assert.equal(Buffer.from(le.subarray(24, 32)).toString('hex'), '0600000009000000');
  const be = encodeBpf(gtsmFilter(6), false);
  assert.equal(Buffer.from(be.subarray(0, 8)).toString('hex'), '00300000fff00007');
});

test('a mark is never a Control packet and a Control packet never a mark', () => {
  assert.ok(isGtsmMark(new Uint8Array(1)));
  assert.ok(!isGtsmMark(new Uint8Array(24)));
  assert.ok(!isGtsmMark(new Uint8Array(0)));
});
