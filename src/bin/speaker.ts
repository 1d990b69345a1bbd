// The speaker (DaemonSet, one per node), wiring only: flags, the adapters (NATS, the pcap or log
// L2 announcer, informers, event recorder, status writer, telemetry, monitoring server) and the
// actors that do the work: the Coordinator (L2 election, serviceIp machines), BgpPeers (one BGP
// session per BGPPeer, BFD coupled) and SpeakerNode (the reconcile loop: config, plan, status,
// Events, drain). Invalid config keeps the last good one in force.
//
//   NODE_NAME=n1 KUBECONFIG=... tsx src/bin/speaker.ts --nats-url nats://a:4222,nats://b:4222
//     [--namespace metallb-system] [--cluster mooring] [--metrics-port 7472] [--metrics-host 0.0.0.0]
//     [--lb-class NAME] [--nats-credentials-url URL --nats-token-file F | --nats-user U --nats-pass-file F | --nats-pass-dir D]
//     [--announcer pcap|log]
//     [--bgp-backend native|frr [--frr-vty-socket /var/run/frr] [--frr-state-dir DIR]]
//     [--ignore-exclude-lb] [--heartbeat-interval 100ms] [--heartbeat-misses 3] [--nats-account A ('': no death fast path)]
// NATS is dialled only once the config has an L2Advertisement (BGP needs none). /healthz: the
// process alone; /readyz: JSON list of what it waits for (caches, config, NATS when wanted).
// SIGTERM: drain (peers take our L2 IPs make-before-break), stop BGP (graceful restart peers
// keep our routes, others get CEASE), close NATS, exit.
import { parseArgs } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Coordinator } from '../actors/coordinator.js';
import { realClock } from '../actors/coord-ports.js';
import { SpeakerNode } from '../actors/speaker-node.js';
import { LazyPeers } from '../actors/lazy-peers.js';
import { frrBackendPeerLimits } from '../actors/peer-specs.js';
import { createLogger } from '../adapters/log.js';
import { openTelemetry } from '../adapters/telemetry.js';
import { serveMonitoring } from '../adapters/http.js';
import { registerSpeakerMetrics } from '../adapters/speaker-metrics.js';
import { bgpRuntime, openL2Announcer, startStateFeed } from '../adapters/speaker-io.js';
import { SpeakerNats } from '../adapters/speaker-nats.js';
import { SPEAKER_NATS_FLAGS, speakerCredentials } from '../adapters/nats-credential-client.js';
import { loadKubeConfig, startInformer, type Informer } from '../adapters/kube/informer.js';
import { coreSpecs, metallbSpec } from '../adapters/kube/resources.js';
import { createEventRecorder } from '../adapters/kube/events.js';
import { StatusWriter } from '../adapters/kube/status.js';
import { createSessionStatus } from '../adapters/kube/session-state.js';
import { CONFIG_KINDS, DEFAULT_NAMESPACE } from '../api/metallb.js';
import { epochBucket } from '../domain/subjects.js';
import { parseDuration } from '../domain/duration.js';

const { values: a } = parseArgs({
  options: {
    node: { type: 'string', default: process.env.NODE_NAME },
    namespace: { type: 'string', default: process.env.METALLB_NAMESPACE ?? DEFAULT_NAMESPACE },
    cluster: { type: 'string', default: 'mooring' },
    ...SPEAKER_NATS_FLAGS,
    'metrics-port': { type: 'string', default: '7472' },
    'metrics-host': { type: 'string', default: '0.0.0.0' },
    'lb-class': { type: 'string' },
    announcer: { type: 'string', default: 'pcap' },
    'ignore-exclude-lb': { type: 'boolean', default: false },
    'kv-replicas': { type: 'string', default: '3' },
    /** Unset: MOORING with passwords, the issuing account's key with minted JWTs; '': no death fast path. */
    'nats-account': { type: 'string', default: process.env.NATS_ACCOUNT },
    /** Heartbeat period and missed beats before a peer is dead (default 100 ms × 3: sub-second failover). */
    'heartbeat-interval': { type: 'string', default: '100ms' },
    'heartbeat-misses': { type: 'string', default: '3' },
    /** native: our BGP/BFD; frr: FRR beside the speaker, configured by reloads (src/adapters/frr.ts, docs/bgp-frr.md). */
    'bgp-backend': { type: 'string', default: process.env.MOORING_BGP_BACKEND ?? 'native' },
    'frr-vty-socket': { type: 'string', default: process.env.FRR_VTY_SOCKET ?? '/var/run/frr' },
    'frr-state-dir': { type: 'string' },
  },
});

const node = a.node;
const log = createLogger({ component: 'speaker', node });
if (!node) {
  log.error('NODE_NAME (or --node) is required');
  process.exit(2);
}
const ns = a.namespace as string;
const hbInterval = parseDuration(a['heartbeat-interval'] as string);
const hbMisses = Number(a['heartbeat-misses']);
if (hbInterval === undefined || hbInterval < 10 || !Number.isInteger(hbMisses) || hbMisses < 2) {
  log.error('invalid heartbeat settings', {
    event: 'config.flags',
    interval: a['heartbeat-interval'],
    misses: a['heartbeat-misses'],
    err: 'interval must be a duration >= 10ms, misses an integer >= 2',
  });
  process.exit(2);
}
const backend = a['bgp-backend'];
if (backend !== 'native' && backend !== 'frr') {
  log.error('invalid --bgp-backend', { event: 'config.flags', backend, err: 'native or frr' });
  process.exit(2);
}
const telemetry = await openTelemetry('speaker'); // + traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
const kc = loadKubeConfig();

// ---- L2 announcer, NATS (opened only once the config has an L2Advertisement), epoch store ----
const { l2, stats: l2Stats } = await openL2Announcer(a.announcer as string, log);
const nats = new SpeakerNats({
  urls: a['nats-url'],
  node,
  bucket: epochBucket(a.cluster as string),
  kvReplicas: Number(a['kv-replicas']),
  credentials: speakerCredentials(a, { node, kc, namespace: ns, log }),
  log,
});
const coord = new Coordinator({
  cluster: a.cluster as string,
  node,
  inc: Date.now(),
  clock: realClock,
  bus: nats,
  l2,
  epochs: nats.epochs,
  membership: { intervalMs: Math.round(hbInterval), misses: hbMisses },
  ...(a['nats-account'] !== '' ? { presenceAccount: a['nats-account'] ?? (() => nats.presenceAccount('MOORING')) } : {}),
  ...(telemetry.tracer ? { tracer: telemetry.tracer } : {}),
  log: (rec) => {
    if (rec.event === 'peer.dead' || rec.event === 'peer.up')
      log.info('membership', rec); // who judged whom, and why
    else if (rec.event !== 'hb.dropped') log.debug('coord', rec);
  },
});
// For `mooring viz`, silent at rest; `peers` is read only when a snapshot is asked for.
const feed = startStateFeed(a.cluster as string, node, nats, coord, { machines: () => peers.machines() });

// ---- BGP + BFD (native or FRR): loaded when the first BGPPeer selects this node ----
const peers: LazyPeers = new LazyPeers(
  bgpRuntime({
    ...{ backend, node, log, meter: telemetry.meter, frrVtySocket: a['frr-vty-socket'] as string },
    ...(a['frr-state-dir'] ? { frrStateDir: a['frr-state-dir'] } : {}),
    onEvent: (e) => [feed.peerEvent(e), sessions.peerEvent(e)],
  }),
  (err) => log.error('cannot load the BGP runtime', { event: 'bgp.loadFailed', err: String(err) }),
  () => feed.changed(),
);

// ---- Kubernetes ------------------------------------------------------------------------------
const core = coreSpecs(kc, ns);
const inf = {
  services: startInformer(kc, core.services, log),
  endpointSlices: startInformer(kc, core.endpointSlices, log),
  nodes: startInformer(kc, core.nodes, log),
  namespaces: startInformer(kc, core.namespaces, log),
  secrets: startInformer(kc, core.secrets, log),
};
const configInf: Informer<KubernetesObject>[] = CONFIG_KINDS.map((k) => startInformer(kc, metallbSpec(kc, ns, k), log));
const allInformers = [...Object.values(inf), ...configInf] as Array<Informer<KubernetesObject>>;
const events = createEventRecorder(kc, 'metallb-speaker', node, log);
// Per-peer BGPSessionState objects and session up/down Events (src/actors/session-status.ts).
const sessions = createSessionStatus({ kc, node, namespace: ns, events, peers, log });

const speaker = new SpeakerNode({
  node,
  namespace: ns,
  ...(a['lb-class'] ? { loadBalancerClass: a['lb-class'] } : {}),
  ignoreExcludeLB: a['ignore-exclude-lb'] === true,
  sources: { ...inf, config: configInf },
  coordinator: coord,
  peers,
  ...(backend === 'frr' ? { peerLimits: frrBackendPeerLimits } : {}),
  events,
  status: new StatusWriter(kc, ns, log),
  clock: realClock,
  log,
  onConfig: (c) => {
    if (c.l2Advertisements.length > 0) nats.want();
  },
});
registerSpeakerMetrics(telemetry.meter, { node, speaker, coordinator: coord, peers, l2Stats, log });
speaker.start();
const server = await serveMonitoring(
  telemetry,
  {
    ready: () => {
      const reasons = [...speaker.waitingFor(), ...nats.waitingFor()];
      return { ok: reasons.length === 0, reasons };
    },
  },
  Number(a['metrics-port']),
  a['metrics-host'] as string,
  { '/routes': () => ({ node, peers: peers.adjRibOut() }) }, // `mooringctl routes`
);
log.info('speaker started', { event: 'started', namespace: ns, cluster: a.cluster, metricsPort: Number(a['metrics-port']) });

// ---- shutdown: drain, stop BGP (graceful restart peers keep our routes), close NATS, exit -----
let stopping = false;
async function shutdown(sig: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('shutting down', { event: 'stopping', signal: sig });
  sessions.stop();
  await speaker.stop();
  await Promise.allSettled([nats.flush(), ...allInformers.map((i) => i.stop())]);
  await l2.close();
  await nats.close().catch(() => undefined);
  await telemetry.shutdown().catch(() => undefined); // exports the last spans
  server.close();
  log.info('stopped', { event: 'stopped' });
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', () => {
  void shutdown('SIGTERM');
});
process.on('SIGINT', () => {
  void shutdown('SIGINT');
});
