// What the visualizer page shows, as a pure fold over its inputs (docs/visualizer.md): feed
// records, snapshots, node health, causes (a trace's faults) and standby orders. The same code runs
// in the page (live and replay: replay folds the inputs up to the scrubber's time) and in tests.
import { REMOVED_TO, type MachineKind, type MachineState, type TransitionRecord } from './state-feed.js';
import { CONTROLLER_FEED_ID } from './subjects.js';
import type { ClusterStatus, NodeRow, ServiceRow } from './cluster-status.js';

/** Whether a feed sender is a node (a speaker), not the controller's allocation feed. */
export const isNode = (name: string): boolean => name !== CONTROLLER_FEED_ID && name !== 'controller';

export type VizInput =
  | { readonly t: 'tr'; readonly r: TransitionRecord }
  | { readonly t: 'snap'; readonly node: string; readonly at: number; readonly machines: readonly MachineState[] }
  | { readonly t: 'node'; readonly node: string; readonly at: number; readonly up: boolean }
  | { readonly t: 'nats'; readonly at: number; readonly up: boolean; readonly who: string }
  | { readonly t: 'cause'; readonly at: number; readonly text: string }
  | { readonly t: 'order'; readonly ip: string; readonly nodes: readonly string[] }
  /** What the apiserver says (`mooring viz` reads it read-only; the latest only, not replayed): `mooringctl status`'s report. */
  | {
      readonly t: 'cluster';
      readonly at: number;
      readonly status: ClusterStatus;
      readonly problems: readonly string[];
      /** Every node's BGP sessions as its speaker reported them (BGPSessionState, mooring.io). */
      readonly sessions?: readonly ApiSession[];
    };

/** One BGP session of one node as its BGPSessionState (mooring.io/v1alpha1) has it, read from the apiserver. */
export interface ApiSession {
  readonly node: string;
  readonly peer: string;
  readonly peerAddress: string;
  readonly vrf: string;
  /** The BGP FSM state (Idle … Established). */
  readonly bgp: string;
  readonly since: string;
  readonly lastDownReason: string;
  readonly lastDownDetail: string;
  readonly lastDownTime: string;
  readonly prefixesSent: number;
  readonly prefixesReceived: number;
  /** The BFD state; empty without a BFD profile. */
  readonly bfd: string;
}

/** BGPSessionState objects (as listed: `{ status }`) as sessions, by node then peer; one without a node is skipped. */
export function apiSessions(items: readonly unknown[]): ApiSession[] {
  const s = (v: unknown): string => (typeof v === 'string' ? v : '');
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);
  const out: ApiSession[] = [];
  for (const o of items) {
    const st = (o as { status?: Record<string, unknown> } | null)?.status;
    if (!st || !s(st.node)) continue;
    out.push({
      node: s(st.node),
      peer: s(st.peer),
      peerAddress: s(st.peerAddress),
      vrf: s(st.vrf),
      bgp: s(st.bgpStatus) || 'Unknown',
      since: s(st.since),
      lastDownReason: s(st.lastDownReason),
      lastDownDetail: s(st.lastDownDetail),
      lastDownTime: s(st.lastDownTime),
      prefixesSent: n(st.prefixesSent),
      prefixesReceived: n(st.prefixesReceived),
      bfd: s(st.bfdStatus),
    });
  }
  return out.sort((a, b) => (a.node !== b.node ? (a.node < b.node ? -1 : 1) : a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
}

/** A session of the apiserver as one line of the page: `Established since …; sent 3, received 0; BFD up; last down: …`. */
export function apiSessionText(x: ApiSession): string {
  const parts = [
    `${x.bgp}${x.since ? ` since ${x.since}` : ''}`,
    `prefixes sent ${x.prefixesSent}, received ${x.prefixesReceived}`,
    `BFD ${x.bfd || 'none'}`,
  ];
  if (x.lastDownReason)
    parts.push(
      `last down: ${x.lastDownReason}${x.lastDownDetail ? ` (${x.lastDownDetail})` : ''}${x.lastDownTime ? ` at ${x.lastDownTime}` : ''}`,
    );
  return parts.join('; ');
}

export const inputAt = (x: VizInput): number | undefined => (x.t === 'tr' ? x.r.at : x.t === 'order' ? undefined : x.at);

export interface MachineView extends MachineState {
  readonly node: string;
  /** The last transitions, oldest first. */
  readonly history: TransitionRecord[];
}

export interface TimelineItem {
  readonly kind: 'failover' | 'move' | 'flap' | 'nats' | 'cause';
  readonly at: number;
  /** End of a flap or outage (undefined while it lasts). */
  until?: number;
  readonly text: string;
  readonly ip?: string;
  readonly node?: string;
  /** Failover: from losing the last announcer to the new one announcing. */
  readonly ms?: number;
}

export interface IpRow {
  readonly ip: string;
  readonly service: string;
  readonly owners: string[];
  /** Every other node, in election order when known, with its state and reason. */
  readonly others: Array<{ node: string; state: string; reason: string | undefined }>;
  /** From the apiserver: its pool, the node of its ServiceL2Status, its BGP announcers (`node (peers)`). */
  readonly pool?: string;
  readonly l2Status?: string;
  readonly bgp: string[];
  /** Why no node reports a machine for it, when none does. */
  readonly note?: string;
}

/** Why a Node of the apiserver has no state feed (no heartbeat, no machine reported). */
export function noFeedWhy(n: NodeRow): string {
  if (n.speaker === 'missing') return `no speaker reported on this node (no ConfigurationState speaker-${n.name}): no state feed`;
  if (n.excluded) return 'excluded from load balancers (label node.kubernetes.io/exclude-from-external-load-balancers): no state feed';
  if (n.bgp > 0 && n.l2 === 0)
    return `BGP-only node: no NATS feed (a speaker joins NATS only for L2Advertisements); it advertises ${n.bgp} Service(s) over BGP`;
  return 'no NATS feed: no L2Advertisement selects this node (a speaker joins NATS only for L2), or its NATS link is down';
}

/** Why an IP the apiserver knows has no serviceIp machine on any node. */
function noMachineWhy(svc: ServiceRow): string {
  if (svc.bgp.length > 0 && !svc.l2Node) return 'BGP-only Service: no serviceIp machine (those are for L2); advertised over BGP';
  if (svc.l2Node) return `no state feed from its nodes; the apiserver says ${svc.l2Node} answers for it (ServiceL2Status)`;
  return 'no node announces it (apiserver): no L2 or BGP advertisement selects it, or no node is eligible';
}

const HISTORY = 30;
const key = (machine: MachineKind, id: string) => `${machine} ${id}`;

export class VizModel {
  readonly nodes = new Map<string, { up: boolean; since: number }>();
  /** node → machine key → view. */
  readonly machines = new Map<string, Map<string, MachineView>>();
  readonly orders = new Map<string, readonly string[]>();
  readonly timeline: TimelineItem[] = [];
  /** ip → the sequence of its announcing nodes. */
  readonly ownerHistory = new Map<string, string[]>();
  /** Last serviceIp change per ip (for partial rendering). */
  readonly changed = new Set<string>();
  /** An allocation changed since the page last drew them. */
  allocChanged = false;
  /** The apiserver's view, the latest (live only). */
  cluster:
    | {
        readonly at: number;
        readonly status: ClusterStatus;
        readonly problems: readonly string[];
        readonly sessions: readonly ApiSession[];
      }
    | undefined;
  /** The apiserver's view changed since the page last drew it. */
  clusterChanged = false;
  private svcByIp = new Map<string, ServiceRow>();
  now = 0;
  /** When an IP lost its last announcer, and whether by a failure (its node died) or a release. */
  private readonly lostAt = new Map<string, { at: number; failure: boolean }>();
  private readonly lastOwner = new Map<string, string>();
  private readonly openFlap = new Map<string, TimelineItem>();
  private readonly openNats = new Map<string, TimelineItem>();

  apply(x: VizInput): void {
    const at = inputAt(x);
    if (at !== undefined && at > this.now) this.now = at;
    switch (x.t) {
      case 'tr':
        return this.transition(x.r);
      case 'snap': {
        // A snapshot is every machine of its node: one it does not list no longer exists.
        const listed = new Set(x.machines.map((m) => key(m.machine, m.id)));
        for (const [k, v] of this.machines.get(x.node) ?? []) if (!listed.has(k)) this.remove(x.node, v);
        for (const m of x.machines) this.put(x.node, { ...m, node: x.node, history: this.view(x.node, m.machine, m.id)?.history ?? [] });
        if (isNode(x.node)) this.health(x.node, true, x.at);
        return;
      }
      case 'node':
        return this.health(x.node, x.up, x.at);
      case 'nats':
        return this.nats(x.who, x.up, x.at);
      case 'order':
        this.orders.set(x.ip, x.nodes);
        this.changed.add(x.ip);
        return;
      case 'cause':
        this.timeline.push({ kind: 'cause', at: x.at, text: x.text });
        this.fromCause(x.text, x.at);
        return;
      case 'cluster':
        this.cluster = { at: x.at, status: x.status, problems: x.problems, sessions: x.sessions ?? [] };
        this.svcByIp = new Map(x.status.services.flatMap((svc) => svc.ips.map((ip) => [ip, svc] as const)));
        this.clusterChanged = true;
        return;
    }
  }

  view(node: string, machine: MachineKind, id: string): MachineView | undefined {
    return this.machines.get(node)?.get(key(machine, id));
  }

  private put(node: string, v: MachineView): void {
    let m = this.machines.get(node);
    if (!m) this.machines.set(node, (m = new Map()));
    m.set(key(v.machine, v.id), v);
    if (v.machine === 'serviceIp') this.changed.add(v.id);
    if (v.machine === 'allocation') this.allocChanged = true;
  }

  private remove(node: string, v: MachineView): void {
    this.machines.get(node)?.delete(key(v.machine, v.id));
    if (v.machine === 'serviceIp') this.changed.add(v.id);
    if (v.machine === 'allocation') this.allocChanged = true;
  }

  /** The controller's allocations, by Service: IPs (`state`, '' for none) and why (`reason`). */
  allocations(): MachineView[] {
    return [...(this.machines.get(CONTROLLER_FEED_ID)?.values() ?? [])]
      .filter((v) => v.machine === 'allocation')
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private transition(r: TransitionRecord): void {
    const prev = this.view(r.node, r.machine, r.id);
    if (r.to === REMOVED_TO && r.event === 'machine.removed') {
      if (prev) this.remove(r.node, prev);
      return;
    }
    const history = prev?.history ?? [];
    history.push(r);
    if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
    this.put(r.node, {
      machine: r.machine,
      id: r.id,
      node: r.node,
      state: r.to,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      ...(r.epoch !== undefined ? { epoch: r.epoch } : {}),
      service: r.service ?? prev?.service ?? '',
      since: r.at,
      history,
    });
    if (!this.nodes.has(r.node) && r.machine !== 'allocation') this.nodes.set(r.node, { up: true, since: r.at });
    if (r.machine === 'serviceIp') this.ipChanged(r);
    if (r.machine === 'bgpSession') this.bgpChanged(r);
  }

  private ipChanged(r: TransitionRecord): void {
    if (r.to === 'announcing') {
      const from = this.lastOwner.get(r.id);
      const lost = this.lostAt.get(r.id);
      if (from !== r.node) {
        const seq = this.ownerHistory.get(r.id) ?? [];
        seq.push(r.node);
        this.ownerHistory.set(r.id, seq);
        if (from !== undefined) {
          const ms = lost !== undefined ? r.at - lost.at : 0;
          this.timeline.push({
            kind: lost?.failure ? 'failover' : 'move',
            at: r.at,
            ip: r.id,
            node: r.node,
            ms,
            text: `${r.id}: ${from} → ${r.node}${lost !== undefined ? ` in ${Math.round(ms)} ms` : ''}`,
          });
        }
      }
      this.lastOwner.set(r.id, r.node);
      this.lostAt.delete(r.id);
    } else if (r.from === 'announcing' && this.owners(r.id).length === 0 && !this.lostAt.has(r.id))
      this.lostAt.set(r.id, { at: r.at, failure: false });
  }

  private bgpChanged(r: TransitionRecord): void {
    const k = `${r.node} ${r.id}`;
    const open = this.openFlap.get(k);
    if (r.from === 'established' && r.to !== 'established' && !open) {
      const item: TimelineItem = { kind: 'flap', at: r.at, node: r.node, text: `BGP ${r.id} on ${r.node} down: ${r.reason ?? 'unknown'}` };
      this.timeline.push(item);
      this.openFlap.set(k, item);
    } else if (r.to === 'established' && open) {
      open.until = r.at;
      this.openFlap.delete(k);
    }
  }

  private health(node: string, up: boolean, at: number): void {
    const was = this.nodes.get(node);
    if (was?.up === up) return;
    this.nodes.set(node, { up, since: at });
    if (up) return;
    // A dead node announces nothing: its IPs are lost from now on.
    for (const v of this.machines.get(node)?.values() ?? []) {
      if (v.machine !== 'serviceIp') continue;
      this.changed.add(v.id);
      if (v.state === 'announcing' && this.owners(v.id).length === 0) this.lostAt.set(v.id, { at, failure: true });
    }
  }

  private nats(who: string, up: boolean, at: number): void {
    const open = this.openNats.get(who);
    if (!up && !open) {
      const item: TimelineItem = { kind: 'nats', at, text: `NATS unreachable (${who})` };
      this.timeline.push(item);
      this.openNats.set(who, item);
    } else if (up && open) {
      open.until = at;
      this.openNats.delete(who);
    }
  }

  /** Causes in a simulator trace (`kill n`, `restart n`, `NATS down`, `isolate n from NATS`, …). */
  private fromCause(text: string, at: number): void {
    const m = /^(kill|restart) (\S+)$/.exec(text);
    if (m) return this.health(m[2] as string, m[1] === 'restart', at);
    if (text === 'NATS down' || text === 'NATS up') return this.nats('all', text === 'NATS up', at);
    const iso = /^(isolate|heal) (\S+) from NATS$/.exec(text);
    if (iso) this.nats(iso[2] as string, iso[1] === 'heal', at);
  }

  /** Nodes announcing `ip` now (a node that is down announces nothing). */
  owners(ip: string): string[] {
    const out: string[] = [];
    for (const [node, m] of this.machines) {
      if (this.nodes.get(node)?.up === false) continue;
      if (m.get(key('serviceIp', ip))?.state === 'announcing') out.push(node);
    }
    return out.sort();
  }

  ipRow(ip: string): IpRow {
    const order = this.orders.get(ip) ?? [...this.nodes.keys()].sort();
    const seen = new Set(order);
    const all = [...order, ...[...this.machines.keys()].filter((n) => !seen.has(n) && isNode(n)).sort()];
    const owners = this.owners(ip);
    let service = '';
    let machines = 0;
    const others: IpRow['others'] = [];
    for (const node of all) {
      const v = this.view(node, 'serviceIp', ip);
      if (v) machines++;
      if (v?.service) service = v.service;
      if (owners.includes(node)) continue;
      const down = this.nodes.get(node)?.up === false;
      others.push({ node, state: down ? 'down' : (v?.state ?? 'none'), reason: down ? 'nodeDown' : v?.reason });
    }
    const svc = this.svcByIp.get(ip);
    const api = svc
      ? {
          ...(svc.pool ? { pool: svc.pool } : {}),
          ...(svc.l2Node ? { l2Status: svc.l2Node } : {}),
          bgp: svc.bgp.map((b) => `${b.node} (${b.peers.join(', ') || 'no peer'})`),
        }
      : { bgp: [] };
    if (machines === 0 && svc) return { ip, service: svc.service, owners, others: [], ...api, note: noMachineWhy(svc) };
    return { ip, service: service || (svc?.service ?? ''), owners, others, ...api };
  }

  ips(): string[] {
    const s = new Set<string>(this.svcByIp.keys());
    for (const m of this.machines.values()) for (const v of m.values()) if (v.machine === 'serviceIp') s.add(v.id);
    return [...s].sort(compareIps);
  }

  /** Every node: the feed's (speakers) and the apiserver's. */
  nodeNames(): string[] {
    return [...new Set([...this.nodes.keys(), ...this.machines.keys(), ...(this.cluster?.status.nodes.map((n) => n.name) ?? [])])]
      .filter(isNode)
      .sort();
  }

  /**
   * A node as the apiserver has it, and when it has no state feed: why, and its BGP sessions as its
   * speaker wrote them to the apiserver (BGPSessionState), the page's only view of a BGP-only node's sessions.
   */
  nodeInfo(name: string): { api?: NodeRow; noFeed?: string; sessions?: ApiSession[] } {
    const api = this.cluster?.status.nodes.find((n) => n.name === name);
    const feed = this.nodes.has(name) || this.machines.has(name);
    if (!api || feed) return api ? { api } : {};
    return { api, noFeed: noFeedWhy(api), sessions: (this.cluster?.sessions ?? []).filter((x) => x.node === name) };
  }

  /** A node's machines of one kind. */
  ofKind(node: string, machine: MachineKind): MachineView[] {
    return [...(this.machines.get(node)?.values() ?? [])].filter((v) => v.machine === machine).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

/** IPv4 numerically, then the rest as text. */
export function compareIps(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if (pa.length === 4 && pb.length === 4) for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] as number) - (pb[i] as number);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A simulator or chaos trace (JSONL, as `chaos sim --trace` and the viz write it) as inputs: `log`
 * lines of kind transition (serviceIp) and cause; feed records (`machine` set) as they are.
 */
export function traceInputs(lines: readonly unknown[]): VizInput[] {
  const out: VizInput[] = [];
  for (const l of lines) {
    if (typeof l !== 'object' || l === null) continue;
    const x = l as Record<string, unknown>;
    if (typeof x.t === 'string' && ['tr', 'snap', 'node', 'nats', 'cause', 'order'].includes(x.t)) out.push(x as unknown as VizInput);
    else if (x.kind === 'transition' && typeof x.node === 'string' && typeof x.ip === 'string')
      out.push({
        t: 'tr',
        r: {
          machine: 'serviceIp',
          id: x.ip,
          node: x.node,
          from: String(x.from),
          to: String(x.to),
          ...(typeof x.reason === 'string' ? { reason: x.reason } : {}),
          ...(typeof x.epoch === 'number' ? { epoch: x.epoch } : {}),
          ...(typeof x.event === 'string' ? { event: x.event } : {}),
          ...(typeof x.service === 'string' ? { service: x.service } : {}),
          at: Number(x.at),
        },
      });
    else if (x.kind === 'cause' && typeof x.text === 'string') out.push({ t: 'cause', at: Number(x.at), text: x.text });
    else if (typeof x.machine === 'string' && typeof x.id === 'string') out.push({ t: 'tr', r: x as unknown as TransitionRecord });
  }
  return out;
}
