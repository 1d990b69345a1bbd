// BfdMmsgPort's steady-state path: a datagram identical (payload, source address and port, local
// address) to the last one the handler accepted for its Your Discriminator goes to the handler's
// repeat function; anything else, or a repeat the handler declines, goes to the handler. Run in a
// namespace (mmsg-repeat.fixture.ts), IPv4 and IPv6, sender and port on the namespace's loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { REPO } from '../../lib/bgp.js';

let lab: Lab;
let n: Netns;

before(() => {
  requireRoot();
  requireTools('ip');
  lab = new Lab('bm');
  n = lab.netns('n');
  n.exec('ip', ['addr', 'add', '198.51.100.90/32', 'dev', 'lo']);
  n.exec('ip', ['addr', 'add', '198.51.100.91/32', 'dev', 'lo']);
  n.exec('ip', ['addr', 'add', '198.51.100.92/32', 'dev', 'lo']);
  for (const a of ['2001:db8:5::90', '2001:db8:5::91', '2001:db8:5::92']) n.exec('ip', ['addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad']);
});

after(async () => {
  await lab?.cleanup();
});

// h:<last payload byte>:<local address> is a handler call, r:<i> a call of the repeat function
// the i-th handler call returned (see the script in the fixture).
const expected = ['h:1:l1', 'r:0', 'h:1:l2', 'r:1', 'h:2:l2', 'h:2:l2', 'h:3:l1', 'h:3:l1', 'h:4:l1', 'h:4:l1', 'h:4:l1', 'r:8', 'h:4:l1'];

for (const [family, l1, l2, src] of [
  ['4', '198.51.100.90', '198.51.100.91', '198.51.100.92'],
  ['6', '2001:db8:5::90', '2001:db8:5::91', '2001:db8:5::92'],
] as const) {
  test(`IPv${family}: repeats go to the repeat function, everything else to the handler`, () => {
    const outText = n.exec(process.execPath, [
      '--import',
      'tsx',
      join(REPO, 'test/integration/bfd/mmsg-repeat.fixture.ts'),
      family,
      l1,
      l2,
      src,
    ]);
    const out = JSON.parse(outText.trim().split('\n').pop()!) as {
      calls?: string[];
      stats?: { rxRepeats: number; rx: number };
      error?: string;
    };
    assert.equal(out.error, undefined, 'koffi and sendmmsg/recvmmsg are available');
    assert.deepEqual(out.calls, expected);
    assert.equal(out.stats?.rxRepeats, 2, 'two datagrams taken as repeats');
    assert.equal(out.stats?.rx, 12);
  });
}
