// BFD coupled to BGP against FRR, as a lab: the router runs zebra + bgpd + bfdd (`neighbor … bfd
// profile fast`), the node runs our bfd-bgp-node (BGP speaker + BFD session for the same peer,
// announcing one service IP). Used by test/integration/bfd/bgp-coupling.test.ts (behaviour) and
// bench/bfd.bench.ts (time from a link cut to the route leaving the router's kernel table).
//   router r: 198.51.100.65/26    node n: 198.51.100.66/26    bridge b
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor, type Lab, type Netns } from './netns.js';
import { Bfdd, NICE, OWN_SESSION, prioritize } from './bfd.js';
import { Frr, REPO, kernelNextHops } from './bgp.js';

export const COUPLED_R4 = '198.51.100.65';
export const COUPLED_N4 = '198.51.100.66';
export const COUPLED_VIP = '203.0.113.77';

export interface CoupledLab {
  r: Netns;
  n: Netns;
  b: Netns;
  /** The node's veth end in the bridge namespace (set it down to cut the link). */
  nodePort: string;
  frr: Frr;
  bfdd: Bfdd;
  /** bfd-bgp-node's stdout JSON lines (and stderr lines as `{ stderr }`). */
  events: Array<Record<string, unknown>>;
  /** The service route is in the router's kernel table via the node. */
  routeUp(): boolean;
  /** The last events and FRR's view, for failure messages. */
  describe(): string;
}

/** Builds the lab in `lab` (cleaned up with it); resolves once bgpd registered its BFD session. */
export async function startCoupledLab(lab: Lab, profile = { intervalMs: 100, detectMultiplier: 3 }): Promise<CoupledLab> {
  const R4 = COUPLED_R4,
    N4 = COUPLED_N4,
    VIP = COUPLED_VIP;
  const r = lab.netns('r');
  const n = lab.netns('n');
  const b = lab.netns('b');
  lab.bridge(b, 'br0');
  lab.link(r, 'eth0', b, 'br0', [`${R4}/26`]);
  const nodePort = lab.link(n, 'eth0', b, 'br0', [`${N4}/26`]);
  const frr = Frr.start(
    lab,
    r,
    [
      'router bgp 64513',
      ` bgp router-id ${R4}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' no bgp network import-check',
      ` neighbor ${N4} remote-as 64512`,
      ` neighbor ${N4} timers 3 9`,
      ' address-family ipv4 unicast',
      `  neighbor ${N4} activate`,
      ' exit-address-family',
    ].join('\n'),
  );
  const ms = profile.intervalMs;
  const bfdd = Bfdd.start(lab, r, [], {
    zserv: join(frr.dir, 'zserv.api'),
    extraConf: [
      ' profile fast',
      `  receive-interval ${ms}`,
      `  transmit-interval ${ms}`,
      `  detect-multiplier ${profile.detectMultiplier}`,
      ' !',
    ].join('\n'),
  });
  // bgpd registers a neighbor's BFD session through zebra: enable it only once bfdd is
  // connected to zebra, or the registration can be lost in the start-up race.
  await waitFor('bfdd connected to zebra', () => /bfd/i.test(frr.vtysh('show zebra client summary')), 30_000, 200);
  frr.vtysh('configure terminal', 'router bgp 64513', `neighbor ${N4} bfd profile fast`);
  await waitFor('bgpd registered the BFD session with bfdd', () => bfdd.peer(N4) !== undefined, 30_000, 200);
  const dir = mkdtempSync(join(tmpdir(), `${lab.id}-node-`));
  lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const cfgPath = join(dir, 'node.json');
  writeFileSync(
    cfgPath,
    JSON.stringify({
      node: { name: 'node-66' },
      peers: [
        {
          name: 'r4',
          peerAddress: R4,
          myAsn: 64512,
          peerAsn: 64513,
          holdTime: 9,
          families: ['ipv4'],
          bfdRequired: true,
          retryInitialMs: 500,
          retryMaxMs: 2000,
        },
      ],
      services: [{ key: 'default/web', ips: [VIP], pool: 'p1' }],
      bfd: {
        listen: [N4],
        sessions: [
          {
            bgpPeer: 'r4',
            peer: R4,
            profile: { receiveIntervalMs: ms, transmitIntervalMs: ms, detectMultiplier: profile.detectMultiplier },
          },
        ],
      },
    }),
  );
  const events: Array<Record<string, unknown>> = [];
  const p = n.spawn('nice', [...NICE, process.execPath, '--import', 'tsx', join(REPO, 'src/bin/bfd-bgp-node.ts'), cfgPath], {
    cwd: REPO,
    ...OWN_SESSION,
  });
  prioritize(p);
  createInterface({ input: p.stdout! }).on('line', (l) => {
    try {
      events.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      events.push({ raw: l });
    }
  });
  createInterface({ input: p.stderr! }).on('line', (l) => {
    events.push({ stderr: l });
  });
  return {
    r,
    n,
    b,
    nodePort,
    frr,
    bfdd,
    events,
    routeUp: () => kernelNextHops(r, `${VIP}/32`).includes(N4),
    describe: () =>
      `node events:\n${events
        .slice(-12)
        .map((e) => JSON.stringify(e))
        .join('\n')}\nFRR BGP: ${frr.peerState(N4)} BFD: ${JSON.stringify(bfdd.peer(N4)?.status)}`,
  };
}
