// Helper process for controller-feed.test.ts (runs inside the test's namespace): the controller's
// state feed (src/adapters/controller-feed.ts) with a JWT minted for itself from the issuer seeds
// in <seeds.json>, and a viewer (a minted viewer JWT) reading the feed through FeedReader, as
// `mooring viz` does. Prints JSON lines; commands on stdin:
//   term            a lease term starts (allocations: ns/kept 203.0.113.9 from status)
//   decide          two decisions: ns/web gets 203.0.113.1 from pool p1; ns/big gets none
//   forge           the controller's own credential publishes a heartbeat of node n1 (refused)
//   end             the term ends
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startControllerFeed, controllerFeedCredentials } from '../../../src/adapters/controller-feed.js';
import { mintUserJwt, newUserKey, type IssuerSeeds } from '../../../src/adapters/nats-issuer.js';
import { NatsBus } from '../../../src/adapters/nats.js';
import { FeedReader } from '../../../src/actors/viz-feed-reader.js';
import { realClock } from '../../../src/actors/clock.js';
import { createLogger } from '../../../src/adapters/log.js';
import { heartbeatSubject } from '../../../src/domain/subjects.js';
import type { AllocationDecision } from '../../../src/actors/service-reconciler.js';
import type { NatsRole } from '../../../src/domain/nats-config.js';

const [server = '', seedsFile = '', cluster = 'co'] = process.argv.slice(2);
const seeds = JSON.parse(readFileSync(seedsFile, 'utf8')) as IssuerSeeds;
const say = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const log = createLogger({ component: 'client' }, { write: (l: string) => void process.stderr.write(l) });
const mint = async (pub: string, role: NatsRole) => ({
  ok: true as const,
  value: await mintUserJwt(seeds, pub, cluster, role, Date.now(), 3_600_000),
});

const feed = startControllerFeed({ urls: [server], cluster, credentials: controllerFeedCredentials({ mint }, log), log });
const viewerKey = newUserKey();
const viewerJwt = (await mint(viewerKey.publicKey, { role: 'viewer' })).value.jwt;
// The test starts the server after this process: the viewer waits for it.
let viewer: NatsBus | undefined;
while (!viewer)
  viewer = await NatsBus.connect({
    servers: [server],
    mirror: false,
    auth: { jwt: () => viewerJwt, nkeySeed: new TextDecoder().decode(viewerKey.seed) },
  }).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 200)));
const reader = new FeedReader({
  cluster,
  bus: viewer,
  clock: realClock,
  stamp: () => Date.now(),
  onInput: (x) => say({ event: 'input', x }),
});
reader.start();
await viewer.flush();
say({ event: 'ready' });

let decisions: AllocationDecision[] = [
  { service: 'ns/kept', ips: ['203.0.113.9'], pool: 'p1', why: 'pool p1: kept from the Service status' },
];
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'term') {
    feed.startTerm(() => decisions);
    feed.announce();
    say({ event: 'term' });
  } else if (cmd === 'decide') {
    const d: AllocationDecision[] = [
      { service: 'ns/web', ips: ['203.0.113.1'], pool: 'p1', why: 'pool p1: auto-assigned' },
      { service: 'ns/big', ips: [], why: 'no IP: exhausted: no available IPs in pool p1' },
    ];
    decisions = [...decisions, ...d];
    for (const x of d) feed.decision(x);
    say({ event: 'decided' });
  } else if (cmd === 'forge') {
    void (async () => {
      const k = newUserKey();
      const jwt = (await mint(k.publicKey, { role: 'controller' })).value.jwt;
      const errors: string[] = [];
      const b = await NatsBus.connect({
        servers: [server],
        mirror: false,
        auth: { jwt: () => jwt, nkeySeed: new TextDecoder().decode(k.seed) },
        log: (r) => {
          if (r.event === 'error') errors.push(String(r.err));
        },
      });
      b.publishText(heartbeatSubject(cluster, 'n1'), 'x');
      await b.flush().catch((e: unknown) => errors.push(String(e)));
      await new Promise((r) => setTimeout(r, 300));
      say({ event: 'forged', errors });
      await b.close();
    })();
  } else if (cmd === 'end') {
    feed.endTerm();
    say({ event: 'ended' });
  }
});
// Any heartbeat that reaches the viewer (only a forged one could: no node runs here).
viewer.subscribe(heartbeatSubject(cluster, 'n1'), () => say({ event: 'heartbeat' }));
