// Helper process for permissions.test.ts (runs inside a namespace): connects as a node user,
// subscribes to the cluster's subjects and/or publishes the given subjects, prints JSON lines.
//   perm-client.ts <server> <user> <pass> sub
//   perm-client.ts <server> <user> <pass> pub <subject>...
import { NatsBus } from '../../../src/adapters/nats.js';

const [server, user, pass, mode, ...subjects] = process.argv.slice(2);
const say = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
const bus = await NatsBus.connect({ servers: [server as string], auth: { user, pass }, log: (r) => say(r) });
if (mode === 'sub') {
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
