// Lease decisions as a sequential table: each row is one poll of the same replica (the observation
// carries over), with the Lease as read and the local time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideLease, microTime, releasedSpec, stillLeading, type LeaseObservation, type LeaseSpec } from './lease.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const P = { identity: 'b', durationMs: 15_000 };
const held = (holder: string, renew: number, transitions = 0): LeaseSpec => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: microTime(T0),
  renewTime: microTime(renew),
  leaseTransitions: transitions,
});

interface Step {
  desc: string;
  lease: LeaseSpec | undefined;
  at: number;
  want: string;
  holder?: string;
  transitions?: number;
  expiresAt?: number;
}

test('lease: a standby waits for expiry counted on its own clock, then acquires', () => {
  const steps: Step[] = [
    { desc: 'no lease: create it', lease: undefined, at: T0, want: 'create', holder: 'b', transitions: 0 },
    { desc: 'a holds it: wait 15 s from first sight', lease: held('a', T0), at: T0 + 1000, want: 'wait', expiresAt: T0 + 16_000 },
    {
      desc: 'a renews: the record changed, expiry moves',
      lease: held('a', T0 + 2000),
      at: T0 + 3000,
      want: 'wait',
      expiresAt: T0 + 18_000,
    },
    // a's clock is far ahead: its renewTime says nothing to us, only the change counts.
    { desc: 'same record 14.9 s later: still wait', lease: held('a', T0 + 2000), at: T0 + 17_900, want: 'wait', expiresAt: T0 + 18_000 },
    {
      desc: 'same record 15 s later: acquire, one more transition',
      lease: held('a', T0 + 2000),
      at: T0 + 18_000,
      want: 'acquire',
      holder: 'b',
      transitions: 1,
    },
  ];
  let seen: LeaseObservation | undefined;
  for (const s of steps) {
    const r = decideLease(s.lease, seen, s.at, P);
    seen = r.seen;
    const d = r.decision;
    assert.equal(d.action, s.want, s.desc);
    if (d.action === 'wait') assert.equal(d.expiresAt, s.expiresAt, s.desc);
    if (d.action === 'create' || d.action === 'acquire' || d.action === 'renew') {
      assert.equal(d.spec.holderIdentity, s.holder, s.desc);
      assert.equal(d.spec.leaseTransitions, s.transitions, s.desc);
      assert.equal(d.spec.renewTime, microTime(s.at), s.desc);
      assert.equal(d.spec.leaseDurationSeconds, 15, s.desc);
    }
  }
});

test('lease: the holder renews, keeping acquireTime and the transition count', () => {
  const r = decideLease(held('b', T0, 3), undefined, T0 + 5000, P);
  assert.deepEqual(r.decision, {
    action: 'renew',
    spec: {
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      acquireTime: microTime(T0),
      renewTime: microTime(T0 + 5000),
      leaseTransitions: 3,
    },
  });
});

test('lease: a released lease (empty holder) is taken at once', () => {
  const rel = releasedSpec(held('a', T0, 2), T0 + 100);
  assert.deepEqual(rel, {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: microTime(T0 + 100),
    renewTime: microTime(T0 + 100),
    leaseTransitions: 2,
  });
  const r = decideLease(rel, undefined, T0 + 101, P);
  assert.equal(r.decision.action, 'acquire');
  assert.equal(r.decision.action === 'acquire' && r.decision.spec.leaseTransitions, 3);
  assert.equal(r.decision.action === 'acquire' && r.decision.from, '');
});

test('lease: a holder with a longer duration in its record is waited for that long', () => {
  const r = decideLease({ ...held('a', T0), leaseDurationSeconds: 60 }, undefined, T0, P);
  assert.deepEqual(r.decision, { action: 'wait', holder: 'a', expiresAt: T0 + 60_000 });
});

test('lease: microTime has microseconds; stillLeading is bounded by the renew deadline', () => {
  assert.equal(microTime(T0 + 123), '2026-11-26T12:00:00.123000Z');
  assert.equal(stillLeading(T0, T0 + 9_999, 10_000), true);
  assert.equal(stillLeading(T0, T0 + 10_000, 10_000), false);
});
