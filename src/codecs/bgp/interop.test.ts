// Fixtures captured from real peers (FRR 8.4.4, GoBGP 3.10.0, BIRD 2.0.12) in a namespace lab on
// 2026-11-26: the bytes each router sent after our OPEN (its OPEN, KEEPALIVE and, where it had a
// route, an UPDATE), decoded through the stream framer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from './bytes.js';
import { Framer } from './header.js';
import { decodeMessage, type BgpMessage } from './message.js';
import { encodeUpdate } from './update.js';
import { must } from './test-helpers.js';

const FRR = fromHex(`
  ffffffffffffffffffffffffffffffff 005e 01  # header: length 94, OPEN
  04 fc01 00b4 c6336401 41                  # v4, AS 64513, hold 180, id 198.51.100.1, opt len 65
  02 06 01 04 0001 00 01                    # cap MP: IPv4 unicast
  02 02 80 00                               # cap 128: pre-standard route refresh
  02 02 02 00                               # cap route refresh
  02 02 46 00                               # cap enhanced route refresh (70)
  02 06 41 04 0000fc01                      # cap 4-octet AS 64513
  02 02 06 00                               # cap 6: extended message (RFC 8654)
  02 06 45 04 0001 01 01                    # cap ADD-PATH: IPv4 unicast, receive
  02 06 49 04 02 766d 00                    # cap FQDN: hostname "vm", no domain
  02 04 40 02 c078                          # cap graceful restart: R + N bits, restart time 120
  02 09 47 07 0001 01 80 000000             # cap long-lived GR: IPv4 unicast, F bit, stale time 0
  ffffffffffffffffffffffffffffffff 0013 04  # KEEPALIVE
  ffffffffffffffffffffffffffffffff 0038 02  # header: length 56, UPDATE
  0000 001c                                 # no withdrawn routes, attributes 28 octets
  40 01 01 00                               # ORIGIN IGP
  50 02 0006 02 01 0000fc01                 # AS_PATH (extended length flag): SEQUENCE 64513
  40 03 04 c6336401                         # NEXT_HOP 198.51.100.1
  80 04 04 00000000                         # MED 0
  20 cb0071a0                               # NLRI 203.0.113.160/32
`);

const GOBGP = fromHex(`
  ffffffffffffffffffffffffffffffff 003b 01  # header: length 59, OPEN
  04 fc01 005a c6336401 1e                  # v4, AS 64513, hold 90, id 198.51.100.1, opt len 30
  02 1c                                     # one capabilities parameter, 28 octets
  02 00                                     # route refresh
  49 04 02 766d 00                          # FQDN: hostname "vm"
  01 04 0001 00 01                          # MP: IPv4 unicast
  41 04 0000fc01                            # 4-octet AS 64513
  05 06 0001 0001 0002                      # extended next hop: IPv4 unicast over IPv6
  ffffffffffffffffffffffffffffffff 0013 04  # KEEPALIVE
  ffffffffffffffffffffffffffffffff 0030 02  # header: length 48, UPDATE
  0000 0014                                 # no withdrawn routes, attributes 20 octets
  40 01 01 02                               # ORIGIN INCOMPLETE
  40 02 06 02 01 0000fc01                   # AS_PATH SEQUENCE 64513
  40 03 04 c6336401                         # NEXT_HOP 198.51.100.1
  20 cb0071a1                               # NLRI 203.0.113.161/32
`);

const BIRD = fromHex(`
  ffffffffffffffffffffffffffffffff 0035 01  # header: length 53, OPEN
  04 fc01 00f0 c6336401 18                  # v4, AS 64513, hold 240, id 198.51.100.1, opt len 24
  02 16                                     # one capabilities parameter, 22 octets
  01 04 0001 00 01                          # MP: IPv4 unicast
  02 00                                     # route refresh
  40 02 0078                                # graceful restart: no flags, restart time 120
  41 04 0000fc01                            # 4-octet AS 64513
  46 00                                     # enhanced route refresh
  47 00                                     # long-lived GR, no families
  ffffffffffffffffffffffffffffffff 0013 04  # KEEPALIVE
`);

function decodeStream(b: Uint8Array): BgpMessage[] {
  const f = new Framer();
  const out: BgpMessage[] = [];
  // Byte at a time, as a slow TCP stream would deliver it.
  for (let i = 0; i < b.length; i++) {
    for (const r of f.push(b.subarray(i, i + 1))) {
      assert.ok(r.ok);
      const m = decodeMessage(r.value, { as4: true });
      assert.ok(m.ok, !m.ok ? m.error.message : '');
      out.push(m.value);
    }
  }
  assert.equal(f.pending, 0);
  return out;
}

test('FRR: OPEN with ten capabilities, KEEPALIVE, UPDATE with an extended-length AS_PATH', () => {
  const [open, ka, upd] = decodeStream(FRR);
  assert.ok(open?.type === 'open');
  assert.equal(open.asn, 64513);
  assert.equal(open.holdTime, 180);
  assert.deepEqual(open.capabilities.multiprotocol, [{ afi: 1, safi: 1 }]);
  assert.equal(open.capabilities.routeRefresh, true);
  assert.equal(open.capabilities.enhancedRouteRefresh, true);
  assert.deepEqual(open.capabilities.gracefulRestart, { restarting: true, restartTime: 120, families: [] });
  assert.deepEqual(
    open.capabilities.unknown?.map((u) => u.code),
    [128, 6, 69, 73, 71],
  );
  assert.equal(ka?.type, 'keepalive');
  assert.ok(upd?.type === 'update');
  assert.deepEqual(upd.nlri, ['203.0.113.160/32']);
  assert.deepEqual(upd.attrs, { origin: 0, asPath: [{ type: 2, asns: [64513] }], nextHop: '198.51.100.1', med: 0 });
});

test('GoBGP: OPEN, KEEPALIVE, UPDATE (ORIGIN INCOMPLETE) that re-encodes to the same bytes', () => {
  const [open, ka, upd] = decodeStream(GOBGP);
  assert.ok(open?.type === 'open');
  assert.equal(open.holdTime, 90);
  assert.equal(open.capabilities.fourOctetAs, 64513);
  assert.deepEqual(
    open.capabilities.unknown?.map((u) => u.code),
    [73],
  );
  assert.deepEqual(open.capabilities.extendedNextHop, [{ afi: 1, safi: 1, nextHopAfi: 2 }]);
  assert.equal(ka?.type, 'keepalive');
  assert.ok(upd?.type === 'update');
  assert.deepEqual(upd.nlri, ['203.0.113.161/32']);
  assert.equal(upd.attrs.origin, 2);
  const { type: _t, ...u } = upd;
  assert.deepEqual(must(encodeUpdate(u, { as4: true })), GOBGP.subarray(GOBGP.length - 48 + 19));
});

test('BIRD: OPEN with graceful restart and long-lived GR, KEEPALIVE', () => {
  const [open, ka] = decodeStream(BIRD);
  assert.ok(open?.type === 'open');
  assert.equal(open.holdTime, 240);
  assert.deepEqual(open.capabilities.gracefulRestart, { restarting: false, restartTime: 120, families: [] });
  assert.equal(open.capabilities.enhancedRouteRefresh, true);
  assert.equal(ka?.type, 'keepalive');
});
