// serviceIp: one per service IP per speaker (docs/architecture.md "The machines").
//   idle → standby | awaitingRelease | announcing → withdrawing → standby
// The coordinator feeds it facts (election result, NATS status, claims seen, L2 conflicts) and
// the machine decides; every non-announcing state carries a typed `reason`. Side effects are
// named actions bound by the coordinator with `machine.provide`: `announce`/`withdraw` drive the
// L2AnnouncerPort, `claimsChanged` makes the coordinator republish its claims and record the epoch.
// `announce` answers on the context's `interfaces` (undefined: every eligible one); when they change
// while announcing, `announce` runs again with the new set, which replaces the old one in the port.
// Rules (docs/coordination.md):
//   - take over only when elected, NATS is up and no live higher-epoch claim fences us;
//   - when NATS is down keep announcing what we own, yield only to an L2 conflict;
//   - a claim with a higher epoch (equal epoch: lower election hash) from another node fences us;
//   - a planned handover (drain) keeps answering until the new owner claims, or `handoverTimeout`;
//   - a move that is not a failure (a returning node wins its IP back, a config change) is
//     break-before-make in one step: the owner keeps answering while the winner is not settled
//     (`successorPending`), then stops and releases its claim; the winner waits in
//     `awaitingRelease` for that release from the live `incumbent` (or its death, or
//     `handoverTimeout`, after which the epoch fence settles it) and announces. The only window
//     is the release's delivery; nobody answers twice.
import { assign, cancel, raise, setup } from 'xstate';
import { Reason } from '../domain/election.js';

export interface ServiceIpInput {
  readonly ip: string;
  readonly node: string;
  /** electionHash(node, firstIp): breaks epoch ties the way the election would. */
  readonly tieBreak: string;
  readonly natsUp: boolean;
  /** Connected to NATS but not settled yet (default: natsUp). */
  readonly natsConnected?: boolean;
  readonly handoverTimeoutMs?: number;
  /** How long an L2 conflict seen while NATS was up is remembered (see `nats.down`). */
  readonly conflictMemoryMs?: number;
  /** L2Advertisement interfaces to answer on (undefined: every eligible interface). */
  readonly interfaces?: readonly string[];
}

export interface ServiceIpContext {
  readonly ip: string;
  readonly node: string;
  readonly tieBreak: string;
  /** Why we are not announcing (undefined while announcing). */
  reason: Reason | undefined;
  /** Whether the last election made us the owner, and why not otherwise. */
  elected: boolean;
  electedReason: Reason;
  natsUp: boolean;
  /** Connected to NATS (natsUp: and settled, so takeovers are allowed). */
  natsConnected: boolean;
  /** Our epoch for the current (or last) announcement. */
  epoch: number;
  /** Highest epoch known for this IP from claims and the KV. */
  knownEpoch: number;
  /** Node whose higher-epoch claim fenced us; cleared when it releases or dies. */
  fencedBy: string | undefined;
  handover: boolean;
  /** Live peer (not draining) announcing this IP: elected, we wait for it to release (failback). */
  incumbent: string | undefined;
  /** We lost the election to a live peer that is not settled yet: keep announcing until it is. */
  successorPending: boolean;
  handoverTimeoutMs: number;
  conflictsIgnored: number;
  conflictMemoryMs: number;
  /** Another station answered for our IP within `conflictMemoryMs`. */
  conflictRecent: boolean;
  /** L2Advertisement interfaces to answer on (undefined: every eligible interface). */
  interfaces: readonly string[] | undefined;
}

export type ServiceIpEvent =
  | {
      type: 'election.changed';
      owner: boolean;
      reason?: Reason;
      knownEpoch?: number;
      handover?: boolean;
      incumbent?: string;
      successorPending?: boolean;
    }
  | { type: 'nats.up' }
  | { type: 'nats.down' }
  /** Connected again, hearing peers before taking anything over (still not `nats.up`). */
  | { type: 'nats.settling' }
  | { type: 'l2.conflict'; mac: string }
  | { type: 'claim.seen'; node: string; epoch: number; tieBreak: string }
  | { type: 'claim.released'; node: string }
  | { type: 'epoch.recorded'; epoch: number }
  | { type: 'ip.remove' }
  | { type: 'conflict.expire' }
  | { type: 'ip.interfacesChanged'; interfaces: readonly string[] | undefined };

export const serviceIpMachine = setup({
  types: {
    context: {} as ServiceIpContext,
    events: {} as ServiceIpEvent,
    input: {} as ServiceIpInput,
  },
  actions: {
    // Bound by the coordinator (provide); no-ops here keep the definition pure.
    announce: () => {},
    withdraw: () => {},
    claimsChanged: () => {},
    recordElection: assign(({ context, event }) => {
      if (event.type !== 'election.changed') return {};
      return {
        elected: event.owner,
        electedReason: event.owner ? context.electedReason : (event.reason ?? Reason.notOwner),
        knownEpoch: Math.max(context.knownEpoch, event.knownEpoch ?? 0),
        handover: event.owner ? false : (event.handover ?? false),
        incumbent: event.owner ? event.incumbent : undefined,
        successorPending: !event.owner && (event.successorPending ?? false),
      };
    }),
    standbyReason: assign(({ context }) => ({
      reason: !context.elected
        ? context.electedReason
        : context.fencedBy !== undefined
          ? Reason.fencedByEpoch
          : !context.natsUp
            ? context.natsConnected
              ? Reason.natsSettling
              : Reason.natsDisconnected
            : context.reason,
    })),
    nextEpoch: assign(({ context }) => ({
      epoch: Math.max(context.epoch, context.knownEpoch) + 1,
      reason: undefined,
      fencedBy: undefined,
      incumbent: undefined,
    })),
  },
  guards: {
    canTakeOver: ({ context }) => context.elected && context.natsUp && context.fencedBy === undefined && context.incumbent === undefined,
    /** Could take over but for a live owner: wait for its release. */
    mustAwaitRelease: ({ context }) =>
      context.elected && context.natsUp && context.fencedBy === undefined && context.incumbent !== undefined,
    /** Lost the election and the winner is ready to take over (or it is not a handover). */
    yields: ({ context }) => !context.elected && !context.successorPending,
    fencesUs: ({ context, event }) =>
      event.type === 'claim.seen' &&
      event.node !== context.node &&
      (event.epoch > context.epoch || (event.epoch === context.epoch && event.tieBreak < context.tieBreak)),
    natsDown: ({ context }) => !context.natsUp,
    handingOver: ({ context }) => context.handover,
    releasesFence: ({ context, event }) => event.type === 'claim.released' && event.node === context.fencedBy,
    releasesIncumbent: ({ context, event }) => event.type === 'claim.released' && event.node === context.incumbent,
  },
  delays: {
    handoverTimeout: ({ context }) => context.handoverTimeoutMs,
    conflictMemory: ({ context }) => context.conflictMemoryMs,
  },
}).createMachine({
  id: 'serviceIp',
  context: ({ input }) => ({
    ip: input.ip,
    node: input.node,
    tieBreak: input.tieBreak,
    reason: Reason.notConfigured,
    elected: false,
    electedReason: Reason.notConfigured,
    natsUp: input.natsUp,
    natsConnected: input.natsConnected ?? input.natsUp,
    epoch: 0,
    knownEpoch: 0,
    fencedBy: undefined,
    handover: false,
    incumbent: undefined,
    successorPending: false,
    handoverTimeoutMs: input.handoverTimeoutMs ?? 2000,
    conflictsIgnored: 0,
    conflictMemoryMs: input.conflictMemoryMs ?? 3000,
    conflictRecent: false,
    interfaces: input.interfaces,
  }),
  initial: 'idle',
  on: {
    'nats.up': { actions: assign({ natsUp: true, natsConnected: true }) },
    'nats.down': { actions: assign({ natsUp: false, natsConnected: false }) },
    'nats.settling': { actions: assign({ natsConnected: true }) },
    'epoch.recorded': {
      actions: assign(({ context, event }) => ({
        epoch: Math.max(context.epoch, event.epoch),
        knownEpoch: Math.max(context.knownEpoch, event.epoch),
      })),
    },
    'ip.interfacesChanged': { actions: assign(({ event }) => ({ interfaces: event.interfaces })) },
  },
  states: {
    idle: {
      on: {
        'election.changed': [
          { guard: ({ event }) => event.owner, actions: 'recordElection', target: 'standby' },
          { actions: 'recordElection', target: 'standby' },
        ],
      },
    },
    standby: {
      entry: 'standbyReason',
      always: [
        { guard: 'canTakeOver', target: 'announcing' },
        { guard: 'mustAwaitRelease', target: 'awaitingRelease' },
      ],
      on: {
        'election.changed': { actions: ['recordElection', 'standbyReason'] },
        'nats.up': { actions: [assign({ natsUp: true, natsConnected: true }), 'standbyReason'] },
        'nats.down': { actions: [assign({ natsUp: false, natsConnected: false }), 'standbyReason'] },
        'nats.settling': { actions: [assign({ natsConnected: true }), 'standbyReason'] },
        'claim.seen': { actions: assign(({ context, event }) => ({ knownEpoch: Math.max(context.knownEpoch, event.epoch) })) },
        'claim.released': [
          {
            guard: 'releasesFence',
            actions: [
              assign(({ context, event }) => ({
                fencedBy: undefined,
                incumbent: context.incumbent === event.node ? undefined : context.incumbent,
              })),
              'standbyReason',
            ],
          },
          { guard: 'releasesIncumbent', actions: assign({ incumbent: undefined }) },
        ],
      },
    },
    // Elected, but a live peer still announces the IP: it stops and releases its claim as soon as
    // it sees us settled (failback), so we take over on the release, one delivery after it
    // stopped, never while it answers. If it dies, its claims are forgotten (a release); if it
    // never releases (its view differs), we take over after `handoverTimeout` with a higher epoch,
    // which fences it.
    awaitingRelease: {
      entry: assign({ reason: Reason.handoverPending }),
      always: [
        { guard: 'canTakeOver', target: 'announcing' },
        { guard: ({ context }) => !(context.elected && context.natsUp && context.fencedBy === undefined), target: 'standby' },
      ],
      after: { handoverTimeout: 'announcing' },
      on: {
        'election.changed': { actions: 'recordElection' },
        'nats.down': { actions: assign({ natsUp: false, natsConnected: false }) },
        'claim.seen': { actions: assign(({ context, event }) => ({ knownEpoch: Math.max(context.knownEpoch, event.epoch) })) },
        'claim.released': { guard: 'releasesIncumbent', actions: assign({ incumbent: undefined }) },
        'ip.remove': { target: 'standby', actions: assign({ elected: false, electedReason: Reason.notConfigured }) },
      },
    },
    announcing: {
      entry: ['nextEpoch', 'announce', 'claimsChanged'],
      // Lost the election: withdraw at once, unless the winner is a live peer not settled yet
      // (a restarting node in its resync window): then keep answering until it is ready.
      always: { guard: 'yields', target: 'withdrawing' },
      on: {
        'election.changed': { actions: 'recordElection' },
        'l2.conflict': [
          // Cut off from NATS we cannot tell who should own the IP: the other answerer wins (RFC 5227 defence yields).
          { guard: 'natsDown', target: 'withdrawing', actions: assign({ electedReason: Reason.conflictDetected, elected: false }) },
          // With NATS up, claims and epochs settle it; the overlap is a takeover in flight. It is
          // remembered for a while: if NATS turns out to be gone, the other station was right.
          {
            actions: [
              assign(({ context }) => ({ conflictsIgnored: context.conflictsIgnored + 1, conflictRecent: true })),
              cancel('conflictExpire'),
              raise({ type: 'conflict.expire' }, { delay: 'conflictMemory', id: 'conflictExpire' }),
            ],
          },
        ],
        'conflict.expire': { actions: assign({ conflictRecent: false }) },
        'nats.down': [
          {
            guard: ({ context }) => context.conflictRecent,
            target: 'withdrawing',
            actions: assign({
              natsUp: false,
              natsConnected: false,
              electedReason: Reason.conflictDetected,
              elected: false,
              handover: false,
            }),
          },
          { actions: assign({ natsUp: false, natsConnected: false }) },
        ],
        'claim.seen': [
          {
            guard: 'fencesUs',
            target: 'withdrawing',
            actions: assign(({ context, event }) => ({
              fencedBy: event.node,
              knownEpoch: Math.max(context.knownEpoch, event.epoch),
              electedReason: Reason.fencedByEpoch,
              handover: false,
            })),
          },
          { actions: assign(({ context, event }) => ({ knownEpoch: Math.max(context.knownEpoch, event.epoch) })) },
        ],
        'ip.remove': {
          target: 'withdrawing',
          actions: assign({ elected: false, electedReason: Reason.notConfigured, handover: false, successorPending: false }),
        },
        // Re-announce on the new set at once (same epoch, same claim): the port starts answering on
        // the new interfaces and stops on the dropped ones in one call.
        'ip.interfacesChanged': { actions: [assign(({ event }) => ({ interfaces: event.interfaces })), 'announce'] },
      },
    },
    withdrawing: {
      exit: ['withdraw', 'claimsChanged'],
      always: { guard: ({ context }) => !context.handover, target: 'standby' },
      after: { handoverTimeout: 'standby' },
      on: {
        'election.changed': { actions: 'recordElection' },
        // Make-before-break: the new owner's claim is our cue to stop.
        'claim.seen': {
          guard: ({ context, event }) => event.node !== context.node,
          target: 'standby',
          actions: assign(({ context, event }) => ({ knownEpoch: Math.max(context.knownEpoch, event.epoch) })),
        },
        'ip.remove': { target: 'standby', actions: assign({ elected: false, electedReason: Reason.notConfigured }) },
      },
    },
  },
});

export type ServiceIpState = 'idle' | 'standby' | 'awaitingRelease' | 'announcing' | 'withdrawing';
