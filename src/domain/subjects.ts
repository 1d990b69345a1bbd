// NATS subject and KV naming for coordination: the one place that builds them
// (`mooring.v1.<cluster>.<kind>.<id>…`). Node names are DNS subdomains and may contain '.',
// which NATS treats as a token separator, so ids are encoded into a single token ('.' → '_';
// '_' never occurs in a Kubernetes node name, so the mapping is reversible).

export const SUBJECT_ROOT = 'mooring';
export const SUBJECT_VERSION = 'v1';

export const Kind = {
  /** Per-node heartbeat (membership). Never per IP. */
  heartbeat: 'hb',
  /** A node's ownership claims (full list of IPs it announces, with epochs). */
  claims: 'claims',
  /** Operator command to a node: drain (planned handover) or undrain. Published by an admin user. */
  drain: 'drain',
  /** A node's state feed for the visualizer: batches of machine transitions (domain/state-feed.ts). */
  feed: 'feed',
  /** A node's full machine snapshot, published when asked for on `snapreq.<node>`. */
  snapshot: 'snap',
  /** A viewer asks a node for a snapshot (the only thing a viewer may publish). */
  snapshotRequest: 'snapreq',
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const TOKEN_RE = /^[A-Za-z0-9_:-]+$/;

/** Encodes a node name, cluster name or IP as one NATS subject token. */
export function token(id: string): string {
  const t = id.replace(/\./g, '_');
  if (!TOKEN_RE.test(t)) throw new RangeError(`not encodable as a subject token: ${JSON.stringify(id)}`);
  return t;
}

/** Inverse of `token`. */
export function untoken(t: string): string {
  return t.replace(/_/g, '.');
}

function prefix(cluster: string): string {
  return `${SUBJECT_ROOT}.${SUBJECT_VERSION}.${token(cluster)}`;
}

export function subject(cluster: string, kind: Kind, id: string): string {
  return `${prefix(cluster)}.${kind}.${token(id)}`;
}

export const heartbeatSubject = (cluster: string, node: string): string => subject(cluster, Kind.heartbeat, node);
export const claimsSubject = (cluster: string, node: string): string => subject(cluster, Kind.claims, node);
export const drainSubject = (cluster: string, node: string): string => subject(cluster, Kind.drain, node);
export const feedSubject = (cluster: string, node: string): string => subject(cluster, Kind.feed, node);
export const snapshotSubject = (cluster: string, node: string): string => subject(cluster, Kind.snapshot, node);
export const snapshotRequestSubject = (cluster: string, node: string): string => subject(cluster, Kind.snapshotRequest, node);

/** Wildcard matching one kind for every node of the cluster. */
export function allOf(cluster: string, kind: Kind): string {
  return `${prefix(cluster)}.${kind}.*`;
}

export interface ParsedSubject {
  readonly cluster: string;
  readonly kind: Kind;
  readonly id: string;
}

const KINDS: readonly string[] = Object.values(Kind);

/** Parses a coordination subject; undefined for anything else (foreign or other version). */
export function parseSubject(s: string): ParsedSubject | undefined {
  const parts = s.split('.');
  if (parts.length !== 5 || parts[0] !== SUBJECT_ROOT || parts[1] !== SUBJECT_VERSION) return undefined;
  const [, , cluster, kind, id] = parts as [string, string, string, string, string];
  if (!KINDS.includes(kind) || !TOKEN_RE.test(id) || !TOKEN_RE.test(cluster)) return undefined;
  return { cluster: untoken(cluster), kind: kind as Kind, id: untoken(id) };
}

/**
 * Subjects a node's NATS user may publish to: every kind, but only under its own id. Used to
 * generate the server's permission blocks (deploy/nats) and checked by the integration test.
 */
export function nodePublishAllow(cluster: string, node: string): string[] {
  return [`${prefix(cluster)}.*.${token(node)}`];
}

/**
 * Subjects an operator (mooringctl) may publish to: drain commands for any node. Nothing else:
 * an admin cannot forge heartbeats or claims. (A node may drain itself: `drain.<own id>` is
 * under its own subjects.)
 */
export function adminPublishAllow(cluster: string): string[] {
  return [`${prefix(cluster)}.${Kind.drain}.*`];
}

/**
 * Subjects a viewer (`mooring viz`, read-only) may publish to: snapshot requests, nothing else. It
 * cannot forge heartbeats, claims, drains or feed messages.
 */
export function viewerPublishAllow(cluster: string): string[] {
  return [`${prefix(cluster)}.${Kind.snapshotRequest}.*`];
}

/**
 * The controller's id on the state feed (`feed.<id>`, `snap.<id>`, `snapreq.<id>`): its allocation
 * decisions. A ':' never occurs in a Kubernetes node name, so no node's own subjects (its
 * `*.<node>`) can reach it: a node cannot forge allocations, nor the controller a node's feed.
 */
export const CONTROLLER_FEED_ID = ':controller';

/** What the controller's NATS user may publish: its feed and its snapshots, nothing else. */
export function controllerPublishAllow(cluster: string): string[] {
  return [feedSubject(cluster, CONTROLLER_FEED_ID), snapshotSubject(cluster, CONTROLLER_FEED_ID)];
}

/** What the controller's NATS user subscribes to: the snapshot requests for it, nothing else. */
export function controllerSubscribeAllow(cluster: string): string[] {
  return [snapshotRequestSubject(cluster, CONTROLLER_FEED_ID)];
}

/** Subjects a viewer subscribes to: the feed, the snapshots and the heartbeats (node health). */
export function viewerSubscribeAllow(cluster: string): string[] {
  return [Kind.feed, Kind.snapshot, Kind.heartbeat].map((k) => `${prefix(cluster)}.${k}.*`);
}

/** Subjects every node subscribes to. */
export function nodeSubscribeAllow(cluster: string): string[] {
  return [`${prefix(cluster)}.>`];
}

/**
 * The NATS servers' connect/disconnect advisories for the coordination account, as the system
 * account exports them to it (src/domain/nats-config.ts): the death fast path
 * (src/domain/presence.ts). The subjects keep their `$SYS` names inside the coordination account;
 * nobody there may publish them.
 */
export function presenceSubjects(account: string): { readonly connect: string; readonly disconnect: string } {
  return { connect: `$SYS.ACCOUNT.${account}.CONNECT`, disconnect: `$SYS.ACCOUNT.${account}.DISCONNECT` };
}

/** JetStream KV bucket holding the per-IP epochs (bucket names allow [A-Za-z0-9_-]). */
export function epochBucket(cluster: string): string {
  return `mooring-${SUBJECT_VERSION}-${token(cluster).replace(/[:]/g, '-')}-epochs`;
}

/** A key of the epoch bucket no IP maps to: read (never written) to learn that the store answers. */
export const STORE_PROBE_KEY = 'probe';

/** KV key for an IP: KV keys allow [-/_=.A-Za-z0-9], so IPv6 ':' becomes '_'. */
export function epochKey(ip: string): string {
  const k = ip.replace(/:/g, '_');
  if (!/^[-/_=.A-Za-z0-9]+$/.test(k)) throw new RangeError(`not encodable as a KV key: ${JSON.stringify(ip)}`);
  return k;
}

export function ipFromEpochKey(k: string): string {
  return k.includes('_') ? k.replace(/_/g, ':') : k;
}

/**
 * Whether NATS would deliver a message on `subject` to a subscription on `pattern` (`*` one token,
 * `>` one or more trailing tokens). For the simulator's and the tests' in-memory buses.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
