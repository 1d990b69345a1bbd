// The visualizer on a simulated cluster (`npm start`, tests, bench:viz): the SimCluster's causes
// and serviceIp transitions become VizInputs (with standby orders), in time order, each time
// `pump()` is called, and a real viz server (src/adapters/viz-server.ts) serves them live. A node
// seen up (first, or after a restart) gives its snapshot, as a speaker answers the viewer's request.
import type { SimCluster } from './cluster.js';
import { liveSource, loadVizAssets, serveViz } from '../../src/adapters/viz-server.js';
import { OrderTracker } from '../../src/actors/viz-order.js';
import type { VizInput } from '../../src/domain/viz-model.js';
import { serviceIpSource } from '../../src/actors/state-feed.js';
import { snapshotMachines } from '../../src/domain/state-feed.js';

export class SimVizTap {
  private causes = 0;
  private transitions = 0;
  private readonly orders: OrderTracker;
  private readonly running = new Map<string, boolean>();

  constructor(
    private readonly sim: SimCluster,
    private readonly nodes: readonly string[],
    emit: (x: VizInput) => void,
  ) {
    this.orders = new OrderTracker(emit);
  }

  /** Emits what happened since the last call: causes first at equal times. */
  pump(): void {
    const cs = this.sim.log.slice(this.causes).map((c): VizInput => ({ t: 'cause', at: c.at, text: c.text }));
    const ts = this.sim.transitions.slice(this.transitions).map((t): VizInput => ({
      t: 'tr',
      r: {
        machine: 'serviceIp',
        id: t.ip,
        node: t.node,
        from: t.from,
        to: t.to,
        ...(t.event !== undefined ? { event: t.event } : {}),
        ...(t.reason !== undefined ? { reason: t.reason } : {}),
        epoch: t.epoch,
        service: t.service,
        at: t.at,
      },
    }));
    this.causes = this.sim.log.length;
    this.transitions = this.sim.transitions.length;
    const all = [...cs, ...ts].sort(
      (a, b) => (a.t === 'tr' ? a.r.at : (a as { at: number }).at) - (b.t === 'tr' ? b.r.at : (b as { at: number }).at),
    );
    for (const x of all) this.orders.see(x);
    // Node health as the heartbeats would tell it: every node, running or not.
    for (const node of this.nodes) {
      const up = this.sim.isRunning(node);
      if (this.running.get(node) === up) continue;
      const at = this.sim.clock.now();
      this.orders.see({ t: 'node', node, at, up });
      this.running.set(node, up);
      // A node (re)appearing answers the viewer's snapshot request: every machine, moved or not.
      const coord = this.sim.coordinator(node);
      if (up && coord)
        this.orders.see({ t: 'snap', node, at, machines: snapshotMachines([], new Map([['serviceIp', serviceIpSource(coord)()]]), at) });
    }
  }
}

/** Serves the visualizer on `sim`; call `pump()` after running the simulation. */
export async function serveSimViz(
  sim: SimCluster,
  nodes: readonly string[],
  host: string,
  port: number,
): Promise<{ url: string; pump(): void; push(x: VizInput): void; inputs(): readonly VizInput[]; close(): Promise<void> }> {
  const live = liveSource();
  const tap = new SimVizTap(sim, nodes, (x) => live.push(x));
  const { script, charts } = await loadVizAssets();
  const viz = await serveViz({ host, port, title: 'Mooring visualizer (simulated cluster)', script, charts, source: live });
  return { url: viz.url, pump: () => tap.pump(), push: (x) => live.push(x), inputs: () => live.inputs(), close: () => viz.close() };
}
