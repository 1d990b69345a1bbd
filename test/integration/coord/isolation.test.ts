// A speaker isolated from NATS by nftables in its namespace, still on the L2 segment: the others
// take its IPs over, it yields on the ARP conflict (its own heartbeats stop echoing back, so it
// knows it is cut off even though its client has not noticed), and in the end each VIP is
// answered by one MAC only. Heals afterwards: the node returns and the cluster settles again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../lib/netns.js';
import { CoordLab, NATS_IPS } from './coord-lab.js';

const VIPS = ['203.0.113.71', '203.0.113.72', '203.0.113.73', '203.0.113.74', '203.0.113.75', '203.0.113.76'];
let lab: CoordLab;

before(async () => {
  lab = await CoordLab.startSettled({ vips: VIPS, announcer: 'pcap', intervalMs: 250, misses: 12 });
});

after(async () => {
  await lab?.cleanup();
});

/** All distinct MACs answering 3 ARP requests for `ip`. */
function answerers(ip: string): string[] {
  const out = lab.client.exec('arping', ['-c', '3', '-w', '4', '-I', 'eth0', ip], { allowFail: true });
  return [...new Set([...out.matchAll(/\[([0-9a-fA-F:]{17})\]/g)].map((m) => (m[1] as string).toLowerCase()))].sort();
}

test('node isolated from NATS by nftables: its IPs move, it yields, one answer per VIP', async () => {
  const own = lab.ownership();
  const victim = lab.nodes.find((n) => [...own.values()].some((o) => o[0] === n.name));
  assert.ok(victim);
  const lost = VIPS.filter((ip) => own.get(ip)?.[0] === victim.name);
  const nats = `{ ${NATS_IPS.join(', ')} }`;
  victim.ns.exec('nft', ['-f', '-'], {
    input: [
      'table inet coiso {',
      `  chain out { type filter hook output priority 0; policy accept; ip daddr ${nats} drop; }`,
      `  chain in { type filter hook input priority 0; policy accept; ip saddr ${nats} drop; }`,
      '}',
    ].join('\n'),
  });
  const survivors = lab.nodes.filter((n) => n !== victim);
  await waitFor('survivors took the victim’s IPs', () => lost.every((ip) => survivors.some((n) => n.owned().has(ip))), 30000, 100);
  await waitFor('the isolated node yielded every IP', () => victim.owned().size === 0, 30000, 100);
  const reasons = victim.events.filter((e) => e.event === 'transition' && e.from === 'announcing').map((e) => e.reason);
  assert.ok(reasons.length > 0 && reasons.every((r) => r === 'conflictDetected'), `reasons: ${reasons.join(',')}`);
  for (const ip of lost) {
    const owner = survivors.find((n) => n.owned().has(ip));
    assert.ok(owner);
    assert.deepEqual(answerers(ip), [owner.mac], `${ip} answered by more than its owner`);
  }
  // Heal: the node is back on NATS; every VIP again has exactly one owner.
  victim.ns.exec('nft', ['delete', 'table', 'inet', 'coiso']);
  await waitFor('settled after heal', () => lab.settled(), 60000, 200);
  // The healed node wins back what the election gives it (after its resync window), so the owner
  // is re-read on every poll: one MAC answers, and it is the current owner's.
  for (const ip of VIPS) {
    await waitFor(
      `${ip} answered by its owner only`,
      () => {
        const owner = lab.nodes.find((n) => n.alive() && n.owned().has(ip));
        return owner !== undefined && lab.settled() && JSON.stringify(answerers(ip)) === JSON.stringify([owner.mac]);
      },
      30000,
      200,
    );
  }
});
