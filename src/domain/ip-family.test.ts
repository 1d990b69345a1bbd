import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bgpFamily, familyBits, familyOfText, fromBgpFamily, fromKubeFamily, IP_FAMILIES, kubeFamily, otherFamily } from './ip-family.js';

test('the edge spellings round-trip and nothing else parses', () => {
  for (const f of IP_FAMILIES) {
    assert.equal(fromKubeFamily(kubeFamily(f)), f);
    assert.equal(fromBgpFamily(bgpFamily(f)), f);
    assert.equal(otherFamily(otherFamily(f)), f);
  }
  assert.deepEqual(IP_FAMILIES.map(kubeFamily), ['IPv4', 'IPv6']);
  assert.deepEqual(IP_FAMILIES.map(bgpFamily), ['ipv4', 'ipv6']);
  for (const s of ['ipv4', 'IPV6', '4', '', 'IPv4 ']) assert.equal(fromKubeFamily(s), undefined, s);
  for (const s of ['IPv4', 'inet6', '6']) assert.equal(fromBgpFamily(s), undefined, s);
  assert.deepEqual([familyBits(4), familyBits(6)], [32, 128]);
  assert.deepEqual([familyOfText('203.0.113.7/32'), familyOfText('2001:db8::1')], [4, 6]);
});
