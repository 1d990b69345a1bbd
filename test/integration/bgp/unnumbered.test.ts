// BGP unnumbered on the native speaker against real FRR (`neighbor <ifname> interface remote-as
// external|internal`): each node namespace is joined to the router by a veth with no address but
// its IPv6 link-local one. The speaker finds the router's link-local address from FRR's Router
// Advertisements, sends its own so FRR learns it, opens the session to fe80::…%eth0 with the
// RFC 8950 extended next hop capability, and announces an IPv4 VIP with its link-local address as
// the next hop (MP_REACH_NLRI AFI 1) and an IPv6 VIP the same way. FRR must show the session
// Established with extended next hop negotiated, both prefixes in its BGP table and in the router
// namespace's kernel FIB via the node's fe80:: address, and both withdrawn when the Service goes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Frr, Speaker } from '../../lib/bgp.js';

const ROUTER_ID = '198.51.100.1';
const ROUTER6 = '2001:db8:4::1';
const ROUTER_ASN = 64513;
const CASES = {
  external: { myAsn: 64512, vip4: '203.0.113.150', vip6: '2001:db8:5::150' },
  internal: { myAsn: ROUTER_ASN, vip4: '203.0.113.151', vip6: '2001:db8:5::151' },
} as const;
type Case = keyof typeof CASES;

const lab = new Lab('un');
let r: Netns;
let frr: Frr;
const node: Partial<Record<Case, { ns: Netns; routerIf: string; lla: string }>> = {};

/** The link-local address of `ifname` in `ns`. */
function linkLocal(ns: Netns, ifname: string): string | undefined {
  const out = ns.exec('ip', ['-6', '-o', 'addr', 'show', 'dev', ifname, 'scope', 'link'], { allowFail: true });
  return /inet6 (fe80:[0-9a-f:]+)\//.exec(out)?.[1];
}

function speakerConfig(c: Case, withService: boolean) {
  const k = CASES[c];
  return {
    node: { name: `node-${c}` },
    peers: [{ name: 'r', interface: 'eth0', myAsn: k.myAsn, peerAsn: ROUTER_ASN, holdTime: 30, retryInitialMs: 500, retryMaxMs: 2000 }],
    advertisements: [{ name: 'all' }],
    services: withService ? [{ key: `default/${c}`, ips: [k.vip4, k.vip6], pool: 'p1' }] : [],
  };
}

interface FrrRoutes {
  routes?: Record<string, Array<{ valid?: boolean; nexthops?: Array<{ ip?: string; afi?: string; scope?: string; used?: boolean }> }>>;
}

function bgpNextHops(afi: 'ipv4' | 'ipv6', prefix: string): string[] {
  const t = frr.json<FrrRoutes>(`show bgp ${afi} unicast json`);
  return (t?.routes?.[prefix] ?? []).flatMap((p) => (p.nexthops ?? []).map((n) => n.ip ?? ''));
}

function kernelRoute(prefix: string): string {
  return r.exec('ip', [...(prefix.includes(':') ? ['-6'] : []), 'route', 'show', prefix], { allowFail: true }).trim();
}

function dump(s: Speaker): string {
  return [
    frr.log.slice(-40).join('\n'),
    s.events
      .slice(-25)
      .map((e) => JSON.stringify(e))
      .join('\n'),
    s.stderr.slice(-20).join('\n'),
    r.exec('ip', ['route'], { allowFail: true }),
    r.exec('ip', ['-6', 'route'], { allowFail: true }),
  ].join('\n---\n');
}

before(() => {
  requireRoot();
  requireTools('ip', 'vtysh', 'ping');
  r = lab.netns('r');
  r.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.ip_forward=1']);
  r.exec('ip', ['addr', 'add', `${ROUTER_ID}/32`, 'dev', 'lo']);
  r.exec('ip', ['addr', 'add', `${ROUTER6}/128`, 'dev', 'lo']);
  for (const c of Object.keys(CASES) as Case[]) {
    const ns = lab.netns(c.slice(0, 3));
    // No address: only the kernel's link-local one on each end.
    const routerIf = lab.link(ns, 'eth0', r, undefined, []);
    node[c] = { ns, routerIf, lla: '' };
  }
  const ifs = (Object.keys(CASES) as Case[]).map((c) => [c, node[c]?.routerIf as string] as const);
  frr = Frr.start(
    lab,
    r,
    [
      `router bgp ${ROUTER_ASN}`,
      ` bgp router-id ${ROUTER_ID}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' bgp log-neighbor-changes',
      ...ifs.map(([c, i]) => ` neighbor ${i} interface remote-as ${c}`),
      ' address-family ipv4 unicast',
      ...ifs.map(([, i]) => `  neighbor ${i} activate`),
      ' exit-address-family',
      ' address-family ipv6 unicast',
      ...ifs.map(([, i]) => `  neighbor ${i} activate`),
      ' exit-address-family',
    ].join('\n'),
  );
});

after(async () => {
  await lab.cleanup();
});

for (const c of Object.keys(CASES) as Case[]) {
  test(`unnumbered ${c === 'external' ? 'eBGP' : 'iBGP'} (remote-as ${c}): session to the router's fe80:: address, IPv4 and IPv6 VIPs via our link-local address, withdrawn on delete`, async () => {
    const k = CASES[c];
    const n = node[c] as { ns: Netns; routerIf: string };
    const lla = await waitFor('node link-local address', () => linkLocal(n.ns, 'eth0'), 10_000, 100);
    const routerLla = await waitFor('router link-local address', () => linkLocal(r, n.routerIf), 10_000, 100);
    const s = Speaker.start(lab, n.ns, speakerConfig(c, true), `node-${c}`);
    try {
      // The speaker found the router from its RA, and FRR learned us from ours.
      const found = await waitFor('speaker found the router', () => s.find((e) => e.event === 'bgp.unnumberedRouter'), 60_000, 250);
      assert.equal(found.to, `${routerLla}%eth0`);
      await waitFor('FRR session Established', () => frr.peerState(n.routerIf) === 'Established', 60_000, 250);
      const nb = frr.neighbor(n.routerIf) as { bgpNeighborAddr?: string; neighborCapabilities?: Record<string, unknown> };
      assert.equal(nb.bgpNeighborAddr, lla);
      assert.equal(nb.neighborCapabilities?.extendedNexthop, 'advertisedAndReceived');
      // FRR's BGP table: both VIPs with our link-local address as next hop.
      await waitFor('IPv4 VIP in FRR via our fe80::', () => bgpNextHops('ipv4', `${k.vip4}/32`).includes(lla), 30_000, 250);
      await waitFor('IPv6 VIP in FRR via our fe80::', () => bgpNextHops('ipv6', `${k.vip6}/128`).includes(lla), 30_000, 250);
      // The router's kernel FIB. IPv6 via our fe80::. IPv4 as zebra installs an IPv4 route with an
      // IPv6 next hop: FRR 8.4 writes it as `via 169.254.0.1 onlink` plus a permanent neighbour
      // entry 169.254.0.1 → the MAC behind our fe80:: address (newer FRR writes `via inet6 fe80::…`);
      // either form is accepted, and the packets are then checked to arrive.
      const mac = n.ns.exec('cat', ['/sys/class/net/eth0/address']).trim();
      const k4 = await waitFor(
        'IPv4 VIP in the router FIB via our link-local address',
        () => {
          const route = kernelRoute(`${k.vip4}/32`);
          if (route.includes(`via inet6 ${lla} dev ${n.routerIf}`)) return route;
          if (!route.includes(`via 169.254.0.1 dev ${n.routerIf}`)) return '';
          const neigh = r.exec('ip', ['neigh', 'show', '169.254.0.1', 'dev', n.routerIf], { allowFail: true });
          return neigh.includes(`lladdr ${mac}`) ? `${route} | neigh ${neigh.trim()}` : '';
        },
        30_000,
        250,
      );
      const k6 = await waitFor(
        'IPv6 VIP in the router FIB',
        () => (kernelRoute(`${k.vip6}/128`).includes(`via ${lla} dev ${n.routerIf}`) ? kernelRoute(`${k.vip6}/128`) : ''),
        30_000,
        250,
      );
      console.log(
        `unnumbered ${c}: FRR neighbor ${n.routerIf} bgpNeighborAddr=${nb.bgpNeighborAddr} extendedNexthop=${String(nb.neighborCapabilities?.extendedNexthop)}; router FIB: "${k4}" / "${k6}"`,
      );
      // The data plane: the VIPs answer the router's pings through those routes. The node's way
      // back is itself an IPv4 route via an IPv6 next hop (`via inet6`, kernel ≥ 5.2).
      n.ns.exec('ip', ['addr', 'add', `${k.vip4}/32`, 'dev', 'lo']);
      n.ns.exec('ip', ['addr', 'add', `${k.vip6}/128`, 'dev', 'lo']);
      n.ns.exec('ip', ['route', 'replace', `${ROUTER_ID}/32`, 'via', 'inet6', routerLla, 'dev', 'eth0']);
      n.ns.exec('ip', ['-6', 'route', 'replace', `${ROUTER6}/128`, 'via', routerLla, 'dev', 'eth0']);
      await waitFor(
        'router pings the IPv4 VIP',
        () => r.exec('ping', ['-c1', '-W1', '-I', ROUTER_ID, k.vip4], { allowFail: true }).includes(' 0% packet loss'),
        15_000,
        250,
      );
      await waitFor(
        'router pings the IPv6 VIP',
        () => r.exec('ping', ['-6', '-c1', '-W1', '-I', ROUTER6, k.vip6], { allowFail: true }).includes(' 0% packet loss'),
        15_000,
        250,
      );
      // Delete the Service: both withdrawn, from FRR and from the kernel.
      s.reconfigure(speakerConfig(c, false));
      await waitFor(
        'IPv4 VIP withdrawn',
        () => bgpNextHops('ipv4', `${k.vip4}/32`).length === 0 && kernelRoute(`${k.vip4}/32`) === '',
        30_000,
        250,
      );
      await waitFor(
        'IPv6 VIP withdrawn',
        () => bgpNextHops('ipv6', `${k.vip6}/128`).length === 0 && kernelRoute(`${k.vip6}/128`) === '',
        30_000,
        250,
      );
      assert.equal(frr.peerState(n.routerIf), 'Established');
    } catch (e) {
      console.error(dump(s));
      throw e;
    } finally {
      await s.stop();
    }
  });
}
