// BFD coupled to BGP, against FRR (zebra + bgpd + bfdd, `neighbor … bfd profile fast`): our
// bfd-bgp-node (BGP speaker + BFD session for the same peer) in a node namespace.
//   router r: 198.51.100.65/26    node n: 198.51.100.66/26    bridge b
// Behaviour, not timings: our BGP session establishes only after BFD is Up; a cut link takes our
// BFD down (diag 1) and our BGP session down with reason bfdDown; on the router, FRR resets the
// neighbor when its BFD goes down and the service route leaves the kernel table; when the
// link returns, BFD, BGP and the route come back. (FRR 8.4 reports the reset as "BGP
// Notification send" because bgpd sends a Cease when BFD stops the peer; its neighbor JSON shows
// the BFD state as peerBfdInfo.status.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Bfdd, NICE, OWN_SESSION, prioritize } from '../../lib/bfd.js';
import { Frr, REPO, kernelNextHops } from '../../lib/bgp.js';

const R4 = '198.51.100.65';
const N4 = '198.51.100.66';
const VIP = '203.0.113.77';

let lab: Lab;
let r: Netns;
let b: Netns;
let nodePort: string;
let frr: Frr;
let bfdd: Bfdd;
const events: Array<Record<string, unknown>> = [];
const tail = () => events.slice(-12).map((e) => JSON.stringify(e)).join('\n');
const last = (pred: (e: Record<string, unknown>) => boolean) => [...events].reverse().find(pred);
const routeUp = () => kernelNextHops(r, `${VIP}/32`).includes(N4);
/** waitFor whose failure message carries the node's last events and FRR's view, taken at failure time. */
const wait = <T>(what: string, fn: () => T | Promise<T>, ms: number) => waitFor(what, fn, ms, 100).catch((e: Error) => {
  throw new Error(`${e.message}\nnode events:\n${tail()}\nFRR BGP: ${frr?.peerState(N4)} BFD: ${JSON.stringify(bfdd?.peer(N4)?.status)}`);
});

before(async () => {
  requireRoot();
  requireTools('ip', 'vtysh');
  lab = new Lab('bf');
  r = lab.netns('r');
  const n = lab.netns('n');
  b = lab.netns('b');
  lab.bridge(b, 'br0');
  lab.link(r, 'eth0', b, 'br0', [`${R4}/26`]);
  nodePort = lab.link(n, 'eth0', b, 'br0', [`${N4}/26`]);
  frr = Frr.start(lab, r, [
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
  ].join('\n'));
  bfdd = Bfdd.start(lab, r, [], {
    zserv: join(frr.dir, 'zserv.api'),
    extraConf: [' profile fast', '  receive-interval 100', '  transmit-interval 100', '  detect-multiplier 3', ' !'].join('\n'),
  });
  // bgpd registers a neighbor's BFD session through zebra: enable it only once bfdd is
  // connected to zebra, or the registration can be lost in the start-up race.
  await waitFor('bfdd connected to zebra', () => /bfd/i.test(frr.vtysh('show zebra client summary')), 30_000, 200);
  frr.vtysh('configure terminal', 'router bgp 64513', `neighbor ${N4} bfd profile fast`);
  await waitFor('bgpd registered the BFD session with bfdd', () => bfdd.peer(N4) !== undefined, 30_000, 200);
  const dir = mkdtempSync(join(tmpdir(), `${lab.id}-node-`));
  lab.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const cfgPath = join(dir, 'node.json');
  writeFileSync(cfgPath, JSON.stringify({
    node: { name: 'node-66' },
    peers: [{ name: 'r4', peerAddress: R4, myAsn: 64512, peerAsn: 64513, holdTime: 9, families: ['ipv4'], bfdRequired: true, retryInitialMs: 500, retryMaxMs: 2000 }],
    services: [{ key: 'default/web', ips: [VIP], pool: 'p1' }],
    bfd: { listen: [N4], sessions: [{ bgpPeer: 'r4', peer: R4, profile: { receiveIntervalMs: 100, transmitIntervalMs: 100, detectMultiplier: 3 } }] },
  }));
  const p = n.spawn('nice', [...NICE, process.execPath, '--import', 'tsx', join(REPO, 'src/bin/bfd-bgp-node.ts'), cfgPath], { cwd: REPO, ...OWN_SESSION });
  prioritize(p);
  createInterface({ input: p.stdout! }).on('line', (l) => { try { events.push(JSON.parse(l) as Record<string, unknown>); } catch { events.push({ raw: l }); } });
  createInterface({ input: p.stderr! }).on('line', (l) => { events.push({ stderr: l }); });
});

after(async () => {
  await lab?.cleanup();
});

test('BGP establishes only after its BFD session is Up; the route reaches the router kernel', async () => {
  await wait('BGP Established and route installed', () => frr.peerState(N4) === 'Established' && routeUp(), 60_000);
  const bfdUp = events.findIndex((e) => e.event === 'bfdState' && e.to === 'up');
  const bgpUp = events.findIndex((e) => e.event === 'sessionUp' && e.peer === 'r4');
  assert.ok(bfdUp >= 0 && bgpUp > bfdUp, `BFD Up (#${bfdUp}) before BGP Established (#${bgpUp})\n${tail()}`);
  await wait('FRR BFD session Up', () => bfdd.peer(N4)?.status === 'up', 30_000);
});

test('a cut link takes BFD down, then BGP with reason bfdDown; the router drops the route for BFD', async () => {
  await wait('route installed', routeUp, 60_000);
  const mark = events.length;
  b.exec('ip', ['link', 'set', nodePort, 'down']);
  try {
    const bfdDown = await wait('our BFD down', () => events.slice(mark).find((e) => e.event === 'bfdState' && e.from === 'up'), 10_000);
    assert.equal(bfdDown.to, 'down');
    assert.equal(bfdDown.reason, 'detectTimeExpired');
    const bgpDown = await wait('our BGP down', () => events.slice(mark).find((e) => e.event === 'sessionDown' && e.peer === 'r4'), 10_000);
    assert.equal(bgpDown.reason, 'bfdDown');
    // On the router: FRR's own BFD (peering with ours) goes down, bgpd sees it and the route
    // leaves the kernel table.
    const bfdInfo = () => (frr.neighbor(N4)?.peerBfdInfo ?? {}) as { status?: string };
    await wait(`route gone from the router kernel`, () => !routeUp(), 20_000);
    await wait(`bgpd sees its BFD session Down`, () => bfdInfo().status === 'Down', 20_000);
    assert.notEqual(frr.peerState(N4), 'Established');
  } finally {
    b.exec('ip', ['link', 'set', nodePort, 'up']);
  }
  await wait('BFD, BGP and the route back', () => frr.peerState(N4) === 'Established' && routeUp() && last((e) => e.event === 'bfdState')?.to === 'up', 60_000);
});
