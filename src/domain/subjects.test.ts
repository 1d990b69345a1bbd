import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  subjectMatches,
  allOf,
  claimsSubject,
  epochBucket,
  epochKey,
  heartbeatSubject,
  ipFromEpochKey,
  Kind,
  nodePublishAllow,
  parseSubject,
  token,
} from './subjects.js';

test('subjects are versioned and one token per id', () => {
  assert.equal(heartbeatSubject('prod', 'node-1.example.org'), 'mooring.v1.prod.hb.node-1_example_org');
  assert.equal(claimsSubject('prod', 'n2'), 'mooring.v1.prod.claims.n2');
  assert.equal(allOf('prod', Kind.heartbeat), 'mooring.v1.prod.hb.*');
  assert.deepEqual(parseSubject('mooring.v1.prod.hb.node-1_example_org'), { cluster: 'prod', kind: 'hb', id: 'node-1.example.org' });
});

test('foreign, other-version and malformed subjects do not parse', () => {
  for (const s of [
    'mooring.v2.prod.hb.n1',
    'other.v1.prod.hb.n1',
    'mooring.v1.prod.zz.n1',
    'mooring.v1.prod.hb',
    'mooring.v1.prod.hb.n1.x',
  ]) {
    assert.equal(parseSubject(s), undefined, s);
  }
});

test('wildcards and spaces cannot be smuggled into a subject', () => {
  for (const bad of ['a*', 'a>', 'a b', '']) assert.throws(() => token(bad), RangeError, bad);
});

test('a node may publish only under its own id', () => {
  assert.deepEqual(nodePublishAllow('prod', 'n1.x'), ['mooring.v1.prod.*.n1_x']);
});

test('KV names', () => {
  assert.equal(epochBucket('prod'), 'mooring-v1-prod-epochs');
  assert.equal(epochKey('203.0.113.64'), '203.0.113.64');
  assert.equal(epochKey('2001:db8::40'), '2001_db8__40');
  assert.equal(ipFromEpochKey('2001_db8__40'), '2001:db8::40');
  assert.equal(ipFromEpochKey('203.0.113.64'), '203.0.113.64');
});

test('subjectMatches: NATS wildcards, * one token, > one or more trailing tokens', () => {
  assert.equal(subjectMatches('a.*.c', 'a.b.c'), true);
  assert.equal(subjectMatches('a.*.c', 'a.b.d'), false);
  assert.equal(subjectMatches('a.*', 'a.b.c'), false);
  assert.equal(subjectMatches('a.>', 'a.b.c'), true);
  assert.equal(subjectMatches('a.>', 'a.b'), true);
  assert.equal(subjectMatches('a.>', 'a'), false);
  assert.equal(subjectMatches('a.b', 'a.b'), true);
  assert.equal(subjectMatches('a.b', 'a.b.c'), false);
  assert.equal(subjectMatches('a.b.c', 'a.b'), false);
});
