// Helper process for permissions.test.ts (runs inside a namespace): connects as a node user,
// subscribes to the cluster's subjects and/or publishes the given subjects, prints JSON lines.
//   perm-client.ts <server> <user> <pass> sub
//   perm-client.ts <server> <user> <pass> pub <subject>...
//   perm-client.ts <server> <user> <pass> kv <bucket>        (creates the bucket, writes a key)
// With user `creds:<file>` (pass ignored) it authenticates with a minted user JWT: the file holds
// {"jwt": "...", "seed": "SU..."}. A refused connection prints {"event":"refused"} and exits 3.
import { readFileSync } from 'node:fs';
import { NatsBus, type NatsAuth } from '../../../src/adapters/nats.js';

const [server, user, pass, mode, ...subjects] = process.argv.slice(2);
const say = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
let auth: NatsAuth = { user, pass };
if (user?.startsWith('creds:')) {
  const c = JSON.parse(readFileSync(user.slice(6), 'utf8')) as { jwt: string; seed: string };
  auth = { jwt: () => c.jwt, nkeySeed: c.seed };
}
const bus = await NatsBus.connect({ servers: [server as string], auth, log: (r) => say(r) }).catch((e: unknown) => {
  say({ event: 'refused', err: e instanceof Error ? e.message : String(e) });
  process.exit(3);
});
say({ event: 'connected' });
if (mode === 'kv') {
  const kv = await bus.epochStore(subjects[0] ?? '', 1);
  say({ event: 'kv', create: await kv.create('k1', new Uint8Array([1])) });
  await bus.close();
  process.exit(0);
} else if (mode === 'sub') {
  bus.subscribe('mooring.v1.co.>', (subject) => say({ event: 'received', subject }));
  await bus.flush();
  say({ event: 'subscribed' });
} else {
  for (const s of subjects) bus.publishText(s, 'x');
  await bus.flush().catch((e: unknown) => say({ event: 'flush.error', err: String(e) }));
  await new Promise((r) => setTimeout(r, 500));
  say({ event: 'published' });
  await bus.close();
  process.exit(0);
}
