import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from './bytes.js';
import { decodeMessage } from './message.js';
import { unframe } from './header.js';
import { decodeOpen, encodeOpen } from './open.js';
import { ErrorCode, OpenSubcode, Treatment } from './types.js';

// An OPEN as FRR sends it for AS 4200000001 (4-octet), hold 180, id 198.51.100.1.
const FRR_OPEN = fromHex(`
  ffffffffffffffffffffffffffffffff  # marker
  0037                              # length 55
  01                                # type OPEN
  04                                # version 4
  5ba0                              # my AS = AS_TRANS 23456
  00b4                              # hold time 180
  c6336401                          # BGP identifier 198.51.100.1
  1a                                # optional parameters length 26
  02 18                             # param type 2 (capabilities), length 24
  01 04 0001 00 01                  # MP: IPv4 unicast
  01 04 0002 00 01                  # MP: IPv6 unicast
  02 00                             # route refresh
  41 04 fa56ea01                    # 4-octet AS 4200000001
  40 02 0078                        # graceful restart: R=0, restart time 120, no families
`);

test('decodes an OPEN with capabilities, AS_TRANS resolved through the 4-octet AS capability', () => {
  const f = unframe(FRR_OPEN);
  assert.ok(f.ok);
  const m = decodeMessage(f.value, { as4: false });
  assert.ok(m.ok && m.value.type === 'open');
  assert.equal(m.value.asn, 4200000001);
  assert.equal(m.value.holdTime, 180);
  assert.equal(m.value.routerId, '198.51.100.1');
  assert.deepEqual(m.value.capabilities.multiprotocol, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  assert.equal(m.value.capabilities.routeRefresh, true);
  assert.deepEqual(m.value.capabilities.gracefulRestart, { restarting: false, restartTime: 120, families: [] });
});

test('OPEN round trip (2-octet and 4-octet ASN, graceful restart families)', () => {
  for (const asn of [64512, 4200000001]) {
    const o = {
      asn,
      holdTime: 90,
      routerId: '203.0.113.9',
      capabilities: {
        multiprotocol: [
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ],
        routeRefresh: true,
        fourOctetAs: asn,
        gracefulRestart: { restarting: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
      },
    };
    const body = encodeOpen(o);
    const back = decodeOpen(body);
    assert.ok(back.ok);
    assert.deepEqual(back.value, { version: 4, ...o });
    assert.equal(hex(body.subarray(1, 3)), asn > 0xffff ? '5ba0' : asn.toString(16));
  }
});

test('OPEN errors carry the NOTIFICATION code/subcode and reset the session', () => {
  const cases: Array<{ desc: string; body: string; subcode: number }> = [
    { desc: 'version 3', body: '03 fde8 00b4 c6336401 00', subcode: OpenSubcode.unsupportedVersion },
    { desc: 'hold time 2', body: '04 fde8 0002 c6336401 00', subcode: OpenSubcode.unacceptableHoldTime },
    { desc: 'router id 0', body: '04 fde8 00b4 00000000 00', subcode: OpenSubcode.badBgpIdentifier },
    { desc: 'optional parameter type 1', body: '04 fde8 00b4 c6336401 04 01 02 0000', subcode: OpenSubcode.unsupportedOptionalParameter },
    { desc: 'param length mismatch', body: '04 fde8 00b4 c6336401 09 02 02 0200', subcode: 0 },
  ];
  for (const c of cases) {
    const r = decodeOpen(fromHex(c.body));
    assert.ok(!r.ok, c.desc);
    assert.equal(r.error.code, ErrorCode.open, c.desc);
    assert.equal(r.error.subcode, c.subcode, c.desc);
    assert.equal(r.error.treatment, Treatment.sessionReset, c.desc);
  }
});
