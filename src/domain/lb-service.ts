// What the controller does to one Service, without I/O: whether Mooring manages it, the allocator
// request it stands for, the pools a parsed config gives the allocator, and the writes
// (status.loadBalancer.ingress, the metallb.io/ip-allocated-from-pool annotation) that bring the
// object to the allocator's answer. src/bin/controller.ts performs those writes.
import type { Config } from './config.js';
import type { AllocatorPool, IpFamily, IpFamilyPolicy, ServiceRequest } from './allocator/index.js';

export const POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';

/** The fields of a core/v1 Service the controller reads (structural: no client types here). */
export interface ServiceLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    type?: string;
    loadBalancerClass?: string;
    ipFamilyPolicy?: string;
    ipFamilies?: string[];
    loadBalancerIP?: string;
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
    ports?: Array<{ protocol?: string; port: number }>;
  };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

export const serviceKey = (s: ServiceLike): string => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

/** type LoadBalancer and the class is ours: none set and none configured, or equal (MetalLB --lb-class). */
export function isManaged(s: ServiceLike, lbClass?: string): boolean {
  if (s.spec?.type !== 'LoadBalancer') return false;
  return (s.spec.loadBalancerClass ?? undefined) === (lbClass || undefined);
}

export function ingressIps(s: ServiceLike): string[] {
  return (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
}

const POLICIES: readonly string[] = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];

export function toServiceRequest(s: ServiceLike): ServiceRequest {
  const spec = s.spec ?? {};
  const fam = (spec.ipFamilies ?? []).filter((f): f is IpFamily => f === 'IPv4' || f === 'IPv6');
  return {
    key: serviceKey(s),
    namespace: s.metadata?.namespace ?? '',
    labels: s.metadata?.labels ?? {},
    annotations: s.metadata?.annotations ?? {},
    ports: (spec.ports ?? []).map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port })),
    ...(spec.ipFamilyPolicy && POLICIES.includes(spec.ipFamilyPolicy) ? { ipFamilyPolicy: spec.ipFamilyPolicy as IpFamilyPolicy } : {}),
    ipFamilies: fam.length > 0 ? fam : ['IPv4'],
    ...(spec.loadBalancerIP ? { loadBalancerIP: spec.loadBalancerIP } : {}),
    ...(spec.externalTrafficPolicy === 'Local' || spec.externalTrafficPolicy === 'Cluster' ? { externalTrafficPolicy: spec.externalTrafficPolicy } : {}),
    ...(spec.selector ? { selector: spec.selector } : {}),
  };
}

export function toAllocatorPools(cfg: Config): AllocatorPool[] {
  return cfg.pools.map((p) => ({
    name: p.name,
    addresses: p.addresses,
    avoidBuggyIPs: p.avoidBuggyIPs,
    autoAssign: p.autoAssign,
    ...(p.serviceAllocation ? {
      serviceAllocation: {
        ...(p.serviceAllocation.priority !== undefined ? { priority: p.serviceAllocation.priority } : {}),
        namespaces: p.serviceAllocation.namespaces,
        namespaceSelectors: p.serviceAllocation.namespaceSelectors,
        serviceSelectors: p.serviceAllocation.serviceSelectors,
      },
    } : {}),
  }));
}

/** The writes that make `s` show `ips` from `pool` (pool undefined: show nothing). */
export interface ServiceWrites {
  /** New ingress list, when it differs from the object's. */
  ingress?: string[];
  /** New annotation value (null = remove), when it differs. */
  poolAnnotation?: string | null;
}

export function writesFor(s: ServiceLike, ips: readonly string[], pool: string | undefined): ServiceWrites {
  const out: ServiceWrites = {};
  const cur = ingressIps(s);
  if (cur.length !== ips.length || cur.some((ip, i) => ip !== ips[i])) out.ingress = [...ips];
  const ann = s.metadata?.annotations?.[POOL_ANNOTATION];
  const want = ips.length > 0 ? pool : undefined;
  if (want !== undefined && ann !== want) out.poolAnnotation = want;
  if (want === undefined && ann !== undefined) out.poolAnnotation = null;
  return out;
}
