// bfdSession: one BFD single-hop session (RFC 5880 asynchronous mode, no echo, no demand, no
// authentication). Three parallel regions:
//   session  the RFC 5880 §6.2 state machine: adminDown, down, init, up;
//   tx       the periodic transmit timer (§6.8.7), re-armed on every send, jittered from a
//            seeded PRNG kept in context;
//   detect   the detection timer (§6.8.4), reset by every accepted packet.
// A received packet is absorbed by the detect region in one microstep (§6.8.6 in RFC order:
// update the remote variables, terminate a Poll on Final, re-arm the detection timer), which
// raises `bfd.rx` for the state table only when the state could change and `bfd.tx.now` to answer
// a Poll with a Final at once. The steady state (Up, peer Up) is one microstep per packet each
// way: the hot path of 100 sessions at 50 ms. Packets leave through the invoked `bfdTransport`
// actor as `{ type: 'bfd.send', packet }`.
import { assign, enqueueActions, fromCallback, raise, setup } from 'xstate';
import { BfdDiag, BfdState, checkForSession, type BfdControlPacket, type BfdStateCode } from '../codecs/bfd/control-packet.js';
import { advertisedTxUs, detectTimeUs, jitteredMs, nextRandom, txIntervalUs } from '../domain/bfd-timers.js';
import type { BfdDownReason, BfdSessionStateName } from '../domain/bfd-session-state.js';

export type { BfdDownReason, BfdSessionStateName };

export interface BfdSessionInput {
  /** The peer's address, handed to the transport (opaque to the machine). */
  readonly peer?: string;
  /** Our source address for this session when several local addresses are in use (opaque). */
  readonly local?: string;
  /** bfd.LocalDiscr: nonzero, unique per system (§6.8.1). */
  readonly localDiscr: number;
  /** Configured DesiredMinTxInterval (µs). */
  readonly desiredMinTxUs: number;
  /** Configured RequiredMinRxInterval (µs). */
  readonly requiredMinRxUs: number;
  /** bfd.DetectMult (1..255). */
  readonly detectMult: number;
  /** §6.1 passive role: send nothing until the remote discriminator is known. */
  readonly passive?: boolean;
  /** Start in AdminDown. */
  readonly adminDown?: boolean;
  /** Seed for the transmit jitter PRNG (32-bit). */
  readonly seed: number;
}

export interface BfdSessionContext {
  readonly peer: string;
  readonly local: string | undefined;
  readonly localDiscr: number;
  remoteDiscr: number;
  /** The session state code carried in our packets (mirrors the `session` region). */
  sessionState: BfdStateCode;
  remoteState: BfdStateCode;
  localDiag: number;
  remoteDetectMult: number;
  remoteDesiredMinTxUs: number;
  /** bfd.RemoteMinRxInterval, initialised to 1 (§6.8.1). */
  remoteMinRxUs: number;
  detectMult: number;
  passive: boolean;
  /** Configured intervals (what we want once Up). */
  configDesiredMinTxUs: number;
  configRequiredMinRxUs: number;
  /** bfd.DesiredMinTxInterval / bfd.RequiredMinRxInterval as advertised in our packets. */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  /** Values in effect for our own timers while a Poll Sequence is pending (§6.8.3). */
  txInEffectUs: number;
  rxInEffectUs: number;
  pollActive: boolean;
  pollSent: boolean;
  rng: number;
  nextTxDelayMs: number;
  downReason: BfdDownReason | null;
}

export type BfdSessionEvent =
  | { type: 'bfd.packet.received'; packet: BfdControlPacket }
  | { type: 'bfd.admin.down' }
  | { type: 'bfd.admin.up' }
  | { type: 'bfd.config.changed'; desiredMinTxUs: number; requiredMinRxUs: number; detectMult: number; passive: boolean }
  // Internal, raised by the machine itself.
  | { type: 'bfd.rx'; state: BfdStateCode }
  | { type: 'bfd.tx.now'; final: boolean }
  | { type: 'bfd.tx.rearm' }
  | { type: 'bfd.detect.stop' }
  | { type: 'bfd.detect.expired' };

/** What the transport actor receives from the machine. */
export type BfdTransportCommand = { type: 'bfd.send'; packet: BfdControlPacket };
export interface BfdTransportInput {
  readonly localDiscr: number;
  readonly peer: string;
  readonly local?: string | undefined;
}

/** Builds the packet the session would send now (§6.8.7 contents). */
export function packetFor(c: BfdSessionContext, flags: { poll: boolean; final: boolean }): BfdControlPacket {
  return {
    version: 1,
    diag: c.localDiag,
    state: c.sessionState,
    poll: flags.poll,
    final: flags.final,
    cpi: false,
    demand: false,
    multipoint: false,
    detectMult: c.detectMult,
    myDiscr: c.localDiscr,
    yourDiscr: c.remoteDiscr,
    desiredMinTxUs: c.desiredMinTxUs,
    requiredMinRxUs: c.requiredMinRxUs,
    // Echo is not supported: a zero Required Min Echo RX tells the peer not to send echoes.
    requiredMinEchoRxUs: 0,
  };
}

/** The detection time in ms from the context (§6.8.4). */
export function detectTimeMs(c: BfdSessionContext): number {
  return detectTimeUs(c.remoteDetectMult, c.rxInEffectUs, c.remoteDesiredMinTxUs) / 1000;
}

/**
 * §6.8.3: new advertised intervals. While Up, a Poll Sequence starts and the timers in effect
 * move only in the safe direction until the Final arrives (a faster TX and a slower expected RX
 * apply at once; a slower TX and a faster RX wait for the Final). Otherwise they apply at once.
 */
function retime(c: BfdSessionContext, desiredMinTxUs: number, requiredMinRxUs: number, up: boolean): Partial<BfdSessionContext> {
  if (desiredMinTxUs === c.desiredMinTxUs && requiredMinRxUs === c.requiredMinRxUs) return {};
  if (!up) {
    return {
      desiredMinTxUs,
      requiredMinRxUs,
      txInEffectUs: desiredMinTxUs,
      rxInEffectUs: requiredMinRxUs,
      pollActive: false,
      pollSent: false,
    };
  }
  return {
    desiredMinTxUs,
    requiredMinRxUs,
    txInEffectUs: Math.min(c.txInEffectUs, desiredMinTxUs),
    rxInEffectUs: Math.max(c.rxInEffectUs, requiredMinRxUs),
    pollActive: true,
    pollSent: false,
  };
}

/**
 * The steady state receive (guard `steady`): Up, peer Up, no Poll/Final, nothing the peer says
 * differs from what we hold. The machine's only reaction is to re-arm the detection timer; the
 * session runner (actors/bfd-session-runner.ts) takes the same decision from this function.
 */
export function isSteadyRx(c: BfdSessionContext, p: BfdControlPacket): boolean {
  const e = steadyRxExpectation(c);
  return e !== undefined && matchesSteadyRx(e, p);
}

/** What a steady packet must carry, given the context; undefined when none is steady (not both Up). */
export interface SteadyRxExpectation {
  readonly remoteDiscr: number;
  readonly localDiscr: number;
  readonly remoteMinRxUs: number;
  readonly remoteDesiredMinTxUs: number;
  readonly remoteDetectMult: number;
}
export function steadyRxExpectation(c: BfdSessionContext): SteadyRxExpectation | undefined {
  if (c.sessionState !== BfdState.up || c.remoteState !== BfdState.up) return undefined;
  return {
    remoteDiscr: c.remoteDiscr,
    localDiscr: c.localDiscr,
    remoteMinRxUs: c.remoteMinRxUs,
    remoteDesiredMinTxUs: c.remoteDesiredMinTxUs,
    remoteDetectMult: c.remoteDetectMult,
  };
}
/** `isSteadyRx` with the context's part computed once (the runner keeps it per snapshot). */
export function matchesSteadyRx(e: SteadyRxExpectation, p: BfdControlPacket): boolean {
  return (
    p.state === BfdState.up &&
    !p.poll &&
    !p.final &&
    p.auth === undefined &&
    p.myDiscr === e.remoteDiscr &&
    p.yourDiscr === e.localDiscr &&
    p.requiredMinRxUs === e.remoteMinRxUs &&
    p.desiredMinTxUs === e.remoteDesiredMinTxUs &&
    p.detectMult === e.remoteDetectMult
  );
}

/**
 * What a transmission sends now (§6.8.7), or undefined when nothing may go: a passive system
 * sends nothing until it knows the remote discriminator; no periodic packets while the remote's
 * RequiredMinRxInterval is zero (a Final still goes); Poll and Final are never both set.
 * `pollSent`: this packet carries the first Poll of the sequence.
 */
export function transmission(c: BfdSessionContext, final: boolean): { packet: BfdControlPacket; pollSent: boolean } | undefined {
  if (c.passive && c.remoteDiscr === 0) return undefined;
  if (!final && c.remoteMinRxUs === 0) return undefined;
  const poll = c.pollActive && !final;
  return { packet: packetFor(c, { poll, final }), pollSent: poll && !c.pollSent };
}

/** The next jittered transmit delay and the PRNG step that drew it (action `scheduleTx`). */
export function nextTxSchedule(c: BfdSessionContext): { rng: number; nextTxDelayMs: number } {
  return nextTxScheduleFor(c.rng, txIntervalUs(c.txInEffectUs, c.remoteMinRxUs), c.detectMult);
}
/** `nextTxSchedule` from the PRNG state, the transmit interval in effect and our Detect Mult. */
export function nextTxScheduleFor(rngState: number, intervalUs: number, detectMult: number): { rng: number; nextTxDelayMs: number } {
  const [r, rng] = nextRandom(rngState);
  return { rng, nextTxDelayMs: jitteredMs(intervalUs, detectMult, r) };
}

/** XState's event types for the `after` delays (`xstate.after.<delay>.<state id>`). */
export const BFD_AFTER = {
  tx: 'xstate.after.txInterval.bfdSession.tx.waiting',
  detect: 'xstate.after.detectTime.bfdSession.detect.armed',
  ioGrace: 'xstate.after.ioGrace.bfdSession.detect.expiring',
} as const;

const isRx =
  (state: BfdStateCode) =>
  ({ event }: { event: BfdSessionEvent }) =>
    event.type === 'bfd.rx' && event.state === state;

export const bfdSessionMachine = setup({
  types: {
    context: {} as BfdSessionContext,
    events: {} as BfdSessionEvent,
    input: {} as BfdSessionInput,
  },
  actors: {
    // Bound by the composition root (`machine.provide`); tests bind a recorder.
    bfdTransport: fromCallback<BfdTransportCommand, BfdTransportInput>(() => undefined),
  },
  delays: {
    txInterval: ({ context }) => context.nextTxDelayMs,
    detectTime: ({ context }) => detectTimeMs(context),
    /** Zero: fires after the I/O already pending when the detection time passed (see `expiring`). */
    ioGrace: 0,
  },
  guards: {
    /** §6.8.6 session-level rules: Your Discriminator, authentication (none in use). */
    accepted: ({ context, event }) =>
      event.type === 'bfd.packet.received' && checkForSession(event.packet, { localDiscr: context.localDiscr, authType: 0 }) === undefined,
    /**
     * The steady state: Up, peer Up, no Poll/Final, nothing the peer says differs from what we
     * hold. Absorbing it would assign equal values and change no state, so only the detection
     * timer is re-armed (no context copy on the hot path).
     */
    steady: ({ context, event }) => event.type === 'bfd.packet.received' && isSteadyRx(context, event.packet),
    /** §6.8.6: in AdminDown the remote variables are updated, then the packet is discarded. */
    acceptedInAdminDown: ({ context, event }) =>
      context.sessionState === BfdState.adminDown &&
      event.type === 'bfd.packet.received' &&
      checkForSession(event.packet, { localDiscr: context.localDiscr, authType: 0 }) === undefined,
    rxAdminDown: isRx(BfdState.adminDown),
    rxDown: isRx(BfdState.down),
    rxInit: isRx(BfdState.init),
    rxInitOrUp: ({ event }) => event.type === 'bfd.rx' && (event.state === BfdState.init || event.state === BfdState.up),
  },
  actions: {
    /**
     * RFC 5880 §6.8.6, after the packet-level checks the codec already made and the
     * session-level ones (guard `accepted`). The detection timer is re-armed by the transition.
     */
    absorbPacket: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'bfd.packet.received') return;
      const p = event.packet;
      const next: Partial<BfdSessionContext> = {
        remoteDiscr: p.myDiscr,
        remoteState: p.state,
        remoteMinRxUs: p.requiredMinRxUs,
        remoteDesiredMinTxUs: p.desiredMinTxUs,
        remoteDetectMult: p.detectMult,
      };
      // §6.8.6: "If the Final (F) bit is set, terminate any Poll Sequence in which a Poll was sent."
      if (p.final && c.pollSent) {
        Object.assign(next, { pollActive: false, pollSent: false, txInEffectUs: c.desiredMinTxUs, rxInEffectUs: c.requiredMinRxUs });
      }
      enqueue.assign(next);
      // §6.8.6: "If bfd.SessionState is AdminDown: Discard the packet."
      if (c.sessionState === BfdState.adminDown) return;
      // The state table changes nothing for Up + remote Up/Init: skip the microstep.
      if (!(c.sessionState === BfdState.up && (p.state === BfdState.up || p.state === BfdState.init))) {
        enqueue.raise({ type: 'bfd.rx', state: p.state });
      }
      // §6.8.6: a Poll is answered with a Final at once, not at the next periodic transmission.
      if (p.poll) enqueue.raise({ type: 'bfd.tx.now', final: true });
    }),
    /** Periodic or immediate transmission (§6.8.7). */
    transmit: enqueueActions(({ context: c, event, enqueue }) => {
      const t = transmission(c, event.type === 'bfd.tx.now' && event.final);
      if (!t) return;
      enqueue.sendTo('transport', { type: 'bfd.send', packet: t.packet } satisfies BfdTransportCommand);
      if (t.pollSent) enqueue.assign({ pollSent: true });
    }),
    scheduleTx: assign(({ context: c }) => nextTxSchedule(c)),
    enterDown: assign(({ context: c }) => ({
      sessionState: BfdState.down,
      ...retime(c, advertisedTxUs(c.configDesiredMinTxUs, false), c.configRequiredMinRxUs, false),
      pollActive: false,
      pollSent: false,
    })),
    enterInit: assign({ sessionState: BfdState.init }),
    enterUp: enqueueActions(({ context: c, enqueue }) => {
      const changes = retime(c, c.configDesiredMinTxUs, c.configRequiredMinRxUs, true);
      enqueue.assign({ sessionState: BfdState.up, localDiag: BfdDiag.none, downReason: null, ...changes });
      // The Poll goes out on the faster timer at once instead of waiting out the slow one.
      if (changes.pollActive) enqueue.raise({ type: 'bfd.tx.rearm' });
    }),
    enterAdminDown: assign(({ context: c }) => ({
      sessionState: BfdState.adminDown,
      localDiag: BfdDiag.administrativelyDown,
      downReason: 'adminDown' as const,
      ...retime(c, advertisedTxUs(c.configDesiredMinTxUs, false), c.configRequiredMinRxUs, false),
      pollActive: false,
      pollSent: false,
    })),
    /** §6.8.4: detection time passed without a packet. */
    detectionExpired: assign({ localDiag: BfdDiag.controlDetectionTimeExpired, downReason: 'detectTimeExpired' as const }),
    /** §6.8.1: bfd.RemoteDiscr is zeroed (and the remote considered Down) when detection time passes. */
    forgetRemote: assign({ remoteDiscr: 0, remoteState: BfdState.down }),
    neighborDown: assign({ localDiag: BfdDiag.neighborSignaledSessionDown, downReason: 'neighborDown' as const }),
    neighborAdminDown: assign({ localDiag: BfdDiag.neighborSignaledSessionDown, downReason: 'neighborAdminDown' as const }),
    applyConfig: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'bfd.config.changed') return;
      const up = c.sessionState === BfdState.up;
      const cfg = { ...c, configDesiredMinTxUs: event.desiredMinTxUs, configRequiredMinRxUs: event.requiredMinRxUs };
      enqueue.assign({
        configDesiredMinTxUs: event.desiredMinTxUs,
        configRequiredMinRxUs: event.requiredMinRxUs,
        detectMult: event.detectMult,
        passive: event.passive,
        ...retime(cfg, advertisedTxUs(event.desiredMinTxUs, up), event.requiredMinRxUs, up),
      });
      enqueue.raise({ type: 'bfd.tx.rearm' });
    }),
  },
}).createMachine({
  id: 'bfdSession',
  type: 'parallel',
  context: ({ input }) => {
    const slow = advertisedTxUs(input.desiredMinTxUs, false);
    return {
      peer: input.peer ?? '',
      local: input.local,
      localDiscr: input.localDiscr,
      remoteDiscr: 0,
      sessionState: input.adminDown ? BfdState.adminDown : BfdState.down,
      remoteState: BfdState.down,
      localDiag: BfdDiag.none,
      remoteDetectMult: 0,
      remoteDesiredMinTxUs: 0,
      remoteMinRxUs: 1,
      detectMult: input.detectMult,
      passive: input.passive ?? false,
      configDesiredMinTxUs: input.desiredMinTxUs,
      configRequiredMinRxUs: input.requiredMinRxUs,
      desiredMinTxUs: slow,
      requiredMinRxUs: input.requiredMinRxUs,
      txInEffectUs: slow,
      rxInEffectUs: input.requiredMinRxUs,
      pollActive: false,
      pollSent: false,
      rng: input.seed >>> 0,
      nextTxDelayMs: 0,
      downReason: null,
    };
  },
  // Root entry runs before the regions' entries: context.sessionState still holds the input.
  entry: enqueueActions(({ context, enqueue }) => {
    if (context.sessionState === BfdState.adminDown) enqueue.raise({ type: 'bfd.admin.down' });
  }),
  invoke: {
    id: 'transport',
    src: 'bfdTransport',
    input: ({ context }) => ({ localDiscr: context.localDiscr, peer: context.peer, local: context.local }),
  },
  on: {
    'bfd.config.changed': { actions: 'applyConfig' },
  },
  states: {
    session: {
      // A session configured AdminDown passes through `down` to `adminDown` in its first macrostep.
      initial: 'down',
      on: { 'bfd.admin.down': '.adminDown' },
      states: {
        adminDown: {
          entry: ['enterAdminDown', raise({ type: 'bfd.detect.stop' })],
          on: {
            'bfd.admin.down': {},
            // §6.8.16: leaving AdminDown puts the session in Down.
            'bfd.admin.up': { target: 'down', actions: assign({ localDiag: BfdDiag.none, downReason: null }) },
          },
        },
        down: {
          entry: 'enterDown',
          on: {
            // §6.8.6 state table, bfd.SessionState Down: Down → Init, Init → Up.
            'bfd.rx': [
              { guard: 'rxDown', target: 'init' },
              { guard: 'rxInit', target: 'up' },
            ],
          },
        },
        init: {
          entry: 'enterInit',
          on: {
            'bfd.rx': [
              // §6.8.6: received AdminDown while not Down: diag 3, Down.
              { guard: 'rxAdminDown', target: 'down', actions: 'neighborAdminDown' },
              // §6.8.6: Init and remote Init or Up: Up.
              { guard: 'rxInitOrUp', target: 'up' },
            ],
            'bfd.detect.expired': { target: 'down', actions: 'detectionExpired' },
          },
        },
        up: {
          entry: 'enterUp',
          on: {
            'bfd.rx': [
              { guard: 'rxAdminDown', target: 'down', actions: 'neighborAdminDown' },
              // §6.8.6: Up and remote Down: diag 3 (neighbor signaled session down), Down.
              { guard: 'rxDown', target: 'down', actions: 'neighborDown' },
            ],
            'bfd.detect.expired': { target: 'down', actions: 'detectionExpired' },
          },
        },
      },
    },
    tx: {
      initial: 'waiting',
      states: {
        waiting: {
          entry: 'scheduleTx',
          after: { txInterval: { target: 'waiting', reenter: true, actions: 'transmit' } },
          on: {
            'bfd.tx.now': { target: 'waiting', reenter: true, actions: 'transmit' },
            'bfd.tx.rearm': { target: 'waiting', reenter: true },
          },
        },
      },
    },
    detect: {
      initial: 'idle',
      states: {
        idle: {
          on: {
            'bfd.packet.received': [
              { guard: 'acceptedInAdminDown', actions: 'absorbPacket' },
              { guard: 'accepted', target: 'armed', actions: 'absorbPacket' },
            ],
          },
        },
        armed: {
          on: {
            // §6.8.4: every accepted packet restarts the detection timer.
            'bfd.packet.received': [
              { guard: 'steady', target: 'armed', reenter: true },
              { guard: 'accepted', target: 'armed', reenter: true, actions: 'absorbPacket' },
            ],
            'bfd.detect.stop': 'idle',
          },
          after: { detectTime: 'expiring' },
        },
        // The detection time has passed. A packet that reached the host before the deadline was
        // received in time even if our process had not read it yet (a scheduling stall runs
        // expired timers before pending I/O): one more turn of the event loop (`ioGrace`, zero
        // delay, i.e. after the pending I/O) lets it count before the session is declared down.
        expiring: {
          on: {
            'bfd.packet.received': [
              { guard: 'steady', target: 'armed' },
              { guard: 'accepted', target: 'armed', actions: 'absorbPacket' },
            ],
            'bfd.detect.stop': 'idle',
          },
          after: {
            ioGrace: { target: 'idle', actions: ['forgetRemote', raise({ type: 'bfd.detect.expired' })] },
          },
        },
      },
    },
  },
});

export type BfdSessionMachine = typeof bfdSessionMachine;
/** The RFC state of a snapshot's `session` region. */
export function sessionStateOf(value: unknown): BfdSessionStateName {
  return (value as { session?: BfdSessionStateName }).session ?? 'down';
}
