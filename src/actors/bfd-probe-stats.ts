// What bfd-probe (src/bin/bfd-probe.ts) reports about its own timeliness: how late the timer
// queue's passes ran (a starved process versus a BFD fault) and, per session, the longest gap
// between two of its transmissions (whether we were timely when a peer declared us down). The
// sessions send through `sessionHub`, which records the gaps on the way to the real hub.
import { createHistogram } from 'node:perf_hooks';
import type { BfdHub } from './bfd-transport.actor.js';
import type { BfdSession, BfdSessionHub } from './bfd-session-runner.js';
import { sessionStateOf } from '../machines/bfd-session.machine.js';
import type { TimerQueue } from './timer-queue.js';

interface Gap {
  last: number;
  max: number;
}

export class BfdProbeStats {
  readonly sessionHub: BfdSessionHub;
  private readonly txGap = new Map<string, Gap>();
  private readonly passLate = createHistogram();
  /** The time of the timer queue's current pass: periodic sends happen in passes, no clock read per packet. */
  private passNow: number;

  constructor(
    private readonly hub: BfdHub,
    private readonly timers: TimerQueue,
  ) {
    this.passNow = timers.now();
    // Recorded in the queue's own poller: no timer of its own (one more wake-up source).
    timers.addPoller(() => {
      this.passNow = timers.now();
      const late = this.passNow - timers.passDueAt;
      if (late >= 0) this.passLate.record(Math.max(1, Math.round(late * 1e6)));
    });
    const record = (g: Gap, now: number): void => {
      if (now - g.last > g.max) g.max = now - g.last;
      g.last = now;
    };
    this.sessionHub = {
      register: (d, peer, deliver, local) => hub.register(d, peer, deliver, local),
      send: (peer, packet, local) => {
        record(this.gapOf(peer, local), timers.now());
        hub.send(peer, packet, local);
      },
      // Per session: the gap record and the hub's bound sender resolved once.
      sender: (peer, local) => {
        const g = this.gapOf(peer, local);
        const send = hub.sender(peer, local);
        return (packet) => {
          record(g, this.passNow);
          send(packet);
        };
      },
    };
  }

  /**
   * The `stats` answer (and a reset): CPU, timer passes, how late they ran, discards, the batched
   * port's counters and mode, and per session its state, packet counters and longest transmit gap.
   */
  stats(
    sessions: ReadonlyArray<{ peer: string; local: string | undefined; actor: BfdSession }>,
    gtsm: boolean,
    mmsg: { stats: unknown; mode: unknown } | undefined,
  ): Record<string, unknown> {
    const cpu = process.cpuUsage();
    const out = {
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      passes: this.timers.passes,
      // Since the previous stats (ms): p50/p99/max of how late the timer queue's passes ran.
      loopDelayMs: this.loopDelayMs(),
      discards: this.hub.discards,
      gtsm,
      ...(mmsg ? { io: mmsg.stats, mode: mmsg.mode } : {}),
      sessions: sessions.map(({ peer, local, actor }) => ({
        peer,
        local,
        state: sessionStateOf(actor.getSnapshot().value),
        ...this.hub.countersFor(peer),
        maxTxGapMs: this.maxTxGapMs(peer, local),
      })),
    };
    this.reset();
    return out;
  }

  /** The longest transmit gap of a session since the last `reset` (ms, one decimal). */
  maxTxGapMs(peer: string, local: string | undefined): number {
    return Math.round((this.txGap.get(`${local ?? ''}|${peer}`)?.max ?? 0) * 10) / 10;
  }

  /** p50/p99/max of how late the timer queue's passes ran since the last `reset` (ms). */
  loopDelayMs(): { p50: number; p99: number; max: number } {
    const h = this.passLate;
    return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  }

  reset(): void {
    this.passLate.reset();
    for (const g of this.txGap.values()) g.max = 0;
  }

  private gapOf(peer: string, local: string | undefined): Gap {
    const key = `${local ?? ''}|${peer}`;
    let g = this.txGap.get(key);
    if (!g) {
      g = { last: NaN, max: 0 };
      this.txGap.set(key, g);
    }
    return g;
  }
}
