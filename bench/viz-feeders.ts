// bench:viz's simulated speakers (run inside the bench's namespace): N nodes, each with a real
// NatsBus (its node user) and a real StateFeed, heartbeats every 100 ms, S Service IPs spread over
// the nodes (one announcing, the others standby with notOwner). Commands on stdin:
//   move K   K owner moves (one IP at a time, 20 ms apart): the old owner withdraws, the next announces
//   count    prints {"feedMessages": [...per node]} (what each StateFeed has published so far)
// Prints {"ready":true} once every node's initial state is published.
import { createInterface } from 'node:readline';
import { NatsBus } from '../src/adapters/nats.js';
import { StateFeed } from '../src/actors/state-feed.js';
import { realClock } from '../src/actors/clock.js';
import { encodeHeartbeat } from '../src/codecs/coord.js';
import { heartbeatSubject } from '../src/domain/subjects.js';

const [url = '', cluster = 'bench', nodesArg = '3', servicesArg = '1000', pass = ''] = process.argv.slice(2);
const NODES = Array.from({ length: Number(nodesArg) }, (_, i) => `node-${i + 1}`);
const S = Number(servicesArg);
const ip = (i: number) => `2001:db8:40::${(i + 1).toString(16)}`;
const inc = Date.now();

const nodes = await Promise.all(
  NODES.map(async (node) => {
    const bus = await NatsBus.connect({ servers: [url], name: node, mirror: false, auth: { user: node, pass } });
    const feed = new StateFeed({ cluster, node, inc, bus, clock: realClock, stamp: () => Date.now() });
    feed.start();
    let seq = 0;
    setInterval(() => {
      seq++;
      bus.publish(
        heartbeatSubject(cluster, node),
        encodeHeartbeat({ v: 1, node, inc, seq, intervalMs: 100, l2Ready: true, draining: false }),
      );
    }, 100);
    return { node, bus, feed };
  }),
);
const owner = Array.from({ length: S }, (_, i) => i % NODES.length);
const tr = (n: number, i: number, from: 'idle' | 'standby' | 'announcing' | 'withdrawing', to: 'standby' | 'announcing' | 'withdrawing') =>
  nodes[n]!.feed.serviceIp({
    at: 0,
    node: NODES[n]!,
    ip: ip(i),
    service: `bench/svc-${i}`,
    from,
    to,
    reason: to === 'announcing' ? undefined : 'notOwner',
    epoch: 1,
    event: 'election.changed',
  });
for (let i = 0; i < S; i++) for (let n = 0; n < NODES.length; n++) tr(n, i, 'idle', n === owner[i] ? 'announcing' : 'standby');
await new Promise((r) => setTimeout(r, 1500));
await Promise.all(nodes.map((n) => n.bus.flush()));
process.stdout.write(JSON.stringify({ ready: true }) + '\n');

let next = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'count') process.stdout.write(JSON.stringify({ feedMessages: nodes.map((n) => n.feed.sent.messages) }) + '\n');
  if (cmd === 'move') {
    let k = Number(arg);
    const step = () => {
      if (k-- <= 0) return void process.stdout.write(JSON.stringify({ moved: true }) + '\n');
      const i = next++ % S;
      const from = owner[i]!;
      const to = (from + 1) % NODES.length;
      owner[i] = to;
      tr(from, i, 'announcing', 'standby');
      tr(to, i, 'standby', 'announcing');
      setTimeout(step, 20);
    };
    step();
  }
});
