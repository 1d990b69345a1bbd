// Probe of the lab's NATS cluster, run INSIDE a node namespace with that node's credentials
// (env NATS_SERVERS, NATS_USER, NATS_PASSWORD_FILE, NATS_CLUSTER, NODE_NAME, as cluster.ts
// `nodeEnv()` gives a product process). Connects to every server on its own, checks that a message
// published through the last server reaches a subscriber on the first (cluster routes), and that a
// JetStream KV bucket replicated on 3 servers accepts a write (JetStream meta leader and RAFT up).
// Prints one JSON object of observations; the test makes the assertions.
import { readFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { epochBucket, heartbeatSubject } from '../../src/domain/subjects.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`nats-probe: ${k} is not set`);
  return v;
};
const servers = env('NATS_SERVERS').split(',');
const user = env('NATS_USER');
const pass = readFileSync(env('NATS_PASSWORD_FILE'), 'utf8').trim();
const cluster = env('NATS_CLUSTER');
const node = env('NODE_NAME');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const conns: NatsConnection[] = [];
const out: Record<string, unknown> = {};
try {
  for (const s of servers) {
    conns.push(await connect({ servers: [s], user, pass, name: `probe-${node}`, maxReconnectAttempts: 0, timeout: 10_000 }));
  }
  out.serverNames = conns.map((c) => c.info?.server_name);
  out.clusterNames = conns.map((c) => c.info?.cluster);
  out.jetstream = conns.map((c) => c.info?.jetstream === true);

  // Cluster routes: subscribe through the first server, publish through the last one. Route
  // interest propagates asynchronously, so publish until it arrives.
  const first = conns[0] as NatsConnection;
  const last = conns[conns.length - 1] as NatsConnection;
  const subj = heartbeatSubject(cluster, node);
  const sub = first.subscribe(subj, { max: 1 });
  await first.flush();
  let got: string | undefined;
  const recv = (async () => {
    for await (const m of sub) got = m.string();
  })();
  for (let i = 0; i < 200 && got === undefined; i++) {
    last.publish(subj, `probe ${i}`);
    await last.flush();
    await sleep(50);
  }
  if (got === undefined) sub.unsubscribe();
  await recv;
  out.routed = got !== undefined;

  // JetStream: a KV bucket with 3 replicas (the epoch store's shape). Right after the servers
  // start, the meta leader may not be elected yet: retry.
  const jsm = await jetstreamManager(first);
  const kvm = new Kvm(first);
  let lastErr = '';
  for (let i = 0; i < 120; i++) {
    try {
      const info = await jsm.getAccountInfo();
      const kv = await kvm.create(epochBucket(cluster), { history: 1, replicas: 3 });
      const st = await kv.status();
      const rev = await kv.put(`probe-${node}`, 'x');
      out.account = { streams: info.streams };
      out.kvReplicas = st.replicas;
      out.kvPut = rev > 0;
      out.kvRead = (await (await kvm.open(epochBucket(cluster))).get(`probe-${node}`))?.string();
      break;
    } catch (e) {
      lastErr = (e as Error).message;
      await sleep(500);
    }
  }
  if (out.kvPut === undefined) out.kvError = lastErr;
} finally {
  for (const c of conns) await c.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(out)}\n`);
