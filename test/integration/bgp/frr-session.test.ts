// Session behaviours against FRR (router AS 64512), one node namespace per case, all on one
// bridge: iBGP LOCAL_PREF, TCP-MD5 with the right and a wrong password, a wrong peer ASN
// (NOTIFICATION with a clear reason), the hold timer when the router goes silent (its packets
// dropped with nftables inside the node namespace), and graceful restart (the router keeps our
// route while the speaker restarts, and clears the stale mark after End-of-RIB), and GTSM (FRR
// `ttl-security hops 1` only accepts our segments because we send TTL 255).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Frr, Speaker, kernelNextHops } from '../../lib/bgp.js';

const R4 = '198.51.100.1';
const lab = new Lab('bg');
let r: Netns;
let frr: Frr;
const ns: Record<string, Netns> = {};

const CASES = {
  ibgp: { ip: '198.51.100.21', myAsn: 64512, vip: '203.0.113.140' },
  md5ok: { ip: '198.51.100.22', myAsn: 64520, vip: '203.0.113.141' },
  md5bad: { ip: '198.51.100.23', myAsn: 64520, vip: '203.0.113.142' },
  badasn: { ip: '198.51.100.24', myAsn: 64520, vip: '203.0.113.143' },
  hold: { ip: '198.51.100.25', myAsn: 64520, vip: '203.0.113.144' },
  gr: { ip: '198.51.100.26', myAsn: 64520, vip: '203.0.113.145' },
  gtsm: { ip: '198.51.100.27', myAsn: 64520, vip: '203.0.113.146' },
} as const;
type Case = keyof typeof CASES;

function config(c: Case, peer: Record<string, unknown> = {}) {
  const k = CASES[c];
  return {
    node: { name: `node-${c}` },
    peers: [
      {
        name: 'r',
        peerAddress: R4,
        myAsn: k.myAsn,
        peerAsn: 64512,
        holdTime: c === 'hold' ? 9 : 30,
        retryInitialMs: 500,
        retryMaxMs: 2000,
        ...peer,
      },
    ],
    advertisements: [{ name: 'a', localPref: 150 }],
    services: [{ key: `default/${c}`, ips: [k.vip], pool: 'p1' }],
  };
}

function dump(...s: Speaker[]): string {
  return [
    frr.log.slice(-30).join('\n'),
    ...s.map((x) => [...x.events.slice(-10).map((e) => JSON.stringify(e)), ...x.stderr.slice(-10)].join('\n')),
  ].join('\n---\n');
}

before(() => {
  requireRoot();
  requireTools('ip', 'vtysh', 'nft');
  r = lab.netns('r');
  lab.bridge(r, 'br0');
  r.exec('ip', ['addr', 'add', `${R4}/26`, 'dev', 'br0']);
  const n = (c: Case, asn: number, extra: string[] = []) => [
    ` neighbor ${CASES[c].ip} remote-as ${asn}`,
    ` neighbor ${CASES[c].ip} timers ${c === 'hold' ? '3 9' : '10 30'}`,
    ...extra.map((x) => ` neighbor ${CASES[c].ip} ${x}`),
  ];
  frr = Frr.start(
    lab,
    r,
    [
      'router bgp 64512',
      ` bgp router-id ${R4}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' bgp graceful-restart',
      ' bgp log-neighbor-changes',
      ...n('ibgp', 64512),
      ...n('md5ok', 64520, ['password s3cret-key']),
      ...n('md5bad', 64520, ['password s3cret-key']),
      ...n('badasn', 64520),
      ...n('hold', 64520),
      ...n('gr', 64520),
      ...n('gtsm', 64520, ['ttl-security hops 1']),
      ' address-family ipv4 unicast',
      ...Object.values(CASES).map((c) => `  neighbor ${c.ip} activate`),
      ' exit-address-family',
    ].join('\n'),
  );
  for (const c of Object.keys(CASES) as Case[]) {
    ns[c] = lab.netns(c.slice(0, 6));
    lab.link(ns[c] as Netns, 'eth0', r, 'br0', [`${CASES[c].ip}/26`]);
  }
});

after(async () => {
  await lab.cleanup();
});

test('iBGP: LOCAL_PREF from the advertisement reaches the router, and no AS is prepended', async () => {
  const s = Speaker.start(lab, ns.ibgp as Netns, config('ibgp'));
  try {
    await waitFor('iBGP route with local preference', () => frr.paths('ipv4', `${CASES.ibgp.vip}/32`)[0]?.locPrf === 150, 60_000, 250);
  } catch (e) {
    console.error(dump(s));
    throw e;
  }
  // FRR shows an empty AS_PATH as "Local" with length 0.
  assert.equal((frr.paths('ipv4', `${CASES.ibgp.vip}/32`)[0]?.aspath as { length?: number } | undefined)?.length, 0);
});

test('TCP-MD5: the right password comes up, a wrong one does not', async () => {
  const good = Speaker.start(lab, ns.md5ok as Netns, config('md5ok', { password: 's3cret-key' }));
  const bad = Speaker.start(lab, ns.md5bad as Netns, config('md5bad', { password: 'wrong-key', connectTimeMs: 2000 }));
  try {
    await waitFor('MD5 session Established', () => frr.peerState(CASES.md5ok.ip) === 'Established', 60_000, 250);
    await waitFor(
      'route over the MD5 session',
      () =>
        kernelNextHops(r, `${CASES.md5ok.vip}/32`).length === 1 ||
        r.exec('ip', ['route', 'show', `${CASES.md5ok.vip}/32`]).includes(CASES.md5ok.ip),
      20_000,
      250,
    );
    // The wrong key: the router drops our SYNs (bad signature), the speaker keeps failing to connect.
    await waitFor(
      'wrong-key speaker reports connect failures',
      () =>
        bad.events.filter((e) => e.event === 'sessionDown' && (e.reason === 'connectTimeout' || e.reason === 'connectFailed')).length >= 2,
      30_000,
      250,
    );
  } catch (e) {
    console.error(dump(good, bad));
    throw e;
  }
  assert.notEqual(frr.peerState(CASES.md5bad.ip), 'Established');
  assert.equal(
    bad.find((e) => e.event === 'sessionUp'),
    undefined,
  );
  await bad.stop();
});

test('wrong peer ASN: the speaker sends a NOTIFICATION and reports badPeerAs with both numbers', async () => {
  const s = Speaker.start(lab, ns.badasn as Netns, config('badasn', { peerAsn: 65099 }));
  let down: Record<string, unknown> | undefined;
  try {
    down = await waitFor('sessionDown badPeerAs', () => s.find((e) => e.event === 'sessionDown' && e.reason === 'badPeerAs'), 60_000, 250);
  } catch (e) {
    console.error(dump(s));
    throw e;
  }
  assert.match(String(down.detail), /peer ASN 64512 does not match the configured 65099/);
  // FRR received our OPEN error NOTIFICATION (2/2).
  // FRR logs the NOTIFICATION it received (log-neighbor-changes).
  await waitFor(
    'FRR logged the NOTIFICATION',
    () => frr.log.some((l) => l.includes(CASES.badasn.ip) && /NOTIFICATION/i.test(l) && /Bad Peer AS/i.test(l)),
    20_000,
    250,
  );
  await s.stop();
});

test('hold timer: when the router goes silent the speaker drops the session with holdTimerExpired', async () => {
  const n = ns.hold as Netns;
  const s = Speaker.start(lab, n, config('hold'));
  try {
    await waitFor('session Established', () => s.find((e) => e.event === 'sessionUp'), 60_000, 250);
  } catch (e) {
    console.error(dump(s));
    throw e;
  }
  n.exec('nft', ['add', 'table', 'inet', 'bghold']);
  n.exec('nft', ['add', 'chain', 'inet', 'bghold', 'in', '{ type filter hook input priority 0 ; }']);
  n.exec('nft', ['add', 'rule', 'inet', 'bghold', 'in', 'ip', 'saddr', R4, 'tcp', 'sport', '179', 'drop']);
  const down = await waitFor(
    'sessionDown holdTimerExpired',
    () => s.find((e) => e.event === 'sessionDown' && e.reason === 'holdTimerExpired'),
    60_000,
    250,
  );
  assert.match(String(down.detail), /no message from the peer for 9 s/);
  n.exec('nft', ['delete', 'table', 'inet', 'bghold']);
  await waitFor(
    'session comes back after the drop is lifted',
    () => s.events.filter((e) => e.event === 'sessionUp').length >= 2,
    60_000,
    250,
  );
  await s.stop();
});

test('graceful restart: the route stays installed while the speaker restarts, then is refreshed', async () => {
  const n = ns.gr as Netns;
  const vip = `${CASES.gr.vip}/32`;
  const cfg = config('gr', { enableGracefulRestart: true, restartTime: 120 });
  const s1 = Speaker.start(lab, n, cfg, 'gr1');
  try {
    await waitFor('route installed', () => r.exec('ip', ['route', 'show', vip]).includes(CASES.gr.ip), 60_000, 250);
    const nb = frr.neighbor(CASES.gr.ip) as { gracefulRestartInfo?: unknown } | undefined;
    assert.ok(JSON.stringify(nb ?? {}).match(/gracefulRestart/i), 'FRR negotiated graceful restart');
  } catch (e) {
    console.error(dump(s1));
    throw e;
  }
  await s1.stop('SIGTERM');
  await waitFor('FRR sees the session drop', () => frr.peerState(CASES.gr.ip) !== 'Established', 30_000, 100);
  // Helper mode: the path is kept (stale) and the kernel route stays.
  await waitFor('path marked stale', () => frr.paths('ipv4', vip)[0]?.stale === true, 10_000, 100);
  assert.ok(r.exec('ip', ['route', 'show', vip]).includes(CASES.gr.ip), 'route still in the kernel during the restart');
  const s2 = Speaker.start(lab, n, cfg, 'gr2');
  try {
    await waitFor('session back', () => frr.peerState(CASES.gr.ip) === 'Established', 60_000, 250);
    await waitFor(
      'stale mark cleared after End-of-RIB',
      () => {
        const p = frr.paths('ipv4', vip);
        return p.length === 1 && !p[0]?.stale;
      },
      30_000,
      250,
    );
  } catch (e) {
    console.error(dump(s2));
    throw e;
  }
  assert.ok(r.exec('ip', ['route', 'show', vip]).includes(CASES.gr.ip));
  // The speaker's log line may trail FRR's view by a moment.
  await waitFor('speaker logged End-of-RIB', () => s2.find((e) => e.event === 'endOfRib'), 10_000, 50);
  await s2.stop();
});

test('GTSM: a router with ttl-security accepts the session because the speaker sends TTL 255', async () => {
  const s = Speaker.start(lab, ns.gtsm as Netns, config('gtsm', { gtsm: true }));
  try {
    await waitFor('GTSM session Established', () => frr.peerState(CASES.gtsm.ip) === 'Established', 60_000, 250);
    await waitFor(
      'route over the GTSM session',
      () => r.exec('ip', ['route', 'show', `${CASES.gtsm.vip}/32`]).includes(CASES.gtsm.ip),
      20_000,
      250,
    );
  } catch (e) {
    console.error(dump(s));
    throw e;
  }
  await s.stop();
});
