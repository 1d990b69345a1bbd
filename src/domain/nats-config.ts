// NATS server authorization for coordination (deploy/nats, tests): one user per node, allowed
// to publish only under its own node's subjects (plus what JetStream KV needs), subscribe to the
// cluster's coordination subjects and its inboxes. Pure text generation from subjects.ts.
import {
  adminPublishAllow,
  controllerPublishAllow,
  controllerSubscribeAllow,
  epochBucket,
  nodePublishAllow,
  nodeSubscribeAllow,
  presenceSubjects,
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

/** With `account`: also the connect/disconnect advisories the system account exports to it (the death fast path). */
export function nodeSubscribePermissions(cluster: string, account?: string): string[] {
  return [...nodeSubscribeAllow(cluster), '_INBOX.>', ...(account === undefined ? [] : presenceSubscribeAllow(account))];
}

/** The advisory subjects a node may subscribe to (nobody in the account may publish them). */
export function presenceSubscribeAllow(account: string): string[] {
  const p = presenceSubjects(account);
  return [p.connect, p.disconnect];
}

/** The system account of the generated config (the server's own events; no users, no clients). */
export const SYSTEM_ACCOUNT = 'SYS';

/**
 * Death fast path, least privilege: the system account exports exactly the coordination account's
 * connect/disconnect advisories, and the coordination account imports exactly those. No client
 * holds system-account credentials; a node sees when connections of its account open and close,
 * nothing else of the system account.
 */
export function presenceExports(account: string): string {
  return presenceSubscribeAllow(account)
    .map((s) => `{ stream: ${q(s)} }`)
    .join(', ');
}

export function presenceImports(account: string, system = SYSTEM_ACCOUNT): string {
  return presenceSubscribeAllow(account)
    .map((s) => `{ stream: { account: ${system}, subject: ${q(s)} } }`)
    .join(', ');
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

/**
 * Roles: who may do what on the bus, the one place permissions come from (password users above,
 * minted JWT users in nats-auth.ts). A `node` publishes only under its own node's subjects; an
 * `admin` (mooringctl) publishes drain commands; a `viewer` (mooring viz) only asks for snapshots;
 * the `controller` (its own minted JWT) publishes only its allocation feed and snapshots.
 */
export type NatsRole =
  | { readonly role: 'node'; readonly node: string }
  | { readonly role: 'admin' }
  | { readonly role: 'viewer' }
  | { readonly role: 'controller' };

export interface RolePermissions {
  readonly pub: readonly string[];
  readonly sub: readonly string[];
}

/** With `presenceAccount`: a node may also subscribe to that account's connect/disconnect advisories (the death fast path). */
export function rolePermissions(cluster: string, r: NatsRole, presenceAccount?: string): RolePermissions {
  switch (r.role) {
    case 'node':
      return { pub: nodePublishPermissions(cluster, r.node), sub: nodeSubscribePermissions(cluster, presenceAccount) };
    case 'admin':
      return { pub: adminPublishPermissions(cluster), sub: adminSubscribePermissions(cluster) };
    case 'viewer':
      return { pub: viewerPublishPermissions(cluster), sub: viewerSubscribePermissions(cluster) };
    case 'controller':
      return { pub: controllerPublishAllow(cluster), sub: controllerSubscribeAllow(cluster) };
  }
}

export interface AccountsBlockOptions {
  /**
   * Relay the servers' connect/disconnect advisories of the coordination account to it (the
   * death fast path): adds a system account `SYS` exporting only them, the import, the nodes'
   * subscribe permission, and `system_account: SYS`. Default true.
   */
  readonly presence?: boolean;
  /** Read-only viewer users (`mooring viz`). */
  readonly viewers?: readonly ViewerUser[];
  /** Controller users (its allocation feed, `controller --nats-user`): role `controller`. */
  readonly controllers?: readonly ViewerUser[];
}

/**
 * An `accounts { … }` block with JetStream enabled, one user per node, the operator and viewer
 * users; with `presence` (default), the system account relaying the advisories and `system_account`.
 */
export function natsAccountsBlock(
  cluster: string,
  users: readonly NodeUser[],
  account = 'MOORING',
  admins: readonly AdminUser[] = [],
  opts: AccountsBlockOptions = {},
): string {
  const presence = opts.presence ?? true;
  const entry = (u: { user: string; password: string }, pub: string[], sub: string[]): string =>
    [
      `      { user: ${q(u.user)}, password: ${q(u.password)}, permissions: {`,
      `          publish: { allow: [${pub.map(q).join(', ')}] },`,
      `          subscribe: { allow: [${sub.map(q).join(', ')}] } } }`,
    ].join('\n');
  const lines = [
    ...users.map((u) =>
      entry(u, nodePublishPermissions(cluster, u.node), nodeSubscribePermissions(cluster, presence ? account : undefined)),
    ),
    ...admins.map((a) => entry(a, adminPublishPermissions(cluster), adminSubscribePermissions(cluster))),
    ...(opts.viewers ?? []).map((v) => entry(v, viewerPublishPermissions(cluster), viewerSubscribePermissions(cluster))),
    ...(opts.controllers ?? []).map((c) => {
      const p = rolePermissions(cluster, { role: 'controller' });
      return entry(c, [...p.pub], [...p.sub]);
    }),
  ];
  if (!presence) return `accounts {\n  ${account}: {\n    jetstream: enabled\n    users: [\n${lines.join(',\n')}\n    ]\n  }\n}\n`;
  return [
    'accounts {',
    `  ${SYSTEM_ACCOUNT}: {`,
    `    exports: [${presenceExports(account)}]`,
    '  }',
    `  ${account}: {`,
    '    jetstream: enabled',
    `    imports: [${presenceImports(account)}]`,
    '    users: [',
    lines.join(',\n'),
    '    ]',
    '  }',
    '}',
    `system_account: ${SYSTEM_ACCOUNT}`,
    '',
  ].join('\n');
}
