// Interop with BIRD 2 (the router, AS 64513): the core session + ECMP test. Three node namespaces
// run our speaker with an IPv4 and an IPv6 session each; BIRD must show every session
// Established and install the /32 and the /128 as 3-way ECMP in the router's kernel table
// (kernel protocol with `merge paths`), then remove them on withdrawal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Bird, LAB_NODES, ROUTER4, Speaker, kernelNextHops, labSpeakerConfig, threeNodeTopology } from '../../lib/bgp.js';

const VIP4 = '203.0.113.151';
const VIP6 = '2001:db8:4:ff::51';
const lab = new Lab('bg');
let r: Netns;
let bird: Bird;
const speakers: Speaker[] = [];

before(() => {
  requireRoot();
  requireTools('ip', 'bird', 'birdc');
  const topo = threeNodeTopology(lab);
  r = topo.r;
  const peers = LAB_NODES.map(
    (n, i) => `
protocol bgp n${i}v4 {
  local as 64513; neighbor ${n.v4} as 64512; hold time 30; direct;
  ipv4 { import all; export none; };
}
protocol bgp n${i}v6 {
  local as 64513; neighbor ${n.v6} as 64512; hold time 30; direct;
  ipv6 { import all; export none; };
}`,
  ).join('\n');
  bird = Bird.start(
    lab,
    r,
    `
router id ${ROUTER4};
protocol device {}
protocol kernel k4 { ipv4 { export all; }; merge paths on; }
protocol kernel k6 { ipv6 { export all; }; merge paths on; }
${peers}
`,
  );
  LAB_NODES.forEach((n, i) =>
    speakers.push(
      Speaker.start(lab, topo.nodes[i] as Netns, labSpeakerConfig(n, [VIP4, VIP6], { communities: ['65000:100', 'large:64512:1:2'] })),
    ),
  );
});

after(async () => {
  await lab.cleanup();
});

test('BIRD: all six sessions Established', async () => {
  try {
    await waitFor(
      'BIRD sees 6 Established sessions',
      () => {
        const s = Object.values(bird.states());
        return s.length === 6 && s.every((x) => x.startsWith('Established'));
      },
      120_000,
      500,
    );
  } catch (e) {
    console.error(
      bird.log.slice(-30).join('\n'),
      JSON.stringify(bird.states()),
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

test('BIRD: the /32 and the /128 are installed as 3-way ECMP in the kernel, with communities', async () => {
  const want4 = LAB_NODES.map((n) => n.v4).sort();
  const want6 = LAB_NODES.map((n) => n.v6).sort();
  try {
    await waitFor(
      '3 IPv4 next hops in the kernel',
      () => JSON.stringify(kernelNextHops(r, `${VIP4}/32`)) === JSON.stringify(want4),
      30_000,
      250,
    );
    await waitFor(
      '3 IPv6 next hops in the kernel',
      () => JSON.stringify(kernelNextHops(r, `${VIP6}/128`)) === JSON.stringify(want6),
      30_000,
      250,
    );
  } catch (e) {
    console.error(bird.birdc('show', 'route', 'all'), r.exec('ip', ['route']), r.exec('ip', ['-6', 'route']));
    throw e;
  }
  const all = bird.birdc('show', 'route', `${VIP4}/32`, 'all');
  assert.match(all, /BGP\.community: \(65000,100\)/);
  assert.match(all, /BGP\.large_community: \(64512, 1, 2\)/);
});

test('BIRD: withdrawal from one node, then all', async () => {
  const [s1, s2, s3] = speakers as [Speaker, Speaker, Speaker];
  s1.reconfigure(labSpeakerConfig(LAB_NODES[0] as never, []));
  await waitFor('2 IPv4 next hops left', () => kernelNextHops(r, `${VIP4}/32`).length === 2, 15_000, 100);
  await waitFor('2 IPv6 next hops left', () => kernelNextHops(r, `${VIP6}/128`).length === 2, 15_000, 100);
  s2.reconfigure(labSpeakerConfig(LAB_NODES[1] as never, []));
  s3.reconfigure(labSpeakerConfig(LAB_NODES[2] as never, []));
  await waitFor(
    'routes gone from the kernel',
    () => !r.exec('ip', ['route', 'show', `${VIP4}/32`]).trim() && !r.exec('ip', ['-6', 'route', 'show', `${VIP6}/128`]).trim(),
    15_000,
    100,
  );
  assert.ok(
    Object.values(bird.states()).every((x) => x.startsWith('Established')),
    'sessions stay up',
  );
});
