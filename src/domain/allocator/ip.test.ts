import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { canonicalIp, formatIp, isBuggyIp, parseAddressEntry, parseIp, RangeIndex, type IpFamily } from './ip.js';

test('parseIp / canonicalIp', () => {
  const cases: Array<{ desc: string; input: string; want: string | undefined }> = [
    { desc: 'IPv4', input: '198.51.100.7', want: '198.51.100.7' },
    { desc: 'IPv4 with spaces', input: ' 198.51.100.7 ', want: '198.51.100.7' },
    { desc: 'IPv6 expanded -> RFC 5952', input: '2001:0DB8:0000:0000:0000:0000:0000:0001', want: '2001:db8::1' },
    { desc: 'IPv6 longest zero run compressed', input: '2001:db8:0:0:1:0:0:0', want: '2001:db8:0:0:1::' },
    { desc: 'IPv6 single zero group not compressed', input: '2001:db8:0:1:1:1:1:1', want: '2001:db8:0:1:1:1:1:1' },
    { desc: 'IPv4-mapped IPv6 becomes IPv4 (as Go)', input: '::ffff:198.51.100.7', want: '198.51.100.7' },
    { desc: 'hex IPv4 refused', input: '0xc6.51.100.7', want: undefined },
    { desc: 'three-part IPv4 refused', input: '198.51.7', want: undefined },
    { desc: 'zone refused', input: 'fe80::1%eth0', want: undefined },
    { desc: 'CIDR is not an address', input: '198.51.100.0/24', want: undefined },
    { desc: 'garbage', input: 'not-an-ip', want: undefined },
    { desc: 'empty', input: '', want: undefined },
  ];
  for (const c of cases) assert.equal(canonicalIp(c.input), c.want, c.desc);
});

test('IPv4 parsing agrees with ipaddr.js strict four-part decimal on any string', () => {
  const v4ish = fc.oneof(
    fc.stringMatching(/^[0-9.]{0,16}$/),
    fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((t) => t.join('.')),
    fc.ipV4(),
  );
  fc.assert(
    fc.property(v4ish, (s) => {
      const want = ipaddr.IPv4.isValidFourPartDecimal(s)
        ? ipaddr.IPv4.parse(s)
            .toByteArray()
            .reduce((v, b) => (v << 8n) | BigInt(b), 0n)
        : undefined;
      assert.equal(parseIp(s)?.value, want, s);
    }),
    { numRuns: 3000 },
  );
});

test('formatIp matches ipaddr.js RFC 5952 output for any IPv6 address', () => {
  const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      let v = 0n;
      for (const g of groups) v = (v << 16n) | BigInt(g);
      const want = new ipaddr.IPv6(groups).toRFC5952String();
      assert.equal(formatIp(6, v), want);
      // Round trip, except IPv4-mapped addresses, which parse as IPv4 on purpose.
      if (!want.startsWith('::ffff:')) assert.equal(parseIp(want)?.value, v);
    }),
    { numRuns: 500 },
  );
});

test('parseAddressEntry', () => {
  const cases: Array<{ desc: string; input: string; want?: [IpFamily, string, string]; wantErr?: RegExp }> = [
    { desc: 'IPv4 CIDR', input: '198.51.100.0/24', want: [4, '198.51.100.0', '198.51.100.255'] },
    { desc: 'host bits masked', input: '198.51.100.77/30', want: [4, '198.51.100.76', '198.51.100.79'] },
    { desc: '/32', input: '198.51.100.9/32', want: [4, '198.51.100.9', '198.51.100.9'] },
    { desc: 'range', input: '198.51.100.10-198.51.100.20', want: [4, '198.51.100.10', '198.51.100.20'] },
    { desc: 'range with spaces', input: '198.51.100.10 - 198.51.100.20', want: [4, '198.51.100.10', '198.51.100.20'] },
    { desc: 'IPv6 /64', input: '2001:db8:1::/64', want: [6, '2001:db8:1::', '2001:db8:1:0:ffff:ffff:ffff:ffff'] },
    { desc: 'IPv6 range', input: '2001:db8::1-2001:db8::ff', want: [6, '2001:db8::1', '2001:db8::ff'] },
    { desc: 'reversed range', input: '198.51.100.20-198.51.100.10', wantErr: /start IP is after the end IP/ },
    { desc: 'mixed families', input: '198.51.100.1-2001:db8::1', wantErr: /different families/ },
    { desc: 'bad start', input: 'x-198.51.100.1', wantErr: /invalid start IP "x"/ },
    { desc: 'prefix too long', input: '198.51.100.0/33', wantErr: /longer than 32/ },
    { desc: 'bare address', input: '198.51.100.1', wantErr: /expected a prefix/ },
    { desc: 'two dashes', input: '1-2-3', wantErr: /invalid IP range/ },
  ];
  for (const c of cases) {
    const r = parseAddressEntry(c.input);
    if (c.wantErr) {
      assert.equal(r.ok, false, c.desc);
      if (!r.ok) assert.match(r.error, c.wantErr, c.desc);
      continue;
    }
    assert.ok(r.ok, c.desc);
    if (!r.ok || !c.want) continue;
    assert.deepEqual([r.value.family, formatIp(r.value.family, r.value.first), formatIp(r.value.family, r.value.last)], c.want, c.desc);
  }
});

test('parseAddressEntry never throws', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      const r = parseAddressEntry(s);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
});

test('RangeIndex with avoidBuggyIPs: indexes exactly the non-.0/.255 addresses, in order', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 2000 }), fc.integer({ min: 0, max: 1500 }), (start, len) => {
      const first = BigInt(start);
      const last = first + BigInt(len);
      const idx = new RangeIndex({ family: 4, first, last, source: 't' }, true);
      let n = 0n;
      for (let v = first; v <= last; v++) {
        const i = idx.indexOf(v);
        if (isBuggyIp(4, v)) {
          assert.equal(i, undefined);
          continue;
        }
        assert.equal(i, n);
        assert.equal(idx.addressAt(n), v);
        n++;
      }
      assert.equal(idx.size, n);
    }),
    { numRuns: 200 },
  );
});

test('RangeIndex of a range holding only buggy addresses is empty', () => {
  const idx = new RangeIndex(
    { family: 4, first: parseIp('198.51.100.255')!.value, last: parseIp('198.51.101.0')!.value, source: 't' },
    true,
  );
  assert.equal(idx.size, 0n);
});
