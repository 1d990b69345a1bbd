// Interop with GoBGP (gobgpd as the router, AS 64513): the core session + ECMP test. Three node
// namespaces run our speaker with an IPv4 and an IPv6 session each; gobgpd must show every session
// established and hold the /32 and the /128 from all three nodes (its RIB keeps every path: the
// ECMP set), with our communities, then lose them on withdrawal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { GoBgp, LAB_NODES, ROUTER4, ROUTER6, Speaker, labSpeakerConfig, threeNodeTopology } from '../../lib/bgp.js';

const VIP4 = '203.0.113.150';
const VIP6 = '2001:db8:4:ff::50';
const lab = new Lab('bg');
let gobgp: GoBgp;
const speakers: Speaker[] = [];

before(() => {
  requireRoot();
  requireTools('ip', 'gobgpd', 'gobgp');
  const { r, nodes } = threeNodeTopology(lab);
  const neighbor = (addr: string, afi: string) => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${addr}"
    peer-as = 64512
  [neighbors.timers.config]
    hold-time = 30
    keepalive-interval = 10
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${afi}"
`;
  gobgp = GoBgp.start(
    lab,
    r,
    `
[global.config]
  as = 64513
  router-id = "${ROUTER4}"
  port = 179
  local-address-list = ["${ROUTER4}", "${ROUTER6}"]
${LAB_NODES.map((n) => neighbor(n.v4, 'ipv4-unicast') + neighbor(n.v6, 'ipv6-unicast')).join('')}
`,
  );
  LAB_NODES.forEach((n, i) =>
    speakers.push(Speaker.start(lab, nodes[i] as never, labSpeakerConfig(n, [VIP4, VIP6], { communities: ['65000:100'] }))),
  );
});

after(async () => {
  await lab.cleanup();
});

test('GoBGP: all six sessions established', async () => {
  try {
    await waitFor(
      'gobgpd sees 6 established sessions',
      () => {
        const s = gobgp.states();
        return LAB_NODES.every((n) => s[n.v4] === 'established' && s[n.v6] === 'established');
      },
      120_000,
      500,
    );
  } catch (e) {
    console.error(
      gobgp.log.slice(-30).join('\n'),
      JSON.stringify(gobgp.states()),
      speakers
        .map((s) =>
          s.events
            .slice(-6)
            .map((x) => JSON.stringify(x))
            .join('\n'),
        )
        .join('\n---\n'),
    );
    throw e;
  }
});

test('GoBGP: the /32 and the /128 are held from all three nodes (ECMP set), with communities', async () => {
  const want4 = LAB_NODES.map((n) => n.v4).sort();
  const want6 = LAB_NODES.map((n) => n.v6).sort();
  await waitFor('3 IPv4 paths', () => JSON.stringify(gobgp.nextHops('ipv4', `${VIP4}/32`)) === JSON.stringify(want4), 30_000, 250);
  await waitFor('3 IPv6 paths', () => JSON.stringify(gobgp.nextHops('ipv6', `${VIP6}/128`)) === JSON.stringify(want6), 30_000, 250);
  const shown = gobgp.cli('global', 'rib', '-a', 'ipv4', `${VIP4}/32`);
  assert.match(shown, /65000:100/);
  assert.match(shown, /64512/);
});

test('GoBGP: withdrawal from one node, then all', async () => {
  const [s1, s2, s3] = speakers as [Speaker, Speaker, Speaker];
  s1.reconfigure(labSpeakerConfig(LAB_NODES[0] as never, []));
  await waitFor('2 IPv4 paths left', () => gobgp.nextHops('ipv4', `${VIP4}/32`).length === 2, 15_000, 100);
  await waitFor('2 IPv6 paths left', () => gobgp.nextHops('ipv6', `${VIP6}/128`).length === 2, 15_000, 100);
  s2.reconfigure(labSpeakerConfig(LAB_NODES[1] as never, []));
  s3.reconfigure(labSpeakerConfig(LAB_NODES[2] as never, []));
  await waitFor(
    'no paths left',
    () => gobgp.nextHops('ipv4', `${VIP4}/32`).length === 0 && gobgp.nextHops('ipv6', `${VIP6}/128`).length === 0,
    15_000,
    100,
  );
  const s = gobgp.states();
  assert.ok(
    LAB_NODES.every((n) => s[n.v4] === 'established' && s[n.v6] === 'established'),
    'sessions stay up',
  );
});
