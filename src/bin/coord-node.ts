// A speaker's coordination process without Kubernetes: the node list and services come from the
// command line (the full speaker gets them from informers). Runs the real Coordinator over NATS
// (with the JetStream KV epoch store) and the pcap L2 announcer, or a logging announcer.
// Output: one JSON line per event on stdout (`ready`, `transition`, `announce`, `withdraw`, nats
// status, `conflict`). Used by test/integration/coord and bench/coord.bench.ts.
//
//   tsx src/bin/coord-node.ts --node n1 --nodes n1,n2,n3 --servers nats://198.51.100.129:4222,…
//     --ips 203.0.113.65,203.0.113.66 [--cluster co] [--iface eth0] [--announcer pcap|log]
//     [--user U --pass-file F | --nkey-file F] [--tls-ca F] [--interval 100] [--misses 3] [--no-kv]
//     [--no-randomize]   (try servers in the given order: tests pin each node to one server)
//     [--presence-account MOORING | --no-presence]   (the death fast path from the servers' advisories)
//     [--issuer-seeds F --jwt-ttl MS]   (operator mode: per-connection JWTs minted here from the issuer
//       seeds (JSON), renewed in turns as the speaker does; the presence account is the issuer's key)
//     [--no-rotation]   (tests: never renew, so both connections expire together)
// Failover traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/observability.md).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Coordinator, type ServiceSpec } from '../actors/coordinator.js';
import { realClock } from '../actors/coord-ports.js';
import type { L2AnnouncerPort } from '../actors/l2-port.js';
import { NatsBus, type NatsAuth } from '../adapters/nats.js';
import { createLogger } from '../adapters/log.js';
import { mintUserJwt, type IssuerSeeds } from '../adapters/nats-issuer.js';
import { jwtSlotCredentials, rotateCredentials } from '../adapters/nats-rotation.js';
import { LogAnnouncer } from '../actors/log-announcer.js';
import { epochBucket } from '../domain/subjects.js';
import { tracingWanted } from '../adapters/otel-env.js';

const { values: a } = parseArgs({
  options: {
    node: { type: 'string' },
    nodes: { type: 'string' },
    servers: { type: 'string' },
    ips: { type: 'string' },
    cluster: { type: 'string', default: 'co' },
    iface: { type: 'string', default: 'eth0' },
    announcer: { type: 'string', default: 'pcap' },
    user: { type: 'string' },
    'pass-file': { type: 'string' },
    'nkey-file': { type: 'string' },
    'tls-ca': { type: 'string' },
    interval: { type: 'string', default: '100' },
    misses: { type: 'string', default: '3' },
    'no-randomize': { type: 'boolean', default: false },
    'no-kv': { type: 'boolean', default: false },
    replicas: { type: 'string', default: '3' },
    'presence-account': { type: 'string', default: 'MOORING' },
    'no-presence': { type: 'boolean', default: false },
    'issuer-seeds': { type: 'string' },
    'jwt-ttl': { type: 'string', default: '3600000' },
    'no-rotation': { type: 'boolean', default: false },
  },
});

function need(v: string | undefined, name: string): string {
  if (!v) {
    console.error(`coord-node: --${name} is required`);
    process.exit(2);
  }
  return v;
}
const node = need(a.node, 'node');
const nodes = need(a.nodes, 'nodes').split(',');
const servers = need(a.servers, 'servers').split(',');
const ips = need(a.ips, 'ips').split(',');
const out = (rec: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), node, ...rec })}\n`);
};

async function announcer(): Promise<L2AnnouncerPort> {
  if (a.announcer === 'log') return new LogAnnouncer((event, ip) => out({ event, ip }));
  const { L2Announcer } = await import('../actors/l2-announcer.js');
  const { createLinuxL2Host } = await import('../adapters/pcap-link.js');
  const host = await createLinuxL2Host((ev) => out({ event: 'l2', ...ev }));
  const l2 = new L2Announcer(host, { interfaces: [a.iface], log: (ev) => out({ event: 'l2', ...ev }) });
  // Wrap to log announce/withdraw as the test and the bench read them.
  return {
    announce: (ip, ifs) => {
      l2.announce(ip, ifs);
      out({ event: 'announce', ip });
    },
    withdraw: (ip) => {
      l2.withdraw(ip);
      out({ event: 'withdraw', ip });
    },
    prepare: () => l2.prepare(),
    announced: () => l2.announced(),
    onConflict: (cb) =>
      l2.onConflict((ev) => {
        out({ event: 'conflict', ...ev });
        cb(ev);
      }),
    onCarrier: (cb) => l2.onCarrier(cb),
    close: () => l2.close(),
  };
}

// Traces as the speaker sends them (service.name mooring-speaker); nothing is loaded when off.
const telemetry = tracingWanted() ? await (await import('../adapters/telemetry.js')).openTelemetry('speaker') : undefined;
const logger = createLogger({ component: 'coord-node' }, { write: (l) => out(JSON.parse(l) as Record<string, unknown>) });
const seeds = a['issuer-seeds'] ? (JSON.parse(readFileSync(a['issuer-seeds'], 'utf8')) as IssuerSeeds) : undefined;
const minted = seeds
  ? jwtSlotCredentials(async (pub) => {
      const r = await mintUserJwt(seeds, pub, a.cluster, { role: 'node', node }, Date.now(), Number(a['jwt-ttl']));
      return { ok: true, ...r };
    }, logger)
  : undefined;
const jwtAuth = async (slot: number): Promise<NatsAuth | undefined> => {
  const c = await minted?.get(slot);
  return c?.ok ? c.auth : undefined;
};
const bus = await NatsBus.connect({
  servers,
  name: node,
  noRandomize: a['no-randomize'],
  ...(minted ? { mirrorAuth: await jwtAuth(1) } : {}),
  auth: minted
    ? await jwtAuth(0)
    : a['nkey-file']
      ? { nkeySeed: readFileSync(a['nkey-file'], 'utf8').trim() }
      : a.user
        ? { user: a.user, pass: a['pass-file'] ? readFileSync(a['pass-file'], 'utf8').trim() : undefined }
        : undefined,
  tls: a['tls-ca'] ? { caFile: a['tls-ca'] } : undefined,
  log: out,
});
// Renewals start with the connections (as in the speaker), not after the KV opened: that may take longer than a lifetime.
const stopRotation = minted && !a['no-rotation'] ? rotateCredentials(bus, minted, { log: logger }) : () => {};
/** JetStream needs a meta leader before the bucket can be created: retry for up to 60 s. */
async function openEpochs() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bus.epochStore(epochBucket(a.cluster), Number(a.replicas));
    } catch (err) {
      if (attempt >= 120) throw err;
      out({ event: 'kv.retry', attempt, err: String(err) });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
const epochs = a['no-kv'] ? undefined : await openEpochs();
const l2 = await announcer();
const services: ServiceSpec[] = ips.map((ip, i) => ({
  key: `default/svc-${i}`,
  ips: [ip],
  ads: [{ name: 'l2' }],
  etpLocal: false,
  endpointNodes: new Set(nodes),
}));
const coord = new Coordinator({
  cluster: a.cluster,
  node,
  inc: Date.now(),
  clock: realClock,
  bus,
  l2,
  epochs,
  membership: { intervalMs: Number(a.interval), misses: Number(a.misses) },
  ...(a['no-presence'] ? {} : { presenceAccount: minted?.account() ?? a['presence-account'] }),
  ...(telemetry?.tracer ? { tracer: telemetry.tracer } : {}),
  log: (rec) => {
    if (rec.event !== undefined && rec.event !== 'hb.dropped') out(rec);
  },
});
coord.onTransition((t) => out({ event: 'transition', ip: t.ip, from: t.from, to: t.to, reason: t.reason, epoch: t.epoch }));
coord.setCluster({ nodes: nodes.map((name) => ({ name, labels: {} })), services });
coord.start();
out({ event: 'ready' });

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  coord.shutdown();
  stopRotation();
  await bus.flush().catch(() => {});
  await l2.close();
  await bus.close();
  await telemetry?.shutdown().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => {
  void stop();
});
process.on('SIGINT', () => {
  void stop();
});
