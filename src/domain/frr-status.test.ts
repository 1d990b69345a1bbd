// The FRR backend's read-back mapping on JSON captured from a real FRR 8.4 (test/fixtures/frr,
// scripts/capture-frr-status.ts): a node's FRR peering with a router that shuts the neighbor down,
// brings it back, then loses its address (BFD down); plus a neighbor that never answers, and one
// refused at every OPEN (never-up: the node expects the wrong peer AS).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { frrDownCause, frrReadBack, frrSessionEvents, type FrrNeighborView } from './frr-status.js';

const DIR = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'frr');
const fixture = (name: string, what: 'neighbors' | 'bfd'): unknown => JSON.parse(readFileSync(join(DIR, `${name}.${what}.json`), 'utf8'));
const read = (name: string) => frrReadBack(fixture(name, 'neighbors'), fixture(name, 'bfd'));

describe('FRR read-back (real FRR JSON)', () => {
  it('an established session: state, counters, BFD, what was negotiated; a silent neighbor is active', () => {
    const m = read('established');
    assert.deepEqual([...m.keys()].sort(), ['router', 'router6', 'silent']);
    const r = m.get('router');
    assert.deepEqual(
      { ...r, session: undefined },
      {
        state: 'established',
        vrf: '',
        neighbor: '198.51.100.1',
        updatesSent: r?.updatesSent,
        prefixesSent: 3,
        prefixesReceived: 1,
        dropped: 0,
        lastResetDueTo: 'No AFI/SAFI activated for peer',
        notifications: 0,
        bfd: 'up',
        session: undefined,
        upSince: '2026-12-07T13:52:49Z',
      },
    );
    assert.ok((r?.updatesSent ?? 0) > 0);
    assert.deepEqual(r?.session, {
      holdTime: 9,
      keepaliveTime: 3,
      as4: true,
      families: [4],
      peerRouterId: '198.51.100.1',
      routerId: '198.51.100.11',
      ebgp: true,
      peerGracefulRestart: true,
      routeRefresh: true,
      localAddress: '198.51.100.11',
    });
    assert.deepEqual(m.get('router6')?.session?.families, [4, 6]);
    assert.equal(m.get('router6')?.bfd, undefined, 'no BFD configured for it');
    assert.equal(m.get('silent')?.state, 'active');
    assert.equal(m.get('silent')?.session, undefined);
    // Never established: FRR's reset reason is not a down, nor a refusal (no NOTIFICATION).
    assert.equal(m.get('silent')?.lastDown, undefined);
    assert.equal(m.get('silent')?.refused, undefined);
    assert.deepEqual(
      frrSessionEvents(new Map(), m).filter((e) => e.event === 'sessionDown'),
      [],
      'a neighbor that never answers is not reported down',
    );
  });

  it('the router shuts the neighbor down: a NOTIFICATION received, in the native words', () => {
    const r = read('shutdown').get('router');
    assert.equal(r?.state, 'active');
    assert.equal(r?.prefixesSent, 0);
    assert.deepEqual(r?.lastDown, { reason: 'notificationReceived', detail: 'peer sent NOTIFICATION 6/2: cease: administrative shutdown' });
  });

  it('BFD detects the router gone: FRR sends Cease/BFD Down, typed bfdDown; bfdd shows the session down', () => {
    const r = read('bfd-down').get('router');
    assert.equal(r?.state, 'idle');
    assert.equal(r?.bfd, 'down');
    assert.deepEqual(r?.lastDown, { reason: 'bfdDown', detail: 'BFD session down' });
  });

  it('the sequence as events: up, down with the reason, up again, BFD down', () => {
    const seq = ['established', 'shutdown', 'up-again', 'bfd-down'].map(read);
    let prev = new Map<string, FrrNeighborView>();
    const steps = seq.map((next) => {
      const ev = frrSessionEvents(prev, next).map((e) =>
        e.event === 'sessionDown'
          ? `${e.peer} down ${e.reason}`
          : e.event === 'sessionUp'
            ? `${e.peer} up`
            : `${e.peer} ${e.event} ${e.from}>${e.to}`,
      );
      prev = next;
      return ev;
    });
    assert.deepEqual(steps, [
      [
        'router stateChanged idle>established',
        'router up',
        'router bfdState down>up',
        'silent stateChanged idle>active',
        'router6 stateChanged idle>established',
        'router6 up',
      ],
      ['router down notificationReceived', 'router stateChanged established>active'],
      ['router stateChanged active>established', 'router up'],
      ['router down bfdDown', 'router stateChanged established>idle', 'router bfdState up>down'],
    ]);
    // The established session says since when: FRR's uptime, also for a session seen first.
    assert.deepEqual(
      frrSessionEvents(new Map(), seq[0]!)
        .filter((e) => e.peer === 'router' && e.event !== 'bfdState')
        .map((e) => ('since' in e ? e.since : undefined)),
      ['2026-12-07T13:52:49Z', '2026-12-07T13:52:49Z'],
    );
    // Reading the same state again: nothing.
    assert.deepEqual(frrSessionEvents(seq[3]!, read('bfd-down')), []);
  });

  it('a flap between two reads (connectionsDropped moved, Established both times) is a down and an up', () => {
    const a = read('established');
    const r = a.get('router')!;
    const b = new Map(a).set('router', { ...r, dropped: 1, lastDown: { reason: 'holdTimerExpired', detail: 'x' } });
    assert.deepEqual(
      frrSessionEvents(a, b).map((e) => [e.event, 'to' in e ? e.to : 'reason' in e ? e.reason : '']),
      [
        ['sessionDown', 'holdTimerExpired'],
        ['stateChanged', 'idle'],
        ['stateChanged', 'established'],
        ['sessionUp', ''],
      ],
    );
  });

  it('a session refused before Established (wrong peer AS): FRR counts no drop, the refusal is reported as native does', () => {
    const m = read('never-up');
    const v = m.get('badas');
    assert.ok(v);
    assert.notEqual(v.state, 'established');
    assert.equal(v.dropped, 0, 'FRR counts no drop for a session that never came up');
    assert.equal(v.lastDown, undefined);
    assert.ok(v.notifications >= 2, `refused ${v.notifications} times`);
    assert.deepEqual(v.refused, { reason: 'badPeerAs', detail: 'sent NOTIFICATION 2/2: OPEN message error: bad peer AS' });
    const downs = (prev: ReadonlyMap<string, FrrNeighborView>) =>
      frrSessionEvents(prev, m).filter((e) => e.event === 'sessionDown' && e.peer === 'badas');
    // First seen already refused: reported once.
    assert.deepEqual(downs(new Map()), [{ event: 'sessionDown', peer: 'badas', reason: 'badPeerAs', detail: v.refused?.detail }]);
    // Refused again since the last read: once more; nothing new: nothing.
    assert.equal(downs(new Map([['badas', { ...v, notifications: v.notifications - 1 }]])).length, 1);
    assert.equal(downs(m).length, 0);
    // The others in the same read are untouched by it.
    assert.equal(m.get('router')?.refused, undefined);
    assert.equal(m.get('silent')?.refused, undefined);
  });

  it("FRR's reset reasons as the native typed reasons", () => {
    const cases: Array<[Parameters<typeof frrDownCause>[0], string]> = [
      [{ lastResetDueTo: 'BGP Notification received', lastErrorCodeSubcode: '0400' }, 'notificationReceived'],
      [{ lastResetDueTo: 'BGP Notification send', lastErrorCodeSubcode: '0400' }, 'holdTimerExpired'],
      [{ lastResetDueTo: 'BGP Notification send', lastErrorCodeSubcode: '0202' }, 'badPeerAs'],
      [{ lastResetDueTo: 'BGP Notification send', lastErrorCodeSubcode: '0301' }, 'notificationSent'],
      [{ lastResetDueTo: 'BFD down received' }, 'bfdDown'],
      [{ lastResetDueTo: 'Peer closed the session' }, 'connectionClosed'],
      [{ lastResetDueTo: 'Admin. shutdown' }, 'adminDown'],
      [{ lastResetDueTo: 'Remote AS changed' }, 'adminDown'],
      [{ lastResetDueTo: 'Something new' }, 'other'],
      [{}, 'other'],
    ];
    assert.deepEqual(
      cases.map(([n]) => frrDownCause(n).reason),
      cases.map(([, r]) => r),
    );
    assert.equal(frrDownCause({ lastResetDueTo: 'Something new' }).detail, 'FRR: Something new');
  });

  it('anything but the expected shapes is an empty read', () => {
    assert.equal(frrReadBack('not json').size, 0);
    assert.equal(frrReadBack(null).size, 0);
    assert.equal(frrReadBack({ default: { vrfName: 'default', x: { bgpState: 'Active' } } }).size, 0, 'no description: not ours');
  });

  it('a VRF peer carries its VRF; bfdd matched by address within the VRF', () => {
    const m = frrReadBack({ red: { vrfId: 5, vrfName: 'red', '198.51.100.250': { nbrDesc: 'red', bgpState: 'Active' } } }, [
      { peer: '198.51.100.250', vrf: 'default', status: 'up' },
      { peer: '198.51.100.250', vrf: 'red', status: 'shutdown' },
    ]);
    assert.deepEqual([m.get('red')?.vrf, m.get('red')?.bfd], ['red', 'adminDown']);
  });
});
