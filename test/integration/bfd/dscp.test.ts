// Our BFD packets leave with DSCP CS6 (TOS / Traffic Class byte 0xc0, as FRR's bfdd sends them) and
// TTL / Hop Limit 255 (RFC 5881 §5), from both datagram ports: the batched one (sendmmsg through
// koffi) and node:dgram (BFD_IO=dgram). tcpdump in the router namespace reads the IP headers of
// what arrives; a session that is Down sends once a second, so no peer is needed.
//   router r (tcpdump): 198.51.100.72/26, 2001:db8:5::20/64    node n (bfd-probe): 198.51.100.73/26, 2001:db8:5::21/64
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Probe } from '../../lib/bfd.js';

const R4 = '198.51.100.72';
const N4 = '198.51.100.73';
const R6 = '2001:db8:5::20';
const N6 = '2001:db8:5::21';

let lab: Lab;
let r: Netns;
let n: Netns;

before(() => {
  requireRoot();
  requireTools('ip', 'tcpdump');
  lab = new Lab('bd');
  r = lab.netns('r');
  n = lab.netns('n');
  const b = lab.netns('b');
  lab.bridge(b, 'br0');
  lab.link(r, 'eth0', b, 'br0', [`${R4}/26`, `${R6}/64`]);
  lab.link(n, 'eth0', b, 'br0', [`${N4}/26`, `${N6}/64`]);
});

after(async () => {
  await lab?.cleanup();
});

/** tcpdump's verbose header lines of BFD Control packets from the node, one family each, as they arrive. */
async function capture(io: 'mmsg' | 'dgram'): Promise<{ v4: string; v6: string; ready: Record<string, unknown> }> {
  const dump = r.spawn('tcpdump', [
    '-i',
    'eth0',
    '-n',
    '-v',
    '-l',
    'udp',
    'dst',
    'port',
    '3784',
    'and',
    '(',
    'src',
    'host',
    N4,
    'or',
    'src',
    'host',
    N6,
    ')',
  ]);
  const lines: string[] = [];
  let listening = false;
  createInterface({ input: dump.stdout! }).on('line', (l) => lines.push(l));
  createInterface({ input: dump.stderr! }).on('line', (l) => {
    if (l.includes('listening on')) listening = true;
  });
  await waitFor('tcpdump listening', () => listening, 10_000);
  const probe = Probe.start(
    lab,
    n,
    {
      listen: [N4, N6],
      sessions: [
        { peer: R4, local: N4 },
        { peer: R6, local: N6 },
      ],
    },
    { BFD_IO: io },
  );
  try {
    const ready = await waitFor(`probe ready\n${probe.tail()}`, () => probe.events.find((e) => e.event === 'ready'), 20_000);
    const v4 = await waitFor(
      `an IPv4 BFD packet from ${N4} (${io})\n${lines.join('\n')}`,
      () => lines.find((l) => /^\S+ IP \(/.test(l)),
      10_000,
    );
    const v6 = await waitFor(
      `an IPv6 BFD packet from ${N6} (${io})\n${lines.join('\n')}`,
      () => lines.find((l) => /^\S+ IP6 \(/.test(l)),
      10_000,
    );
    return { v4, v6, ready };
  } finally {
    await probe.stop();
    dump.kill('SIGTERM');
  }
}

for (const io of ['mmsg', 'dgram'] as const) {
  test(`${io} port: IPv4 TOS 0xc0 and TTL 255, IPv6 Traffic Class 0xc0 and Hop Limit 255`, async () => {
    const { v4, v6, ready } = await capture(io);
    assert.equal(ready.io, io);
    assert.equal(ready.dscp, true);
    assert.match(v4, /\(tos 0xc0, ttl 255,/, v4);
    assert.match(v6, /\(class 0xc0, .*hlim 255,/, v6);
  });
}
