import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Presence } from './presence.js';
import type { ConnId } from '../codecs/coord.js';

const c = (s: string, cid: number, n: string): ConnId => ({ s, c: cid, n });
const P1 = c('A', 1, 'b'); // b's primary on server A
const M1 = c('B', 7, 'b-mirror'); // b's mirror on server B

test('every connection of a peer closed at live servers: the peer is named once, on the last one', () => {
  const p = new Presence('me');
  assert.equal(p.heartbeat('b', 1, 1, [P1, M1], 0), 'ok');
  assert.equal(p.eligible('b'), true);
  assert.equal(p.disconnected(P1), undefined, 'its mirror is still there');
  assert.equal(p.disconnected(M1), 'b');
  assert.equal(p.disconnected(M1), undefined, 'not twice');
});

test('one server killed (no advisory) or stalled: the peer keeps a connection, never named', () => {
  const p = new Presence('me');
  p.heartbeat('b', 1, 1, [P1, M1], 0);
  // Server A dies: nothing is said. b reconnects its primary to C and says so.
  const P2 = c('C', 3, 'b');
  assert.equal(p.connected(P2, 5), 'b');
  p.heartbeat('b', 1, 2, [P2, M1], 100);
  // A stalled server wakes and reports b's old primary closed, long after: only that one goes.
  assert.equal(p.disconnected(P1), undefined);
  assert.equal(p.connectionsOf('b'), 2);
});

test('a connection that drops and comes back at once leaves the peer present', () => {
  const p = new Presence('me');
  p.heartbeat('b', 1, 1, [P1, M1], 0);
  const P2 = c('B', 8, 'b');
  assert.equal(p.connected(P2, 3), 'b'); // reconnect seen before the disconnect (other server)
  assert.equal(p.disconnected(P1), undefined);
  assert.equal(p.disconnected(M1), undefined, 'the new primary is still there');
});

test('a peer on one server only (no mirror, or both on one server) is never judged by presence', () => {
  const p = new Presence('me');
  p.heartbeat('b', 1, 1, [P1], 0);
  assert.equal(p.eligible('b'), false);
  assert.equal(p.disconnected(P1), undefined);
  const q = new Presence('me');
  q.heartbeat('b', 1, 1, [P1, c('A', 2, 'b-mirror')], 0);
  assert.equal(q.disconnected(P1), undefined);
  assert.equal(q.disconnected(c('A', 2, 'b-mirror')), undefined);
});

test('a heartbeat sent over connections that are all closed now is stale; a new connection is not', () => {
  const p = new Presence('me');
  p.heartbeat('b', 1, 1, [P1, M1], 0);
  p.disconnected(P1);
  p.disconnected(M1);
  assert.equal(p.heartbeat('b', 1, 2, [P1, M1], 10), 'stale', 'last words delayed on a route');
  assert.equal(p.heartbeat('b', 1, 3, [c('C', 4, 'b'), M1], 120), 'ok', 'it reconnected');
  assert.equal(p.heartbeat('b', 2, 1, [c('A', 9, 'b'), c('B', 9, 'b-mirror')], 200), 'ok', 'restarted');
  assert.equal(p.heartbeat('b', 2, 2, undefined, 300), 'ok', 'no connections listed: no judgement');
});

test('advisories of unknown clients and older heartbeats change nothing', () => {
  const p = new Presence('me');
  assert.equal(p.connected(c('X', 1, 'stranger'), 0), undefined);
  assert.equal(p.disconnected(c('X', 1, 'stranger')), undefined);
  p.heartbeat('b', 1, 5, [P1, M1], 0);
  p.heartbeat('b', 1, 4, [c('C', 1, 'b')], 10); // reordered older copy: ignored
  assert.equal(p.connectionsOf('b'), 2);
  assert.equal(p.heartbeat('me', 1, 1, [P1], 0), 'ok');
});

test('a connection learned from an advisory but never listed is forgotten after a full heartbeat interval', () => {
  const p = new Presence('me');
  p.heartbeat('b', 1, 1, [P1, M1], 0);
  p.connected(c('C', 5, 'b'), 10); // e.g. a short-lived extra connection of the same name
  p.heartbeat('b', 1, 2, [P1, M1], 100); // sent maybe before it opened: kept
  assert.equal(p.connectionsOf('b'), 3);
  p.heartbeat('b', 1, 3, [P1, M1], 200); // surely after: dropped
  assert.equal(p.connectionsOf('b'), 2);
  p.disconnected(P1);
  assert.equal(p.disconnected(M1), 'b');
});

test('after our own reconnect no peer is named until two of its heartbeats are heard (advisories were missed)', () => {
  // Credential rotation, as a clean-clone run saw it: every node reconnects its primary at about
  // the same time. b moves its primary from A to B while we are away (its CONNECT is missed), then
  // replaces its mirror (B → C) after we are back; advisories of two servers are not ordered, so the
  // close of its old mirror can come first: it is the last connection we know of, yet b is alive.
  const run = (blind: boolean): Array<string | undefined> => {
    const p = new Presence('me');
    p.heartbeat('b', 1, 1, [P1, M1], 0);
    const out = [p.disconnected(P1)]; // heard: we were still up
    // we go down; b's new primary c('B', 8, 'b') connects unheard; we come back
    if (blind) p.blinded();
    out.push(p.disconnected(M1));
    p.connected(c('C', 9, 'b-mirror'), 60); // b's new mirror, heard after
    return out;
  };
  assert.deepEqual(run(false), [undefined, 'b'], 'without it, the live peer is named (the bug)');
  assert.deepEqual(run(true), [undefined, undefined]);

  const p = new Presence('me');
  p.heartbeat('b', 1, 1, [P1, M1], 0);
  p.blinded();
  assert.equal(p.eligible('b'), false);
  const P2 = c('B', 8, 'b');
  const M2 = c('C', 9, 'b-mirror');
  p.heartbeat('b', 1, 2, [P2, M2], 100);
  assert.equal(p.eligible('b'), false, 'one heartbeat is not enough');
  p.heartbeat('b', 1, 3, [P2, M2], 200);
  assert.equal(p.eligible('b'), true, 'two: judged by presence again');
  assert.equal(p.disconnected(P2), undefined);
  assert.equal(p.disconnected(M2), 'b');
});
