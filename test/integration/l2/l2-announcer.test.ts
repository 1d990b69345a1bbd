// The L2 announcer against real Linux neighbours: a bridge namespace, two node namespaces
// running `src/bin/l2-announcer.ts` (pcap on eth0), a client namespace on the same bridge.
// The VIPs sit on each node's loopback (so the kernel answers ICMP for them) with
// arp_ignore=1 (so the kernel never answers ARP/NDP for them on eth0): every ARP reply and NA the
// client gets for a VIP comes from the announcer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const MAC = { a: '02:00:00:06:00:0a', b: '02:00:00:06:00:0b', c: '02:00:00:06:00:0c' } as const;
const VIP4 = '203.0.113.50';
const VIP6 = '2001:db8:6::50';
const CONFLICT4 = '203.0.113.52';
const CONFLICT6 = '2001:db8:6::52';

class Announcer {
  readonly lines: Array<Record<string, unknown>> = [];
  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        this.lines.push({ raw: l });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => {
      this.lines.push({ stderr: d.toString() });
    });
  }
  send(cmd: Record<string, unknown>): void {
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }
  find(pred: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(pred);
  }
  dump(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n');
  }
}

let lab: Lab;
let nodeA: Netns, nodeB: Netns, client: Netns, bridgeNs: Netns;
const peers: Record<string, string> = {};
const announcers: Announcer[] = [];

function node(name: 'a' | 'b', br: Netns, addr4: string, addr6: string): Netns {
  const ns = lab.netns(name);
  peers[name] = lab.link(ns, 'eth0', br, 'br0', [`${addr4}/26`, `${addr6}/64`], MAC[name]);
  // The kernel must not answer ARP for addresses that are not on the receiving interface, nor
  // use a VIP as ARP source: the announcer alone answers for the VIPs.
  ns.exec('sysctl', ['-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
  return ns;
}

function startAnnouncer(ns: Netns, ips: string[]): Announcer {
  const args = ['--import', 'tsx', 'src/bin/l2-announcer.ts', '--iface', 'eth0', '--refresh-ms', '1000', '--burst-spacing-ms', '100'];
  for (const ip of ips) args.push('--ip', ip);
  const a = new Announcer(ns.spawn(process.execPath, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] }));
  announcers.push(a);
  return a;
}

async function ready(a: Announcer): Promise<void> {
  await waitFor(
    `announcer ready\n${a.dump()}`,
    () => a.find((l) => l.event === 'l2.ready') ?? a.find((l) => l.event === 'l2.fatal'),
    30000,
  );
  assert.equal(
    a.find((l) => l.event === 'l2.fatal'),
    undefined,
    a.dump(),
  );
}

function neighMac(ip: string): string | undefined {
  const out = client.exec('ip', ['neigh', 'show', ip, 'dev', 'eth0']);
  return /lladdr ([0-9a-f:]{17})/.exec(out)?.[1];
}

before(async () => {
  requireRoot();
  requireTools('ip', 'arping', 'ndisc6', 'ping');
  lab = new Lab('l2');
  const br = lab.netns('br');
  bridgeNs = br;
  lab.bridge(br, 'br0');
  nodeA = node('a', br, '203.0.113.2', '2001:db8:6::2');
  nodeB = node('b', br, '203.0.113.3', '2001:db8:6::3');
  client = lab.netns('c');
  lab.link(client, 'eth0', br, 'br0', ['203.0.113.10/26', '2001:db8:6::10/64'], MAC.c);
  // .51 is on node A's loopback too, but not announced: nobody may answer for it.
  for (const ip of [`${VIP4}/32`, '203.0.113.51/32']) nodeA.exec('ip', ['addr', 'add', ip, 'dev', 'lo']);
  for (const ip of [`${VIP6}/128`, '2001:db8:6::51/128']) nodeA.exec('ip', ['addr', 'add', ip, 'dev', 'lo', 'nodad']);
});

after(async () => {
  for (const a of announcers) a.proc.stdin?.end();
  await lab?.cleanup();
});

test('node A answers arping and ndisc6 for its VIPs with its MAC; the client pings the VIPs', async () => {
  const a = startAnnouncer(nodeA, [VIP4, VIP6, '2001:db8:6::1:152', '2001:db8:6::2:153']);
  await ready(a);
  const arp = await waitFor(
    'arping reply',
    () =>
      client
        .exec('arping', ['-c', '1', '-w', '3', '-I', 'eth0', VIP4], { allowFail: true })
        .match(/reply from .*\[([0-9A-F:]{17})\]/i)?.[1],
    30000,
  );
  assert.equal(arp.toLowerCase(), MAC.a);
  const nd = await waitFor(
    'ndisc6 answer',
    () =>
      client
        .exec('ndisc6', ['-1', '-r', '2', '-w', '1000', VIP6, 'eth0'], { allowFail: true })
        .match(/Target link-layer address: ([0-9A-F:]{17})/i)?.[1],
    30000,
  );
  assert.equal(nd.toLowerCase(), MAC.a);
  // The solicited-node group of the VIP is in eth0's multicast filter.
  // ...and so are those of the other IPv6 VIPs (one group per solicited-node address).
  await waitFor(
    'all solicited-node groups joined',
    () => {
      const m = nodeA.exec('ip', ['maddr', 'show', 'dev', 'eth0']);
      return /33:33:ff:00:00:50/.test(m) && /33:33:ff:01:01:52/.test(m) && /33:33:ff:02:01:53/.test(m);
    },
    10_000,
  );
  client.exec('ping', ['-c', '1', '-W', '3', VIP4]);
  client.exec('ping', ['-6', '-c', '1', '-W', '3', VIP6]);
  assert.equal(neighMac(VIP4), MAC.a);
  assert.equal(neighMac(VIP6), MAC.a);
  a.send({ cmd: 'stats', ip: VIP4 });
  const st = await waitFor('stats', () => a.find((l) => l.event === 'l2.stats'));
  const byIp = (st.byIp as Record<string, { requestsReceived: number; responsesSent: number; gratuitousSent: number }>)[VIP4];
  assert.ok(byIp && byIp.requestsReceived >= 2 && byIp.responsesSent >= 2 && byIp.gratuitousSent >= 2, JSON.stringify(st));
});

test('an IP the node holds but does not announce gets no answer, from the announcer or the kernel', () => {
  const arp = client.exec('arping', ['-c', '2', '-w', '2', '-I', 'eth0', '203.0.113.51'], { allowFail: true });
  assert.doesNotMatch(arp, /reply from/i);
  const nd = client.exec('ndisc6', ['-1', '-r', '2', '-w', '500', '2001:db8:6::51', 'eth0'], { allowFail: true });
  assert.doesNotMatch(nd, /Target link-layer address/);
});

test("takeover: node B's gratuitous ARP / unsolicited NA move the client's neighbour entries without new resolution", async () => {
  const a = announcers[0]!;
  a.send({ cmd: 'withdraw', ip: VIP4 });
  a.send({ cmd: 'withdraw', ip: VIP6 });
  await waitFor('withdrawn', () => a.lines.filter((l) => l.event === 'l2.withdraw').length === 2);
  nodeA.exec('ip', ['addr', 'del', `${VIP4}/32`, 'dev', 'lo']);
  nodeA.exec('ip', ['addr', 'del', `${VIP6}/128`, 'dev', 'lo']);
  // The client sends nothing while we wait, so its kernel never re-resolves: only the
  // announcement can change the entries (which would otherwise stay on A's MAC until GC).
  assert.equal(neighMac(VIP4), MAC.a);
  nodeB.exec('ip', ['addr', 'add', `${VIP4}/32`, 'dev', 'lo']);
  nodeB.exec('ip', ['addr', 'add', `${VIP6}/128`, 'dev', 'lo', 'nodad']);
  const b = startAnnouncer(nodeB, [VIP4, VIP6]);
  await ready(b);
  await waitFor(`client neighbour ${VIP4} -> B`, () => neighMac(VIP4) === MAC.b, 20000);
  await waitFor(`client neighbour ${VIP6} -> B`, () => neighMac(VIP6) === MAC.b, 20000);
  // Traffic now reaches B (A no longer holds the VIPs at all).
  client.exec('ping', ['-c', '1', '-W', '3', VIP4]);
  client.exec('ping', ['-6', '-c', '1', '-W', '3', VIP6]);
});

test('two announcers for one IP detect each other as a conflict', async () => {
  const [a, b] = announcers;
  assert.ok(a && b);
  for (const x of [a, b]) for (const ip of [CONFLICT4, CONFLICT6]) x.send({ cmd: 'announce', ip });
  const saw = (x: Announcer, ip: string, mac: string) => () => x.find((l) => l.event === 'l2.conflict' && l.ip === ip && l.mac === mac);
  await waitFor(`A sees B on ${CONFLICT4}\n${a.dump()}`, saw(a, CONFLICT4, MAC.b), 20000);
  await waitFor(`B sees A on ${CONFLICT4}\n${b.dump()}`, saw(b, CONFLICT4, MAC.a), 20000);
  await waitFor(`A sees B on ${CONFLICT6}`, saw(a, CONFLICT6, MAC.b), 20000);
  await waitFor(`B sees A on ${CONFLICT6}`, saw(b, CONFLICT6, MAC.a), 20000);
  // No conflict was ever reported for the cleanly handed-over VIP.
  assert.equal(
    a.find((l) => l.event === 'l2.conflict' && l.ip === VIP4),
    undefined,
  );
});

test("RFC 5227: a plain host (the client's kernel) holding an announced or probed IP is detected", async () => {
  const a = announcers[0]!;
  client.exec('ip', ['addr', 'add', '203.0.113.53/26', 'dev', 'eth0']);
  client.exec('ip', ['addr', 'add', '2001:db8:6::53/64', 'dev', 'eth0', 'nodad']);
  client.exec('ip', ['addr', 'add', '203.0.113.54/26', 'dev', 'eth0']);
  // Announced: the refresh probe (ARP from 0.0.0.0, NS from ::) makes the kernel defend its address.
  a.send({ cmd: 'announce', ip: '203.0.113.53' });
  a.send({ cmd: 'announce', ip: '2001:db8:6::53' });
  // Probed only: nothing is announced, the kernel's answer is still a conflict.
  a.send({ cmd: 'probe', ip: '203.0.113.54' });
  for (const ip of ['203.0.113.53', '2001:db8:6::53', '203.0.113.54']) {
    await waitFor(
      `conflict on ${ip} with the client\n${a.dump()}`,
      () => a.find((l) => l.event === 'l2.conflict' && l.ip === ip && l.mac === MAC.c),
      20000,
    );
  }
  a.send({ cmd: 'withdraw', ip: '203.0.113.53' });
  a.send({ cmd: 'withdraw', ip: '2001:db8:6::53' });
  a.send({ cmd: 'withdraw', ip: '203.0.113.54' });
});

test('carrier: the bridge port going down and up is reported as carrier events', async () => {
  const a = announcers[0]!;
  bridgeNs.exec('ip', ['link', 'set', peers.a!, 'down']);
  await waitFor(`carrier down\n${a.dump()}`, () => a.find((l) => l.event === 'l2.carrier' && l.iface === 'eth0' && l.up === false), 15000);
  bridgeNs.exec('ip', ['link', 'set', peers.a!, 'up']);
  await waitFor(`carrier up\n${a.dump()}`, () => a.find((l) => l.event === 'l2.carrier' && l.iface === 'eth0' && l.up === true), 15000);
});

test('SIGTERM: the announcer withdraws, leaves its multicast groups and exits 0', async () => {
  const b = announcers[1]!;
  assert.match(nodeB.exec('ip', ['maddr', 'show', 'dev', 'eth0']), /33:33:ff:00:00:50/);
  b.proc.kill('SIGTERM');
  const code = await waitFor('exit', () => b.proc.exitCode ?? undefined, 15000).catch(() => b.proc.exitCode);
  assert.equal(code, 0, b.dump());
  await waitFor('multicast group left', () => !/33:33:ff:00:00:50/.test(nodeB.exec('ip', ['maddr', 'show', 'dev', 'eth0'])));
});
