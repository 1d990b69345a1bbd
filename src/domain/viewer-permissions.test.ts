import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsAccountsBlock, viewerPublishPermissions, viewerSubscribePermissions } from './nats-config.js';
import { feedSubject, heartbeatSubject, parseSubject, snapshotRequestSubject, snapshotSubject } from './subjects.js';

// NATS subject matching, enough for these permissions ('*' one token, '>' the rest).
const matches = (pattern: string, subject: string): boolean => {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
};

test('the viewer may ask for snapshots and publish nothing else', () => {
  const pub = viewerPublishPermissions('c1');
  assert.ok(pub.some((p) => matches(p, snapshotRequestSubject('c1', 'node.a'))));
  for (const s of [
    heartbeatSubject('c1', 'a'),
    feedSubject('c1', 'a'),
    snapshotSubject('c1', 'a'),
    'mooring.v1.c1.claims.a',
    'mooring.v1.c1.drain.a',
    '$JS.API.INFO',
    '$KV.x.y',
    '_INBOX.x',
  ])
    assert.ok(!pub.some((p) => matches(p, s)), s);
});

test('the viewer reads the feed, snapshots and heartbeats, not claims', () => {
  const sub = viewerSubscribePermissions('c1');
  for (const s of [feedSubject('c1', 'a'), snapshotSubject('c1', 'a'), heartbeatSubject('c1', 'a')])
    assert.ok(
      sub.some((p) => matches(p, s)),
      s,
    );
  assert.ok(!sub.some((p) => matches(p, 'mooring.v1.c1.claims.a')));
  assert.equal(parseSubject(feedSubject('c1', 'node.a'))?.id, 'node.a');
});

test('viewer users appear in the accounts block after the node and admin users', () => {
  const block = natsAccountsBlock('c1', [{ node: 'a', user: 'a', password: 'p' }], 'MOORING', [], {
    viewers: [{ user: 'viz', password: 'v' }],
  });
  const line = block.split('\n').findIndex((l) => l.includes('"viz"'));
  assert.ok(line > 0);
  assert.ok(block.split('\n')[line + 1]?.includes('"mooring.v1.c1.snapreq.*"'));
  assert.equal(natsAccountsBlock('c1', []).includes('snapreq'), false, 'no viewer: nothing changes');
});
