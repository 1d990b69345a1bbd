// `mooring viz`: the state-machine visualizer (docs/visualizer.md), wiring only. Live: reads the
// state feed over NATS as a read-only viewer (feed, snapshots, heartbeats; it may publish only
// snapshot requests). Replay: reads a trace (JSONL: `chaos sim --trace`, or one saved with
// --save). Serves one page on 127.0.0.1:8089 by default; no write path. Live, it also reads the
// apiserver read-only (the lists of `mooringctl status`, and BGPSessionStates) every --kube-interval:
// Service names, pools, nodes without a feed, why, and their BGP sessions; --kube auto (default:
// when a kubeconfig is given, KUBECONFIG is set or it runs in a Pod), on or off.
//
//   tsx src/bin/viz.ts --nats-url nats://a:4222 [--cluster mooring]
//     [--nats-user viz --nats-pass-file F | --nats-credentials-url URL --nats-token-file F (a viewer JWT minted by the controller)]
//     [--listen 127.0.0.1:8089] [--save trace.jsonl] [--kube auto|on|off] [--kubeconfig F] [--namespace metallb-system]
//     [--kube-interval 10s]
//   tsx src/bin/viz.ts --trace run.jsonl [--listen 127.0.0.1:8089]
import { parseArgs } from 'node:util';
import { readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { createLogger } from '../adapters/log.js';
import { NatsBus, type NatsAuth } from '../adapters/nats.js';
import { liveSource, loadVizAssets, serveViz, type VizSource } from '../adapters/viz-server.js';
import { FeedReader } from '../actors/viz-feed-reader.js';
import { OrderTracker } from '../actors/viz-order.js';
import { realClock } from '../actors/clock.js';
import { traceInputs, type VizInput } from '../domain/viz-model.js';
import { parseDuration } from '../domain/duration.js';

const { values: a } = parseArgs({
  options: {
    /** HOST:PORT, repeatable (in a Pod: the Pod IP for the Service and probes, 127.0.0.1 for kubectl port-forward). */
    listen: { type: 'string', multiple: true, default: ['127.0.0.1:8089'] },
    trace: { type: 'string' },
    save: { type: 'string' },
    cluster: { type: 'string', default: 'mooring' },
    'nats-url': { type: 'string', default: process.env.NATS_URL },
    'nats-user': { type: 'string', default: process.env.NATS_USER },
    'nats-pass-file': { type: 'string' },
    /** Viewer credentials minted by the controller (in the cluster): its endpoint, the projected token, the CA's ConfigMap (Secret: older controllers). */
    'nats-credentials-url': { type: 'string', default: process.env.NATS_CREDENTIALS_URL },
    'nats-token-file': { type: 'string', default: '/var/run/secrets/mooring/nats/token' },
    'nats-ca-configmap': { type: 'string', default: 'mooring-ca' },
    'nats-ca-secret': { type: 'string', default: 'mooring-webhook-cert' },
    kube: { type: 'string', default: 'auto' },
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG },
    namespace: { type: 'string', default: process.env.METALLB_NAMESPACE ?? 'metallb-system' },
    'kube-interval': { type: 'string', default: '10s' },
  },
});
const log = createLogger({ component: 'viz' });
const listen = (a.listen ?? []).map((l) => /^(.*):(\d+)$/.exec(l));
if (listen.some((m) => !m) || (!a.trace && !a['nats-url'])) {
  log.error(listen.some((m) => !m) ? '--listen must be HOST:PORT' : 'either --trace FILE or --nats-url (NATS_URL) is required');
  process.exit(2);
}

let source: VizSource;
let stop = async (): Promise<void> => {};
if (a.trace) {
  const lines = readFileSync(a.trace, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l): unknown[] => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
  const all: VizInput[] = [];
  const orders = new OrderTracker((x) => all.push(x));
  for (const x of traceInputs(lines)) orders.see(x);
  source = { mode: 'replay', inputs: () => all, onInput: () => () => {} };
  log.info('trace loaded', { event: 'viz.trace', file: a.trace, inputs: all.length });
} else {
  const live = liveSource();
  const save = a.save;
  if (save) writeFileSync(save, '');
  const orders = new OrderTracker((x) => {
    live.push(x);
    if (save) appendFileSync(save, JSON.stringify(x) + '\n');
  });
  const pass = a['nats-pass-file'] ? readFileSync(a['nats-pass-file'], 'utf8').trim() : undefined;
  // In the cluster: a viewer JWT minted by the controller for this Pod, renewed before it expires.
  const minted = a['nats-credentials-url']
    ? await import('../adapters/nats-credential-client.js').then(async (m) =>
        m.jwtCredentials({
          url: a['nats-credentials-url'] as string,
          tokenFile: a['nats-token-file'] as string,
          caSecret: {
            kc: (await import('../adapters/kube/informer.js')).loadKubeConfig(a.kubeconfig),
            namespace: a.namespace as string,
            name: a['nats-ca-secret'] as string,
          },
          caConfigMap: a['nats-ca-configmap'] as string,
          log,
        }),
      )
    : undefined;
  let auth: NatsAuth | undefined = a['nats-user'] ? { user: a['nats-user'], pass: pass ?? '' } : undefined;
  for (let attempt = 0; minted && !auth; attempt++) {
    const c = await minted.get(0);
    if (c.ok) auth = c.auth;
    else {
      log.warn('no viewer credential yet, retrying', { event: 'viz.credential.retry', err: c.error });
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)));
    }
  }
  const bus = await NatsBus.connect({
    servers: (a['nats-url'] as string).split(','),
    name: 'mooring-viz',
    mirror: false,
    ...(auth ? { auth } : {}),
    log: (rec) => log.info('nats', { ...rec, event: `nats.${String(rec.event)}` }),
  });
  const stopRotation = minted ? (await import('../adapters/nats-rotation.js')).rotateCredentials(bus, minted, { log }) : undefined;
  const reader = new FeedReader({
    cluster: a.cluster as string,
    bus,
    clock: realClock,
    stamp: () => Date.now(),
    onInput: (x) => orders.see(x),
  });
  reader.start();
  source = live;
  // The apiserver, read-only (loaded only when used: the Kubernetes client is not small).
  const kubeOn = a.kube === 'on' || (a.kube === 'auto' && (!!a.kubeconfig || !!process.env.KUBERNETES_SERVICE_HOST));
  const intervalMs = parseDuration(a['kube-interval'] as string) ?? 10_000;
  let poller: { stop(): void } | undefined;
  if (kubeOn) {
    const [{ loadKubeConfig }, { readClusterObjects, readBgpSessionStates }, { ClusterPoller }] = await Promise.all([
      import('../adapters/kube/informer.js'),
      import('../adapters/kube/cluster-read.js'),
      import('../actors/viz-cluster.js'),
    ]);
    const kc = loadKubeConfig(a.kubeconfig);
    const p = new ClusterPoller({
      read: async () => {
        const [c, s] = await Promise.all([readClusterObjects(kc, a.namespace as string), readBgpSessionStates(kc, a.namespace as string)]);
        return { ...c, problems: [...c.problems, ...(s.problem ? [s.problem] : [])], sessions: s.items };
      },
      clock: realClock,
      intervalMs: Math.max(1000, intervalMs),
      stamp: () => Date.now(),
      onInput: (x) => live.push(x),
      onError: (err) => log.warn('cannot read the apiserver', { event: 'viz.kube.error', err: String(err) }),
    });
    p.start();
    poller = p;
  }
  stop = async () => {
    stopRotation?.();
    poller?.stop();
    reader.stop();
    await bus.close();
  };
}

const { script, charts } = await loadVizAssets();
const servers: Array<Awaited<ReturnType<typeof serveViz>>> = [];
for (const m of listen as RegExpExecArray[]) {
  const host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
  const viz = await serveViz({ host, port: Number(m[2]), title: 'Mooring visualizer', script, charts, source });
  servers.push(viz);
  log.info('visualizer serving', { event: 'viz.listening', url: viz.url, mode: source.mode });
  process.stdout.write(`visualizer: ${viz.url}\n`);
}
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    void Promise.allSettled([stop(), ...servers.map((v) => v.close())]).then(() => process.exit(0));
  });
