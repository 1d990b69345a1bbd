// Standby order for the visualizer: for every Service IP, the nodes in the election's hash order
// (sha256(node#ip), MetalLB's), emitted as `order` inputs when an IP or a node is first seen.
// The page cannot hash (no node:crypto there), so the viz process does. It ranks every node it
// knows: eligibility (endpoints, selectors, health) is what each node's reason says.
import { electionHash } from '../domain/election.js';
import { isNode, type VizInput } from '../domain/viz-model.js';

export class OrderTracker {
  private readonly nodes = new Set<string>();
  private readonly ips = new Set<string>();

  constructor(private readonly emit: (x: VizInput) => void) {}

  /** Passes every input through and adds `order` inputs where needed. */
  see(x: VizInput): void {
    this.emit(x);
    const node = x.t === 'tr' ? x.r.node : x.t === 'snap' || x.t === 'node' ? x.node : undefined;
    const ips =
      x.t === 'tr' && x.r.machine === 'serviceIp'
        ? [x.r.id]
        : x.t === 'snap'
          ? x.machines.filter((m) => m.machine === 'serviceIp').map((m) => m.id)
          : [];
    const newNode = node !== undefined && isNode(node) && !this.nodes.has(node);
    if (newNode) this.nodes.add(node);
    const fresh = ips.filter((ip) => !this.ips.has(ip));
    for (const ip of fresh) this.ips.add(ip);
    for (const ip of newNode ? this.ips : fresh) this.emit({ t: 'order', ip, nodes: this.order(ip) });
  }

  order(ip: string): string[] {
    return [...this.nodes]
      .map((n) => ({ n, h: electionHash(n, ip) }))
      .sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0))
      .map((x) => x.n);
  }
}
