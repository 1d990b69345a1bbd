import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { BfdState, type BfdControlPacket, type BfdStateCode } from '../codecs/bfd/control-packet.js';
import { bfdSessionMachine, type BfdSessionEvent, type BfdTransportCommand, type BfdTransportInput } from './bfd-session.machine.js';
import { bfdSessionCases, LOCAL, peerPacket } from './bfd-session.cases.js';

// Every clause test, with the machine run as an XState actor.
bfdSessionCases((clock, input, onSend, machine) => {
  const actor = createActor(
    machine.provide({
      actors: {
        bfdTransport: fromCallback<BfdTransportCommand, BfdTransportInput>(({ receive }) => {
          receive((cmd) => onSend(cmd.packet));
        }),
      },
    }),
    { clock, input },
  );
  actor.start();
  return actor;
});

test('xstate/graph: shortest paths reach every RFC state of the session region', () => {
  const p = (state: BfdStateCode, extra: Partial<BfdControlPacket> = {}): BfdSessionEvent => ({
    type: 'bfd.packet.received',
    packet: peerPacket({ state, yourDiscr: state === BfdState.down || state === BfdState.adminDown ? 0 : LOCAL, ...extra }),
  });
  const events: BfdSessionEvent[] = [
    p(BfdState.down),
    p(BfdState.init),
    p(BfdState.up),
    p(BfdState.adminDown),
    { type: 'bfd.admin.down' },
    { type: 'bfd.admin.up' },
  ];
  const machine = bfdSessionMachine.provide({ actors: { bfdTransport: fromCallback(() => undefined) } });
  const paths = getShortestPaths(machine, {
    events,
    input: { localDiscr: LOCAL, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, seed: 1 },
    // Counters and PRNG state would make every snapshot unique: key on the RFC state only.
    serializeState: (s) => JSON.stringify({ session: (s.value as { session: string }).session, remote: s.context.remoteDiscr !== 0 }),
  });
  const reached = new Set(paths.map((x) => (x.state.value as { session: string }).session));
  for (const st of ['adminDown', 'down', 'init', 'up']) assert.ok(reached.has(st), `reached ${st}`);
  const toUp = paths.find((x) => (x.state.value as { session: string }).session === 'up');
  assert.ok(toUp);
  // Down → Up takes one packet (remote Init), per the §6.8.6 table (steps[0] is xstate.init).
  assert.deepEqual(
    toUp.steps.map((st) => st.event.type),
    ['xstate.init', 'bfd.packet.received'],
  );
});
