// The controller's state feed (docs/visualizer.md): its allocation decisions as `allocation`
// records on `feed.:controller`, and every Service's allocation on `snap.:controller` when a viewer
// asks (`snapreq.:controller`). Optional and never required: without --nats-url there is no feed;
// while NATS is unreachable or the credential cannot be had (the issuer's keys not loaded yet),
// decisions are dropped, the connection is retried with backoff, and the controller allocates as
// before. Credentials: a JWT the controller mints for itself (role `controller`: it may publish
// only these two subjects and read only its snapshot requests), renewed before it expires, or a
// password user with that role (labs). Only the leader publishes: one StateFeed per lease term, so
// a standby answers no snapshot request (its empty list would read as "no allocations").
import { NatsBus } from './nats.js';
import { isRotating, jwtSlotCredentials, rotateCredentials } from './nats-rotation.js';
import { passwordCredentials, type NatsCredentialSource } from './speaker-nats.js';
import type { CredentialPorts } from '../actors/nats-credentials.js';
import type { Logger } from './log.js';
import { StateFeed } from '../actors/state-feed.js';
import { realClock } from '../actors/clock.js';
import type { AllocationDecision } from '../actors/service-reconciler.js';
import { CONTROLLER_FEED_ID } from '../domain/subjects.js';
import { backoffDelay, type BackoffPolicy } from '../domain/backoff.js';
import type { CurrentMachine } from '../domain/state-feed.js';

export interface ControllerFeedOptions {
  readonly urls: readonly string[];
  readonly cluster: string;
  readonly credentials: NatsCredentialSource;
  readonly log: Logger;
  readonly retry?: BackoffPolicy;
}

export interface ControllerFeed {
  /** A lease term started: its decisions go out, and snapshots list `allocations()`. */
  startTerm(allocations: () => readonly AllocationDecision[]): void;
  /** Publishes the term's allocations unasked (once its first pass is done): viewers learn of the new leader's. */
  announce(): void;
  /** The term ended: nothing more is published, snapshot requests go unanswered. */
  endTerm(): void;
  /** One allocation decision (ServiceReconciler's onAllocation). */
  decision(d: AllocationDecision): void;
  close(): Promise<void>;
}

/** An allocation as a snapshot machine: state the IPs ('' for none), reason why. */
export function allocationMachine(d: AllocationDecision): CurrentMachine {
  return { machine: 'allocation', id: d.service, state: d.ips.join(','), reason: d.why };
}

/**
 * The feed's credential: with `user`, that password user (--nats-pass-file); else with `mint` (the
 * controller's NATS issuer), a JWT minted for itself with the `controller` role, renewed before it
 * expires; else none (a server without authorization).
 */
export function controllerFeedCredentials(
  o: { mint?: CredentialPorts['mint'] | undefined; user?: string | undefined; passFile?: string | undefined },
  log: Logger,
): NatsCredentialSource {
  const mint = o.mint;
  if (o.user || !mint)
    return passwordCredentials({
      node: 'controller',
      ...(o.user ? { user: o.user } : {}),
      ...(o.passFile ? { passFile: o.passFile } : {}),
    });
  return jwtSlotCredentials(async (pub) => {
    const r = await mint(pub, { role: 'controller' });
    if (!r) return { ok: false, error: 'NATS issuer keys not loaded yet' };
    return r.ok ? { ok: true, ...r.value } : r;
  }, log);
}

/** The feed from the controller's flags (--nats-url, --nats-cluster or --cluster, --nats-user, --nats-pass-file). */
export function controllerFeedFromFlags(
  f: Partial<Record<'nats-url' | 'nats-cluster' | 'cluster' | 'nats-user' | 'nats-pass-file', string>>,
  mint: CredentialPorts['mint'] | undefined,
  log: Logger,
): ControllerFeed {
  return startControllerFeed({
    urls: (f['nats-url'] ?? '').split(','),
    cluster: f['nats-cluster'] ?? f.cluster ?? 'mooring',
    credentials: controllerFeedCredentials({ mint, user: f['nats-user'], passFile: f['nats-pass-file'] }, log),
    log,
  });
}

const RETRY: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

export function startControllerFeed(o: ControllerFeedOptions): ControllerFeed {
  const log = o.log.child({ component: 'controller-feed' });
  let bus: NatsBus | undefined;
  let feed: StateFeed | undefined;
  let allocations: (() => readonly AllocationDecision[]) | undefined;
  let stopRotation: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  /** `announce`: a term already running when NATS came: its allocations go out at once. */
  const open = (announce = false): void => {
    if (!bus || !allocations || feed) return;
    const list = allocations;
    feed = new StateFeed({ cluster: o.cluster, node: CONTROLLER_FEED_ID, inc: Date.now(), bus, clock: realClock, stamp: () => Date.now() });
    feed.addSource(['allocation'], () => list().map(allocationMachine));
    feed.start();
    if (announce) feed.publishSnapshot();
  };
  const connect = async (attempt: number): Promise<void> => {
    timer = undefined;
    if (closed) return;
    try {
      const c = await o.credentials.get(0);
      if (!c.ok) throw new Error(c.error);
      const b = await NatsBus.connect({
        servers: o.urls,
        name: 'mooring-controller',
        mirror: false,
        ...(c.auth ? { auth: c.auth } : {}),
        log: (rec) => log.info('nats', { ...rec, event: `nats.${String(rec.event)}` }),
      });
      if (closed) return void (await b.close());
      bus = b;
      if (isRotating(o.credentials)) stopRotation = rotateCredentials(b, o.credentials, { log });
      log.info('state feed connected', { event: 'feed.connected', subject: `feed.${CONTROLLER_FEED_ID}` });
      open(true);
    } catch (err) {
      const ms = backoffDelay(attempt, Math.random, o.retry ?? RETRY);
      log.warn('state feed not connected, retrying (allocations go on)', { event: 'feed.retry', err: String(err), inMs: Math.round(ms) });
      timer = setTimeout(() => void connect(attempt + 1), ms);
      timer.unref();
    }
  };
  void connect(0);

  return {
    startTerm: (list) => {
      feed?.stop();
      feed = undefined;
      allocations = list;
      open();
    },
    announce: () => feed?.publishSnapshot(),
    endTerm: () => {
      feed?.stop();
      feed = undefined;
      allocations = undefined;
    },
    decision: (d) => feed?.allocation(d.service, d.ips, d.pool, d.why),
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      stopRotation?.();
      feed?.stop();
      feed = undefined;
      await bus?.flush().catch(() => undefined);
      await bus?.close().catch(() => undefined);
    },
  };
}
