// `mooringctl status`: the cluster at a glance, from what the apiserver holds (pure: the objects are
// read elsewhere). Nodes (ready, NetworkUnavailable, excluded, their speaker's configuration state,
// what they announce), the controller leader (its Lease), ConfigurationState per component, pools
// with their usage, and each
// LoadBalancer Service with its IPs, pool, layer2 owner and BGP announcers.
import { EXCLUDE_LB_LABEL } from './election.js';
import { POOL_ANNOTATION } from './lb-service.js';

type Obj = {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

export interface ClusterObjects {
  readonly nodes: readonly Obj[];
  readonly configurationStates: readonly Obj[];
  readonly pools: readonly Obj[];
  readonly services: readonly Obj[];
  readonly l2Statuses: readonly Obj[];
  readonly bgpStatuses: readonly Obj[];
  /** The controller's leader-election Lease, when it could be read. */
  readonly controllerLease?: Obj;
}

export interface NodeRow {
  name: string;
  ready: boolean;
  networkUnavailable: boolean;
  excluded: boolean;
  /** ConfigurationState speaker-<node>: Valid, Invalid, Unknown, or missing (no speaker reported). */
  speaker: string;
  /** Services this node answers ARP/NDP for; Services it advertises over BGP. */
  l2: number;
  bgp: number;
}
export interface ComponentRow {
  name: string;
  result: string;
  errors: string;
}
export interface PoolRow {
  name: string;
  addresses: string[];
  autoAssign: boolean;
  assignedIPv4: number;
  availableIPv4: number;
  assignedIPv6: number;
  availableIPv6: number;
}
export interface ServiceRow {
  service: string;
  ips: string[];
  pool: string;
  /** The node answering ARP/NDP for it (layer2), if any. */
  l2Node?: string;
  l2Interfaces: string[];
  /** Nodes advertising it over BGP, each with its peers. */
  bgp: Array<{ node: string; peers: string[] }>;
  /** pending (no IP), announced, or notAnnounced (an IP nobody announces). */
  state: 'pending' | 'announced' | 'notAnnounced';
}
export interface ClusterStatus {
  /** The Lease holder (the controller replica that reconciles) and when it last renewed. */
  controller: { leader?: string; renewTime?: string };
  nodes: NodeRow[];
  components: ComponentRow[];
  pools: PoolRow[];
  services: ServiceRow[];
  summary: { nodes: number; readyNodes: number; invalidComponents: number; services: number; pending: number; notAnnounced: number };
}

const name = (o: Obj) => o.metadata?.name ?? '';
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown) => (typeof v === 'string' ? v : '');
/** A list field, or [] when it is missing or not a list (the apiserver's objects are not trusted blindly). */
const arr = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const condition = (o: Obj, type: string): string | undefined =>
  arr<{ type?: string; status?: string }>(o.status?.conditions).find((c) => c.type === type)?.status;

export function clusterStatus(o: ClusterObjects): ClusterStatus {
  const l2ByService = new Map<string, { node: string; interfaces: string[] }>();
  const bgpByService = new Map<string, Array<{ node: string; peers: string[] }>>();
  const l2PerNode = new Map<string, number>();
  const bgpPerNode = new Map<string, number>();
  for (const s of o.l2Statuses) {
    const st = s.status ?? {};
    const key = `${str(st.serviceNamespace)}/${str(st.serviceName)}`;
    const node = str(st.node);
    l2ByService.set(key, { node, interfaces: arr<{ name?: string }>(st.interfaces).map((i) => str(i?.name)) });
    l2PerNode.set(node, (l2PerNode.get(node) ?? 0) + 1);
  }
  for (const s of o.bgpStatuses) {
    const st = s.status ?? {};
    const key = `${str(st.serviceNamespace)}/${str(st.serviceName)}`;
    const node = str(st.node);
    const list = bgpByService.get(key) ?? [];
    list.push({ node, peers: arr<unknown>(st.peers).map(str) });
    bgpByService.set(key, list);
    bgpPerNode.set(node, (bgpPerNode.get(node) ?? 0) + 1);
  }
  const components: ComponentRow[] = o.configurationStates
    .map((c) => ({ name: name(c), result: str(c.status?.result) || 'Unknown', errors: str(c.status?.errorSummary) }))
    .sort(byName);
  const nodes: NodeRow[] = o.nodes
    .map((n) => ({
      name: name(n),
      ready: condition(n, 'Ready') === 'True',
      networkUnavailable: condition(n, 'NetworkUnavailable') === 'True',
      excluded: Object.prototype.hasOwnProperty.call(n.metadata?.labels ?? {}, EXCLUDE_LB_LABEL),
      speaker: components.find((c) => c.name === `speaker-${name(n)}`)?.result ?? 'missing',
      l2: l2PerNode.get(name(n)) ?? 0,
      bgp: bgpPerNode.get(name(n)) ?? 0,
    }))
    .sort(byName);
  const pools: PoolRow[] = o.pools
    .map((p) => ({
      name: name(p),
      addresses: arr<unknown>(p.spec?.addresses).map(str),
      autoAssign: p.spec?.autoAssign !== false,
      assignedIPv4: num(p.status?.assignedIPv4),
      availableIPv4: num(p.status?.availableIPv4),
      assignedIPv6: num(p.status?.assignedIPv6),
      availableIPv6: num(p.status?.availableIPv6),
    }))
    .sort(byName);
  const services: ServiceRow[] = o.services
    .filter((s) => s.spec?.type === 'LoadBalancer')
    .map((s) => {
      const key = `${s.metadata?.namespace ?? ''}/${name(s)}`;
      const ingress = arr<{ ip?: string }>((s.status?.loadBalancer as { ingress?: unknown } | undefined)?.ingress)
        .map((i) => str(i?.ip))
        .filter(Boolean);
      const l2 = l2ByService.get(key);
      const bgp = (bgpByService.get(key) ?? []).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
      const state: ServiceRow['state'] = ingress.length === 0 ? 'pending' : l2 || bgp.length > 0 ? 'announced' : 'notAnnounced';
      return {
        service: key,
        ips: ingress,
        pool: s.metadata?.annotations?.[POOL_ANNOTATION] ?? '',
        ...(l2 ? { l2Node: l2.node } : {}),
        l2Interfaces: l2?.interfaces ?? [],
        bgp,
        state,
      };
    })
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const lease = o.controllerLease?.spec ?? {};
  return {
    controller: {
      ...(str(lease.holderIdentity) ? { leader: str(lease.holderIdentity) } : {}),
      ...(str(lease.renewTime) ? { renewTime: str(lease.renewTime) } : {}),
    },
    nodes,
    components,
    pools,
    services,
    summary: {
      nodes: nodes.length,
      readyNodes: nodes.filter((n) => n.ready).length,
      invalidComponents: components.filter((c) => c.result === 'Invalid').length,
      services: services.length,
      pending: services.filter((s) => s.state === 'pending').length,
      notAnnounced: services.filter((s) => s.state === 'notAnnounced').length,
    },
  };
}

/** Columns padded to their widest cell, two spaces apart. */
function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

const usage = (assigned: number, available: number) => (assigned + available === 0 ? '-' : `${assigned}/${assigned + available}`);
const long = (s: string, n = 100) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The report as text: one table per part, and a summary line first. */
export function formatClusterStatus(s: ClusterStatus): string {
  const m = s.summary;
  const out = [
    `controller leader ${s.controller.leader ?? '(none)'}${s.controller.renewTime ? ` (renewed ${s.controller.renewTime})` : ''}; nodes ${m.readyNodes}/${m.nodes} ready; ${m.invalidComponents} component${m.invalidComponents === 1 ? '' : 's'} with an invalid configuration; services ${m.services}: ${m.pending} pending, ${m.notAnnounced} not announced`,
    '',
    ...table(
      ['NODE', 'READY', 'SPEAKER CONFIG', 'L2 SERVICES', 'BGP SERVICES', 'NOTES'],
      s.nodes.map((n) => [
        n.name,
        n.ready ? 'yes' : 'no',
        n.speaker,
        String(n.l2),
        String(n.bgp),
        [n.excluded ? 'excluded from load balancers' : '', n.networkUnavailable ? 'NetworkUnavailable' : ''].filter(Boolean).join(', '),
      ]),
    ),
    '',
    ...table(
      ['COMPONENT', 'CONFIG', 'ERRORS'],
      s.components.map((c) => [c.name, c.result, long(c.errors)]),
    ),
    '',
    ...table(
      ['POOL', 'AUTO', 'IPv4 USED', 'IPv6 USED', 'ADDRESSES'],
      s.pools.map((p) => [
        p.name,
        p.autoAssign ? 'yes' : 'no',
        usage(p.assignedIPv4, p.availableIPv4),
        usage(p.assignedIPv6, p.availableIPv6),
        long(p.addresses.join(',')),
      ]),
    ),
    '',
    ...table(
      ['SERVICE', 'IPS', 'POOL', 'STATE', 'LAYER2', 'BGP'],
      s.services.map((v) => [
        v.service,
        v.ips.join(',') || '<pending>',
        v.pool || '-',
        v.state,
        v.l2Node ? `${v.l2Node}${v.l2Interfaces.length > 0 ? ` (${v.l2Interfaces.join(',')})` : ''}` : '-',
        v.bgp.length > 0 ? v.bgp.map((b) => `${b.node}→${b.peers.join('+') || '?'}`).join(' ') : '-',
      ]),
    ),
  ];
  return `${out.join('\n')}\n`;
}
