import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeClaims,
  decodeDrain,
  decodeEpochRecord,
  decodeHeartbeat,
  encodeClaims,
  encodeDrain,
  encodeEpochRecord,
  encodeHeartbeat,
  type Heartbeat,
} from './coord.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

test('heartbeat fixture decodes field by field', () => {
  const wire = utf8(
    JSON.stringify({
      v: 1, // payload version
      node: 'node-a.example.org', // sender (Kubernetes node name)
      inc: 1764150000123, // incarnation (process start, ms)
      seq: 42, // sequence within the incarnation
      intervalMs: 100, // sender's heartbeat interval
      l2Ready: true, // carrier up on an announcing interface
      draining: false, // planned handover in progress
      settled: false, // still in its resync window: not ready to take IPs over
    }),
  );
  assert.deepEqual(decodeHeartbeat(wire), {
    ok: true,
    value: {
      v: 1,
      node: 'node-a.example.org',
      inc: 1764150000123,
      seq: 42,
      intervalMs: 100,
      l2Ready: true,
      draining: false,
      settled: false,
    },
  });
  // A sender without the field (before failback handovers) decodes without it: peers treat it as settled.
  assert.deepEqual(decodeHeartbeat(utf8('{"v":1,"node":"a","inc":1,"seq":1,"intervalMs":100,"l2Ready":true,"draining":false}')), {
    ok: true,
    value: { v: 1, node: 'a', inc: 1, seq: 1, intervalMs: 100, l2Ready: true, draining: false },
  });
  assert.equal(
    decodeHeartbeat(utf8('{"v":1,"node":"a","inc":1,"seq":1,"intervalMs":100,"l2Ready":true,"draining":false,"settled":1}')).ok,
    false,
  );
});

test('claims fixture and round trip', () => {
  const c = {
    v: 1 as const,
    node: 'n1',
    inc: 7,
    seq: 3,
    claims: [
      { ip: '203.0.113.64', epoch: 12 },
      { ip: '2001:db8::40', epoch: 1 },
    ],
  };
  assert.deepEqual(
    decodeClaims(utf8('{"v":1,"node":"n1","inc":7,"seq":3,"claims":[{"ip":"203.0.113.64","epoch":12},{"ip":"2001:db8::40","epoch":1}]}')),
    { ok: true, value: c },
  );
  assert.deepEqual(decodeClaims(encodeClaims(c)), { ok: true, value: c });
  assert.deepEqual(decodeEpochRecord(encodeEpochRecord({ epoch: 3, node: 'n2' })), { ok: true, value: { epoch: 3, node: 'n2' } });
});

test('heartbeat round trip (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        node: fc.string({ minLength: 1, maxLength: 60 }),
        inc: fc.nat(),
        seq: fc.nat(),
        intervalMs: fc.integer({ min: 1, max: 60000 }),
        l2Ready: fc.boolean(),
        draining: fc.boolean(),
        settled: fc.boolean(),
      }),
      (r) => {
        const h: Heartbeat = { v: 1, ...r };
        assert.deepEqual(decodeHeartbeat(encodeHeartbeat(h)), { ok: true, value: h });
      },
    ),
  );
});

test('malformed input is an error, never a throw', () => {
  const bad: Array<[string, Uint8Array]> = [
    ['not utf-8', new Uint8Array([0xff, 0xfe])],
    ['not json', utf8('{')],
    ['array', utf8('[]')],
    ['other version', utf8('{"v":2,"node":"a"}')],
    ['negative seq', utf8('{"v":1,"node":"a","inc":1,"seq":-1,"intervalMs":100,"l2Ready":true,"draining":false}')],
    ['zero interval', utf8('{"v":1,"node":"a","inc":1,"seq":1,"intervalMs":0,"l2Ready":true,"draining":false}')],
  ];
  for (const [desc, b] of bad) assert.equal(decodeHeartbeat(b).ok, false, desc);
  assert.equal(decodeClaims(utf8('{"v":1,"node":"a","inc":1,"seq":1,"claims":[{"ip":"","epoch":1}]}')).ok, false);
  assert.equal(decodeClaims(utf8('{"v":1,"node":"a","inc":1,"seq":1,"claims":[null]}')).ok, false);
  assert.equal(decodeEpochRecord(utf8('{"v":1,"epoch":"1","node":"a"}')).ok, false);
});

test('decoders never throw on arbitrary bytes or JSON', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      for (const d of [decodeHeartbeat, decodeClaims, decodeEpochRecord]) assert.equal(typeof d(b).ok, 'boolean');
    }),
  );
  fc.assert(
    fc.property(fc.json(), (j) => {
      for (const d of [decodeHeartbeat, decodeClaims, decodeEpochRecord]) assert.equal(typeof d(utf8(j)).ok, 'boolean');
    }),
  );
});

test('drain command: round trip, malformed dropped', () => {
  const cmd = { v: 1 as const, node: 'node-a.example.org', draining: true };
  assert.deepEqual(decodeDrain(encodeDrain(cmd)), { ok: true, value: cmd });
  assert.equal(decodeDrain(new TextEncoder().encode('{"v":1,"node":"a","draining":"yes"}')).ok, false);
  assert.equal(decodeDrain(new TextEncoder().encode('{"v":2,"node":"a","draining":true}')).ok, false);
});

test('heartbeat connections (death fast path): round trip, absent stays absent, malformed refused', async () => {
  const { decodeHeartbeat, encodeHeartbeat } = await import('./coord.js');
  const base = { v: 1 as const, node: 'n1', inc: 1, seq: 2, intervalMs: 100, l2Ready: true, draining: false };
  const conns = [
    { s: 'NAB', c: 5, n: 'speaker-n1' },
    { s: 'NCD', c: 9, n: 'speaker-n1-mirror' },
  ];
  const r = decodeHeartbeat(encodeHeartbeat({ ...base, conns }));
  assert.ok(r.ok);
  assert.deepEqual(r.value.conns, conns);
  const none = decodeHeartbeat(encodeHeartbeat(base));
  assert.ok(none.ok && none.value.conns === undefined);
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify({ ...base, conns: o }));
  for (const bad of [{}, [{ s: 'A', c: -1, n: 'x' }], [{ s: '', c: 1, n: 'x' }], [1], Array(9).fill({ s: 'A', c: 1, n: 'x' })])
    assert.equal(decodeHeartbeat(enc(bad)).ok, false, JSON.stringify(bad));
});

test('NATS connect/disconnect advisories: the fields presence needs, anything else refused', async () => {
  const { decodeConnAdvisory, encodeConnAdvisory } = await import('./nats-advisory.js');
  // As nats-server 2.9.10 sends it (trimmed).
  const real = new TextEncoder().encode(
    '{"type":"io.nats.server.advisory.v1.client_disconnect","id":"x","server":{"name":"s1","id":"NCOQ","ver":"2.9.10"},"client":{"id":6,"acc":"MOORING","user":"n2","name":"n2-x","kind":"Client"},"reason":"Client Closed"}',
  );
  assert.deepEqual(decodeConnAdvisory(real), {
    ok: true,
    value: { kind: 'disconnect', conn: { s: 'NCOQ', c: 6, n: 'n2-x' }, reason: 'Client Closed' },
  });
  const a = { kind: 'connect' as const, conn: { s: 'S', c: 1, n: 'n' } };
  assert.deepEqual(decodeConnAdvisory(encodeConnAdvisory(a)), { ok: true, value: a });
  // The server's timestamp (RFC 3339, ns) is kept in ms when it parses (failover diagnostics).
  const stamped = (ts: string) =>
    decodeConnAdvisory(
      new TextEncoder().encode(
        `{"type":"io.nats.server.advisory.v1.client_disconnect","timestamp":"${ts}","server":{"id":"S"},"client":{"id":1,"name":"n"}}`,
      ),
    );
  const ok = stamped('2026-12-07T14:44:26.123456789Z');
  assert.ok(ok.ok && ok.value.at === Date.UTC(2026, 11, 7, 14, 44, 26, 123));
  const junk = stamped('yesterday');
  assert.ok(junk.ok && junk.value.at === undefined);
  for (const bad of ['', 'null', '{"type":"other"}', '{"type":"io.nats.server.advisory.v1.client_connect","server":{},"client":{"id":1}}'])
    assert.equal(decodeConnAdvisory(new TextEncoder().encode(bad)).ok, false, bad);
  assert.equal(decodeConnAdvisory(new Uint8Array([0xff])).ok, false);
});
