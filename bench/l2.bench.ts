// `npm run bench:l2`: the L2 announcer's figures on this machine, in namespaces (needs root):
//  - burst1000Ms: time for the announcer to emit the first takeover round for 1,000 new IPs
//    (gratuitous ARP request+reply per IPv4, unsolicited NA per IPv6), and the span the client saw
//  - arpP50Us / arpP99Us: ARP request→reply latency seen by a client (raw pcap on its eth0) while
//    the node owns 10,000 IPs
//  - repliesPerSec: replies received by the client with 32 requests outstanding
//  - (table only) NS→NA latency for IPv6 VIPs at the same 10,000 owned IPs
// Owned set: only documentation ranges are allowed in the lab, so the 10,000 are 480 IPv4
// (203.0.113.32-255, 198.51.100.0-255) and 9,520 IPv6 (2001:db8:6::1:0 upwards); the lookup is one
// Set membership either way. Prints a table, then one JSON line. Never asserts times.
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../test/lib/netns.js';
import { requireRoot, requireTools } from '../test/lib/prereq.js';

const REPO = new URL('../', import.meta.url).pathname;
const NODE_MAC = '02:00:00:06:b0:0a';
const CLIENT_MAC = '02:00:00:06:b0:0c';

function jsonLines(p: ChildProcess): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  createInterface({ input: p.stdout! }).on('line', (l) => {
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* not ours */
    }
  });
  p.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  return out;
}

function ipv4s(): string[] {
  const out: string[] = [];
  for (let i = 32; i < 256; i++) out.push(`203.0.113.${i}`);
  for (let i = 0; i < 256; i++) out.push(`198.51.100.${i}`);
  return out;
}
function ipv6s(n: number, from = 0x10000): string[] {
  return Array.from({ length: n }, (_, i) => `2001:db8:6::${((from + i) >> 16).toString(16)}:${((from + i) & 0xffff).toString(16)}`);
}

async function main(): Promise<void> {
  requireRoot();
  requireTools('ip');
  const lab = new Lab('l2b');
  try {
    const br = lab.netns('br');
    lab.bridge(br, 'br0');
    const node: Netns = lab.netns('n');
    lab.link(node, 'eth0', br, 'br0', ['203.0.113.2/26', '2001:db8:6::2/64'], NODE_MAC);
    node.exec('sysctl', ['-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
    const client: Netns = lab.netns('c');
    lab.link(client, 'eth0', br, 'br0', ['203.0.113.10/26', '2001:db8:6::10/64'], CLIENT_MAC);

    const v4 = ipv4s();
    const burstSet = [...v4, ...ipv6s(1000 - v4.length)];
    const rest = ipv6s(10_000 - burstSet.length, 0x10000 + (1000 - v4.length));

    const ann = node.spawn(
      process.execPath,
      ['--import', 'tsx', 'src/bin/l2-announcer.ts', '--iface', 'eth0', '--refresh-ms', '0', '--burst-rounds', '1'],
      { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const annOut = jsonLines(ann);
    await waitFor('announcer ready', () => annOut.find((l) => l.event === 'l2.ready'), 30000);

    // Burst: the client listens first, then 1,000 IPs are announced at once.
    const expectFrames = v4.length * 2 + (burstSet.length - v4.length);
    const watcher = client.spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/l2-client.ts', 'burst', 'eth0', String(expectFrames), '15000'],
      { cwd: REPO },
    );
    const watchOut = jsonLines(watcher);
    await waitFor('burst watcher listening', () => watchOut.find((l) => l.listening), 30000);
    ann.stdin!.write(`${JSON.stringify({ cmd: 'announceMany', ips: burstSet })}\n`);
    const burst = await waitFor('burst measured', () => annOut.find((l) => l.event === 'l2.burst'), 30000);
    const seen = await waitFor('burst seen by client', () => watchOut.find((l) => 'frames' in l), 30000);

    ann.stdin!.write(`${JSON.stringify({ cmd: 'announceMany', ips: rest })}\n`);
    await waitFor('10,000 announced', () => annOut.find((l) => l.event === 'l2.burst' && l.announced === 10_000), 60000);
    // Let the 9,000-IP burst drain before measuring steady-state latency.
    await new Promise((r) => setTimeout(r, 1000));

    const probeIps = v4.filter((_, i) => i % 7 === 0);
    const cl = client.spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/l2-client.ts', 'arp', 'eth0', '203.0.113.10', probeIps.join(','), '3000', '3000'],
      { cwd: REPO },
    );
    const clOut = jsonLines(cl);
    const arp = await waitFor('client measurements', () => clOut.find((l) => 'p50Us' in l), 120000);
    const nd = client.spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/l2-client.ts', 'ndp', 'eth0', '2001:db8:6::10', rest.filter((_, i) => i % 97 === 0).join(','), '1000'],
      { cwd: REPO },
    );
    const ndOut = jsonLines(nd);
    const ndpRes = await waitFor('client NDP measurements', () => ndOut.find((l) => 'p50Us' in l), 120000);
    ann.stdin!.write(`${JSON.stringify({ cmd: 'stats' })}\n`);
    const stats = await waitFor('announcer stats', () => annOut.find((l) => l.event === 'l2.stats'), 10000);

    const rows: Array<[string, unknown]> = [
      ['owned IPs', stats.announced],
      ['burst: IPs', burst.count],
      ['burst: announcer first round (ms)', burst.ms],
      ['burst: frames seen by client', `${String(seen.frames)} / ${expectFrames}`],
      ['burst: client first→last frame (ms)', seen.spanMs],
      ['ARP samples (lost)', `${String(arp.samples)} (${String(arp.lost)})`],
      ['ARP latency p50 (µs)', arp.p50Us],
      ['ARP latency p99 (µs)', arp.p99Us],
      ['ARP latency max (µs)', arp.maxUs],
      ['replies/s (32 outstanding)', arp.repliesPerSec],
      ['NS→NA samples (lost)', `${String(ndpRes.samples)} (${String(ndpRes.lost)})`],
      ['NS→NA latency p50 / p99 (µs)', `${String(ndpRes.p50Us)} / ${String(ndpRes.p99Us)}`],
      [
        'announcer requests / responses',
        `${String(stats.metallb_layer2_requests_received)} / ${String(stats.metallb_layer2_responses_sent)}`,
      ],
      ['malformed frames', stats.malformed],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(40)} ${String(v)}`);
    console.log(JSON.stringify({ arpP50Us: arp.p50Us, arpP99Us: arp.p99Us, repliesPerSec: arp.repliesPerSec, burst1000Ms: burst.ms }));
  } finally {
    await lab.cleanup();
  }
}

await main();
