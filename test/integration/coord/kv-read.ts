// Helper process (runs inside a namespace): prints the epoch records of the given IPs from the
// coordination KV bucket as JSON lines.   kv-read.ts <server> <user> <pass> <cluster> <ip>...
import { NatsBus } from '../../../src/adapters/nats.js';
import { decodeEpochRecord } from '../../../src/codecs/coord.js';
import { epochBucket, epochKey } from '../../../src/domain/subjects.js';

const [server, user, pass, cluster, ...ips] = process.argv.slice(2);
const bus = await NatsBus.connect({ servers: [server as string], auth: { user, pass } });
const kv = await bus.epochStore(epochBucket(cluster as string));
for (const ip of ips) {
  const r = await kv.get(epochKey(ip));
  if (!r.ok) throw new Error(`KV ${r.kind}: ${r.error}`);
  const e = r.entry;
  const rec = e ? decodeEpochRecord(e.value) : undefined;
  process.stdout.write(`${JSON.stringify({ ip, record: rec?.ok ? rec.value : null, revision: e?.revision ?? null })}\n`);
}
await bus.close();
