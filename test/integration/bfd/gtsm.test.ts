// RFC 5881 §5 (GTSM) on receive: a single-hop BFD Control packet that arrives with a TTL or Hop
// Limit other than 255 is discarded. A sender namespace puts a valid Down packet for our session
// on the link with TTL/Hop Limit 254 (discarded and counted as `ttl`, the session stays Down),
// then the same packet with 255 (accepted: Down + remote Down → Init).
//   node n (bfd-probe): 198.51.100.70/26, 2001:db8:5::10/64   sender x: 198.51.100.71/26, 2001:db8:5::11/64
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Probe } from '../../lib/bfd.js';

const N4 = '198.51.100.70';
const X4 = '198.51.100.71';
const N6 = '2001:db8:5::10';
const X6 = '2001:db8:5::11';

let lab: Lab;
let x: Netns;
let probe: Probe;

/** One BFD Down packet (My Discriminator 0x1234, Your Discriminator 0) from `from` with `ttl`. */
function sendDown(from: string, to: string, ttl: number): void {
  const script = `
    const s = require('node:dgram').createSocket(${JSON.stringify(from.includes(':') ? 'udp6' : 'udp4')});
    s.bind(49200, ${JSON.stringify(from)}, () => {
      s.setTTL(${ttl});
      const p = Buffer.from('2040031800001234000000000007a1200007a12000000000', 'hex');
      s.send(p, 3784, ${JSON.stringify(to)}, (e) => { if (e) { console.error(e.message); process.exitCode = 1; } s.close(); });
    });`;
  x.exec(process.execPath, ['-e', script]);
}

before(async () => {
  requireRoot();
  requireTools('ip');
  lab = new Lab('bg');
  const n = lab.netns('n');
  x = lab.netns('x');
  const b = lab.netns('b');
  lab.bridge(b, 'br0');
  lab.link(n, 'eth0', b, 'br0', [`${N4}/26`, `${N6}/64`]);
  lab.link(x, 'eth0', b, 'br0', [`${X4}/26`, `${X6}/64`]);
  const profile = { receiveIntervalMs: 100, transmitIntervalMs: 100, detectMultiplier: 3 };
  probe = Probe.start(lab, n, {
    listen: [N4, N6],
    sessions: [
      { peer: X4, profile },
      { peer: X6, profile },
    ],
  });
  await waitFor('probe ready', () => probe.events.some((e) => e.event === 'ready' || e.event === 'error'), 20_000);
  const ready = probe.events.find((e) => e.event === 'ready');
  assert.ok(ready, probe.tail());
  assert.equal(ready.gtsm, true, 'the received-TTL filter is attached (koffi loads)');
  // IPv6 DAD on the sender's address would make its first sends fail.
  await waitFor(
    'sender IPv6 address usable',
    () => !x.exec('ip', ['-6', 'addr', 'show', 'dev', 'eth0', 'tentative']).includes('inet6'),
    10_000,
    100,
  );
});

after(async () => {
  await lab?.cleanup();
});

for (const [family, from, to] of [
  ['IPv4 TTL', X4, N4],
  ['IPv6 Hop Limit', X6, N6],
] as const) {
  test(`${family} 254 is discarded and counted; 255 is accepted`, async () => {
    const before = await probe.stats();
    const ttlBefore = (before.discards as { ttl: number }).ttl;
    sendDown(from, to, 254);
    await waitFor(
      'the packet counted as a ttl discard',
      async () => ((await probe.stats()).discards as { ttl: number }).ttl === ttlBefore + 1,
      10_000,
      100,
    );
    const s = (await probe.stats()).sessions as Array<{ peer: string; state: string; input: number }>;
    const mine = s.find((e) => e.peer === from);
    assert.equal(mine?.state, 'down', 'not taken as a packet from the peer');
    assert.equal(mine?.input, 0);
    assert.equal(probe.state(from), undefined, 'no state change');
    sendDown(from, to, 255);
    await waitFor(`Init after a packet with 255\n${probe.tail()}`, () => probe.state(from)?.to === 'init', 10_000);
  });
}
