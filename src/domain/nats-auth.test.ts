import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NATS_TOKEN_AUDIENCE,
  operatorModeConfig,
  podNode,
  renewAtMs,
  tokenOwner,
  userClaims,
  type TokenReviewStatus,
} from './nats-auth.js';
import { nodePublishPermissions, nodeSubscribePermissions, rolePermissions } from './nats-config.js';

test('a node JWT carries exactly the node role permissions of nats-config (one source)', () => {
  const c = userClaims('co', { role: 'node', node: 'n1' });
  assert.deepEqual(c, { pub: { allow: nodePublishPermissions('co', 'n1') }, sub: { allow: nodeSubscribePermissions('co') } });
  assert.ok(!c.pub.allow.some((s) => s.includes('n2')));
  assert.deepEqual(rolePermissions('co', { role: 'admin' }).pub, ['mooring.v1.co.drain.*']);
});

test('renewal at two thirds of the life', () => {
  assert.equal(renewAtMs(0, 3_600_000), 2_400_000);
  assert.equal(renewAtMs(1000, 1000 + 90_000), 61_000);
});

test('operator-mode config: operator, system account, memory resolver, accounts sorted', () => {
  const conf = operatorModeConfig({ operatorJwt: 'OJ', systemAccount: 'ASYS', accounts: { AZZ: 'J2', AAA: 'J1' } });
  assert.match(conf, /^operator: "OJ"$/m);
  assert.match(conf, /^system_account: ASYS$/m);
  assert.match(conf, /^resolver: MEMORY$/m);
  assert.match(conf, /resolver_preload: \{\n {2}AAA: "J1"\n {2}AZZ: "J2"\n\}/);
});

const want = { namespace: 'metallb-system', serviceAccount: 'speaker', audience: NATS_TOKEN_AUDIENCE };
const good: TokenReviewStatus = {
  authenticated: true,
  audiences: [NATS_TOKEN_AUDIENCE],
  user: {
    username: 'system:serviceaccount:metallb-system:speaker',
    extra: { 'authentication.kubernetes.io/pod-name': ['speaker-x'], 'authentication.kubernetes.io/pod-uid': ['u1'] },
  },
};
const cases: Array<{ desc: string; s: TokenReviewStatus; want: string | { podName: string; podUid: string } }> = [
  { desc: 'a projected speaker token', s: good, want: { podName: 'speaker-x', podUid: 'u1' } },
  { desc: 'not authenticated', s: { authenticated: false, error: 'expired' }, want: 'token not authenticated: expired' },
  { desc: 'another audience', s: { ...good, audiences: ['https://kubernetes.default.svc'] }, want: 'token not for audience mooring-nats' },
  {
    desc: 'another ServiceAccount (the controller)',
    s: { ...good, user: { ...good.user, username: 'system:serviceaccount:metallb-system:controller' } },
    want: 'token of system:serviceaccount:metallb-system:controller, not system:serviceaccount:metallb-system:speaker',
  },
  {
    desc: 'a token not bound to a Pod',
    s: { ...good, user: { username: 'system:serviceaccount:metallb-system:speaker' } },
    want: 'token not bound to a Pod (use a projected ServiceAccount token)',
  },
];
for (const c of cases)
  test(`tokenOwner: ${c.desc}`, () => {
    const r = tokenOwner(Object.freeze(c.s), want);
    assert.deepEqual(r.ok ? r.value : r.error, c.want);
  });

const owner = { podName: 'speaker-x', podUid: 'u1' };
const podCases: Array<{ desc: string; pod: Parameters<typeof podNode>[1]; want: string }> = [
  { desc: 'the bound Pod, scheduled: its node', pod: { uid: 'u1', nodeName: 'n7', phase: 'Running' }, want: 'node:n7' },
  { desc: 'gone', pod: undefined, want: 'pod speaker-x not found' },
  { desc: 'a new Pod of the same name', pod: { uid: 'u2', nodeName: 'n7' }, want: 'pod speaker-x is not the one the token was issued to' },
  { desc: 'being deleted', pod: { uid: 'u1', nodeName: 'n7', deleting: true }, want: 'pod speaker-x is being deleted' },
  { desc: 'ended', pod: { uid: 'u1', nodeName: 'n7', phase: 'Failed' }, want: 'pod speaker-x has ended' },
  { desc: 'not scheduled', pod: { uid: 'u1' }, want: 'pod speaker-x is not scheduled' },
];
for (const c of podCases)
  test(`podNode: ${c.desc}`, () => {
    const r = podNode(owner, c.pod);
    assert.equal(r.ok ? (r.value.role === 'node' ? `node:${r.value.node}` : r.value.role) : r.error, c.want);
  });
