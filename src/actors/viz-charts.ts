// Statecharts for the visualizer, drawn from the machine definitions themselves: XState's own
// `machine.root.definition` (states, nesting, every transition with its event and guard) is
// turned into a graph and laid out with elkjs (the Eclipse Layout Kernel's layered algorithm,
// with compound states as nested nodes). Done once in the viz process; the page draws the result.
import { createRequire } from 'node:module';
import type { ELK, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { serviceIpMachine } from '../machines/service-ip.machine.js';
import { bgpSessionMachine } from '../machines/bgp-session.machine.js';
import { bfdSessionMachine } from '../machines/bfd-session.machine.js';
import type { MachineKind } from '../domain/state-feed.js';

export interface ChartNode {
  /** XState id (`serviceIp.announcing`). */
  readonly id: string;
  readonly key: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly compound: boolean;
}
export interface ChartEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}
export interface Chart {
  readonly machine: MachineKind;
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly ChartNode[];
  readonly edges: readonly ChartEdge[];
}

interface DefNode {
  id: string;
  key: string;
  type: string;
  states: Record<string, DefNode>;
  transitions?: Array<{ eventType: string; guard?: unknown; target?: Array<{ id: string }> }>;
}

/** `xstate.after.holdTime.bgpSession.tcp…` → `after holdTime`. */
export function eventLabel(eventType: string, guard: unknown): string {
  const e = eventType.startsWith('xstate.after.') ? `after ${eventType.split('.')[2] ?? ''}` : eventType === '' ? 'always' : eventType;
  const g = typeof guard === 'string' ? guard : guard && typeof guard === 'object' && 'type' in guard ? String(guard.type) : '';
  return g && !g.startsWith('xstate.') && !/^[a-z]+:/.test(g) && !g.includes('guard') ? `${e} [${g}]` : e;
}

/** The graph of a definition: nested nodes, and one edge per (source, target, label). */
export function chartGraph(def: DefNode): ElkNode {
  const edges: ElkExtendedEdge[] = [];
  const seen = new Set<string>();
  const node = (d: DefNode): ElkNode => {
    const kids = Object.values(d.states ?? {});
    for (const t of d.transitions ?? []) {
      for (const target of t.target ?? []) {
        if (target.id === d.id) continue; // self-loops: actions only, not drawn
        const label = eventLabel(t.eventType ?? '', t.guard);
        const id = `${d.id}->${target.id}:${label}`;
        if (seen.has(id)) continue;
        seen.add(id);
        edges.push({ id, sources: [d.id], targets: [target.id], labels: [{ text: label, width: label.length * 6.2, height: 12 }] });
      }
    }
    return {
      id: d.id,
      labels: [{ text: d.key, width: d.key.length * 7.5, height: 14 }],
      ...(kids.length > 0
        ? {
            children: kids.map(node),
            layoutOptions: {
              'elk.padding': '[top=26,left=10,bottom=10,right=10]',
              'elk.direction': d.type === 'parallel' ? 'RIGHT' : 'DOWN',
            },
          }
        : { width: Math.max(70, d.key.length * 8 + 20), height: 30 }),
    };
  };
  const kids = Object.values(def.states).map(node);
  return {
    id: def.id,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'POLYLINE',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.nodeNode': '24',
      'elk.edgeLabels.inline': 'false',
      'org.eclipse.elk.json.shapeCoords': 'ROOT',
      'org.eclipse.elk.json.edgeCoords': 'ROOT',
    },
    children: kids,
    edges,
  };
}

function flatten(n: ElkNode, out: ChartNode[]): void {
  for (const c of n.children ?? []) {
    out.push({
      id: c.id,
      key: c.labels?.[0]?.text ?? c.id,
      x: c.x ?? 0,
      y: c.y ?? 0,
      w: c.width ?? 0,
      h: c.height ?? 0,
      compound: (c.children?.length ?? 0) > 0,
    });
    flatten(c, out);
  }
}

export const MACHINES: ReadonlyArray<{ machine: MachineKind; def: () => unknown }> = [
  { machine: 'serviceIp', def: () => serviceIpMachine.root.definition },
  { machine: 'bgpSession', def: () => bgpSessionMachine.root.definition },
  { machine: 'bfdSession', def: () => bfdSessionMachine.root.definition },
];

/** Lays out the three statecharts (elkjs, in this process). */
export async function layoutCharts(): Promise<Chart[]> {
  // elkjs is CommonJS whose typings claim an ES default export: load it as what it is.
  const Elk = createRequire(import.meta.url)('elkjs/lib/elk.bundled.js') as new () => ELK;
  const elk = new Elk();
  const out: Chart[] = [];
  for (const { machine, def } of MACHINES) {
    const d = def() as DefNode;
    const g = await elk.layout(chartGraph(d));
    const nodes: ChartNode[] = [];
    flatten(g, nodes);
    const edges: ChartEdge[] = (g.edges ?? []).map((e) => {
      const s = e.sections?.[0];
      const points: Array<[number, number]> = s
        ? [[s.startPoint.x, s.startPoint.y], ...(s.bendPoints ?? []).map((p): [number, number] => [p.x, p.y]), [s.endPoint.x, s.endPoint.y]]
        : [];
      return { from: e.sources[0] ?? '', to: e.targets[0] ?? '', label: e.labels?.[0]?.text ?? '', points };
    });
    out.push({ machine, id: d.id, width: g.width ?? 0, height: g.height ?? 0, nodes, edges });
  }
  return out;
}
