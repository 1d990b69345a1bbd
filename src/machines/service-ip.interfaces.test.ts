// serviceIp and L2Advertisement interfaces: `announce` carries the context's interfaces, and a
// change while announcing re-announces on the new set (the port replaces the old set).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { serviceIpMachine, type ServiceIpEvent } from './service-ip.machine.js';
import { Reason } from '../domain/election.js';

function start(interfaces?: readonly string[]) {
  const calls: string[] = [];
  const logic = serviceIpMachine.provide({
    actions: {
      announce: ({ context }) => {
        calls.push(`announce:${context.interfaces?.join(',') ?? '*'}:${context.epoch}`);
      },
      withdraw: () => {
        calls.push('withdraw');
      },
      claimsChanged: () => {
        calls.push('claims');
      },
    },
  });
  const actor = createActor(logic, {
    clock: new SimulatedClock(),
    input: { ip: '203.0.113.10', node: 'a', tieBreak: '5', natsUp: true, ...(interfaces ? { interfaces } : {}) },
  });
  actor.start();
  const send = (e: ServiceIpEvent) => actor.send(e);
  const state = () => actor.getSnapshot().value as string;
  return { actor, calls, send, state };
}

test('announce answers on the interfaces given at spawn (undefined: every eligible one)', () => {
  const some = start(['eth1']);
  some.send({ type: 'election.changed', owner: true });
  assert.deepEqual(some.calls, ['announce:eth1:1', 'claims']);
  const all = start();
  all.send({ type: 'election.changed', owner: true });
  assert.deepEqual(all.calls, ['announce:*:1', 'claims']);
});

test('interfaces changed while announcing: re-announce on the new set at once, same epoch, no withdraw, no new claim', () => {
  const m = start(['eth0']);
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'ip.interfacesChanged', interfaces: ['eth1', 'eth2'] });
  assert.equal(m.state(), 'announcing');
  assert.deepEqual(m.calls, ['announce:eth0:1', 'claims', 'announce:eth1,eth2:1']);
  m.send({ type: 'ip.interfacesChanged', interfaces: undefined });
  assert.deepEqual(m.calls.slice(3), ['announce:*:1']);
});

test('interfaces changed while not announcing: remembered for the next announce, nothing sent now', () => {
  for (const before of ['idle', 'standby'] as const) {
    const m = start(['eth0']);
    if (before === 'standby') m.send({ type: 'election.changed', owner: false, reason: Reason.notOwner });
    assert.equal(m.state(), before);
    m.send({ type: 'ip.interfacesChanged', interfaces: ['eth1'] });
    assert.deepEqual(m.calls, []);
    m.send({ type: 'election.changed', owner: true });
    assert.deepEqual(m.calls, ['announce:eth1:1', 'claims']);
  }
});

test('interfaces changed during a drain handover (withdrawing): no re-announce; the withdraw still comes', () => {
  const m = start(['eth0']);
  m.send({ type: 'election.changed', owner: true });
  m.send({ type: 'election.changed', owner: false, reason: Reason.draining, handover: true });
  assert.equal(m.state(), 'withdrawing');
  m.send({ type: 'ip.interfacesChanged', interfaces: ['eth1'] });
  assert.deepEqual(m.calls, ['announce:eth0:1', 'claims']);
  m.send({ type: 'claim.seen', node: 'b', epoch: 2, tieBreak: '9' });
  assert.equal(m.state(), 'standby');
  assert.deepEqual(m.calls.slice(2), ['withdraw', 'claims']);
  assert.deepEqual(m.actor.getSnapshot().context.interfaces, ['eth1']);
});
