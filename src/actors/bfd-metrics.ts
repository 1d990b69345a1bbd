// BFD metrics with MetalLB's FRR-mode names and `peer` label (MetalLB docs, "BFD metrics"):
//   metallb_bfd_session_up (gauge 1/0), metallb_bfd_control_packet_input/_output,
//   metallb_bfd_session_up_events, metallb_bfd_session_down_events, and the echo counters
//   metallb_bfd_echo_packet_input/_output (always 0: echo mode is not implemented).
// Observable instruments read the live sources at scrape time: no work on the packet path.
// The counters are exported as observable *gauges* on purpose: the OpenTelemetry Prometheus
// serializer appends `_total` to every monotonic sum, which would break MetalLB's names (and the
// dashboards and alerts written for them). The values are still monotonic; rate() works.
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
  const input = meter.createObservableGauge('metallb_bfd_control_packet_input', { description: 'Number of received BFD control packets' });
  const output = meter.createObservableGauge('metallb_bfd_control_packet_output', { description: 'Number of sent BFD control packets' });
  const echoIn = meter.createObservableGauge('metallb_bfd_echo_packet_input', {
    description: 'Number of received BFD echo packets (echo mode not implemented: 0)',
  });
  const echoOut = meter.createObservableGauge('metallb_bfd_echo_packet_output', {
    description: 'Number of sent BFD echo packets (echo mode not implemented: 0)',
  });
  const upEv = meter.createObservableGauge('metallb_bfd_session_up_events', { description: 'Number of BFD session up events' });
  const downEv = meter.createObservableGauge('metallb_bfd_session_down_events', { description: 'Number of BFD session down events' });
  meter.addBatchObservableCallback(
    (r) => {
      for (const s of samples()) {
        const attrs = { peer: s.peer };
        r.observe(up, s.up ? 1 : 0, attrs);
        r.observe(input, s.input, attrs);
        r.observe(output, s.output, attrs);
        r.observe(echoIn, 0, attrs);
        r.observe(echoOut, 0, attrs);
        r.observe(upEv, s.upEvents, attrs);
        r.observe(downEv, s.downEvents, attrs);
      }
    },
    [up, input, output, echoIn, echoOut, upEv, downEv],
  );
}
