// BFD metrics exactly as MetalLB v0.16.2's FRR mode serves them (frr-tools/metrics/collector/bfd.go):
// labels `peer` and `vrf` ("default": Mooring peers in the default VRF), metallb_bfd_session_up a
// gauge (1/0), the rest counters without a `_total` suffix (telemetry.ts keeps counter names as
// given): metallb_bfd_control_packet_input/_output, metallb_bfd_session_up_events/_down_events,
// the echo counters metallb_bfd_echo_packet_input/_output (always 0: echo mode is not implemented)
// and metallb_bfd_zebra_notifications (always 0: there is no zebra).
// Observable instruments read the live sources at scrape time: no work on the packet path.
import type { Meter } from '@opentelemetry/api';
import { sessionStateOf } from '../machines/bfd-session.machine.js';
import type { BfdSessionRef } from './bfd-session-runner.js';
import type { BfdHub } from './bfd-transport.actor.js';

export interface BfdSessionSample {
  readonly peer: string;
  readonly up: boolean;
  readonly input: number;
  readonly output: number;
  readonly upEvents: number;
  readonly downEvents: number;
}

/** Counts a session's Up entries and its departures from Up (to Down or AdminDown). */
export class BfdSessionTracker {
  upEvents = 0;
  downEvents = 0;
  private prev: string | undefined;
  private readonly sub: { unsubscribe(): void };

  constructor(
    readonly peer: string,
    readonly actor: Pick<BfdSessionRef, 'getSnapshot' | 'subscribe'>,
  ) {
    const step = (): void => {
      const s = sessionStateOf(actor.getSnapshot().value);
      if (s === this.prev) return;
      if (s === 'up') this.upEvents++;
      else if (this.prev === 'up') this.downEvents++;
      this.prev = s;
    };
    step();
    this.sub = actor.subscribe(step);
  }

  get up(): boolean {
    return this.prev === 'up';
  }
  stop(): void {
    this.sub.unsubscribe();
  }
}

/** Samples every tracked session with the hub's packet counters. */
export function sampleBfd(hub: BfdHub, trackers: Iterable<BfdSessionTracker>): BfdSessionSample[] {
  return [...trackers].map((t) => {
    const c = hub.countersFor(t.peer);
    return { peer: t.peer, up: t.up, input: c.input, output: c.output, upEvents: t.upEvents, downEvents: t.downEvents };
  });
}

export function registerBfdMetrics(meter: Meter, samples: () => readonly BfdSessionSample[]): void {
  const up = meter.createObservableGauge('metallb_bfd_session_up', { description: 'BFD session state (1 up, 0 down)' });
  const input = meter.createObservableCounter('metallb_bfd_control_packet_input', {
    description: 'Number of received BFD control packets',
  });
  const output = meter.createObservableCounter('metallb_bfd_control_packet_output', { description: 'Number of sent BFD control packets' });
  const echoIn = meter.createObservableCounter('metallb_bfd_echo_packet_input', {
    description: 'Number of received BFD echo packets (echo mode not implemented: 0)',
  });
  const echoOut = meter.createObservableCounter('metallb_bfd_echo_packet_output', {
    description: 'Number of sent BFD echo packets (echo mode not implemented: 0)',
  });
  const upEv = meter.createObservableCounter('metallb_bfd_session_up_events', { description: 'Number of BFD session up events' });
  const downEv = meter.createObservableCounter('metallb_bfd_session_down_events', { description: 'Number of BFD session down events' });
  const zebra = meter.createObservableCounter('metallb_bfd_zebra_notifications', {
    description: 'Number of BFD zebra notifications (no zebra in the native backend: 0)',
  });
  meter.addBatchObservableCallback(
    (r) => {
      for (const s of samples()) {
        const attrs = { peer: s.peer, vrf: 'default' };
        r.observe(up, s.up ? 1 : 0, attrs);
        r.observe(input, s.input, attrs);
        r.observe(output, s.output, attrs);
        r.observe(echoIn, 0, attrs);
        r.observe(echoOut, 0, attrs);
        r.observe(upEv, s.upEvents, attrs);
        r.observe(downEv, s.downEvents, attrs);
        r.observe(zebra, 0, attrs);
      }
    },
    [up, input, output, echoIn, echoOut, upEv, downEv, zebra],
  );
}
