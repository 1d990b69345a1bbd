// The visualizer's read of the apiserver (read-only, through the same lists as `mooringctl status`:
// Nodes, Services, IPAddressPools, ServiceL2Status, ServiceBGPStatus, ConfigurationState, the
// controller's Lease): every `intervalMs`, the report (domain/cluster-status.ts) as a `cluster`
// input, only when it changed. What the feed cannot tell comes from here: Service names and pools,
// nodes without a feed (BGP-only nodes have no NATS link by design) and why, and every node's BGP
// sessions as its speaker wrote them (BGPSessionState, mooring.io): those of a node without a feed.
import type { Clock } from './coord-ports.js';
import { clusterStatus, type ClusterObjects } from '../domain/cluster-status.js';
import { apiSessions, type VizInput } from '../domain/viz-model.js';

export interface ClusterPollerOptions {
  /** `sessions`: the BGPSessionState objects as listed (undefined: not read). */
  readonly read: () => Promise<{ objects: ClusterObjects; problems: string[]; sessions?: readonly unknown[] }>;
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Wall time of inputs (ms). */
  readonly stamp: () => number;
  readonly onInput: (x: VizInput) => void;
  readonly onError?: (err: unknown) => void;
}

export class ClusterPoller {
  private timer: unknown;
  private last = '';
  private stopped = false;
  /** Reads done (tests). */
  reads = 0;

  constructor(private readonly o: ClusterPollerOptions) {}

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    try {
      const r = await this.o.read();
      this.reads++;
      const status = clusterStatus(r.objects);
      const sessions = apiSessions(r.sessions ?? []);
      const sig = JSON.stringify([status, r.problems, sessions]);
      if (!this.stopped && sig !== this.last) {
        this.last = sig;
        this.o.onInput({ t: 'cluster', at: this.o.stamp(), status, problems: r.problems, sessions });
      }
    } catch (err) {
      this.o.onError?.(err);
    }
    if (!this.stopped) this.timer = this.o.clock.setTimeout(() => void this.poll(), this.o.intervalMs);
  }
}
