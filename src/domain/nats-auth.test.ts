import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUTH_CONF_VERSION,
  jwtAccount,
  nextRotation,
  NATS_TOKEN_AUDIENCE,
  operatorModeConfig,
  type SlotCredential,
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

test("a node JWT issued in account A may also subscribe to exactly A's connect/disconnect advisories", () => {
  const acc = `A${'B'.repeat(55)}`;
  const c = userClaims('co', { role: 'node', node: 'n1' }, acc);
  assert.deepEqual(c.sub.allow, [...nodeSubscribePermissions('co'), `$SYS.ACCOUNT.${acc}.CONNECT`, `$SYS.ACCOUNT.${acc}.DISCONNECT`]);
  assert.ok(!c.pub.allow.some((s) => s.startsWith('$SYS')), 'nobody publishes advisories');
  assert.ok(!userClaims('co', { role: 'admin' }, acc).sub.allow.some((s) => s.startsWith('$SYS')));
});

test('jwtAccount: issuer_account, else issuer; undefined for anything else', () => {
  const acc = `A${'C'.repeat(55)}`;
  const other = `A${'D'.repeat(55)}`;
  const jwt = (claims: unknown): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
  assert.equal(jwtAccount(jwt({ iss: acc })), acc);
  assert.equal(jwtAccount(jwt({ iss: other, nats: { issuer_account: acc } })), acc);
  assert.equal(jwtAccount(jwt({ iss: 'OPERATOR' })), undefined);
  assert.equal(jwtAccount('not a jwt'), undefined);
  assert.equal(jwtAccount('a.%%%.c'), undefined);
});

test('operator-mode config carries the version that makes the controller rewrite older ones', () => {
  assert.ok(operatorModeConfig({ operatorJwt: 'OJ', systemAccount: 'ASYS', accounts: {} }).includes(AUTH_CONF_VERSION));
});

/**
 * Runs the rotation schedule over `lifetimes` credential lifetimes (injected clock, no timers):
 * each renewal takes `delay(n)` ms (the issuer slow or down), then the connection presents it.
 */
function runSchedule(slots: number, lifeMs: number, lifetimes: number, delay: (n: number) => number) {
  let creds: SlotCredential[] = Array.from({ length: slots }, () => ({ issuedMs: 0, expiresMs: lifeMs }));
  const events: Array<{ slot: number; atMs: number; replaced: SlotCredential }> = [];
  for (let n = 0; ; n++) {
    const next = nextRotation(creds);
    assert.ok(next);
    const atMs = next.atMs + delay(n);
    if (atMs > lifetimes * lifeMs) break;
    events.push({ slot: next.slot, atMs, replaced: creds[next.slot] as SlotCredential });
    creds = creds.map((c, i) => (i === next.slot ? { issuedMs: atMs, expiresMs: atMs + lifeMs } : c));
  }
  return events;
}

test('rotation: two connections take turns, each renewed at half its life, a quarter life apart: they never lapse together', () => {
  const L = 3_600_000;
  const ev = runSchedule(2, L, 10, () => 0);
  assert.deepEqual(
    ev.slice(0, 4).map((e) => [e.slot, e.atMs]),
    [
      [0, L / 4],
      [1, L / 2],
      [0, (3 * L) / 4],
      [1, L],
    ],
  );
  assert.ok(ev.length >= 38);
  for (const [i, e] of ev.entries()) {
    assert.ok(e.atMs < e.replaced.expiresMs, `rotation ${i} before its credential expires`);
    assert.ok(e.atMs - e.replaced.issuedMs <= L / 2, `rotation ${i}: replaced at most half-way through its life`);
    if (i > 0) assert.ok(e.atMs - (ev[i - 1]?.atMs ?? 0) >= L / 4, 'one connection at a time, a quarter life apart');
    if (i > 0) assert.notEqual(e.slot, ev[i - 1]?.slot, 'alternating');
  }
});

test('rotation: a slow issuer delays renewals, yet every credential is replaced before it expires and expiries stay apart', () => {
  const L = 6_000;
  // Every third renewal takes a fifth of a lifetime (retries).
  const ev = runSchedule(2, L, 20, (n) => (n % 3 === 2 ? L / 5 : 0));
  assert.ok(ev.length >= 30);
  const expiries: number[][] = [[L], [L]];
  for (const e of ev) {
    assert.ok(e.atMs < e.replaced.expiresMs, `slot ${e.slot} replaced at ${e.atMs}, expired at ${e.replaced.expiresMs}`);
    expiries[e.slot]?.push(e.atMs + L);
  }
  // The live credentials of the two connections never expire within L/10 of each other (after the first rotation).
  for (const a of (expiries[0] ?? []).slice(1)) for (const b of expiries[1] ?? []) assert.ok(Math.abs(a - b) >= L / 10, `${a} vs ${b}`);
});

test('rotation: one connection renews at half its life; none without credentials', () => {
  assert.deepEqual(nextRotation([{ issuedMs: 1000, expiresMs: 61_000 }]), { slot: 0, atMs: 31_000 });
  assert.equal(nextRotation([]), undefined);
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
