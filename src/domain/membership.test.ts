import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerState } from './membership.js';
import fc from 'fast-check';
import { Membership, DEFAULT_MEMBERSHIP } from './membership.js';
import type { Heartbeat } from '../codecs/coord.js';

const hb = (node: string, inc: number, seq: number, over: Partial<Heartbeat> = {}): Heartbeat => ({
  v: 1,
  node,
  inc,
  seq,
  intervalMs: 100,
  l2Ready: true,
  draining: false,
  ...over,
});

// Sequential table: each row is a step on the same table (MetalLB TestAssignment style).
test('alive → suspect → dead → alive, with incarnations and sequence numbers', () => {
  const m = new Membership('me');
  const steps: Array<{ desc: string; at: number; hb?: Heartbeat; want: string[]; state?: PeerState }> = [
    { desc: 'first heartbeat: up', at: 0, hb: hb('b', 5, 1), want: ['peer.up:b'], state: 'alive' },
    { desc: 'own heartbeat ignored', at: 0, hb: hb('me', 1, 1), want: [] },
    { desc: 'next heartbeat: nothing new', at: 100, hb: hb('b', 5, 2), want: [], state: 'alive' },
    { desc: 'duplicate seq dropped', at: 110, hb: hb('b', 5, 2), want: [] },
    { desc: 'sweep inside the window', at: 240, want: [], state: 'alive' },
    { desc: 'suspect after 1.5 intervals of silence', at: 260, want: ['peer.suspect:b'], state: 'suspect' },
    { desc: 'suspect is still live', at: 270, want: [], state: 'suspect' },
    { desc: 'dead after misses × interval', at: 400, want: ['peer.dead:b'], state: 'dead' },
    { desc: 'stale incarnation dropped', at: 410, hb: hb('b', 4, 99), want: [], state: 'dead' },
    { desc: 'same incarnation returns: up from dead', at: 420, hb: hb('b', 5, 3), want: ['peer.up:b'], state: 'alive' },
    { desc: 'restart: higher incarnation, seq restarts', at: 430, hb: hb('b', 6, 1), want: ['peer.up:b'], state: 'alive' },
    { desc: 'flags change reported', at: 440, hb: hb('b', 6, 2, { draining: true }), want: ['peer.flags:b'], state: 'alive' },
    {
      desc: 'settled change reported on its own',
      at: 450,
      hb: hb('b', 6, 3, { draining: true, settled: false }),
      want: ['peer.settled:b'],
      state: 'alive',
    },
    { desc: 'absent settled = settled', at: 460, hb: hb('b', 6, 4, { draining: true }), want: ['peer.settled:b'], state: 'alive' },
    {
      desc: 'with an election flag: peer.flags',
      at: 470,
      hb: hb('b', 6, 5, { draining: true, l2Ready: false, settled: false }),
      want: ['peer.flags:b'],
      state: 'alive',
    },
  ];
  for (const s of steps) {
    const ev = s.hb ? m.heartbeat(s.hb, s.at) : m.sweep(s.at);
    assert.deepEqual(
      ev.map((e) => `${e.type}:${e.node}`),
      s.want,
      s.desc,
    );
    if (s.state) assert.equal(m.state('b'), s.state, s.desc);
  }
  assert.equal(m.draining('b'), true);
  assert.equal(m.peer('b')?.inc, 6);
});

test('restart is flagged so claims of the old life can be dropped', () => {
  const m = new Membership('me');
  m.heartbeat(hb('b', 1, 1), 0);
  const ev = m.heartbeat(hb('b', 2, 1), 50);
  assert.deepEqual(ev, [{ type: 'peer.up', node: 'b', inc: 2, restarted: true, from: 'alive' }]);
});

test('default detection: a peer that dies right before its next heartbeat is dead ≤ 300 ms later', () => {
  const m = new Membership('me', DEFAULT_MEMBERSHIP);
  m.heartbeat(hb('b', 1, 1), 0);
  const deathAt = 99; // just before the next heartbeat at 100; sweeping as often as the coordinator may
  let declared: number | undefined;
  for (let t = 0; t <= 1000 && declared === undefined; t += m.sweepEveryMs()) {
    if (m.sweep(t).some((e) => e.type === 'peer.dead')) declared = t;
  }
  assert.ok(declared !== undefined);
  assert.ok(declared - deathAt <= 300, `declared ${declared - deathAt} ms after death`);
});

test('reconnect after our own NATS outage gives peers a fresh window', () => {
  const m = new Membership('me');
  m.heartbeat(hb('b', 1, 1), 0);
  m.reconnected(5000);
  assert.deepEqual(m.sweep(5100), []);
  assert.equal(m.isLive('b'), true);
  assert.deepEqual(
    m.sweep(5300).map((e) => e.type),
    ['peer.suspect', 'peer.dead'],
  );
});

test('self is always live; unknown peers are not', () => {
  const m = new Membership('me');
  assert.equal(m.isLive('me'), true);
  assert.equal(m.isLive('x'), false);
});

test('a peer is not declared dead while our own heartbeats are not coming back either', () => {
  const m = new Membership('me');
  m.heartbeat(hb('b', 1, 1), 0);
  // Our path was cut at ~0: our last echo is from t=0, so b's silence may be ours.
  assert.deepEqual(
    m.sweep(300, 0).map((e) => e.type),
    ['peer.suspect'],
  );
  assert.equal(m.isLive('b'), true);
  assert.deepEqual(m.sweep(600, 0), []);
  // Our echo is fresh (heard ourselves at 280, well after b went silent at 0): b is dead.
  assert.deepEqual(
    m.sweep(700, 280).map((e) => e.type),
    ['peer.dead'],
  );
});

test('a heartbeat costs no heap entry: the deadline heap stays O(peers) under steady traffic', () => {
  const m = new Membership('me');
  const peers = Array.from({ length: 50 }, (_, i) => `p${i}`);
  for (let k = 1; k <= 200; k++) {
    for (const [i, p] of peers.entries()) m.heartbeat(hb(p, 1, k), k * 100 + i);
    assert.deepEqual(m.sweep(k * 100 + 60), []);
    assert.ok(m.pendingDeadlines() <= 2 * peers.length, `${m.pendingDeadlines()} entries after round ${k}`);
  }
  // And detection is unchanged: silence from now on, every peer dead 300 ms after its last beat.
  const last = 200 * 100;
  assert.deepEqual(
    m.sweep(last + 299).filter((e) => e.type === 'peer.dead'),
    [],
  );
  assert.equal(m.sweep(last + 349).filter((e) => e.type === 'peer.dead').length, peers.length);
});

// Reference model: every sweep scans every peer (what the lazy heap must be equivalent to).
function naive(self: string, cfg = DEFAULT_MEMBERSHIP) {
  const peers = new Map<string, { inc: number; seq: number; iv: number; seen: number; state: PeerState; l2: boolean; dr: boolean }>();
  return {
    heartbeat(h: Heartbeat, now: number): string[] {
      if (h.node === self) return [];
      const p = peers.get(h.node);
      if (!p) {
        peers.set(h.node, { inc: h.inc, seq: h.seq, iv: h.intervalMs, seen: now, state: 'alive', l2: h.l2Ready, dr: h.draining });
        return [`peer.up:${h.node}`];
      }
      if (h.inc < p.inc || (h.inc === p.inc && h.seq <= p.seq)) return [];
      const out: string[] = [];
      const restarted = h.inc > p.inc;
      const flags = p.l2 !== h.l2Ready || p.dr !== h.draining;
      if (restarted || p.state === 'dead') out.push(`peer.up:${h.node}`);
      if (flags) out.push(`peer.flags:${h.node}`);
      Object.assign(p, { inc: h.inc, seq: h.seq, iv: h.intervalMs, seen: now, state: 'alive', l2: h.l2Ready, dr: h.draining });
      return out;
    },
    sweep(now: number): string[] {
      const out: string[] = [];
      for (const [n, p] of peers) {
        if (p.state === 'alive' && now >= p.seen + Math.floor(p.iv * 1.5) + 1) {
          p.state = 'suspect';
          out.push(`peer.suspect:${n}`);
        }
        if (p.state === 'suspect' && now >= p.seen + p.iv * cfg.misses) {
          p.state = 'dead';
          out.push(`peer.dead:${n}`);
        }
      }
      return out;
    },
    state: (n: string) => peers.get(n)?.state,
  };
}

test('property: the lazily re-armed heap reports what a full scan of every peer would', () => {
  const step = fc.oneof(
    fc.record({
      kind: fc.constant('hb' as const),
      node: fc.constantFrom('a', 'b', 'c', 'me'),
      incUp: fc.boolean(),
      seqStep: fc.integer({ min: -1, max: 3 }),
      iv: fc.constantFrom(50, 100, 200),
      l2: fc.boolean(),
      dt: fc.integer({ min: 0, max: 120 }),
    }),
    fc.record({ kind: fc.constant('sweep' as const), dt: fc.integer({ min: 0, max: 400 }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
      const m = new Membership('me');
      const ref = naive('me');
      const last = new Map<string, { inc: number; seq: number }>();
      let now = 0;
      for (const s of steps) {
        now += s.dt;
        if (s.kind === 'hb') {
          const l = last.get(s.node) ?? { inc: 1, seq: 0 };
          const next = s.incUp ? { inc: l.inc + 1, seq: 1 } : { inc: l.inc, seq: Math.max(0, l.seq + s.seqStep) };
          last.set(s.node, next);
          const h = hb(s.node, next.inc, next.seq, { intervalMs: s.iv, l2Ready: s.l2 });
          assert.deepEqual(
            m
              .heartbeat(h, now)
              .map((e) => `${e.type}:${e.node}`)
              .sort(),
            ref.heartbeat(h, now).sort(),
          );
        } else {
          assert.deepEqual(
            m
              .sweep(now)
              .map((e) => `${e.type}:${e.node}`)
              .sort(),
            ref.sweep(now).sort(),
          );
        }
        for (const n of ['a', 'b', 'c']) assert.equal(m.state(n), ref.state(n), `${n} at ${now}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('death fast path: every connection gone → dead after the confirmation, not after the heartbeat window', () => {
  const m = new Membership('me', { intervalMs: 100, misses: 3, goneConfirmMs: 20 });
  m.heartbeat(hb('b', 1, 1), 0);
  assert.equal(m.connectionsGone('b', 50), 70);
  assert.deepEqual(m.sweep(69), []);
  assert.equal(m.nextDeadline(), 70, 'the verdict is due at the end of the confirmation');
  assert.deepEqual(
    m.sweep(70).map((e) => (e.type === 'peer.dead' ? `${e.type}:${e.node}:${e.cause}` : e.type)),
    ['peer.dead:b:connections'],
  );
  assert.equal(m.state('b'), 'dead');
  assert.equal(m.connectionsGone('b', 80), undefined, 'already dead');
  assert.equal(m.connectionsGone('unknown', 80), undefined);
});

test('death fast path: a new connection or a heartbeat inside the confirmation withdraws it; heartbeats still judge', () => {
  const m = new Membership('me', { intervalMs: 100, misses: 3, goneConfirmMs: 20 });
  m.heartbeat(hb('b', 1, 1), 0);
  m.heartbeat(hb('c', 1, 1), 0);
  m.connectionsGone('b', 50);
  m.connectionsBack('b');
  m.connectionsGone('c', 50);
  m.heartbeat(hb('c', 1, 2), 60);
  assert.deepEqual(m.sweep(100), []);
  assert.equal(m.state('b'), 'alive');
  assert.equal(m.state('c'), 'alive');
  // Silence still kills on the heartbeat schedule (b silent since 0, c since 60).
  const dead = m.sweep(300).filter((e) => e.type === 'peer.dead');
  assert.deepEqual(
    dead.map((e) => (e.type === 'peer.dead' ? `${e.node}:${e.cause}` : '')),
    ['b:heartbeat'],
  );
  assert.equal(m.state('c'), 'suspect');
});

test('death fast path: the default confirmation is interval / 5', () => {
  const m = new Membership('me', { intervalMs: 250, misses: 3 });
  m.heartbeat(hb('b', 1, 1), 0);
  assert.equal(m.connectionsGone('b', 10), 60);
});
