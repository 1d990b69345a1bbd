// The speaker (DaemonSet, one per node): watches Services, EndpointSlices, Nodes, the metallb.io
// config kinds and the Secrets they reference; turns them into a plan with the same pure config
// function as everything else (src/domain/config.ts, speaker-plan.ts); and drives
//   - L2: the Coordinator (NATS membership, election, fenced serviceIp machines) and the pcap
//     ARP/NDP announcer;
//   - BGP: one session machine per BGPPeer selecting this node, routes from the advertisements
//     (a BGPPeer edit restarts only that peer's session), coupled to a BFD session machine when
//     the peer has a bfdProfile (BFD down takes BGP down at once: reason bfdDown);
// and writes ServiceL2Status / ServiceBGPStatus / ConfigurationState/speaker-<node>, Events
// (nodeAssigned, notAnnounced) and /metrics. Invalid config keeps the last good one in force.
//
//   NODE_NAME=n1 KUBECONFIG=... tsx src/bin/speaker.ts --nats-url nats://a:4222,nats://b:4222
//     [--namespace metallb-system] [--cluster mooring] [--metrics-port 7472] [--metrics-host 0.0.0.0]
//     [--lb-class NAME] [--nats-user U --nats-pass-file F | --nats-pass-dir D] [--announcer pcap|log]
//     [--ignore-exclude-lb] [--heartbeat-interval 100ms] [--heartbeat-misses 3]
//
// SIGTERM: drain (peers take our L2 IPs make-before-break), stop BGP (graceful restart peers
// keep our routes, others get CEASE), close NATS, exit.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Coordinator } from '../actors/coordinator.js';
import { realClock } from '../actors/coord-ports.js';
import type { L2AnnouncerPort } from '../actors/l2-port.js';
import { BgpSpeaker, type SpeakerPeerConfig } from '../actors/bgp-speaker.js';
import { createBgpTransport } from '../actors/bgp-transport.actor.js';
import { bgpSocketPort } from '../adapters/bgp-socket.js';
import { NatsBus } from '../adapters/nats.js';
import { LogAnnouncer } from '../actors/log-announcer.js';
import { createLogger } from '../adapters/log.js';
import { createTelemetry } from '../adapters/telemetry.js';
import { serveMonitoring } from '../adapters/http.js';
import { loadKubeConfig, startInformer, type Informer } from '../adapters/kube/informer.js';
import { coreSpecs, metallbSpec } from '../adapters/kube/resources.js';
import { createEventRecorder } from '../adapters/kube/events.js';
import { StatusWriter } from '../adapters/kube/status.js';
import { CONFIG_KINDS, DEFAULT_NAMESPACE } from '../api/metallb.js';
import { parseConfig, formatConfigError, type Config, type Peer, type RawObject, type SecretInfo } from '../domain/config.js';
import { planSpeaker, type SpeakerPlan, type ServiceObj, type EndpointSliceObj, type NodeObj } from '../domain/speaker-plan.js';
import { desiredRoutes, type RouteAttrs } from '../domain/bgp-advertisements.js';
import { epochBucket } from '../domain/subjects.js';
import { prefixContains } from '../domain/ip.js';
import { parseDuration } from '../domain/duration.js';
import { Reason } from '../domain/election.js';
import { randomInt } from 'node:crypto';
import { BfdUdpPort, BFD_MULTIHOP_PORT } from '../adapters/bfd-udp.js';
import { BfdHub } from '../actors/bfd-transport.actor.js';
import { coupleBfdToBgp } from '../actors/bfd-bgp-coupling.js';
import { bgpWaitsForBfd, peerUsesBfd } from '../domain/bfd-coupling.js';
import { BfdSessionTracker, registerBfdMetrics, sampleBfd } from '../actors/bfd-metrics.js';
import { bfdSessionSettings } from '../domain/bfd-profile.js';
import { sessionStateOf } from '../machines/bfd-session.machine.js';
import { createBfdSession, type BfdSession } from '../actors/bfd-session-runner.js';
import { TimerQueue } from '../actors/timer-queue.js';

const { values: a } = parseArgs({
  options: {
    node: { type: 'string', default: process.env.NODE_NAME },
    namespace: { type: 'string', default: process.env.METALLB_NAMESPACE ?? DEFAULT_NAMESPACE },
    cluster: { type: 'string', default: 'mooring' },
    'nats-url': { type: 'string', default: process.env.NATS_URL },
    'nats-user': { type: 'string', default: process.env.NATS_USER },
    'nats-pass-file': { type: 'string' },
    /** A directory with one password file per node (a mounted Secret): <dir>/<node>; the user is the node name. */
    'nats-pass-dir': { type: 'string', default: process.env.NATS_PASS_DIR },
    'metrics-port': { type: 'string', default: '7472' },
    'metrics-host': { type: 'string', default: '0.0.0.0' },
    'lb-class': { type: 'string' },
    announcer: { type: 'string', default: 'pcap' },
    'ignore-exclude-lb': { type: 'boolean', default: false },
    'kv-replicas': { type: 'string', default: '3' },
    /** Heartbeat period and missed beats before a peer is dead (default 100 ms × 3: sub-second failover). */
    'heartbeat-interval': { type: 'string', default: '100ms' },
    'heartbeat-misses': { type: 'string', default: '3' },
  },
});

const node = a.node;
const log = createLogger({ component: 'speaker', node });
if (!node) { log.error('NODE_NAME (or --node) is required'); process.exit(2); }
if (!a['nats-url']) { log.error('--nats-url (or NATS_URL) is required'); process.exit(2); }
const ns = a.namespace as string;
const hbInterval = parseDuration(a['heartbeat-interval'] as string);
const hbMisses = Number(a['heartbeat-misses']);
if (hbInterval === undefined || hbInterval < 10 || !Number.isInteger(hbMisses) || hbMisses < 2) {
  log.error('invalid heartbeat settings', { event: 'config.flags', interval: a['heartbeat-interval'], misses: a['heartbeat-misses'], err: 'interval must be a duration >= 10ms, misses an integer >= 2' });
  process.exit(2);
}

// ---- telemetry ---------------------------------------------------------------------------
const telemetry = createTelemetry('speaker');
const meter = telemetry.meter;
const announcedGauge = meter.createObservableGauge('metallb_speaker_announced', { description: 'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.' });
const staleGauge = meter.createObservableGauge('metallb_k8s_client_config_stale_bool', { description: '1 if running on a stale configuration, because the latest config failed to load.' });
const loadedGauge = meter.createObservableGauge('metallb_k8s_client_config_loaded_bool', { description: '1 if the MetalLB configuration was successfully loaded at least once.' });
const machinesGauge = meter.createObservableGauge('mooring_machines', { description: 'serviceIp and bgpSession machines on this node, by kind and state.' });
const failoverHist = meter.createHistogram('mooring_l2_takeover_seconds', { description: 'Time from leaving standby to announcing an IP (claim and burst start), per takeover.', unit: 's' });
// Event-loop stalls delay heartbeats: a stall near the detection time makes peers take this node's
// IPs. Exported, and logged when a second holds one over 150 ms, so a failover can be explained.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let loopMaxMs = 0;
setInterval(() => {
  const max = loopDelay.max / 1e6;
  loopDelay.reset();
  loopMaxMs = Math.max(loopMaxMs, max);
  if (max > 150) log.warn('event loop stalled', { event: 'loop.stall', maxMs: Math.round(max) });
}, 1000).unref();
meter.createObservableGauge('mooring_event_loop_delay_max_seconds', { description: 'Longest event-loop delay since the last scrape (heartbeats and ARP/NDP answers wait that long).', unit: 's' })
  .addCallback((r) => { r.observe(loopMaxMs / 1000); loopMaxMs = 0; });

// ---- L2 announcer ------------------------------------------------------------------------
let l2Stats: (() => { byIp: ReadonlyMap<string, { requestsReceived: number; responsesSent: number; gratuitousSent: number }> } | undefined) = () => undefined;
async function makeAnnouncer(): Promise<L2AnnouncerPort> {
  if (a.announcer === 'log') return new LogAnnouncer((event, ip) => log.info(event, { event: `l2.${event}`, ip }));
  const { L2Announcer } = await import('../actors/l2-announcer.js');
  const { createLinuxL2Host } = await import('../adapters/pcap-link.js');
  const host = await createLinuxL2Host((ev) => log.debug('l2', { ...ev, event: `l2.${String(ev.event ?? 'host')}` }));
  const l2 = new L2Announcer(host, { log: (ev) => log.info('l2', { ...ev, event: `l2.${String(ev.event ?? 'event')}` }) });
  l2Stats = () => l2.stats() as unknown as ReturnType<typeof l2Stats>;
  return l2;
}
const realL2 = await makeAnnouncer();
/** The interfaces each IP's L2Advertisements restrict it to (from the plan). */
let ifacesFor = new Map<string, string[]>();
const l2: L2AnnouncerPort = {
  announce: (ip) => { const i = ifacesFor.get(ip); realL2.announce(ip, i && i.length > 0 ? i : undefined); },
  withdraw: (ip) => realL2.withdraw(ip),
  prepare: () => realL2.prepare?.(),
  announced: () => realL2.announced(),
  onConflict: (cb) => realL2.onConflict(cb),
  onCarrier: (cb) => realL2.onCarrier(cb),
  close: () => realL2.close(),
};
for (const [name, cb] of [['layer2_requests_received', 'requestsReceived'], ['layer2_responses_sent', 'responsesSent'], ['layer2_gratuitous_sent', 'gratuitousSent']] as const) {
  meter.createObservableCounter(`metallb_${name}`, { description: `Number of layer2 ${name.replace('layer2_', '').replace('_', ' ')}` })
    .addCallback((r) => { for (const [ip, c] of l2Stats()?.byIp ?? []) r.observe(c[cb], { ip }); });
}

// ---- NATS + coordinator --------------------------------------------------------------------
const bus = await connectNats();
async function connectNats(): Promise<NatsBus> {
  const passFile = a['nats-pass-file'] ?? (a['nats-pass-dir'] ? `${a['nats-pass-dir']}/${node}` : undefined);
  const pass = passFile ? readFileSync(passFile, 'utf8').trim() : process.env.NATS_PASSWORD;
  const user = a['nats-user'] ?? (a['nats-pass-dir'] ? node : undefined);
  for (let attempt = 0; ; attempt++) {
    try {
      return await NatsBus.connect({
        servers: (a['nats-url'] as string).split(','), name: `speaker-${node}`,
        ...(user ? { auth: { user, ...(pass ? { pass } : {}) } } : {}),
        log: (rec) => log.info('nats', { ...rec, event: `nats.${String(rec.event ?? 'status')}` }),
      });
    } catch (err) {
      log.warn('cannot connect to NATS, retrying', { event: 'nats.connectFailed', err: err instanceof Error ? err : String(err), attempt });
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
    }
  }
}
async function openEpochs() {
  for (let attempt = 1; attempt <= 120; attempt++) {
    try { return await bus.epochStore(epochBucket(a.cluster as string), Number(a['kv-replicas'])); } catch (err) {
      if (attempt % 10 === 1) log.warn('epoch bucket not available yet', { event: 'kv.retry', attempt, err: String(err) });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  log.warn('running without the epoch store: takeovers are fenced by heartbeats and claims only', { event: 'kv.unavailable' });
  return undefined;
}
const epochs = await openEpochs();
const coord = new Coordinator({
  cluster: a.cluster as string, node, inc: Date.now(), clock: realClock, bus, l2, ...(epochs ? { epochs } : {}),
  membership: { intervalMs: Math.round(hbInterval), misses: hbMisses },
  log: (rec) => { if (rec.event !== 'hb.dropped') log.debug('coord', rec); },
});

// ---- Kubernetes ------------------------------------------------------------------------------
const kc = loadKubeConfig();
const core = coreSpecs(kc, ns);
const inf = {
  services: startInformer(kc, core.services, log),
  endpointSlices: startInformer(kc, core.endpointSlices, log),
  nodes: startInformer(kc, core.nodes, log),
  namespaces: startInformer(kc, core.namespaces, log),
  secrets: startInformer(kc, core.secrets, log),
};
const configInf: Informer<KubernetesObject>[] = CONFIG_KINDS.map((k) => startInformer(kc, metallbSpec(kc, ns, k), log));
const events = createEventRecorder(kc, 'metallb-speaker', node, log);
const statusWriter = new StatusWriter(kc, ns, log);

let lastGood: Config | undefined;
let stale = false;
let plan: SpeakerPlan | undefined;
staleGauge.addCallback((r) => r.observe(stale ? 1 : 0));
loadedGauge.addCallback((r) => r.observe(lastGood ? 1 : 0));
const allInformers = [...Object.values(inf), ...configInf] as Array<Informer<KubernetesObject>>;
const synced = () => allInformers.every((i) => i.isSynced());

function snapshotObjects(): RawObject[] {
  return configInf.flatMap((i) => i.list()).map((o) => o as unknown as RawObject);
}
function secrets(): SecretInfo[] {
  return inf.secrets.list().map((s) => ({ name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? ns, ...(s.type ? { type: s.type } : {}), ...(s.data ? { data: s.data } : {}) }));
}

// ---- BFD: UDP ports opened on first use, one session per peer with a bfdProfile -------------
// Single-hop sessions (RFC 5881) on UDP 3784, received TTL 255; multi-hop ones (RFC 5883, an
// ebgpMultiHop peer) on UDP 4784, received TTL at least the lowest minimumTtl of their profiles.
interface BfdRuntime { port: BfdUdpPort; hub: BfdHub }
const bfdTimers = new TimerQueue(); // every session's transmit and detection timers (actors/timer-queue.ts)
const bfdRuntimes = new Map<boolean, Promise<BfdRuntime>>(); // by multihop; one open per port, however many peers start at once
const bfdTrackers = new Map<BfdSessionTracker, BfdHub>();
const multihopMinTtl = new Map<BfdSessionTracker, number>();
let bfdMetrics = false;
function bfdRuntime(multihop: boolean, minTtl: number): Promise<BfdRuntime> {
  let rt = bfdRuntimes.get(multihop);
  if (!rt) {
    rt = BfdUdpPort.open({ localAddresses: ['0.0.0.0', '::'], ...(multihop ? { port: BFD_MULTIHOP_PORT, minTtl } : {}) }).then((port) => {
      // The received-TTL check: a kernel socket filter attached through koffi (optional).
      if (!port.gtsm) log.warn('BFD received-TTL check (GTSM) not available: koffi did not load', { event: 'bfd.noGtsm', multihop });
      if (!port.dscp) log.warn('BFD packets sent without DSCP CS6: koffi did not load', { event: 'bfd.noDscp', multihop });
      if (!bfdMetrics) {
        bfdMetrics = true;
        registerBfdMetrics(meter, () => [...bfdTrackers].flatMap(([t, hub]) => sampleBfd(hub, [t])));
      }
      return { port, hub: new BfdHub(port) };
    });
    bfdRuntimes.set(multihop, rt);
    rt.catch(() => bfdRuntimes.delete(multihop));
  }
  return rt;
}
/** The multi-hop port's TTL floor: the lowest minimumTtl of the live multi-hop sessions. */
function applyMultihopMinTtl(): void {
  const rt = bfdRuntimes.get(true);
  if (!rt || multihopMinTtl.size === 0) return;
  const floor = Math.min(...multihopMinTtl.values());
  void rt.then((r) => { if (!r.port.setMinTtl(floor)) log.warn('cannot set the multi-hop BFD TTL floor', { event: 'bfd.noGtsm', minTtl: floor }); }, () => undefined);
}
interface BfdRun { actor: BfdSession; tracker: BfdSessionTracker; uncouple: () => void }
async function startBfd(peerName: string, address: string, profileName: string, multihop: boolean, speaker: BgpSpeaker): Promise<BfdRun | undefined> {
  const profile = lastGood?.bfdProfiles.find((p) => p.name === profileName);
  const settings = bfdSessionSettings(profile);
  if (!settings.ok) { log.error('invalid BFD profile', { event: 'bfd.invalidProfile', peer: peerName, err: JSON.stringify(settings.errors) }); return undefined; }
  const minTtl = settings.value.minimumTtl;
  const rt = await bfdRuntime(multihop, minTtl);
  const actor = createBfdSession(rt.hub, bfdTimers, { peer: address, localDiscr: randomInt(1, 0xffffffff), seed: randomInt(0, 0xffffffff), ...settings.value });
  let prev = 'down';
  actor.subscribe((snap) => {
    const to = sessionStateOf(snap.value);
    if (to !== prev) log.info('bfd session', { event: 'bfd.transition', machine: 'bfdSession', peer: peerName, multihop, from: prev, to, reason: snap.context.downReason });
    prev = to;
  });
  const uncouple = coupleBfdToBgp(actor, (ev) => speaker.bfd(peerName, ev.type === 'bfd.up'));
  const tracker = new BfdSessionTracker(address, actor);
  bfdTrackers.set(tracker, rt.hub);
  if (multihop) { multihopMinTtl.set(tracker, minTtl); applyMultihopMinTtl(); }
  actor.start();
  return { actor, tracker, uncouple };
}
function stopBfd(run: BfdRun | undefined): void {
  if (!run) return;
  run.actor.send({ type: 'bfd.admin.down' });
  run.uncouple();
  run.tracker.stop();
  bfdTrackers.delete(run.tracker);
  if (multihopMinTtl.delete(run.tracker)) applyMultihopMinTtl();
  setTimeout(() => run.actor.close(), 300).unref();
}

// ---- BGP: one BgpSpeaker per peer, keyed by its configuration ------------------------------
interface PeerRun { key: string; speaker: BgpSpeaker; peer: Peer; bfd?: BfdRun }
const bgpPeers = new Map<string, PeerRun>();
function peerConfig(p: Peer): SpeakerPeerConfig {
  return {
    name: p.name, peerAddress: p.address ?? '', peerPort: p.port, myAsn: p.myASN,
    // dynamicASN: the peer's ASN comes from its OPEN (same as ours for internal, any other for external).
    peerAsn: p.peerASN ?? (p.dynamicASN === 'internal' ? p.myASN : 0), ...(p.dynamicASN ? { dynamicAsn: p.dynamicASN } : {}),
    holdTime: p.holdTimeMs / 1000, keepaliveTime: p.keepaliveTimeMs / 1000,
    ...(p.routerID ? { routerId: p.routerID } : {}), ...(p.sourceAddress ? { sourceAddress: p.sourceAddress } : {}),
    ...(p.password ? { password: p.password } : {}), ebgpMultiHop: p.ebgpMultiHop, enableGracefulRestart: p.enableGracefulRestart,
    ...(p.connectTimeMs !== undefined ? { connectTimeMs: p.connectTimeMs } : {}),
    ...(p.dualStackAddressFamily ? { families: ['ipv4', 'ipv6'] as const } : {}),
    // With a BFD profile, the session drops when BFD does; a single-hop one also does not come up
    // while BFD is down (bgpWaitsForBfd: a multi-hop router may register BFD only after BGP).
    ...(bgpWaitsForBfd(p) ? { bfdRequired: true } : {}),
  };
}
/** A peer's session restarts when its BGP settings or its BFD profile's settings change. */
function peerKey(p: Peer): string {
  const profile = peerUsesBfd(p) ? lastGood?.bfdProfiles.find((b) => b.name === p.bfdProfile) : undefined;
  return JSON.stringify([peerConfig(p), profile ?? null]);
}
function reconcileBgp(p: SpeakerPlan): Map<string, Map<string, RouteAttrs>> {
  const want = new Map(p.bgp.peers.filter((x) => x.address).map((x) => [x.name, x]));
  for (const [name, run] of bgpPeers) {
    const w = want.get(name);
    if (!w || peerKey(w) !== run.key) {
      log.info('stopping BGP session', { event: 'bgp.peerRemoved', peer: name, reason: w ? 'configChanged' : 'peerRemoved' });
      run.speaker.stop(false);
      stopBfd(run.bfd);
      bgpPeers.delete(name);
    }
  }
  for (const [name, peer] of want) {
    if (bgpPeers.has(name)) continue;
    const cfg = peerConfig(peer);
    const speaker = new BgpSpeaker({
      nodeName: node as string, peers: [cfg], transport: createBgpTransport(bgpSocketPort),
      onEvent: (e) => log.info('bgp', { ...e, event: `bgp.${e.event}` }),
    });
    speaker.start();
    const run: PeerRun = { key: peerKey(peer), speaker, peer };
    bgpPeers.set(name, run);
    if (peerUsesBfd(peer) && peer.address) {
      void startBfd(name, peer.address, peer.bfdProfile, peer.ebgpMultiHop, speaker).then((b) => {
        if (bgpPeers.get(name) === run) run.bfd = b; else stopBfd(b);
      }, (err: unknown) => log.error('cannot start BFD', { event: 'bfd.error', peer: name, err: err instanceof Error ? err : String(err) }));
    }
  }
  const self = inf.nodes.list().find((n) => n.metadata?.name === node);
  const routes = desiredRoutes({ node: { name: node as string, labels: self?.metadata?.labels ?? {} }, peers: p.bgp.advPeers, advertisements: p.bgp.advertisements, services: p.bgp.services });
  for (const [name, run] of bgpPeers) run.speaker.setRoutes(new Map([[name, routes.get(name) ?? new Map()]]));
  return routes;
}
meter.createObservableGauge('metallb_bgp_session_up', { description: 'BGP session state (1 is up, 0 is down)' })
  .addCallback((r) => { for (const [name, run] of bgpPeers) r.observe(run.speaker.metrics()[name]?.metallb_bgp_session_up ?? 0, { peer: `${run.peer.address}:${run.peer.port}` }); });
meter.createObservableCounter('metallb_bgp_updates_total', { description: 'Number of BGP UPDATE messages sent' })
  .addCallback((r) => { for (const [name, run] of bgpPeers) r.observe(run.speaker.metrics()[name]?.metallb_bgp_updates_total ?? 0, { peer: `${run.peer.address}:${run.peer.port}` }); });
meter.createObservableGauge('metallb_bgp_announced_prefixes_total', { description: 'Number of prefixes currently being advertised on the BGP session' })
  .addCallback((r) => { for (const [name, run] of bgpPeers) r.observe(run.speaker.metrics()[name]?.metallb_bgp_announced_prefixes_total ?? 0, { peer: `${run.peer.address}:${run.peer.port}` }); });

// ---- reconcile -----------------------------------------------------------------------------
let lastErrors = '';
const reported = new Set<string>();
function reconcile(): void {
  if (!synced()) return;
  const r = parseConfig({
    objects: snapshotObjects(), secrets: secrets(), namespace: ns,
    nodes: inf.nodes.list().map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} })),
    namespaces: inf.namespaces.list().map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} })),
  });
  if (r.ok) {
    lastGood = r.config;
    stale = false;
    if (lastErrors !== '') log.info('configuration valid again', { event: 'config.loaded' });
    lastErrors = '';
    void statusWriter.configurationState(`speaker-${node}`, true, '');
  } else {
    const summary = r.errors.map(formatConfigError).join('; ');
    stale = lastGood !== undefined;
    if (summary !== lastErrors) log.error('invalid configuration, keeping the last good one', { event: 'config.invalid', err: summary, stale });
    lastErrors = summary;
    void statusWriter.configurationState(`speaker-${node}`, false, summary);
  }
  if (!lastGood) return;
  plan = planSpeaker({
    node: node as string, config: lastGood,
    services: inf.services.list() as unknown as ServiceObj[],
    endpointSlices: inf.endpointSlices.list() as unknown as EndpointSliceObj[],
    nodes: inf.nodes.list() as unknown as NodeObj[],
    ...(a['lb-class'] ? { loadBalancerClass: a['lb-class'] } : {}),
    ignoreExcludeLB: a['ignore-exclude-lb'] === true,
  });
  const prevIfaces = ifacesFor;
  ifacesFor = new Map(plan.services.flatMap((s) => s.ips.map((ip) => [ip, s.l2Interfaces] as const)));
  // An L2Advertisement's interfaces changed for an IP we announce: re-announce on the new set
  // (same tick, so no request goes unanswered on an interface that stays).
  for (const ip of coord.owned()) {
    const was = prevIfaces.get(ip) ?? [];
    const now = ifacesFor.get(ip) ?? [];
    if (was.join() !== now.join() && ifacesFor.has(ip)) {
      log.info('announcing interfaces changed', { event: 'l2.interfacesChanged', ip, from: was, to: now });
      realL2.withdraw(ip);
      l2.announce(ip);
    }
  }
  coord.setCluster(plan.l2);
  const routes = reconcileBgp(plan);
  // ServiceBGPStatus: services this node advertises, with the peers it advertises them to.
  const bgpStatus = plan.bgp.services.flatMap((s) => {
    const peers = [...routes].filter(([, m]) => s.ips.some((ip) => [...m.keys()].some((pfx) => prefixContains(pfx, ip)))).map(([p]) => p).sort();
    if (peers.length === 0) return [];
    const [sns = '', sname = ''] = s.key.split('/');
    return [{ serviceKey: s.key, status: { node, serviceName: sname, serviceNamespace: sns, peers } }];
  });
  void statusWriter.reconcile('servicebgpstatuses', node as string, bgpStatus);
  writeL2Status();
  // Why an IP is not announced from here: an Event on the Service, once per (ip, reason). Service-
  // level reasons from the plan, and the election's reasons about this node (not "notOwner",
  // which is the normal state of every other node).
  const electionReasons = plan.l2.services.flatMap((s) => s.ips.map((ip) => ({ s, ip, ex: coord.explain(ip) })))
    .filter(({ ex }) => ex.state !== 'announcing' && ex.reason !== undefined && STABLE_REASONS.has(ex.reason))
    .map(({ s, ip, ex }) => ({ service: s.key, ip, mode: 'l2' as const, reason: ex.reason as string, detail: `the layer2 election excludes node ${node}${ex.owner ? ` (owner: ${ex.owner})` : ' (no eligible node)'}` }));
  for (const n of [...plan.notAnnounced, ...electionReasons]) {
    const k = `${n.service}/${n.ip}/${n.mode}/${n.reason}`;
    if (reported.has(k)) continue;
    reported.add(k);
    const [sns = '', sname = ''] = n.service.split('/');
    events.record({ kind: 'Service', namespace: sns, name: sname, apiVersion: 'v1' }, 'Warning', 'notAnnounced', `node ${node} does not announce ${n.ip}${n.mode === 'any' ? '' : ` by ${n.mode === 'l2' ? 'layer2' : 'BGP'}`}: ${n.reason}: ${n.detail}`);
  }
}
function writeL2Status(): void {
  if (!plan) return;
  const owned = new Set(coord.owned());
  const desired = plan.services.filter((s) => s.ips.some((ip) => owned.has(ip))).map((s) => {
    const [sns = '', sname = ''] = s.key.split('/');
    return { serviceKey: s.key, status: { node, serviceName: sname, serviceNamespace: sns, interfaces: s.l2Interfaces.map((name) => ({ name })) } };
  });
  void statusWriter.reconcile('servicel2statuses', node as string, desired);
}

/** Election reasons that describe config or cluster facts (not transient NATS or ownership states). */
const STABLE_REASONS = new Set<string>([Reason.noServingEndpoints, Reason.noLocalEndpoints, Reason.noMatchingAdvertisement, Reason.nodeExcluded, Reason.networkUnavailable, Reason.carrierDown]);
const startedAt = new Map<string, number>();
coord.onTransition((t) => {
  log.info('serviceIp transition', { event: 'serviceIp.transition', machine: 'serviceIp', ip: t.ip, service: t.service, from: t.from, to: t.to, reason: t.reason, epoch: t.epoch });
  if (t.from !== 'announcing' && t.to !== 'announcing') startedAt.set(t.ip, Date.now());
  if (t.to === 'announcing') {
    const since = startedAt.get(t.ip);
    if (since !== undefined) failoverHist.record((Date.now() - since) / 1000, { ip: t.ip });
    const [sns = '', sname = ''] = t.service.split('/');
    events.record({ kind: 'Service', namespace: sns, name: sname, apiVersion: 'v1' }, 'Normal', 'nodeAssigned', `announcing from node "${node}" with protocol "layer2"`);
  }
  if (t.to === 'announcing' || t.from === 'announcing') scheduleL2Status();
});
// Coalesced: a takeover or a re-election moves hundreds of IPs in one burst, and each write
// walks every service (at 1,000 services, one per transition made the burst quadratic and
// stalled the event loop past the heartbeat window).
let l2StatusTimer: NodeJS.Timeout | undefined;
function scheduleL2Status(): void {
  l2StatusTimer ??= setTimeout(() => { l2StatusTimer = undefined; writeL2Status(); }, 20);
}
announcedGauge.addCallback((r) => {
  const serviceOf = new Map((plan?.services ?? []).flatMap((s) => s.ips.map((ip) => [ip, s.key] as const)));
  for (const ip of coord.owned()) r.observe(1, { ip, node, protocol: 'layer2', service: serviceOf.get(ip) ?? '' });
  for (const s of plan?.bgp.services ?? []) for (const ip of s.ips) r.observe(1, { ip, node, protocol: 'bgp', service: s.key });
});
machinesGauge.addCallback((r) => {
  const counts = new Map<string, number>();
  for (const s of plan?.l2.services ?? []) for (const ip of s.ips) { const st = coord.stateOf(ip).state; counts.set(`serviceIp/${st}`, (counts.get(`serviceIp/${st}`) ?? 0) + 1); }
  for (const [name, run] of bgpPeers) { const st = run.speaker.state(name) ?? 'idle'; counts.set(`bgpSession/${st}`, (counts.get(`bgpSession/${st}`) ?? 0) + 1); }
  for (const [k, v] of counts) { const [kind, state] = k.split('/'); r.observe(v, { kind: kind ?? '', state: state ?? '' }); }
});

let pending: NodeJS.Timeout | undefined;
const schedule = () => { if (!pending) pending = setTimeout(() => { pending = undefined; try { reconcile(); } catch (err) { log.error('reconcile failed', { event: 'reconcile.error', bug: true, err: err instanceof Error ? err : String(err) }); } }, 30); };
// Updates that change nothing the speaker reads are skipped: the controller writes IPAddressPool
// status counts every second and kubelets refresh Node heartbeats every 10 s, and each used to
// cost a full reconcile (config parse, plan and election over every service).
const relevant = new Map<string, string>();
function onlyRelevant(keyOf: (o: KubernetesObject) => string) {
  return (ev: { type: 'add' | 'update' | 'delete'; obj: KubernetesObject }) => {
    const id = ev.obj.metadata?.uid ?? `${ev.obj.kind ?? ''}/${ev.obj.metadata?.namespace ?? ''}/${ev.obj.metadata?.name ?? ''}`;
    if (ev.type === 'delete') { relevant.delete(id); schedule(); return; }
    const k = keyOf(ev.obj);
    if (ev.type === 'update' && relevant.get(id) === k) return;
    relevant.set(id, k);
    schedule();
  };
}
const specKey = (o: KubernetesObject) => JSON.stringify([o.metadata?.generation, o.metadata?.labels, o.metadata?.annotations, (o as { spec?: unknown }).spec]);
const nodeKey = (o: KubernetesObject) => JSON.stringify([o.metadata?.labels, ((o as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? []).map((c) => [c.type, c.status]), (o as { spec?: { unschedulable?: boolean } }).spec?.unschedulable]);
for (const i of configInf) i.onChange(onlyRelevant(specKey));
inf.nodes.onChange(onlyRelevant(nodeKey));
inf.namespaces.onChange(onlyRelevant((o) => JSON.stringify(o.metadata?.labels ?? {})));
for (const i of [inf.services, inf.endpointSlices, inf.secrets] as Array<Informer<KubernetesObject>>) i.onChange(schedule);
void Promise.all(allInformers.map((i) => i.synced)).then(() => { log.info('caches synced', { event: 'informers.synced' }); schedule(); });

coord.start();
const server = await serveMonitoring(telemetry, {
  ready: () => (!synced() ? { ok: false, reason: 'informers not synced' } : !lastGood ? { ok: false, reason: 'no valid configuration yet' } : !bus.isUp() ? { ok: false, reason: 'NATS disconnected' } : { ok: true }),
}, Number(a['metrics-port']), a['metrics-host'] as string);
log.info('speaker started', { event: 'started', namespace: ns, cluster: a.cluster, metricsPort: Number(a['metrics-port']) });

// ---- shutdown ------------------------------------------------------------------------------
let stopping = false;
async function shutdown(sig: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('shutting down', { event: 'stopping', signal: sig });
  coord.setDraining(true);
  const deadline = Date.now() + 3000;
  while (coord.owned().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const run of bgpPeers.values()) { run.speaker.stop(true); stopBfd(run.bfd); }
  coord.shutdown();
  await statusWriter.reconcile('servicel2statuses', node as string, []).catch(() => undefined);
  await Promise.allSettled([bus.flush(), events.flush(), ...allInformers.map((i) => i.stop())]);
  await l2.close();
  if (bfdRuntimes.size > 0) {
    await new Promise((r) => setTimeout(r, 350));
    for (const rt of bfdRuntimes.values()) {
      const r = await rt.catch(() => undefined);
      if (r) { r.hub.close(); await r.port.close().catch(() => undefined); }
    }
  }
  await bus.close().catch(() => undefined);
  server.close();
  log.info('stopped', { event: 'stopped' });
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', () => { void shutdown('SIGTERM'); });
process.on('SIGINT', () => { void shutdown('SIGINT'); });
