// Multi-hop BFD (RFC 5883) against FRR bfdd across one routed hop: UDP 4784, sent with TTL 255,
// received with a TTL floor (MetalLB's BFDProfile minimumTtl, default 254) checked by the receive
// socket's filter. With the floor at 254 the session comes Up on both sides (packets arrive with
// 254 after the hop); a floor of 255 (the single-hop rule) discards FRR's packets as `ttl`. Both
// datagram ports: the batched one and node:dgram (BFD_IO=dgram). The floor can be changed on an
// open port (`setMinTtl`, as the speaker does when its multi-hop profiles change): raised to 255
// the Up session goes down, lowered back to 254 it comes Up again.
//   node n (bfd-probe): 198.51.100.130/26 ── m (forwards) ── 203.0.113.130/26 router r (FRR bfdd)
//   m: 198.51.100.129/26, 203.0.113.129/26
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Bfdd, Probe } from '../../lib/bfd.js';

const N4 = '198.51.100.130';
const M_N = '198.51.100.129';
const M_R = '203.0.113.129';
const R4 = '203.0.113.130';
const profile = { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 };

let lab: Lab;
let r: Netns;
let n: Netns;
let frr: Bfdd;

before(async () => {
  requireRoot();
  requireTools('ip', 'vtysh');
  lab = new Lab('bm');
  r = lab.netns('r');
  n = lab.netns('n');
  const m = lab.netns('m');
  // Point-to-point links into m (no bridge): m routes between them.
  const mn = lab.link(n, 'eth0', m, undefined, [`${N4}/26`]);
  const mr = lab.link(r, 'eth0', m, undefined, [`${R4}/26`]);
  m.exec('ip', ['addr', 'add', `${M_N}/26`, 'dev', mn]);
  m.exec('ip', ['addr', 'add', `${M_R}/26`, 'dev', mr]);
  m.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  n.exec('ip', ['route', 'add', 'default', 'via', M_N]);
  r.exec('ip', ['route', 'add', 'default', 'via', M_R]);
  frr = Bfdd.start(lab, r, [{ peer: N4, local: R4, multihop: true, receiveMs: 300, transmitMs: 300, multiplier: 3 }]);
  await waitFor('bfdd vty', () => frr.peers()?.length === 1, 15_000);
});

after(async () => {
  await lab?.cleanup();
});

for (const io of ['mmsg', 'dgram'] as const) {
  test(`${io} port: a multi-hop session across a routed hop reaches Up on both sides (TTL floor 254)`, async () => {
    await waitFor('FRR not Up (a previous probe sent AdminDown)', () => frr.peer(N4)?.status !== 'up', 15_000, 100);
    const probe = Probe.start(
      lab,
      n,
      { listen: [N4], port: 4784, minTtl: 254, sessions: [{ peer: R4, local: N4, profile }] },
      { BFD_IO: io },
    );
    try {
      await waitFor(
        `Up on both sides\n${probe.tail()}\nFRR: ${JSON.stringify(frr.peer(N4))}`,
        () => probe.state(R4)?.to === 'up' && frr.peer(N4)?.status === 'up',
        30_000,
        100,
      );
      const st = await probe.stats();
      assert.equal((st.discards as { ttl: number }).ttl, 0);
    } finally {
      await probe.stop();
    }
  });

  test(`${io} port: with the single-hop floor (255) the packets that crossed a hop are discarded as ttl (RFC 5883 §5)`, async () => {
    await waitFor('FRR back to Down after our AdminDown', () => frr.peer(N4)?.status !== 'up', 15_000, 100);
    const probe = Probe.start(
      lab,
      n,
      { listen: [N4], port: 4784, minTtl: 255, sessions: [{ peer: R4, local: N4, profile }] },
      { BFD_IO: io },
    );
    try {
      const st = await waitFor(
        `FRR's packets counted as ttl discards\n${probe.tail()}`,
        async () => {
          const s = await probe.stats();
          return (s.discards as { ttl: number }).ttl >= 2 ? s : undefined;
        },
        20_000,
        500,
      );
      assert.ok((st.discards as { ttl: number }).ttl >= 2);
      assert.notEqual(probe.state(R4)?.to, 'up');
    } finally {
      await probe.stop();
    }
  });

  test(`${io} port: setMinTtl on the open port: 255 takes the Up session down (ttl discards), 254 brings it back`, async () => {
    await waitFor('FRR back to Down after our AdminDown', () => frr.peer(N4)?.status !== 'up', 15_000, 100);
    const probe = Probe.start(
      lab,
      n,
      { listen: [N4], port: 4784, minTtl: 254, sessions: [{ peer: R4, local: N4, profile }] },
      { BFD_IO: io },
    );
    try {
      await waitFor(`Up on both sides\n${probe.tail()}`, () => probe.state(R4)?.to === 'up' && frr.peer(N4)?.status === 'up', 30_000, 100);
      const set = async (minTtl: number): Promise<void> => {
        const mark = probe.events.length;
        probe.command({ cmd: 'setMinTtl', minTtl });
        const ev = await waitFor('minTtl answer', () => probe.events.slice(mark).find((e) => e.event === 'minTtl'), 10_000, 20);
        assert.equal((ev as { ok?: boolean }).ok, true);
      };
      await set(255);
      const down = await waitFor(
        `our session leaves Up\n${probe.tail()}`,
        () => {
          const s = probe.state(R4);
          return s?.from === 'up' ? s : undefined;
        },
        20_000,
        50,
      );
      assert.equal(down.reason, 'detectTimeExpired');
      assert.ok(((await probe.stats()).discards as { ttl: number }).ttl >= 1);
      await set(254);
      await waitFor(`Up again\n${probe.tail()}`, () => probe.state(R4)?.to === 'up' && frr.peer(N4)?.status === 'up', 30_000, 100);
    } finally {
      await probe.stop();
    }
  });
}
