// Seeded chaos over the whole product in simulation (lib/product.ts): N nodes, S LoadBalancer
// Services in layer 2 (a pool, an L2Advertisement, Services with ready endpoints spread over the
// nodes), and a random fault schedule drawn from the seed before the run: speaker SIGKILL and
// restart, an event-loop stall, one node cut off from NATS and healed, the whole NATS down and
// back, Service churn (delete, then create again) and config churn (the L2Advertisement removed,
// then back). SimProduct checks its invariants (P1–P4) after every timer; the run collects them,
// and the failover times (SIGKILL of a node → every IP it answered for answered by a node again).
// Same seed and options → same schedule and same transition log.
import { SimProduct, objects, type LogEntry, type ProductOptions } from './product.js';
import type { KubeObject } from '../../src/actors/kube-ports.js';
import { rng } from './clock.js';

export type FaultKind = 'kill' | 'stall' | 'partition' | 'outage' | 'carrier' | 'apiserver' | 'service' | 'config';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'stall', 'partition', 'outage', 'carrier', 'apiserver', 'service', 'config'];

/**
 * What a config fault changes, undone at its end: `l2ad` the L2Advertisement deleted; `pool` the
 * pool given a second range; `advertisement` the L2Advertisement restricted to every node but
 * `node`; `peer` a BGPPeer (to the simulated router) and a BGPAdvertisement of the pool added.
 * A config fault without a target (traces before targets existed) is `l2ad`.
 */
export const CONFIG_TARGETS = ['l2ad', 'pool', 'advertisement', 'peer'] as const;
export type ConfigTarget = (typeof CONFIG_TARGETS)[number];

/** One scheduled fault: at `at` (simulated ms) on `node` / `service`, undone `durationMs` later. */
export interface Fault {
  readonly at: number;
  readonly kind: FaultKind;
  readonly node?: string;
  readonly service?: string;
  /** What a config fault changes (an object kind/name), for the kinds that name one. */
  readonly target?: string;
  readonly durationMs: number;
}

export interface ChaosOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly services: number;
  readonly durationMs: number;
  readonly kinds?: readonly FaultKind[];
  /** Mean simulated ms between two faults; default 2,000. */
  readonly meanGapMs?: number;
  /** Passed to SimProduct (test-only). */
  readonly plantedBug?: ProductOptions['plantedBug'];
  /** Called about every `progressEveryMs` simulated ms. */
  readonly onProgress?: (p: { simSeconds: number; faults: number; violations: number }) => void;
  readonly progressEveryMs?: number;
  /** Stop at the first violation (within 100 simulated ms): what shrinking runs use. */
  readonly stopOnViolation?: boolean;
}

export interface ChaosResult {
  simSeconds: number;
  wallSeconds: number;
  faults: number;
  faultsByKind: Record<string, number>;
  violations: string[];
  /** Simulated ms from a SIGKILL to each IP the killed node answered for being answered again. */
  failovers: number[];
  settledChecks: number;
  /** Speaker restarts P6 watched (no other fault in progress). */
  restartsWatched?: number;
  /** BGP sessions the simulated router established (config churn `peer`). */
  bgpSessions: number;
  /** Most BGP paths the router held at once. */
  bgpPathsMax: number;
}

export const nodeName = (i: number): string => `node-${String(i + 1).padStart(3, '0')}`;
export const serviceName = (i: number): string => `svc-${i + 1}`;

/** The fault schedule of a seed: drawn before the run, independent of what the run does. */
export function schedule(o: ChaosOptions): Fault[] {
  const r = rng(o.seed ^ 0x5eed);
  const kinds = o.kinds ?? FAULT_KINDS;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const nodes = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
  const mean = o.meanGapMs ?? 2000;
  // Faults start after the initial convergence and end early enough for a last settled check.
  const first = 5000;
  const lastEnd = o.durationMs - 5000;
  const out: Fault[] = [];
  // Cycle through the kinds first (every kind appears when the run is long enough), then at random.
  let at = first;
  for (let i = 0; ; i++) {
    at += int(Math.floor(mean / 2), Math.floor((mean * 3) / 2));
    const kind = i < kinds.length ? (kinds[i] as FaultKind) : pick(kinds);
    const durationMs =
      kind === 'kill'
        ? int(300, 5000)
        : kind === 'stall'
          ? int(50, 450) // up to 1.5 × the detection window: longer stalls are a different test
          : kind === 'partition'
            ? int(200, 4000)
            : kind === 'outage'
              ? int(500, 3000)
              : kind === 'carrier'
                ? int(100, 3000)
                : kind === 'apiserver'
                  ? int(1000, 10_000)
                  : int(300, 3000);
    if (at + durationMs > lastEnd) break;
    const target = kind === 'config' ? pick(CONFIG_TARGETS) : undefined;
    const f: Fault =
      kind === 'service'
        ? { at, kind, service: serviceName(int(0, o.services - 1)), durationMs }
        : kind === 'outage' || kind === 'apiserver'
          ? { at, kind, durationMs }
          : kind === 'config'
            ? target === 'advertisement'
              ? { at, kind, target, node: pick(nodes), durationMs }
              : { at, kind, target: target as string, durationMs }
            : { at, kind, node: pick(nodes), durationMs };
    out.push(f);
  }
  return out;
}

/** Transitions of the run, what two runs of one seed must share. */
export function transitions(log: readonly LogEntry[]): LogEntry[] {
  return log.filter((e) => e.kind === 'transition' || e.kind === 'cause');
}

export interface ChaosRun {
  readonly result: ChaosResult;
  readonly schedule: Fault[];
  readonly log: LogEntry[];
}

/** Runs the product under `faults` (default: the seed's schedule). */
export async function runChaos(o: ChaosOptions, faults = schedule(o)): Promise<ChaosRun> {
  const t0 = performance.now();
  const nodes = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
  const router = { address: '198.51.100.1', asn: 64512 };
  const p = new SimProduct({ seed: o.seed, nodes, router, ...(o.plantedBug ? { plantedBug: o.plantedBug } : {}) });
  const r = rng(o.seed ^ 0xc0ffee);
  // Ready endpoints on one to three nodes per Service, drawn once (a churned Service comes back with the same).
  const endpoints = Array.from({ length: o.services }, () => {
    const n = 1 + Math.floor(r() * Math.min(3, nodes.length));
    const start = Math.floor(r() * nodes.length);
    return Array.from({ length: n }, (_, k) => nodes[(start + k) % nodes.length] as string);
  });
  // Up to 250 Services fit one IPv4 /24 (203.0.113.0/24); more are IPv6 from 2001:db8:100::/112.
  const family = o.services > 250 ? 'IPv6' : 'IPv4';
  const createService = (i: number) => {
    p.apply(objects.loadBalancer(serviceName(i), 'default', family));
    p.apply(objects.endpointSlice(serviceName(i), endpoints[i] as string[]));
  };
  const deleteService = (i: number) => {
    p.delete('EndpointSlice', `${serviceName(i)}-1`, 'default');
    p.delete('Service', serviceName(i), 'default');
  };

  p.start();
  for (const n of ['default', p.namespace]) p.apply(objects.namespace(n));
  for (const n of nodes) p.apply(objects.node(n));
  const range = family === 'IPv4' ? '203.0.113.0/24' : '2001:db8:100::/112';
  const pool = objects.pool('pool-a', [range]);
  p.apply(pool);
  const l2ad = objects.l2Advertisement('l2-a', ['pool-a']);
  p.apply(l2ad);
  const config: Record<ConfigTarget, { on: (f: Fault) => void; off: () => void }> = {
    l2ad: { on: () => p.delete('L2Advertisement', 'l2-a', p.namespace), off: () => p.apply(l2ad) },
    pool: {
      on: () => p.apply(objects.pool('pool-a', [range, family === 'IPv4' ? '198.51.100.240/28' : '2001:db8:101::/120'])),
      off: () => p.apply(pool),
    },
    advertisement: {
      on: (f) =>
        p.apply({
          ...l2ad,
          spec: {
            ipAddressPools: ['pool-a'],
            nodeSelectors: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: [f.node ?? ''] }] }],
          },
        } as KubeObject),
      off: () => p.apply(l2ad),
    },
    peer: {
      on: () => {
        p.apply(objects.bgpPeer('peer-a', 64513, router.asn, router.address));
        p.apply(objects.bgpAdvertisement('bgp-a', ['pool-a']));
      },
      off: () => {
        p.delete('BGPAdvertisement', 'bgp-a', p.namespace);
        p.delete('BGPPeer', 'peer-a', p.namespace);
      },
    },
  };
  for (let i = 0; i < o.services; i++) createService(i);

  // Every fault and its undo, as timed actions in schedule order (ties: the order of the list).
  const byKind: Record<string, number> = {};
  const actions: Array<{ at: number; seq: number; run: () => void }> = [];
  for (const f of faults) {
    const act = (at: number, run: () => void) => actions.push({ at, seq: actions.length, run });
    // kubectl against an unreachable apiserver: retried until it is back.
    const viaApi = (fn: () => void) => () => (p.apiUp() ? fn() : p.whenApiUp(fn));
    const end = f.at + f.durationMs;
    const count = () => (byKind[f.kind] = (byKind[f.kind] ?? 0) + 1);
    const node = f.node ?? '';
    switch (f.kind) {
      case 'kill':
        act(f.at, () => {
          count();
          noteKill(node);
          p.kill(node);
        });
        // P6 watches the restart when every other fault begun before it is over and settled.
        act(end, () =>
          p.restart(
            node,
            faults.every((g) => g === f || g.at >= end || g.at + g.durationMs + p.settleMs <= end),
          ),
        );
        break;
      case 'stall':
        act(f.at, () => {
          count();
          p.stall(node, f.durationMs);
        });
        break;
      case 'partition':
        act(f.at, () => {
          count();
          p.setLink(node, false);
        });
        act(end, () => p.setLink(node, true));
        break;
      case 'outage':
        act(f.at, () => {
          count();
          p.setNats(false);
        });
        act(end, () => p.setNats(true));
        break;
      case 'carrier':
        act(f.at, () => {
          count();
          p.setCarrier(node, false);
        });
        act(end, () => p.setCarrier(node, true));
        break;
      case 'apiserver':
        act(f.at, () => {
          count();
          p.setApi(false);
        });
        act(end, () => p.setApi(true));
        break;
      case 'service': {
        const i = Number((f.service ?? '').replace('svc-', '')) - 1;
        act(f.at, () => {
          count();
          viaApi(() => deleteService(i))();
        });
        act(
          end,
          viaApi(() => createService(i)),
        );
        break;
      }
      case 'config': {
        const c = config[(f.target ?? 'l2ad') as ConfigTarget];
        act(f.at, () => {
          count();
          viaApi(() => c.on(f))();
        });
        act(
          end,
          viaApi(() => c.off()),
        );
        break;
      }
    }
  }
  actions.sort((a, b) => a.at - b.at || a.seq - b.seq);
  // Nothing after the end runs (a shrunk run ends at its violation, inside a fault).
  while (actions.length > 0 && (actions[actions.length - 1]?.at ?? 0) > o.durationMs) actions.pop();

  // Failovers: a killed node's IPs, until someone answers for each again (or it is no longer served).
  const pending = new Map<string, number>();
  const failovers: number[] = [];
  function noteKill(node: string): void {
    for (const [ip, set] of p.seg.answering) if (set.has(node) && set.size === 1 && !pending.has(ip)) pending.set(ip, p.clock.now());
  }
  const served = () => new Set(p.store.list('Service').flatMap((s) => p.ingress(s.metadata?.name ?? '', s.metadata?.namespace ?? '')));
  let bgpPathsMax = 0;
  const watchFailovers = () => {
    if (pending.size === 0) return;
    const now = p.clock.now();
    let live: Set<string> | undefined;
    for (const [ip, at] of pending) {
      if (p.announcers(ip).length > 0) {
        failovers.push(now - at);
        pending.delete(ip);
      } else if (!(live ??= served()).has(ip)) pending.delete(ip);
    }
  };

  const every = o.progressEveryMs ?? 10_000;
  let nextProgress = every;
  let i = 0;
  let stopped = false;
  const step = async (until: number) => {
    while (p.clock.now() < until && !stopped) {
      const to = Math.min(until, p.clock.now() + 100);
      await p.runUntil(
        () => {
          watchFailovers();
          return false;
        },
        to - p.clock.now(),
        to - p.clock.now(),
      );
      if (o.onProgress && p.clock.now() >= nextProgress) {
        nextProgress += every;
        o.onProgress({ simSeconds: p.clock.now() / 1000, faults: count(), violations: p.violations.length });
      }
      if (o.stopOnViolation && p.violations.length > 0) stopped = true;
      // Sampled every 100 simulated ms (not per timer: it walks every session).
      if (p.router) for (const n of p.router.advertisingNodes().values()) bgpPathsMax = Math.max(bgpPathsMax, n);
    }
  };
  const count = () => Object.values(byKind).reduce((a, b) => a + b, 0);
  while (i < actions.length && !stopped) {
    const a = actions[i] as (typeof actions)[number];
    await step(a.at);
    if (stopped) break;
    a.run();
    i++;
  }
  await step(o.durationMs);
  failovers.sort((a, b) => a - b);
  return {
    result: {
      simSeconds: p.clock.now() / 1000,
      wallSeconds: (performance.now() - t0) / 1000,
      faults: count(),
      faultsByKind: byKind,
      violations: [...p.violations],
      failovers,
      settledChecks: p.settledChecks,
      restartsWatched: p.restartsWatched,
      bgpSessions: p.router?.established ?? 0,
      bgpPathsMax,
    },
    schedule: faults,
    log: p.log,
  };
}

/** The q-quantile (0..1) of sorted values, 0 when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
