import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { BfdState, type BfdControlPacket } from '../codecs/bfd/control-packet.js';
import { bfdSessionMachine } from '../machines/bfd-session.machine.js';
import { createTelemetry } from '../adapters/telemetry.js';
import { BfdSessionTracker, registerBfdMetrics, type BfdSessionSample } from './bfd-metrics.js';

test('tracker counts up/down events; metrics render with MetalLB names and the peer label', async () => {
  const clock = new SimulatedClock();
  const actor = createActor(bfdSessionMachine.provide({ actors: { bfdTransport: fromCallback(() => undefined) } }), {
    clock,
    input: { peer: '198.51.100.65', localDiscr: 1, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, seed: 1 },
  });
  actor.start();
  const t = new BfdSessionTracker('198.51.100.65', actor);
  const rx = (state: BfdControlPacket['state']) =>
    actor.send({
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
        yourDiscr: state === BfdState.down ? 0 : 1,
        desiredMinTxUs: 100_000,
        requiredMinRxUs: 100_000,
        requiredMinEchoRxUs: 0,
      },
    });
  rx(BfdState.init);
  for (let i = 0; i < 400; i++) clock.increment(1); // detection expires
  rx(BfdState.down);
  rx(BfdState.up);
  assert.equal(t.upEvents, 2);
  assert.equal(t.downEvents, 1);
  assert.equal(t.up, true);

  const tel = createTelemetry('bfd-test');
  const samples: BfdSessionSample[] = [
    { peer: '198.51.100.65', up: t.up, input: 7, output: 9, upEvents: t.upEvents, downEvents: t.downEvents },
  ];
  registerBfdMetrics(tel.meter, () => samples);
  const text = await tel.render();
  for (const line of [
    'metallb_bfd_session_up{peer="198.51.100.65",vrf="default"} 1',
    'metallb_bfd_control_packet_input{peer="198.51.100.65",vrf="default"} 7',
    'metallb_bfd_control_packet_output{peer="198.51.100.65",vrf="default"} 9',
    'metallb_bfd_session_up_events{peer="198.51.100.65",vrf="default"} 2',
    'metallb_bfd_session_down_events{peer="198.51.100.65",vrf="default"} 1',
    'metallb_bfd_echo_packet_input{peer="198.51.100.65",vrf="default"} 0',
    'metallb_bfd_zebra_notifications{peer="198.51.100.65",vrf="default"} 0',
    '# TYPE metallb_bfd_control_packet_input counter',
    '# TYPE metallb_bfd_session_up gauge',
  ])
    assert.ok(text.includes(line), `missing ${line} in\n${text}`);
  assert.doesNotMatch(text, /metallb_bfd_\w+_total/, 'no _total appended to the BFD counters');
  await tel.shutdown();
  t.stop();
  actor.stop();
});
