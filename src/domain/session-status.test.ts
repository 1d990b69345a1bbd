import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySessionInput, rfcState, sessionStateName, sessionStatus, type SessionInput, type SessionView } from './session-status.js';

const T0 = '2026-12-07T10:00:00Z';
const T1 = '2026-12-07T10:00:05Z';

test('session views from supervisor events: RFC state names, since, last down and its Event, BFD (table)', () => {
  const steps: Array<[SessionInput, string, Partial<SessionView>, [string, string, RegExp] | undefined]> = [
    [{ event: 'stateChanged', peer: 'r', to: 'connect' }, T0, { state: 'Connect', since: T0 }, undefined],
    [{ event: 'stateChanged', peer: 'r', to: 'openSent' }, T0, { state: 'OpenSent' }, undefined],
    [
      { event: 'sessionUp', peer: 'r' },
      T1,
      { state: 'Established', since: T1 },
      ['Normal', 'BGPSessionUp', /^BGP session of node "n1" Established$/],
    ],
    // The machine's own stateChanged to established after sessionUp keeps `since`.
    [{ event: 'stateChanged', peer: 'r', to: 'established' }, '2026-12-07T10:00:06Z', { state: 'Established', since: T1 }, undefined],
    [{ event: 'bfdState', peer: 'r', to: 'up' }, T1, { bfd: 'up' }, undefined],
    [
      { event: 'sessionDown', peer: 'r', reason: 'holdTimerExpired', detail: 'no message from the peer for 9 s' },
      T1,
      { lastDown: { reason: 'holdTimerExpired', detail: 'no message from the peer for 9 s', at: T1 } },
      ['Warning', 'BGPSessionDown', /^BGP session of node "n1" down: holdTimerExpired: no message from the peer for 9 s$/],
    ],
    [{ event: 'stateChanged', peer: 'r', to: 'idle' }, T1, { state: 'Idle', since: T1 }, undefined],
    // A source that knows when the session came up (FRR's uptime) says so: `since` is that time.
    [{ event: 'stateChanged', peer: 'r', to: 'established', since: T0 }, T1, { state: 'Established', since: T0 }, undefined],
  ];
  let views = new Map<string, SessionView>();
  for (const [input, now, want, ev] of steps) {
    const r = applySessionInput(views, input, now, 'n1');
    assert.notEqual(r.views, views, 'a new map');
    views = r.views;
    const v = views.get('r');
    for (const [k, x] of Object.entries(want)) assert.deepEqual(v?.[k as keyof SessionView], x, `${input.event} ${k}`);
    if (ev) {
      assert.deepEqual([r.event?.type, r.event?.reason, r.event?.peer], [ev[0], ev[1], 'r']);
      assert.match(r.event?.message ?? '', ev[2]);
    } else assert.equal(r.event, undefined, input.event);
  }
  assert.equal(rfcState('openConfirm'), 'OpenConfirm');
});

test('sessionStatus: the BGPSessionState status fields; no lastDown* before a first down', () => {
  assert.deepEqual(sessionStatus('n1', 'r', { state: 'Established', since: T0 }, { address: '198.51.100.1:179', sent: 3, received: 1 }), {
    node: 'n1',
    peer: 'r',
    peerAddress: '198.51.100.1:179',
    vrf: '',
    bgpStatus: 'Established',
    since: T0,
    prefixesSent: 3,
    prefixesReceived: 1,
    bfdStatus: '',
  });
  const s = sessionStatus(
    'n1',
    'r',
    { state: 'Idle', since: T1, lastDown: { reason: 'bfdDown', detail: 'x', at: T1 }, bfd: 'down' },
    { sent: 0, received: 0 },
  );
  assert.deepEqual([s.lastDownReason, s.lastDownDetail, s.lastDownTime, s.bfdStatus], ['bfdDown', 'x', T1, 'down']);
});

test('sessionStateName: a DNS subdomain, distinct per (node, peer), bounded', () => {
  // FNV-1a, 32 bits, as hex (the speaker uses SHA-256).
  const h = (s: string) => {
    let x = 0x811c9dc5;
    for (const ch of s) x = Math.imul(x ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return x.toString(16).padStart(10, '0');
  };
  const a = sessionStateName('worker-1', 'Tor_A', h);
  assert.match(a, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  // Names that sanitise alike still differ by the hash of the original pair.
  assert.notEqual(a, sessionStateName('worker-1', 'tor-a', h));
  assert.ok(sessionStateName('n'.repeat(200), 'p'.repeat(200), h).length <= 253);
});
