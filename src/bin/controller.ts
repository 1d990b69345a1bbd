// The controller's composition root: flags, then the adapters around the ServiceReconciler
// (src/actors/service-reconciler.ts), which owns the reconcile itself: the last valid config
// (ConfigurationState/controller), the allocator re-claimed from Service status, the Service
// status and pool annotation with MetalLB's Events, and the rate-limited IPAddressPool status.
// Wired here: informers for Services, Namespaces and the metallb.io config kinds; the REST
// Service writer; the Event recorder (sharing the reconciler's FIFO limit of writes in flight);
// /metrics (MetalLB's allocator and config metrics), /healthz, /readyz; the validating webhook.
// High availability: replicas elect a leader through the Lease `--lease-name`; each lease term
// runs a fresh ServiceReconciler (it starts from the cluster: re-claim from status). A standby
// keeps its informers warm (and serves the webhook) and takes over when the lease expires or is
// released (SIGTERM releases it). A leader that cannot renew within the renew deadline (before
// the lease can expire for the others) stops its reconciler, which stops writing at once.
// Validating admission webhook (--webhook-port), served by every replica (domain/admission.ts), with
// --webhook-cert/--webhook-key files or --webhook-cert-secret S (issued, rotated: webhook-cert.ts). --nats-cluster C: the NATS issuer
// on the same server (kube/nats-issuer.ts): speakers' user JWTs, the servers' operator config.
// --nats-url U (optional): the allocation decisions on the state feed for `mooring viz`
// (adapters/controller-feed.ts), with a JWT the issuer mints for the controller itself, or
// --nats-user/--nats-pass-file; nothing depends on it (no NATS: no feed, allocation as before).
// Usage: controller.ts [--lb-class C] [--namespace metallb-system] [--metrics-port 7472] [--metrics-host 0.0.0.0]
//   [--webhook-port 9443 --webhook-cert tls.crt --webhook-key tls.key | --webhook-cert-secret S] [--webhook-host 0.0.0.0]
//   [--webhook-configuration C] [--webhook-service SVC] [--webhook-cert-extra-names ip,name]
//   [--nats-cluster C --nats-credential-ttl 1h --nats-speaker-sa speaker --nats-viewer-sa viz --nats-issuer-namespace mooring-secrets]
//   [--nats-url nats://… [--cluster mooring] [--nats-user U --nats-pass-file F]]
//   [--lease-name mooring-controller] [--lease-duration 15s] [--lease-renew-deadline 10s] [--lease-retry 2s]
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CONFIG_KINDS } from '../api/metallb.js';
import { realClock } from '../actors/coord-ports.js';
import { ServiceReconciler, WRITE_CONCURRENCY, configSnapshot, fifoLimiter } from '../actors/service-reconciler.js';
import { createLogger } from '../adapters/log.js';
import { loadKubeConfig, startInformer } from '../adapters/kube/informer.js';
import { coreSpecs, metallbSpec } from '../adapters/kube/resources.js';
import { createEventRecorder } from '../adapters/kube/events.js';
import { StatusWriter } from '../adapters/kube/status.js';
import { createServiceWriter } from '../adapters/kube/service-writer.js';
import { WEBHOOK_FLAGS, startControllerWebhook, webhookFromFlags } from '../adapters/kube/controller-webhook.js';
import { registerControllerMetrics } from '../adapters/kube/controller-metrics.js';
import { startLeaderElection } from '../adapters/kube/lease.js';
import { openTelemetry } from '../adapters/telemetry.js';
import { serveMonitoring } from '../adapters/http.js';
import { parseDuration } from '../domain/duration.js';

const { values: opts } = parseArgs({
  options: {
    'lb-class': { type: 'string' },
    namespace: { type: 'string', default: 'metallb-system' },
    'metrics-port': { type: 'string', default: '7472' },
    'metrics-host': { type: 'string', default: '0.0.0.0' },
    ...WEBHOOK_FLAGS,
    'nats-url': { type: 'string' },
    cluster: { type: 'string', default: 'mooring' },
    'nats-user': { type: 'string' },
    'nats-pass-file': { type: 'string' },
    'lease-name': { type: 'string', default: 'mooring-controller' },
    'lease-duration': { type: 'string', default: '15s' },
    'lease-renew-deadline': { type: 'string', default: '10s' },
    'lease-retry': { type: 'string', default: '2s' },
  },
});
const durationOpt = (name: 'lease-duration' | 'lease-renew-deadline' | 'lease-retry'): number => {
  const ms = parseDuration(opts[name] ?? '');
  if (ms === undefined || ms <= 0) {
    process.stderr.write(`--${name}: not a duration: ${opts[name]}\n`);
    process.exit(2);
  }
  return ms;
};
const lease = {
  durationMs: durationOpt('lease-duration'),
  renewDeadlineMs: durationOpt('lease-renew-deadline'),
  retryMs: durationOpt('lease-retry'),
};
if (!(lease.retryMs < lease.renewDeadlineMs && lease.renewDeadlineMs < lease.durationMs)) {
  process.stderr.write('lease timings: need --lease-retry < --lease-renew-deadline < --lease-duration\n');
  process.exit(2);
}
const identity = `${process.env.POD_NAME ?? hostname()}_${randomUUID()}`;
const namespace = opts.namespace ?? 'metallb-system';
const lbClass = opts['lb-class'];
const log = createLogger({ component: 'controller' });
const kc = loadKubeConfig();

// Service writes and Events share one FIFO bound on requests in flight: a pass over thousands of
// services does not wait for each round trip in turn, nor floods the apiserver (429s).
const limit = fifoLimiter(WRITE_CONCURRENCY);
const events = createEventRecorder(kc, 'metallb-controller', hostname(), log, undefined, limit);
const statusWriter = new StatusWriter(kc, namespace, log);
const writer = createServiceWriter(kc);

const specs = coreSpecs(kc, namespace);
const services = startInformer(kc, specs.services, log);
const namespaces = startInformer(kc, specs.namespaces, log);
const configSpecs = CONFIG_KINDS.map((kind) => ({ kind, spec: metallbSpec(kc, namespace, kind) }));
const config = configSpecs.map(({ kind, spec }) => ({ kind, source: startInformer(kc, spec, log) }));
const informers = [services, namespaces, ...config.map((c) => c.source)];
const synced = () => informers.every((i) => i.isSynced());

/** The reconciler of the current lease term (undefined while standing by); the last one feeds /metrics. */
let term: ServiceReconciler | undefined;
let lastTerm: ServiceReconciler | undefined;
const telemetry = await openTelemetry('controller'); // + traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
registerControllerMetrics(telemetry, () => lastTerm);
// A standby is ready once its caches are synced (it serves the webhook); the leader also needs a valid config.
const monitoring = await serveMonitoring(
  telemetry,
  {
    ready: () =>
      !synced()
        ? { ok: false, reason: 'informers not synced' }
        : term && !term.configLoaded()
          ? { ok: false, reason: 'no valid configuration yet' }
          : { ok: true },
  },
  Number(opts['metrics-port']),
  opts['metrics-host'] ?? '0.0.0.0',
);

const webhook = opts['webhook-port']
  ? await startControllerWebhook(
      {
        ...webhookFromFlags(opts, { kc, namespace, isLeader: () => term !== undefined }),
        namespace,
        config: configSpecs,
        namespaces: specs.namespaces,
        fromCaches: () => (synced() ? { ...configSnapshot(config, namespaces), namespace } : undefined),
      },
      log,
    )
  : undefined;
// The state feed (optional, loaded only with --nats-url): the issuer mints the controller's own JWT.
const feed = opts['nats-url']
  ? (await import('../adapters/controller-feed.js')).controllerFeedFromFlags(opts, webhook?.issuer?.mint, log)
  : undefined;
await Promise.all(informers.map((i) => i.synced));
log.info('informers synced', { event: 'controller.synced', lbClass: lbClass ?? null, namespace, identity });

let shuttingDown = false;
const elector = startLeaderElection(
  kc,
  {
    name: opts['lease-name'] ?? 'mooring-controller',
    namespace,
    identity,
    ...lease,
    onStarted: () => {
      if (shuttingDown) return;
      // A new term starts from the cluster as it is: re-claim from status, then a full pass.
      term = lastTerm = new ServiceReconciler({
        services,
        namespaces,
        config,
        writer,
        events,
        status: statusWriter,
        clock: realClock,
        log,
        namespace,
        limit,
        ...(lbClass ? { lbClass } : {}),
        ...(feed ? { onAllocation: (d) => feed.decision(d) } : {}),
        ...(telemetry.tracer ? { tracer: telemetry.tracer } : {}),
      });
      const t = term;
      feed?.startTerm(() => t.allocations());
      term.start();
      if (feed) void t.idle().then(() => feed.announce());
    },
    onStopped: (reason) => {
      feed?.endTerm();
      void term?.stop();
      term = undefined;
      log.warn('stopped leading: standing by', { event: 'controller.standby', reason });
    },
  },
  log,
);

/** SIGTERM: stop taking work, let the writes in flight finish, flush Events, release the lease, exit. */
async function shutdown(): Promise<void> {
  shuttingDown = true;
  log.info('shutting down', { event: 'controller.shutdown' });
  const t = term;
  term = undefined;
  await t?.stop();
  await feed?.close();
  await events.flush();
  await elector.release();
  await Promise.allSettled(informers.map((i) => i.stop()));
  monitoring.close();
  webhook?.close();
  await telemetry.shutdown().catch(() => undefined); // exports the last spans
  process.exit(0);
}
process.once('SIGTERM', () => {
  void shutdown();
});
process.once('SIGINT', () => {
  void shutdown();
});
