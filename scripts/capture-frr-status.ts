// Captures the JSON the FRR backend reads back (`show bgp vrf all neighbors json`, `show bfd peers
// json`) from a real FRR in a lab, for the fixtures of src/domain/frr-status.test.ts
// (test/fixtures/frr/). Two namespaces: a router (FRR 64501) and a node (FRR 64500 configured as
// the backend renders it: neighbor with a description = the BGPPeer's name, a BFD profile), plus a
// neighbor that never answers. States captured: established; the router shuts the neighbor down
// (NOTIFICATION Cease/administrative shutdown); up again; the router's address goes (BFD down).
// Also a neighbor refused every time (`badas`: the node expects AS 64599, the router is 64501, so
// the node sends NOTIFICATION 2/2 Bad Peer AS to each OPEN and the session never comes up), saved
// as never-up once that happened twice. Run as root under the integration lock (with the argument
// `never-up`, only that fixture is written and the run stops there):
//   flock /tmp/mooring-integration.lock node --import tsx scripts/capture-frr-status.ts [never-up]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, waitFor } from '../test/lib/netns.js';
import { Frr, REPO } from '../test/lib/bgp.js';

const OUT = join(REPO, 'test', 'fixtures', 'frr');

const lab = new Lab('fc');
try {
  const r = lab.netns('r');
  const n = lab.netns('n');
  const peer = lab.link(n, 'eth0', r, undefined, ['198.51.100.11/24', '2001:db8:4::11/64']);
  r.exec('ip', ['link', 'set', peer, 'down']);
  r.exec('ip', ['link', 'set', peer, 'name', 'eth0']);
  r.exec('ip', ['addr', 'add', '198.51.100.1/24', 'dev', 'eth0']);
  r.exec('ip', ['addr', 'add', '2001:db8:4::1/64', 'dev', 'eth0', 'nodad']);
  r.exec('ip', ['link', 'set', 'eth0', 'up']);
  // The refused neighbor: node 198.51.100.12 → router 198.51.100.2 (passive there, so it never
  // connects from the router's first address to the node, where `router` peers).
  r.exec('ip', ['addr', 'add', '198.51.100.2/24', 'dev', 'eth0']);
  n.exec('ip', ['addr', 'add', '198.51.100.12/24', 'dev', 'eth0']);
  const router = Frr.start(
    lab,
    r,
    [
      'router bgp 64501',
      ' bgp router-id 198.51.100.1',
      ' no bgp ebgp-requires-policy',
      ' no bgp network import-check',
      ' neighbor 198.51.100.11 remote-as 64500',
      ' neighbor 198.51.100.11 bfd',
      ' neighbor 198.51.100.11 timers 3 9',
      ' neighbor 2001:db8:4::11 remote-as 64500',
      ' neighbor 198.51.100.12 remote-as 64500',
      ' neighbor 198.51.100.12 passive',
      ' neighbor 198.51.100.12 update-source 198.51.100.2',
      ' address-family ipv6 unicast',
      '  neighbor 2001:db8:4::11 activate',
      ' exit-address-family',
      ' address-family ipv4 unicast',
      '  network 198.51.100.128/25',
      ' exit-address-family',
    ].join('\n'),
    { bfdd: true },
  );
  const node = Frr.start(
    lab,
    n,
    [
      'bfd',
      ' profile fast',
      '  receive-interval 300',
      '  transmit-interval 300',
      ' !',
      '!',
      'router bgp 64500',
      ' bgp router-id 198.51.100.11',
      ' no bgp ebgp-requires-policy',
      ' no bgp network import-check',
      ' neighbor 198.51.100.1 remote-as 64501',
      ' neighbor 198.51.100.1 description router',
      ' neighbor 198.51.100.1 timers 3 9',
      ' neighbor 198.51.100.1 bfd',
      ' neighbor 198.51.100.1 bfd profile fast',
      ' neighbor 2001:db8:4::1 remote-as 64501',
      ' neighbor 2001:db8:4::1 description router6',
      ' neighbor 198.51.100.99 remote-as 64501',
      ' neighbor 198.51.100.99 description silent',
      ' neighbor 198.51.100.2 remote-as 64599',
      ' neighbor 198.51.100.2 description badas',
      ' neighbor 198.51.100.2 update-source 198.51.100.12',
      ' neighbor 198.51.100.2 timers connect 1',
      ' address-family ipv4 unicast',
      '  network 203.0.113.1/32',
      '  network 203.0.113.2/32',
      ' exit-address-family',
      ' address-family ipv6 unicast',
      '  network 2001:db8:5::1/128',
      '  neighbor 2001:db8:4::1 activate',
      ' exit-address-family',
    ].join('\n'),
    { bfdd: true },
  );
  mkdirSync(OUT, { recursive: true });
  const state = (addr: string) =>
    node.json<Record<string, Record<string, { bgpState?: string }>>>('show bgp vrf all neighbors json')?.default?.[addr]?.bgpState;
  const bfd = () =>
    node.json<Array<{ peer: string; status: string }>>('show bfd peers json')?.find((p) => p.peer === '198.51.100.1')?.status;
  const save = (name: string) => {
    writeFileSync(
      join(OUT, `${name}.neighbors.json`),
      JSON.stringify(JSON.parse(node.vtysh('show bgp vrf all neighbors json')), null, 1) + '\n',
    );
    writeFileSync(join(OUT, `${name}.bfd.json`), JSON.stringify(JSON.parse(node.vtysh('show bfd peers json')), null, 1) + '\n');
    console.log(`saved ${name}`);
  };
  const established = async (what: string) => {
    await waitFor(
      what,
      () => state('198.51.100.1') === 'Established' && state('2001:db8:4::1') === 'Established' && bfd() === 'up',
      120_000,
      200,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: ${node.vtysh('show bgp summary')}\n${node.vtysh('show bfd peers brief')}\n${router.log.slice(-20).join('\n')}`,
      );
    });
    // Both prefixes out to the router.
    await waitFor(`${what}: prefixes sent`, () => router.ribCount('ipv4') >= 2, 30_000, 200);
  };
  await established('established');
  // Refused twice: each OPEN from the router answered with NOTIFICATION 2/2.
  const badas = () =>
    node.json<Record<string, Record<string, { messageStats?: { notificationsSent?: number } }>>>('show bgp vrf all neighbors json')
      ?.default?.['198.51.100.2']?.messageStats?.notificationsSent ?? 0;
  await waitFor('badas refused twice', () => badas() >= 2, 60_000, 200);
  save('never-up');
  if (!process.argv.includes('never-up')) {
    save('established');
    router.vtysh('configure terminal', 'router bgp 64501', 'neighbor 198.51.100.11 shutdown');
    await waitFor('down by shutdown', () => state('198.51.100.1') !== 'Established', 30_000, 100);
    // The router's BFD session goes with its neighbor: ours leaves up (down or admin-down at the peer).
    await waitFor('BFD no longer up', () => bfd() !== 'up', 30_000, 100).catch(() => console.log(`BFD still ${bfd()}`));
    save('shutdown');
    router.vtysh('configure terminal', 'router bgp 64501', 'no neighbor 198.51.100.11 shutdown');
    await established('up again');
    save('up-again');
    // The router's IPv4 address goes: its BFD packets stop, ours detects it (0.9 s) and bgpd resets the session.
    r.exec('ip', ['addr', 'del', '198.51.100.1/24', 'dev', 'eth0']);
    await waitFor('down by BFD', () => state('198.51.100.1') !== 'Established' && bfd() === 'down', 30_000, 100);
    save('bfd-down');
  }
} finally {
  await lab.cleanup();
}
