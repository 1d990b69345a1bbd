// natsPath: one per speaker, the health of its path to NATS (docs/coordination.md, "NATS path").
//   connecting → resyncing → up;  resyncing|up → down (client disconnected) | echoLost (our own
//   heartbeats stop coming back while the client still says "connected");  down|echoLost → resyncing;
//   the first time only: resyncing → awaitingStore until the epoch store first answers or a settled
//   peer is heard → resyncing (a fresh install's NATS servers may not be clustered yet: peers on
//   another server are unheard)
// The coordinator feeds it facts (client status, heartbeats it sent, its own heartbeats heard back,
// sweeps, the epoch store's first answer) with the time they happened, and reads the state:
// `resyncing`, `awaitingStore` and `up` mean NATS works
// (membership is judged, epochs are written), only `up` lets serviceIp machines take anything over.
// Every transition records a typed `reason`. Why the echo is judged from what we *sent*: after our
// own event-loop stall nothing was sent, so nothing is missing, and a stall is not read as NATS down.
import { assign, setup } from 'xstate';

export const NatsPathReason = {
  /** The client was connected when the speaker started. */
  started: 'started',
  /** The client (re)connected. */
  busConnected: 'busConnected',
  /** Our own heartbeat came back after the echo was lost. */
  echoHeard: 'echoHeard',
  /** We heard peers for one resync window after connecting. */
  resynced: 'resynced',
  /** The epoch store answered for the first time: the NATS cluster is formed; hear peers again. */
  storeReady: 'storeReady',
  /** A peer past its resync window was heard: the cluster ran before us (a restart, not an install). */
  peerSettled: 'peerSettled',
  /** The epoch store never answered within `storeWaitMs`: go on without it (epoch writes defer). */
  storeTimeout: 'storeTimeout',
  /** The client reported its connection lost. */
  busDisconnected: 'busDisconnected',
  /** A heartbeat of ours went unheard for the detection time. */
  echoLost: 'echoLost',
} as const;
export type NatsPathReason = (typeof NatsPathReason)[keyof typeof NatsPathReason];
/** Why the path left `up` (or `resyncing`). */
export type NatsPathDownReason = typeof NatsPathReason.busDisconnected | typeof NatsPathReason.echoLost;

export type NatsPathState = 'connecting' | 'resyncing' | 'awaitingStore' | 'up' | 'down' | 'echoLost';

/** At most this many unheard heartbeats are remembered (64 intervals is far beyond any detection time). */
export const MAX_UNHEARD = 64;

export interface NatsPathInput {
  /** The client is connected at start. */
  readonly connected: boolean;
  /** Time of start (the first echo window opens then). */
  readonly now: number;
  /** A heartbeat of ours unheard for longer than this means our path is cut (intervalMs × misses). */
  readonly detectMs: number;
  /** After connecting, hear peers this long before taking anything over. */
  readonly resyncMs: number;
  /**
   * Whether the epoch store has to answer once before the first takeover (a speaker with a store:
   * JetStream answers only once the servers are clustered; false without a store).
   */
  readonly awaitStore?: boolean;
  /** How long the first takeover waits for the store at most (default 30 s). */
  readonly storeWaitMs?: number;
}

export interface SentHeartbeat {
  readonly seq: number;
  readonly at: number;
}

export interface NatsPathContext {
  readonly detectMs: number;
  readonly resyncMs: number;
  readonly storeWaitMs: number;
  readonly connectedAtStart: boolean;
  /**
   * The NATS cluster is known to be formed: the epoch store answered once since start, or a
   * settled peer was heard (or there is no store to wait for); also set when the wait is given up
   * (`storeTimeout`), so that the first-start wait happens at most once.
   */
  clusterFormed: boolean;
  /** Why the machine is in its current state. */
  reason: NatsPathReason;
  /** When we last heard our own heartbeat (or the echo window last opened). */
  lastEcho: number;
  /** Our heartbeats not heard back yet, oldest first. */
  unheard: readonly SentHeartbeat[];
  /** When the echo was declared lost: how long since the last echo, and since the oldest unheard heartbeat. */
  lost: { readonly silentMs: number; readonly unheardMs: number } | undefined;
}

export type NatsPathEvent =
  | { type: 'bus.up'; at: number }
  | { type: 'bus.down' }
  | { type: 'hb.sent'; seq: number; at: number }
  | { type: 'echo.heard'; seq: number; at: number }
  /** A membership sweep is about to judge peers: check our own echo first. */
  | { type: 'echo.check'; at: number }
  /** The epoch store answered a read (sent until the first time). */
  | { type: 'store.ready' }
  /** A peer's heartbeat says it is past its resync window (sent until the cluster is known formed). */
  | { type: 'peer.settled' };

/** NATS works (membership may be judged, epochs written): connected and our echo comes back. */
export function natsPathConnected(state: NatsPathState): boolean {
  return state === 'resyncing' || state === 'awaitingStore' || state === 'up';
}

export const natsPathMachine = setup({
  types: {
    context: {} as NatsPathContext,
    events: {} as NatsPathEvent,
    input: {} as NatsPathInput,
  },
  actions: {
    /** Leaving `resyncing`/`up`: the reason is one of the down reasons, by type. */
    wentDown: assign((_, params: { reason: NatsPathDownReason }) => ({ reason: params.reason })),
    recordSent: assign(({ context, event }) => {
      if (event.type !== 'hb.sent') return {};
      const unheard = [...context.unheard, { seq: event.seq, at: event.at }];
      return { unheard: unheard.length > MAX_UNHEARD ? unheard.slice(unheard.length - MAX_UNHEARD) : unheard };
    }),
    recordEcho: assign(({ context, event }) => {
      if (event.type !== 'echo.heard') return {};
      let i = 0;
      while (i < context.unheard.length && (context.unheard[i] as SentHeartbeat).seq <= event.seq) i++;
      return { lastEcho: event.at, unheard: i === 0 ? context.unheard : context.unheard.slice(i) };
    }),
    /** A fresh echo window: what was sent before the connection (re)opened is not expected back. */
    openEchoWindow: assign(({ event }) => (event.type === 'bus.up' ? { lastEcho: event.at, unheard: [], lost: undefined } : {})),
    recordLost: assign(({ context, event }) => {
      if (event.type !== 'echo.check') return {};
      const oldest = context.unheard[0];
      const reason: NatsPathDownReason = NatsPathReason.echoLost;
      return { reason, lost: { silentMs: event.at - context.lastEcho, unheardMs: oldest ? event.at - oldest.at : 0 } };
    }),
  },
  guards: {
    connectedAtStart: ({ context }) => context.connectedAtStart,
    clusterFormed: ({ context }) => context.clusterFormed,
    echoOverdue: ({ context, event }) => {
      if (event.type !== 'echo.check') return false;
      const oldest = context.unheard[0];
      return oldest !== undefined && event.at - oldest.at > context.detectMs;
    },
  },
  delays: {
    resync: ({ context }) => context.resyncMs,
    storeWait: ({ context }) => context.storeWaitMs,
  },
}).createMachine({
  id: 'natsPath',
  context: ({ input }) => ({
    detectMs: input.detectMs,
    resyncMs: input.resyncMs,
    storeWaitMs: input.storeWaitMs ?? 30_000,
    connectedAtStart: input.connected,
    clusterFormed: input.awaitStore !== true,
    reason: NatsPathReason.started,
    lastEcho: input.now,
    unheard: [],
    lost: undefined,
  }),
  initial: 'connecting',
  on: {
    'hb.sent': { actions: 'recordSent' },
    'echo.heard': { actions: 'recordEcho' },
    'store.ready': { actions: assign({ clusterFormed: true }) },
    'peer.settled': { actions: assign({ clusterFormed: true }) },
  },
  states: {
    /** Not connected since start. */
    connecting: {
      // A speaker whose client is connected at start still hears its peers for one resync
      // window before taking anything over (a rolling start must not hand everything to the first).
      always: { guard: 'connectedAtStart', target: 'resyncing', actions: assign({ reason: NatsPathReason.started }) },
      on: {
        'bus.up': { target: 'resyncing', actions: ['openEchoWindow', assign({ reason: NatsPathReason.busConnected })] },
      },
    },
    /** Connected and our echo comes back; hearing peers' heartbeats and claims before taking over. */
    resyncing: {
      after: {
        resync: [
          { guard: 'clusterFormed', target: 'up', actions: assign({ reason: NatsPathReason.resynced }) },
          { target: 'awaitingStore' },
        ],
      },
      on: {
        'bus.up': { actions: 'openEchoWindow' },
        'bus.down': { target: 'down', actions: { type: 'wentDown', params: { reason: NatsPathReason.busDisconnected } } },
        'echo.check': { guard: 'echoOverdue', target: 'echoLost', actions: 'recordLost' },
      },
    },
    /**
     * Connected and resynced, but nothing says the NATS cluster is formed: on a fresh install the
     * servers may not be clustered yet, and peers connected to another server are unheard (each
     * speaker would take every IP alone, to be fenced seconds later). JetStream answers once the
     * servers are clustered, and a settled peer means the cluster ran before us (a restart in a
     * KV outage does not wait); then hear peers for one more resync window. Only the first
     * time: a KV outage later (a server killed) never holds takeovers up.
     */
    awaitingStore: {
      // Given up on: the wait is over for good (a reconnect later does not wait again, nor probe).
      after: { storeWait: { target: 'up', actions: assign({ clusterFormed: true, reason: NatsPathReason.storeTimeout }) } },
      on: {
        'store.ready': { target: 'resyncing', actions: assign({ clusterFormed: true, reason: NatsPathReason.storeReady }) },
        'peer.settled': { target: 'resyncing', actions: assign({ clusterFormed: true, reason: NatsPathReason.peerSettled }) },
        'bus.up': { actions: 'openEchoWindow' },
        'bus.down': { target: 'down', actions: { type: 'wentDown', params: { reason: NatsPathReason.busDisconnected } } },
        'echo.check': { guard: 'echoOverdue', target: 'echoLost', actions: 'recordLost' },
      },
    },
    /** NATS works and we have heard our peers: serviceIp machines may take over. */
    up: {
      on: {
        'bus.up': { actions: 'openEchoWindow' },
        'bus.down': { target: 'down', actions: { type: 'wentDown', params: { reason: NatsPathReason.busDisconnected } } },
        'echo.check': { guard: 'echoOverdue', target: 'echoLost', actions: 'recordLost' },
      },
    },
    /** The client lost its connection (it reconnects on its own). */
    down: {
      on: {
        'bus.up': { target: 'resyncing', actions: ['openEchoWindow', assign({ reason: NatsPathReason.busConnected })] },
      },
    },
    /** The client says connected, but our own heartbeats do not come back: cut off all the same. */
    echoLost: {
      on: {
        'echo.heard': { target: 'resyncing', actions: ['recordEcho', assign({ reason: NatsPathReason.echoHeard })] },
        'bus.up': { target: 'resyncing', actions: ['openEchoWindow', assign({ reason: NatsPathReason.busConnected })] },
        'bus.down': { target: 'down', actions: { type: 'wentDown', params: { reason: NatsPathReason.busDisconnected } } },
      },
    },
  },
});
