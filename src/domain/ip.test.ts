import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp, formatIp, parseRange, prefixContains } from './ip.js';
import { parseDuration, formatDuration } from './duration.js';
import { parseCommunity } from './community.js';

test('parseIp / formatIp round trip in short form', () => {
  for (const s of ['198.51.100.7', '2001:db8::1', '::', '0.0.0.0', '2001:db8:0:0:1::']) {
    const p = parseIp(s);
    assert.ok(p, s);
    assert.equal(formatIp(p.family, p.value), s); // RFC 5952: the longest zero run is compressed
  }
  assert.equal(parseIp('198.51.100'), undefined);
  assert.equal(parseIp('nonsense'), undefined);
});

test('parseRange: CIDR and range bounds', () => {
  const c = parseRange('2001:db8::/126');
  assert.ok(c.ok);
  assert.equal(c.interval.last - c.interval.first, 3n);
  const r = parseRange('198.51.100.2 - 198.51.100.3');
  assert.ok(r.ok);
  assert.equal(r.minPrefixLen, 31);
  const odd = parseRange('198.51.100.1-198.51.100.2'); // .1/32 + .2/32
  assert.ok(odd.ok);
  assert.equal(odd.minPrefixLen, 32);
});

test('Go durations', () => {
  const cases: Array<[string, number | undefined]> = [
    ['90s', 90000],
    ['1m30s', 90000],
    ['1.5h', 5400000],
    ['500ms', 500],
    ['0', 0],
    ['90', undefined],
    ['', undefined],
    ['1x', undefined],
    ['-3s', -3000],
  ];
  for (const [s, want] of cases) assert.equal(parseDuration(s), want, s);
  assert.equal(formatDuration(90000), '1m30s');
  assert.equal(formatDuration(1500), '1500ms');
});

test('communities: standard, large, format errors vs value errors', () => {
  assert.deepEqual(parseCommunity('65535:65282'), { ok: true, value: { kind: 'standard', value: 0xffffff02, text: '65535:65282' } });
  assert.equal(parseCommunity('alias').ok, false);
  const a = parseCommunity('alias');
  assert.equal(!a.ok && a.format, true);
  const v = parseCommunity('1:65536');
  assert.equal(!v.ok && v.format, false);
});

test('prefixContains: aggregated v4 and v6 prefixes, family mismatch', () => {
  assert.equal(prefixContains('203.0.113.0/24', '203.0.113.77'), true);
  assert.equal(prefixContains('203.0.113.0/25', '203.0.113.200'), false);
  assert.equal(prefixContains('2001:db8:4::/64', '2001:db8:4::1'), true);
  assert.equal(prefixContains('2001:db8:4::/64', '2001:db8:5::1'), false);
  assert.equal(prefixContains('203.0.113.0/24', '2001:db8::1'), false);
});
