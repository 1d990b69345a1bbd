// NATS server authorization for coordination (deploy/nats, tests): one user per node, allowed
// to publish only under its own node's subjects (plus what JetStream KV needs), subscribe to the
// cluster's coordination subjects and its inboxes. Pure text generation from subjects.ts.
import {
  adminPublishAllow,
  epochBucket,
  nodePublishAllow,
  nodeSubscribeAllow,
  viewerPublishAllow,
  viewerSubscribeAllow,
} from './subjects.js';

export interface NodeUser {
  readonly node: string;
  readonly user: string;
  /** Plain password or a bcrypt hash (`$2a$…`); the server accepts both. */
  readonly password: string;
}

const q = (s: string): string => JSON.stringify(s);

/** Publish permissions of a node user. KV writes are per IP, so fencing relies on CAS, not on permissions. */
export function nodePublishPermissions(cluster: string, node: string): string[] {
  const bucket = epochBucket(cluster);
  return [...nodePublishAllow(cluster, node), '$JS.API.>', `$KV.${bucket}.>`, '_INBOX.>'];
}

export function nodeSubscribePermissions(cluster: string): string[] {
  return [...nodeSubscribeAllow(cluster), '_INBOX.>'];
}

/** An operator user (mooringctl drain/undrain): publishes drain commands, reads coordination traffic. */
export interface AdminUser {
  readonly user: string;
  readonly password: string;
}

export function adminPublishPermissions(cluster: string): string[] {
  return adminPublishAllow(cluster);
}

export function adminSubscribePermissions(cluster: string): string[] {
  return [...nodeSubscribeAllow(cluster), '_INBOX.>'];
}

/** A read-only viewer user (`mooring viz`): reads the state feed and heartbeats, asks for snapshots. */
export interface ViewerUser {
  readonly user: string;
  readonly password: string;
}

export function viewerPublishPermissions(cluster: string): string[] {
  return viewerPublishAllow(cluster);
}

export function viewerSubscribePermissions(cluster: string): string[] {
  return viewerSubscribeAllow(cluster);
}

/** An `accounts { … }` block with JetStream enabled, one user per node and the operator users. */
export function natsAccountsBlock(
  cluster: string,
  users: readonly NodeUser[],
  account = 'MOORING',
  admins: readonly AdminUser[] = [],
  viewers: readonly ViewerUser[] = [],
): string {
  const entry = (u: { user: string; password: string }, pub: string[], sub: string[]): string =>
    [
      `      { user: ${q(u.user)}, password: ${q(u.password)}, permissions: {`,
      `          publish: { allow: [${pub.map(q).join(', ')}] },`,
      `          subscribe: { allow: [${sub.map(q).join(', ')}] } } }`,
    ].join('\n');
  const lines = [
    ...users.map((u) => entry(u, nodePublishPermissions(cluster, u.node), nodeSubscribePermissions(cluster))),
    ...admins.map((a) => entry(a, adminPublishPermissions(cluster), adminSubscribePermissions(cluster))),
    ...viewers.map((v) => entry(v, viewerPublishPermissions(cluster), viewerSubscribePermissions(cluster))),
  ];
  return `accounts {\n  ${account}: {\n    jetstream: enabled\n    users: [\n${lines.join(',\n')}\n    ]\n  }\n}\n`;
}
