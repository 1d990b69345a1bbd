// BFD coupled to BGP, against FRR (zebra + bgpd + bfdd, `neighbor … bfd profile fast`): our
// bfd-bgp-node (BGP speaker + BFD session for the same peer) in a node namespace.
//   router r: 198.51.100.65/26    node n: 198.51.100.66/26    bridge b
// Behaviour, not timings: our BGP session establishes only after BFD is Up; a cut link takes our
// BFD down (diag 1) and our BGP session down with reason bfdDown; on the router, FRR resets the
// neighbor when its BFD goes down and the service route leaves the kernel table; when the
// link returns, BFD, BGP and the route come back. (FRR 8.4 reports the reset as "BGP
// Notification send" because bgpd sends a Cease when BFD stops the peer; its neighbor JSON shows
// the BFD state as peerBfdInfo.status.) The lab is test/lib/bfd-bgp.ts; bench:bfd times the cut →
// route-gone path on it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { COUPLED_N4 as N4, startCoupledLab, type CoupledLab } from '../../lib/bfd-bgp.js';

let lab: Lab;
let c: CoupledLab;
const last = (pred: (e: Record<string, unknown>) => boolean) => [...c.events].reverse().find(pred);
const routeUp = () => c.routeUp();
/** waitFor whose failure message carries the node's last events and FRR's view, taken at failure time. */
const wait = <T>(what: string, fn: () => T | Promise<T>, ms: number) =>
  waitFor(what, fn, ms, 100).catch((e: Error) => {
    throw new Error(`${e.message}\n${c?.describe()}`);
  });

before(async () => {
  requireRoot();
  requireTools('ip', 'vtysh');
  lab = new Lab('bf');
  c = await startCoupledLab(lab);
});

after(async () => {
  await lab?.cleanup();
});

test('BGP establishes only after its BFD session is Up; the route reaches the router kernel', async () => {
  await wait('BGP Established and route installed', () => c.frr.peerState(N4) === 'Established' && routeUp(), 60_000);
  const bfdUp = c.events.findIndex((e) => e.event === 'bfdState' && e.to === 'up');
  const bgpUp = c.events.findIndex((e) => e.event === 'sessionUp' && e.peer === 'r4');
  assert.ok(bfdUp >= 0 && bgpUp > bfdUp, `BFD Up (#${bfdUp}) before BGP Established (#${bgpUp})\n${c.describe()}`);
  await wait('FRR BFD session Up', () => c.bfdd.peer(N4)?.status === 'up', 30_000);
});

test('a cut link takes BFD down, then BGP with reason bfdDown; the router drops the route for BFD', async () => {
  await wait('route installed', routeUp, 60_000);
  const mark = c.events.length;
  c.b.exec('ip', ['link', 'set', c.nodePort, 'down']);
  try {
    const bfdDown = await wait('our BFD down', () => c.events.slice(mark).find((e) => e.event === 'bfdState' && e.from === 'up'), 10_000);
    assert.equal(bfdDown.to, 'down');
    assert.equal(bfdDown.reason, 'detectTimeExpired');
    const bgpDown = await wait(
      'our BGP down',
      () => c.events.slice(mark).find((e) => e.event === 'sessionDown' && e.peer === 'r4'),
      10_000,
    );
    assert.equal(bgpDown.reason, 'bfdDown');
    // On the router: FRR's own BFD (peering with ours) goes down, bgpd sees it and the route
    // leaves the kernel table.
    const bfdInfo = () => (c.frr.neighbor(N4)?.peerBfdInfo ?? {}) as { status?: string };
    await wait(`route gone from the router kernel`, () => !routeUp(), 20_000);
    await wait(`bgpd sees its BFD session Down`, () => bfdInfo().status === 'Down', 20_000);
    assert.notEqual(c.frr.peerState(N4), 'Established');
  } finally {
    c.b.exec('ip', ['link', 'set', c.nodePort, 'up']);
  }
  await wait(
    'BFD, BGP and the route back',
    () => c.frr.peerState(N4) === 'Established' && routeUp() && last((e) => e.event === 'bfdState')?.to === 'up',
    60_000,
  );
});
