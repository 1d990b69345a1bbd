// The FRR backend (--bgp-backend=frr, MetalLB's FRR mode): the speaker's peers and routes are
// rendered as an FRR configuration (src/domain/frr-config.ts) and applied to the FRR daemons
// running beside the speaker (zebra, bgpd, bfdd sharing its network namespace; their vty sockets
// in `vtySocket`) by frr-reload.py, which diffs the render against FRR's running configuration
// and changes only what differs: an unrelated session is never reset. Changes are coalesced
// (`coalesceMs`, default 150 ms; MetalLB waits 3 s); one reload runs at a time, and changes that
// arrive during a reload are applied by the next one. Session state and counters are read back
// from FRR as JSON (`show bgp vrf all neighbors json`, `show bfd peers json`) and served through
// the same view as the native peers (states, metrics) for the speaker's metrics and status.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerSpec } from '../actors/peer-specs.js';
import type { LoadedPeers } from '../actors/lazy-peers.js';
import type { AdjRibOut, PeerMetrics } from '../actors/bgp-speaker.js';
import type { RouteAttrs } from '../domain/bgp-advertisements.js';
import { adjRibOutRoutes } from '../domain/adj-rib-out.js';
import { frrConfigDelta, frrPeerLimits, renderFrrConfig, type FrrBfdProfile, type FrrPeer } from '../domain/frr-config.js';
import { frrReadBack, frrSessionEvents, type FrrNeighborView, type FrrSessionEvent } from '../domain/frr-status.js';
import type { SpeakerEvent } from '../actors/bgp-speaker.js';
import type { BfdPeerEvent } from '../actors/bgp-peers.js';
import type { Logger } from './log.js';

export interface FrrPeersOptions {
  /** Directory of FRR's vty sockets (FRR's --vty_socket; /var/run/frr by default in FRR). */
  readonly vtySocket?: string;
  /** Where the rendered frr.conf is written (frr-reload.py's confdir and rundir). */
  readonly stateDir: string;
  readonly vtysh?: string;
  /** frr-reload.py (Debian: package frr-pythontools). */
  readonly reloadScript?: string;
  readonly hostname?: string;
  readonly coalesceMs?: number;
  /** Read-back period of session state (default 1000 ms). */
  readonly pollMs?: number;
  readonly log: Logger;
  /**
   * Session events as the native peers emit them (stateChanged, sessionUp, sessionDown with the
   * typed reason, bfdState), from the change between two read-backs (domain/frr-status.ts): the
   * speaker's BGPSessionState objects, Events and state feed take them.
   */
  readonly onEvent?: (e: SpeakerEvent | BfdPeerEvent) => void;
}

/** The PeerSpec (what the native backend takes too) as the renderer's peer. */
export function frrPeerOf(s: PeerSpec): FrrPeer {
  const b = s.bgp;
  return {
    name: b.name,
    ...(b.peerAddress ? { address: b.peerAddress } : {}),
    ...(b.interface ? { interface: b.interface } : {}),
    ...(b.peerPort !== undefined ? { port: b.peerPort } : {}),
    ...(b.vrf ? { vrf: b.vrf } : {}),
    myAsn: b.myAsn,
    peerAsn: b.peerAsn,
    ...(b.dynamicAsn ? { dynamicAsn: b.dynamicAsn } : {}),
    ...(b.localAsn ? { localAsn: b.localAsn } : {}),
    ...(b.holdTime !== undefined ? { holdTime: b.holdTime } : {}),
    ...(b.keepaliveTime !== undefined ? { keepaliveTime: b.keepaliveTime } : {}),
    ...(b.connectTimeMs !== undefined ? { connectTimeMs: b.connectTimeMs } : {}),
    ...(b.routerId ? { routerId: b.routerId } : {}),
    ...(b.sourceAddress ? { sourceAddress: b.sourceAddress } : {}),
    ...(b.password ? { password: b.password } : {}),
    ...(b.ebgpMultiHop ? { ebgpMultiHop: true } : {}),
    ...(b.enableGracefulRestart ? { enableGracefulRestart: true } : {}),
    ...(b.families ? { families: b.families } : {}),
    ...(s.bfd ? { bfdProfile: s.bfd.profileName ?? 'mooring-default' } : {}),
  };
}

function bfdProfilesOf(specs: readonly PeerSpec[]): FrrBfdProfile[] {
  const out = new Map<string, FrrBfdProfile>();
  for (const s of specs)
    if (s.bfd) out.set(s.bfd.profileName ?? 'mooring-default', { name: s.bfd.profileName ?? 'mooring-default', ...s.bfd.profile });
  return [...out.values()];
}

const run = (cmd: string, args: string[], timeoutMs = 600_000) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, args, { maxBuffer: 512 * 1024 * 1024, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

export class FrrPeers implements LoadedPeers {
  private specs: readonly PeerSpec[] = [];
  private routes: Map<string, Map<string, RouteAttrs>> = new Map();
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private lastApplied = '';
  private lastFailed = '';
  /** The next apply goes through frr-reload.py (first one, after a failure, FRR lost our configuration). */
  private needFull = true;
  private memo:
    { specs: readonly PeerSpec[]; routes: Map<string, Map<string, RouteAttrs>>; out: ReturnType<typeof renderFrrConfig> } | undefined;
  private neighbors = new Map<string, FrrNeighborView>();
  private readonly waiters: Array<{ text: string; resolve: () => void }> = [];
  private readonly coalesceMs: number;
  private readonly vtysh: string;
  private readonly reloadScript: string;
  /** Reloads applied (tests, bench). */
  reloads = 0;

  constructor(private readonly o: FrrPeersOptions) {
    this.coalesceMs = o.coalesceMs ?? 150;
    this.vtysh = o.vtysh ?? 'vtysh';
    this.reloadScript = o.reloadScript ?? '/usr/lib/frr/frr-reload.py';
    mkdirSync(o.stateDir, { recursive: true });
    // frr-reload.py reads vtysh.conf from its confdir (absent: a warning per vtysh call).
    writeFileSync(join(o.stateDir, 'vtysh.conf'), 'service integrated-vtysh-config\n');
    const poll = () => {
      if (this.stopped) return;
      void this.readBack().finally(() => {
        if (!this.stopped) this.poller = setTimeout(poll, o.pollMs ?? 1000);
      });
    };
    poll();
  }

  reconcile(specs: readonly PeerSpec[]): void {
    this.specs = specs;
    this.schedule();
  }

  setRoutes(routes: Map<string, Map<string, RouteAttrs>>): void {
    this.routes = routes;
    this.schedule();
  }

  /** The render of the current peers and routes. */
  render(): ReturnType<typeof renderFrrConfig> {
    // Memoized on the inputs' identity: the read-back compares with it every poll.
    if (this.memo && this.memo.specs === this.specs && this.memo.routes === this.routes) return this.memo.out;
    const out = renderFrrConfig({
      ...(this.o.hostname ? { hostname: this.o.hostname } : {}),
      peers: this.specs.map(frrPeerOf),
      bfdProfiles: bfdProfilesOf(this.specs),
      routes: this.routes,
    });
    this.memo = { specs: this.specs, routes: this.routes, out };
    return out;
  }

  /** Resolves once what is desired now is in FRR (tests, bench). */
  applied(): Promise<void> {
    const text = this.render().text;
    if (text === this.lastApplied && !this.timer && !this.reloading) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ text, resolve }));
  }

  states(): Map<string, string> {
    return new Map(this.specs.map((s) => [s.bgp.name, this.neighbors.get(s.bgp.name)?.state ?? 'idle']));
  }

  bfdStates(): Map<string, string> {
    return new Map(this.specs.flatMap((s) => (s.bfd ? [[s.bgp.name, this.neighbors.get(s.bgp.name)?.bfd ?? 'down'] as const] : [])));
  }

  /**
   * `mooringctl routes`: what FRR was told to send each peer (the render's routes, every attribute),
   * empty while the session is not established. The next hop is FRR's own choice (shown as "").
   */
  adjRibOut(): AdjRibOut[] {
    return this.specs.map((s) => {
      const b = s.bgp;
      const state = this.neighbors.get(b.name)?.state ?? 'idle';
      const ebgp = b.dynamicAsn ? b.dynamicAsn === 'external' : b.myAsn !== b.peerAsn;
      const routes = state === 'established' ? (this.routes.get(b.name) ?? new Map<string, RouteAttrs>()) : [];
      return {
        peer: b.name,
        address: `${b.peerAddress || (b.interface ?? '')}:${b.peerPort ?? 179}`,
        state,
        localAsn: b.myAsn,
        ...(b.dynamicAsn ? {} : { peerAsn: b.peerAsn }),
        ebgp,
        routes: adjRibOutRoutes(routes, { localAsn: b.myAsn, ebgp, nextHop: () => '' }),
      };
    });
  }

  metrics(): Array<{ peer: string; address: string; port: number; metrics: PeerMetrics | undefined }> {
    return this.specs.map((s) => {
      const n = this.neighbors.get(s.bgp.name);
      const desired = this.routes.get(s.bgp.name)?.size ?? 0;
      return {
        peer: s.bgp.name,
        address: s.bgp.peerAddress || (s.bgp.interface ?? ''),
        port: s.bgp.peerPort ?? 179,
        metrics: {
          metallb_bgp_session_up: n?.state === 'established' ? 1 : 0,
          metallb_bgp_updates_total: n?.updatesSent ?? 0,
          metallb_bgp_announced_prefixes_total: n?.prefixesSent ?? 0,
          metallb_bgp_pending_prefixes_total: desired,
          mooring_bgp_session_state: n?.state ?? 'idle',
          mooring_bgp_nlri_total: n?.prefixesSent ?? 0,
          mooring_bgp_encode_errors_total: 0,
          mooring_bgp_received_prefixes: n?.prefixesReceived ?? 0,
        },
      };
    });
  }

  /** Stops reloading and polling; FRR keeps its configuration (its sessions outlive a speaker restart, as in MetalLB). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.poller);
    await this.reloading;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.reloading) {
      this.dirty = true;
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.reloading = this.reload().finally(() => {
        this.reloading = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.schedule();
        } else this.settle();
      });
    }, this.coalesceMs);
  }

  private settle(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w && w.text === this.lastApplied) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private async reload(): Promise<void> {
    const { text, refused } = this.render();
    for (const r of refused)
      this.o.log.error('BGPPeer not rendered for FRR', { event: 'frr.peerRefused', peer: r.peer, field: r.field, reason: r.message });
    if (text === this.lastApplied) return;
    // Fast path: the delta from the last render FRR took, in one vtysh call. Any error (FRR
    // restarted, a line it refused) falls back to the slow path at once.
    if (this.lastApplied !== '' && !this.needFull) {
      const t0 = performance.now();
      const script = join(this.o.stateDir, 'delta.conf');
      writeFileSync(script, frrConfigDelta(this.lastApplied, text));
      const r = await run(this.vtysh, [...(this.o.vtySocket ? ['--vty_socket', this.o.vtySocket] : []), '-f', script]);
      const ms = Math.round(performance.now() - t0);
      if (r.code === 0) {
        this.lastApplied = text;
        this.reloads++;
        this.o.log.info('FRR configuration applied', { event: 'frr.reloaded', mode: 'delta', ms });
        void this.readBack();
        return;
      }
      this.o.log.warn('FRR delta not taken, reloading in full', {
        event: 'frr.deltaFailed',
        ms,
        code: r.code,
        err: (r.stdout + r.stderr).slice(-2000),
      });
    }
    this.needFull = false;
    const file = join(this.o.stateDir, 'frr.conf');
    writeFileSync(file, text);
    const t0 = performance.now();
    const args = [
      this.reloadScript,
      '--reload',
      '--stdout',
      '--bindir',
      this.vtyshDir(),
      '--confdir',
      this.o.stateDir,
      '--rundir',
      this.o.stateDir,
      ...(this.o.vtySocket ? ['--vty_socket', this.o.vtySocket] : []),
      file,
    ];
    const r = await run('python3', args);
    const ms = Math.round(performance.now() - t0);
    if (r.code === 0) {
      this.lastApplied = text;
      this.lastFailed = '';
      this.reloads++;
      this.o.log.info('FRR configuration applied', { event: 'frr.reloaded', mode: 'full', ms, lines: text.split('\n').length });
    } else {
      this.needFull = true;
      this.lastApplied = '';
    }
    if (r.code !== 0 && text !== this.lastFailed) {
      this.lastFailed = text;
      this.o.log.error('FRR reload failed', {
        event: 'frr.reloadFailed',
        ms,
        code: r.code,
        err: (r.stdout + r.stderr)
          .split('\n')
          .filter((l) => /ERROR|error|%/.test(l))
          .slice(-10)
          .join('\n'),
      });
    }
    void this.readBack();
  }

  private vtyshDir(): string {
    const i = this.vtysh.lastIndexOf('/');
    return i > 0 ? this.vtysh.slice(0, i) : '/usr/bin';
  }

  private vtyArgs(cmd: string): string[] {
    return [...(this.o.vtySocket ? ['--vty_socket', this.o.vtySocket] : []), '-c', cmd];
  }

  private async readBack(): Promise<void> {
    const n = await run(this.vtysh, this.vtyArgs('show bgp vrf all neighbors json'), 10_000);
    if (n.code !== 0 || this.stopped) return;
    let neighbors: unknown;
    try {
      neighbors = JSON.parse(n.stdout);
    } catch {
      return; // a partial answer while bgpd restarts: keep the last view
    }
    let bfd: unknown;
    if (this.specs.some((s) => s.bfd)) {
      const b = await run(this.vtysh, this.vtyArgs('show bfd peers json'), 10_000);
      try {
        if (b.code === 0) bfd = JSON.parse(b.stdout);
      } catch {
        // bgpd's own view of BFD (peerBfdInfo) stands in
      }
    }
    if (this.stopped) return;
    const next = frrReadBack(neighbors, bfd);
    const events = frrSessionEvents(this.neighbors, next);
    this.neighbors = next;
    for (const e of events) this.emit(e, next.get(e.peer));
    // A peer FRR took is gone (bgpd restarted, someone cleared it): reload in full.
    if (this.lastApplied !== '' && !this.reloading && !this.timer && this.lastApplied === this.render().text) {
      const missing = this.specs.filter((s) => frrPeerLimits(frrPeerOf(s)).length === 0 && !next.has(s.bgp.name));
      if (missing.length > 0) {
        this.o.log.warn('FRR lost peers we configured, reloading in full', {
          event: 'frr.drift',
          peers: missing.map((m) => m.bgp.name),
        });
        this.needFull = true;
        this.lastApplied = '';
        this.schedule();
      }
    }
  }

  /** One read-back event: logged as the native peers log it, and passed on in their shapes. */
  private emit(e: FrrSessionEvent, view: FrrNeighborView | undefined): void {
    const spec = this.specs.find((s) => s.bgp.name === e.peer);
    switch (e.event) {
      case 'stateChanged':
        this.o.log.info('bgp', { event: 'bgp.stateChanged', peer: e.peer, from: e.from, to: e.to });
        return this.o.onEvent?.(e);
      case 'sessionDown':
        this.o.log.warn('bgp', { event: 'bgp.sessionDown', peer: e.peer, reason: e.reason, detail: e.detail });
        return this.o.onEvent?.(e);
      case 'sessionUp':
        return this.o.onEvent?.({ event: 'sessionUp', peer: e.peer, negotiated: e.session, ...(e.since ? { since: e.since } : {}) });
      case 'bfdState':
        return this.o.onEvent?.({
          event: 'bfdState',
          peer: e.peer,
          address: spec?.bfd?.address || (view?.neighbor ?? ''),
          multihop: spec?.bfd?.multihop ?? false,
          from: e.from,
          to: e.to,
          diag: 0,
          reason: null,
        });
    }
  }
}
