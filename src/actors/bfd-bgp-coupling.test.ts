import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { BfdState } from '../codecs/bfd/control-packet.js';
import { bfdSessionMachine } from '../machines/bfd-session.machine.js';
import { coupleBfdToBgp } from './bfd-bgp-coupling.js';

test('coupling: Up → bfd.up, detection expiry → bfd.down in the same tick, AdminDown → nothing', () => {
  const clock = new SimulatedClock();
  const bfd = createActor(bfdSessionMachine.provide({ actors: { bfdTransport: fromCallback(() => undefined) } }), {
    clock,
    input: { peer: '198.51.100.1', localDiscr: 1, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, seed: 1 },
  });
  bfd.start();
  const events: Array<{ t: number; type: string }> = [];
  const off = coupleBfdToBgp(bfd, (ev) => events.push({ t: clock.now(), type: ev.type }));
  const rx = (state: 0 | 1 | 2 | 3, yourDiscr = 1) =>
    bfd.send({
      type: 'bfd.packet.received',
      packet: {
        version: 1,
        diag: 0,
        state,
        poll: false,
        final: false,
        cpi: false,
        demand: false,
        multipoint: false,
        detectMult: 3,
        myDiscr: 9,
        yourDiscr,
        desiredMinTxUs: 100_000,
        requiredMinRxUs: 100_000,
        requiredMinEchoRxUs: 0,
      },
    });
  rx(BfdState.init);
  assert.deepEqual(
    events.map((e) => e.type),
    ['bfd.up'],
  );
  for (let i = 0; i < 301; i++) clock.increment(1);
  assert.deepEqual(
    events.map((e) => e.type),
    ['bfd.up', 'bfd.down'],
  );
  assert.equal(events[1]!.t, 300, 'bfd.down at the detection time exactly');
  rx(BfdState.down, 0);
  rx(BfdState.up);
  assert.equal(events.length, 3);
  bfd.send({ type: 'bfd.admin.down' });
  assert.equal(events.length, 3, 'local AdminDown does not take BGP down (RFC 5882 §3.2)');
  off();
  bfd.stop();
});
