import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { serviceIpMachine, type ServiceIpEvent } from './service-ip.machine.js';
import { Reason } from '../domain/election.js';

function start(over: { natsUp?: boolean; natsConnected?: boolean; tieBreak?: string } = {}) {
  const calls: string[] = [];
  const clock = new SimulatedClock();
  const logic = serviceIpMachine.provide({
    actions: {
      announce: ({ context }) => {
        calls.push(`announce:${context.ip}:${context.epoch}`);
      },
      withdraw: ({ context }) => {
        calls.push(`withdraw:${context.ip}`);
      },
      claimsChanged: () => {
        calls.push('claims');
      },
    },
  });
  const actor = createActor(logic, {
    clock,
    input: {
      ip: '203.0.113.10',
      node: 'a',
      tieBreak: over.tieBreak ?? '5',
      natsUp: over.natsUp ?? true,
      ...(over.natsConnected === undefined ? {} : { natsConnected: over.natsConnected }),
      handoverTimeoutMs: 2000,
    },
  });
  actor.start();
  const send = (e: ServiceIpEvent) => actor.send(e);
  const view = () => ({
    state: actor.getSnapshot().value as string,
    reason: actor.getSnapshot().context.reason,
    epoch: actor.getSnapshot().context.epoch,
  });
  return { actor, clock, calls, send, view };
}

test('idle → standby with the election reason', () => {
  const m = start();
  assert.deepEqual(m.view(), { state: 'idle', reason: Reason.notConfigured, epoch: 0 });
  m.send({ type: 'election.changed', owner: false, reason: Reason.noLocalEndpoints });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.noLocalEndpoints, epoch: 0 });
  assert.deepEqual(m.calls, []);
});

test('elected: announce with epoch known+1, then lose the election: withdraw at once', () => {
  const m = start();
  m.send({ type: 'election.changed', owner: true, knownEpoch: 6 });
  assert.deepEqual(m.view(), { state: 'announcing', reason: undefined, epoch: 7 });
  assert.deepEqual(m.calls, ['announce:203.0.113.10:7', 'claims']);
  m.send({ type: 'election.changed', owner: false, reason: Reason.notOwner });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.notOwner, epoch: 7 });
  assert.deepEqual(m.calls.slice(2), ['withdraw:203.0.113.10', 'claims']);
});

test('NATS down: keeps announcing, takes nothing new, yields to an L2 conflict', () => {
  const owner = start();
  owner.send({ type: 'election.changed', owner: true });
  owner.send({ type: 'nats.down' });
  owner.send({ type: 'election.changed', owner: true });
  assert.equal(owner.view().state, 'announcing');
  owner.send({ type: 'l2.conflict', mac: '02:00:00:00:00:02' });
  assert.deepEqual(owner.view(), { state: 'standby', reason: Reason.conflictDetected, epoch: 1 });
  // Still cut off: even if elected again, no takeover.
  owner.send({ type: 'election.changed', owner: true });
  assert.deepEqual(owner.view(), { state: 'standby', reason: Reason.natsDisconnected, epoch: 1 });
  owner.send({ type: 'nats.up' });
  assert.equal(owner.view().state, 'announcing');
  assert.equal(owner.view().epoch, 2);

  const standby = start({ natsUp: false });
  standby.send({ type: 'election.changed', owner: true });
  assert.deepEqual(standby.view(), { state: 'standby', reason: Reason.natsDisconnected, epoch: 0 });
  assert.deepEqual(standby.calls, []);
});

test('connected but not settled: natsSettling, not natsDisconnected; settled: takes over', () => {
  // Spawned while the speaker hears its peers after start (resync, or the NATS cluster not formed yet).
  const m = start({ natsUp: false, natsConnected: true });
  m.send({ type: 'election.changed', owner: true });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.natsSettling, epoch: 0 });
  // Cut off meanwhile, then connected again: the reason follows.
  m.send({ type: 'nats.down' });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.natsDisconnected, epoch: 0 });
  m.send({ type: 'nats.settling' });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.natsSettling, epoch: 0 });
  assert.deepEqual(m.calls, [], 'nothing taken over before settled');
  m.send({ type: 'nats.up' });
  assert.deepEqual(m.view(), { state: 'announcing', reason: undefined, epoch: 1 });
});

test('with NATS up an L2 conflict does not move the IP (claims settle it)', () => {
  const m = start();
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'l2.conflict', mac: '02:00:00:00:00:02' });
  assert.equal(m.view().state, 'announcing');
  assert.equal(m.actor.getSnapshot().context.conflictsIgnored, 1);
});

test('fencing: a higher epoch from another node stops us until it releases', () => {
  const m = start();
  m.send({ type: 'election.changed', owner: true, knownEpoch: 4 });
  assert.equal(m.view().epoch, 5);
  m.send({ type: 'claim.seen', node: 'b', epoch: 4, tieBreak: '0' });
  assert.equal(m.view().state, 'announcing', 'lower epoch does not fence');
  m.send({ type: 'claim.seen', node: 'b', epoch: 6, tieBreak: '9' });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.fencedByEpoch, epoch: 5 });
  // Still elected by our own view: fenced until b releases (no ping-pong on split views).
  m.send({ type: 'election.changed', owner: true });
  assert.equal(m.view().state, 'standby');
  m.send({ type: 'claim.released', node: 'c' });
  assert.equal(m.view().state, 'standby');
  m.send({ type: 'claim.released', node: 'b' });
  assert.deepEqual(m.view(), { state: 'announcing', reason: undefined, epoch: 7 });
});

test('fencing tie: equal epochs, the lower election hash wins', () => {
  const m = start({ tieBreak: '5' });
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'claim.seen', node: 'b', epoch: 1, tieBreak: '7' });
  assert.equal(m.view().state, 'announcing');
  m.send({ type: 'claim.seen', node: 'b', epoch: 1, tieBreak: '3' });
  assert.equal(m.view().state, 'standby');
});

test('planned handover: keep answering until the new owner claims', () => {
  const m = start();
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'election.changed', owner: false, reason: Reason.draining, handover: true });
  assert.equal(m.view().state, 'withdrawing');
  assert.ok(!m.calls.includes('withdraw:203.0.113.10'), 'still answering during handover');
  m.send({ type: 'claim.seen', node: 'b', epoch: 2, tieBreak: '9' });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.draining, epoch: 1 });
  assert.equal(m.calls.filter((c) => c.startsWith('withdraw')).length, 1);
});

test('planned handover times out on the simulated clock when nobody claims', () => {
  const m = start();
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'election.changed', owner: false, reason: Reason.draining, handover: true });
  m.clock.increment(1999);
  assert.equal(m.view().state, 'withdrawing');
  m.clock.increment(1);
  assert.equal(m.view().state, 'standby');
  assert.equal(m.calls.filter((c) => c.startsWith('withdraw')).length, 1);
});

test('ip.remove withdraws with notConfigured', () => {
  const m = start();
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'ip.remove' });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.notConfigured, epoch: 1 });
});

test('every non-announcing state has a reason', () => {
  const m = start();
  const events: ServiceIpEvent[] = [
    { type: 'election.changed', owner: false, reason: Reason.nodeExcluded },
    { type: 'election.changed', owner: true },
    { type: 'nats.down' },
    { type: 'l2.conflict', mac: 'x' },
    { type: 'nats.up' },
    { type: 'claim.seen', node: 'z', epoch: 99, tieBreak: '0' },
    { type: 'election.changed', owner: false, reason: Reason.carrierDown },
    { type: 'claim.released', node: 'z' },
  ];
  for (const e of events) {
    m.send(e);
    const s = m.view();
    if (s.state !== 'announcing') assert.ok(s.reason, `${s.state} after ${e.type} has no reason`);
    else assert.equal(s.reason, undefined);
  }
});

test('a conflict seen just before NATS turns out to be down makes us yield; an old one does not', () => {
  const m = start();
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'l2.conflict', mac: '02:00:00:00:00:02' });
  m.clock.increment(1000);
  m.send({ type: 'nats.down' });
  assert.deepEqual(m.view(), { state: 'standby', reason: Reason.conflictDetected, epoch: 1 });

  const old = start();
  old.send({ type: 'election.changed', owner: true });
  old.send({ type: 'l2.conflict', mac: '02:00:00:00:00:02' });
  old.clock.increment(3000);
  old.send({ type: 'nats.down' });
  assert.equal(old.view().state, 'announcing');
});
