// Runs a bfdSession machine (machines/bfd-session.machine.ts) without an XState actor per
// session: the snapshot is stepped with the machine's own `transition` (the same macrostep an
// actor runs), the actions it returns are executed here (delayed raises → a shared TimerQueue,
// cancels, `bfd.send` → the transport), and observers are told of every new snapshot.
//
// Two fast paths skip the macrostep for the steady state, each the exact effect the machine
// would have had (bfd-session-runner.test.ts runs the machine's clause tests through this runner
// and compares it, event for event, with the fast paths switched off):
//   - a received packet for which `isSteadyRx` holds while the detection timer is armed: the
//     machine re-enters `detect.armed` (cancel + re-raise the detection timer, no other action),
//     so only the detection timer is re-armed (§6.8.4);
//   - the periodic transmit timer with no Poll Sequence in progress: the machine runs `transmit`
//     (one packet, §6.8.7) and `scheduleTx` (one PRNG step, the next jittered delay), so the
//     runner does the same with the machine's functions and writes the two PRNG fields of the
//     current context in place (nothing else can change; no state changes, so no observer call).
// Every state change, Poll/Final, timer expiry, admin and config event goes through the machine.
import { createActor, fromCallback, type Actor, type AnyActorScope, type SnapshotFrom } from 'xstate';
import type { BfdControlPacket } from '../codecs/bfd/control-packet.js';
import {
  BFD_AFTER,
  bfdSessionMachine,
  detectTimeMs,
  matchesSteadyRx,
  nextTxScheduleFor,
  steadyRxExpectation,
  transmission,
  type SteadyRxExpectation,
  type BfdSessionEvent,
  type BfdSessionInput,
  type BfdSessionMachine,
  type BfdTransportCommand,
  type BfdTransportInput,
} from '../machines/bfd-session.machine.js';
import { slotDeadline, txIntervalUs, txJitterBoundsMs } from '../domain/bfd-timers.js';
import { TimerEntry, type TimerQueue } from './timer-queue.js';

export type BfdSessionSnapshot = SnapshotFrom<BfdSessionMachine>;

/** What the rest of the system needs of a running session (an XState actor also fits). */
export interface BfdSessionRef {
  getSnapshot(): BfdSessionSnapshot;
  send(event: BfdSessionEvent): void;
  subscribe(observer: (s: BfdSessionSnapshot) => void): { unsubscribe(): void };
}

export interface BfdSessionRunnerOptions {
  readonly input: BfdSessionInput;
  /** Sends one packet to the peer (the hub's `send`, bound to the session's peer and local address). */
  readonly send: (packet: BfdControlPacket) => void;
  /** Shared by all sessions of a process. */
  readonly timers: TimerQueue;
  /** The machine, e.g. with `provide({ delays })` in tests; the `bfdTransport` actor is not used. */
  readonly machine?: BfdSessionMachine;
  /** false: every event through the machine (tests compare both). */
  readonly fastPath?: boolean;
  /**
   * Periodic transmissions due on a grid of this many ms (within the §6.8.7 jitter bounds,
   * domain/bfd-timers.ts `slotDeadline`), so sessions due in the same slot send in one batch.
   * 0 (default): the drawn delay as is.
   */
  readonly txSlotMs?: number;
}

interface ExecutableAction {
  type: string;
  params?: unknown;
}

interface SteadyView {
  of: BfdSessionSnapshot | undefined;
  detectArmed: boolean;
  rx: SteadyRxExpectation | undefined;
  detectMs: number;
  pollActive: boolean;
  /** The periodic packet (no Poll, no Final), undefined when none may go (§6.8.7). */
  txPacket: BfdControlPacket | undefined;
  txIntervalUs: number;
  detectMult: number;
  txLoMs: number;
  txHiMs: number;
  /** The context's `rng` / `nextTxDelayMs` as the fast path advanced them (dirty: not written back yet). */
  rng: number;
  nextTxDelayMs: number;
  rngDirty: boolean;
}

const DETECT_EVENT = { type: BFD_AFTER.detect } as unknown as BfdSessionEvent;
// The periodic transmit timer's event as the fast path re-arms it: the same type as XState's
// (whose type text is built at run time, so every comparison with it is a character compare).
const TX_EVENT = { type: BFD_AFTER.tx } as unknown as BfdSessionEvent;

const inertTransport = fromCallback<BfdTransportCommand, BfdTransportInput>(() => undefined);
/** `provide` builds a new machine (measurable with hundreds of sessions): once per machine. */
const provided = new WeakMap<BfdSessionMachine, BfdSessionMachine>();
function withInertTransport(m: BfdSessionMachine): BfdSessionMachine {
  let p = provided.get(m);
  if (!p) {
    p = m.provide({ actors: { bfdTransport: inertTransport } }) as BfdSessionMachine;
    provided.set(m, p);
  }
  return p;
}

export class BfdSessionRunner implements BfdSessionRef {
  private snapshot: BfdSessionSnapshot;
  private readonly machine: BfdSessionMachine;
  private readonly scope: AnyActorScope;
  private readonly timers = new Map<string, { entry: TimerEntry; event: BfdSessionEvent }>();
  private detectSlot: { entry: TimerEntry; event: BfdSessionEvent } | undefined;
  private txSlot: { entry: TimerEntry; event: BfdSessionEvent } | undefined;
  private readonly observers = new Set<(s: BfdSessionSnapshot) => void>();
  private readonly queue: BfdSessionEvent[] = [];
  private readonly initial: ExecutableAction[] = [];
  private busy = false;
  private started = false;
  private stopped = false;
  private readonly fast: boolean;
  private readonly txSlotMs: number;
  /** Transitions taken through the machine and fast-path events, for tests and the benchmark. */
  readonly counts = { machine: 0, fastRx: 0, fastTx: 0 };

  constructor(private readonly opts: BfdSessionRunnerOptions) {
    this.machine = withInertTransport(opts.machine ?? bfdSessionMachine);
    this.fast = opts.fastPath ?? true;
    this.txSlotMs = opts.txSlotMs ?? 0;
    // The scope a macrostep runs in: XState's inert scope (what `transition()` builds per call),
    // built once, with our action executor.
    const self = createActor(this.machine, { input: opts.input }) as Actor<BfdSessionMachine>;
    this.scope = {
      self,
      defer: () => undefined,
      id: '',
      logger: () => undefined,
      sessionId: '',
      stopChild: () => undefined,
      system: self.system,
      emit: () => undefined,
      actionExecutor: (a: ExecutableAction) => {
        if (this.started) this.execute(a);
        else this.initial.push(a);
      },
    } as unknown as AnyActorScope;
    // As an actor: the initial snapshot exists before start, its actions run at start.
    this.snapshot = this.machine.getInitialSnapshot(this.scope, opts.input) as BfdSessionSnapshot;
  }

  start(): this {
    if (this.started) return this;
    this.started = true;
    for (const a of this.initial.splice(0)) this.execute(a);
    this.notify();
    this.drain();
    return this;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) this.opts.timers.disarm(t.entry);
    this.timers.clear();
    this.detectSlot = undefined;
    this.txSlot = undefined;
    this.observers.clear();
  }

  getSnapshot(): BfdSessionSnapshot {
    this.syncRng();
    return this.snapshot;
  }

  /**
   * The fast transmit path keeps the two PRNG fields of `scheduleTx` in the view (one object
   * shape, not the context's many) and writes them into the current context before anyone
   * reads it: before a machine transition and when the snapshot is handed out.
   */
  private syncRng(): void {
    const v = this.view;
    if (!v.rngDirty) return;
    v.rngDirty = false;
    const c = this.snapshot.context as { rng: number; nextTxDelayMs: number };
    c.rng = v.rng;
    c.nextTxDelayMs = v.nextTxDelayMs;
  }

  subscribe(observer: (s: BfdSessionSnapshot) => void): { unsubscribe(): void } {
    this.observers.add(observer);
    return {
      unsubscribe: () => {
        this.observers.delete(observer);
      },
    };
  }

  /** A received packet (the hub's delivery callback). */
  receive(packet: BfdControlPacket): void {
    // The steady-state packet without an event object or the queue: what `send` + `step` do
    // when nothing else is queued (not busy means the queue is empty).
    if (this.fast && !this.busy && this.started && !this.stopped) {
      const v = this.steadyView();
      if (v.detectArmed && v.rx !== undefined && matchesSteadyRx(v.rx, packet)) {
        this.counts.fastRx++;
        this.scheduleAt(BFD_AFTER.detect, DETECT_EVENT, this.opts.timers.now() + v.detectMs);
        return;
      }
    }
    this.send({ type: 'bfd.packet.received', packet });
  }

  send(event: BfdSessionEvent): void {
    if (!this.started || this.stopped) return;
    if (this.busy) {
      this.queue.push(event);
      return;
    }
    // Not busy: the queue is empty (a drain empties it unless stopped); step this one first.
    this.busy = true;
    try {
      this.step(event);
    } finally {
      this.busy = false;
    }
    if (this.queue.length > 0) this.drain();
  }

  private drain(): void {
    this.busy = true;
    try {
      for (let ev = this.queue.shift(); ev !== undefined && !this.stopped; ev = this.queue.shift()) this.step(ev);
    } finally {
      this.busy = false;
    }
  }

  private step(ev: BfdSessionEvent | { type: string }): void {
    if (this.fast) {
      const v = this.steadyView();
      if (
        ev.type === 'bfd.packet.received' &&
        v.detectArmed &&
        v.rx !== undefined &&
        matchesSteadyRx(v.rx, (ev as { packet: BfdControlPacket }).packet)
      ) {
        // `armed` re-entered: the detection timer restarts (§6.8.4), nothing else.
        this.counts.fastRx++;
        this.scheduleAt(BFD_AFTER.detect, DETECT_EVENT, this.opts.timers.now() + v.detectMs);
        return;
      }
      if (ev.type === BFD_AFTER.tx && !v.pollActive) {
        this.counts.fastTx++;
        if (v.txPacket) this.opts.send(v.txPacket);
        const next = nextTxScheduleFor(v.rng, v.txIntervalUs, v.detectMult);
        // The two fields `scheduleTx` assigns (written into the context by syncRng; the
        // snapshot is ours alone to advance).
        v.rng = next.rng;
        v.nextTxDelayMs = next.nextTxDelayMs;
        v.rngDirty = true;
        const now = this.opts.timers.now();
        this.scheduleAt(
          BFD_AFTER.tx,
          TX_EVENT,
          this.txSlotMs > 0
            ? slotDeadline(now, next.nextTxDelayMs, v.txLoMs, v.txHiMs, this.txSlotMs)
            : now + Math.max(0, next.nextTxDelayMs),
        );
        return;
      }
    }
    this.counts.machine++;
    this.syncRng();
    const prev = this.snapshot;
    this.snapshot = this.machine.transition(this.snapshot, ev as BfdSessionEvent, this.scope) as BfdSessionSnapshot;
    if (this.snapshot !== prev) this.notify();
  }

  /**
   * What the fast paths read of the current snapshot, computed once per snapshot (the machine's
   * contexts come in many object shapes; reading them per packet is slow). The fast paths
   * themselves change only the PRNG fields, which none of this depends on.
   */
  private steadyView(): SteadyView {
    const v = this.view;
    if (v.of === this.snapshot) return v;
    const c = this.snapshot.context;
    v.of = this.snapshot;
    v.detectArmed = (this.snapshot.value as { detect?: string }).detect === 'armed';
    v.rx = steadyRxExpectation(c);
    v.detectMs = detectTimeMs(c);
    v.pollActive = c.pollActive;
    v.txPacket = c.pollActive ? undefined : transmission(c, false)?.packet;
    v.txIntervalUs = txIntervalUs(c.txInEffectUs, c.remoteMinRxUs);
    v.detectMult = c.detectMult;
    const { lo, hi } = txJitterBoundsMs(v.txIntervalUs, c.detectMult);
    v.txLoMs = lo;
    v.txHiMs = hi;
    v.rng = c.rng;
    v.nextTxDelayMs = c.nextTxDelayMs;
    v.rngDirty = false;
    return v;
  }

  private readonly view: SteadyView = {
    of: undefined,
    detectArmed: false,
    rx: undefined,
    detectMs: 0,
    pollActive: true,
    txPacket: undefined,
    txIntervalUs: 0,
    detectMult: 0,
    txLoMs: 0,
    txHiMs: 0,
    rng: 0,
    nextTxDelayMs: 0,
    rngDirty: false,
  };

  private notify(): void {
    this.syncRng();
    for (const o of this.observers) o(this.snapshot);
  }

  private execute(a: ExecutableAction): void {
    switch (a.type) {
      case 'xstate.raise': {
        const p = a.params as { event: BfdSessionEvent; id?: string; delay?: number };
        // Undelayed raises were already queued inside the macrostep.
        if (typeof p.delay === 'number') this.schedule(p.id ?? p.event.type, p.event, p.delay);
        return;
      }
      case 'xstate.cancel': {
        const t = this.timers.get((a.params as { sendId: string }).sendId);
        if (t) this.opts.timers.disarm(t.entry);
        return;
      }
      case 'xstate.sendTo': {
        const p = a.params as { event: { type: string; packet?: BfdControlPacket } };
        if (p.event.type === 'bfd.send' && p.event.packet) this.opts.send(p.event.packet);
        return;
      }
      default:
        // Child spawn/stop (the inert transport) and resolved built-ins: nothing to run.
        return;
    }
  }

  private schedule(id: string, event: BfdSessionEvent, delayMs: number): void {
    this.scheduleAt(id, event, this.opts.timers.now() + Math.max(0, delayMs));
  }

  private scheduleAt(id: string, event: BfdSessionEvent, deadline: number): void {
    // The two steady-state timers without a map lookup.
    let t = id === BFD_AFTER.detect ? this.detectSlot : id === BFD_AFTER.tx ? this.txSlot : undefined;
    if (!t) t = this.timers.get(id);
    if (!t) {
      const slot: { entry: TimerEntry; event: BfdSessionEvent } = { entry: new TimerEntry(() => this.send(slot.event)), event };
      t = slot;
      this.timers.set(id, t);
      if (id === BFD_AFTER.detect) this.detectSlot = t;
      else if (id === BFD_AFTER.tx) this.txSlot = t;
    }
    t.event = event;
    this.opts.timers.armAt(t.entry, deadline);
  }
}

/** The hub side of a runner: registration for demultiplexed packets, sends through the hub. */
export interface BfdSessionHub {
  register(localDiscr: number, peer: string, deliver: (p: BfdControlPacket) => void, local?: string): () => void;
  send(peer: string, packet: BfdControlPacket, local?: string): void;
  /** Optional: `send` bound to one peer and local address, resolved once per session. */
  sender?(peer: string, local?: string): (packet: BfdControlPacket) => void;
}

/**
 * Starts one session on `hub` (its packets in and out) and the shared `timers`; `stop()` ends it
 * and unregisters it. Observers subscribed before `start` see the first snapshot.
 */
export type BfdSession = BfdSessionRunner & { close(): void };
export function createBfdSession(
  hub: BfdSessionHub,
  timers: TimerQueue,
  input: BfdSessionInput,
  machine?: BfdSessionMachine,
  opts: { txSlotMs?: number } = {},
): BfdSession {
  const peer = input.peer ?? '';
  const send = hub.sender ? hub.sender(peer, input.local) : (p: BfdControlPacket) => hub.send(peer, p, input.local);
  const runner = new BfdSessionRunner({ input, timers, send, ...(machine ? { machine } : {}), ...opts });
  const unregister = hub.register(input.localDiscr, peer, (p) => runner.receive(p), input.local);
  return Object.assign(runner, {
    close: () => {
      runner.stop();
      unregister();
    },
  });
}
