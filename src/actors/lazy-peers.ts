// The speaker's peer supervisor, loaded on first use: a node whose configuration gives it no
// BGPPeer never loads the BGP/BFD runtime (sessions, codecs, sockets, BFD ports: ~6 MB of a
// ~90 MB idle speaker, docs/architecture.md). The first `reconcile` with at least one peer loads
// it through the injected `load`; calls made while it loads are replayed in order (only the
// latest peers and routes matter: both are full states, not deltas).
import type { SpeakerPeers } from './speaker-node.js';
import type { PeerSpec } from './peer-specs.js';
import type { BgpPeers } from './bgp-peers.js';
import type { RouteAttrs } from '../domain/bgp-advertisements.js';

/** What the speaker's metrics read of the supervisor. */
export type PeersView = Pick<BgpPeers, 'states' | 'metrics' | 'adjRibOut'>;

export type LoadedPeers = SpeakerPeers & PeersView & Partial<Pick<BgpPeers, 'machines'>>;

export class LazyPeers implements SpeakerPeers, PeersView {
  private real: LoadedPeers | undefined;
  private loading: Promise<LoadedPeers | undefined> | undefined;
  private specs: readonly PeerSpec[] | undefined;
  private routes: Map<string, Map<string, RouteAttrs>> | undefined;
  private stopped = false;

  constructor(
    private readonly load: () => Promise<LoadedPeers>,
    private readonly onError: (err: unknown) => void = () => {},
    /** After every reconcile (the state feed compares its sessions then). */
    private readonly onReconcile: () => void = () => {},
  ) {}

  /** Loaded (a peer applied at least once). */
  loaded(): boolean {
    return this.real !== undefined;
  }

  reconcile(specs: readonly PeerSpec[]): void {
    if (this.real) this.real.reconcile(specs);
    else {
      this.specs = specs;
      if (specs.length > 0 && !this.stopped) this.start();
    }
    this.onReconcile();
  }

  setRoutes(routes: Map<string, Map<string, RouteAttrs>>): void {
    if (this.real) return this.real.setRoutes(routes);
    this.routes = routes;
  }

  states(): Map<string, string> {
    return this.real?.states() ?? new Map();
  }

  metrics(): ReturnType<PeersView['metrics']> {
    return this.real?.metrics() ?? [];
  }

  /** The sessions as they are now (none before the runtime loads: no session exists yet). */
  machines(): ReturnType<BgpPeers['machines']> {
    return this.real?.machines?.() ?? [];
  }

  adjRibOut(): ReturnType<PeersView['adjRibOut']> {
    return this.real?.adjRibOut() ?? [];
  }

  async stop(graceful: boolean): Promise<void> {
    this.stopped = true;
    const real = this.real ?? (await this.loading);
    await real?.stop(graceful);
  }

  /** Resolves once a pending load finished (tests). */
  async settled(): Promise<void> {
    await this.loading;
  }

  private start(): void {
    this.loading ??= this.load().then(
      (real) => {
        this.real = real;
        if (this.specs) real.reconcile(this.specs);
        if (this.routes) real.setRoutes(this.routes);
        if (this.specs) this.onReconcile();
        this.specs = undefined;
        this.routes = undefined;
        return real;
      },
      (err: unknown) => {
        this.loading = undefined; // the next reconcile with peers tries again
        this.onError(err);
        return undefined;
      },
    );
  }
}
