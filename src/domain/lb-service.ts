// What the controller does to one Service, without I/O: whether Mooring manages it, the allocator
// request it stands for, the pools a parsed config gives the allocator, and the writes
// (status.loadBalancer.ingress, the metallb.io/ip-allocated-from-pool annotation) that bring the
// object to the allocator's answer. The controller's ServiceReconciler (src/actors/service-reconciler.ts) performs those writes.
import type { Config } from './config.js';
import type { AllocatorPool, IpFamily, IpFamilyPolicy, ServiceRequest } from './allocator/index.js';
import { fromKubeFamily } from './ip-family.js';

export const POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';
/**
 * The pool annotation older MetalLB versions wrote. MetalLB v0.16 (not v0.15.2) drops it whenever it
 * writes the pool annotation or clears a service, so the two never coexist after an upgrade
 * (metallb/metallb#2642): the migration of the one deprecated annotation the controller owns. The
 * user's own metallb.universe.tf/* annotations (address-pool, loadBalancerIPs, allow-shared-ip) are
 * still read and reported (deprecatedAnnotation), never rewritten: they belong to whoever applies
 * the Service.
 */
export const DEPRECATED_POOL_ANNOTATION = 'metallb.universe.tf/ip-allocated-from-pool';

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

/**
 * The annotations the allocator reads (metallb.io/* and metallb.universe.tf/*, without the pool
 * annotations the controller writes itself): a request is the same while these are.
 */
function allocatorAnnotations(a: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in a)
    if (
      (k.startsWith('metallb.io/') || k.startsWith(DEPRECATED_ANNOTATION_PREFIX)) &&
      k !== POOL_ANNOTATION &&
      k !== DEPRECATED_POOL_ANNOTATION
    )
      out[k] = a[k] as string;
  return out;
}

const POLICIES: readonly string[] = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];

export function toServiceRequest(s: ServiceLike): ServiceRequest {
  const spec = s.spec ?? {};
  const fam = (spec.ipFamilies ?? []).map(fromKubeFamily).filter((f): f is IpFamily => f !== undefined);
  return {
    key: serviceKey(s),
    namespace: s.metadata?.namespace ?? '',
    labels: s.metadata?.labels ?? {},
    annotations: allocatorAnnotations(s.metadata?.annotations),
    ports: (spec.ports ?? []).map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port })),
    ...(spec.ipFamilyPolicy && POLICIES.includes(spec.ipFamilyPolicy) ? { ipFamilyPolicy: spec.ipFamilyPolicy as IpFamilyPolicy } : {}),
    ipFamilies: fam.length > 0 ? fam : [4],
    ...(spec.loadBalancerIP ? { loadBalancerIP: spec.loadBalancerIP } : {}),
    ...(spec.externalTrafficPolicy === 'Local' || spec.externalTrafficPolicy === 'Cluster'
      ? { externalTrafficPolicy: spec.externalTrafficPolicy }
      : {}),
    ...(spec.selector ? { selector: spec.selector } : {}),
  };
}

export function toAllocatorPools(cfg: Config): AllocatorPool[] {
  return cfg.pools.map((p) => ({
    name: p.name,
    addresses: p.addresses,
    avoidBuggyIPs: p.avoidBuggyIPs,
    autoAssign: p.autoAssign,
    ...(p.serviceAllocation
      ? {
          serviceAllocation: {
            ...(p.serviceAllocation.priority !== undefined ? { priority: p.serviceAllocation.priority } : {}),
            namespaces: p.serviceAllocation.namespaces,
            namespaceSelectors: p.serviceAllocation.namespaceSelectors,
            serviceSelectors: p.serviceAllocation.serviceSelectors,
          },
        }
      : {}),
  }));
}

/** The writes that make `s` show `ips` from `pool` (pool undefined: show nothing). */
export interface ServiceWrites {
  /** New ingress list, when it differs from the object's. */
  ingress?: string[];
  /** New annotation value (null = remove), when it differs. */
  poolAnnotation?: string | null;
  /** The deprecated pool annotation is on the object: remove it (in the same request). */
  dropDeprecatedPool?: true;
}

export function writesFor(s: ServiceLike, ips: readonly string[], pool: string | undefined): ServiceWrites {
  const out: ServiceWrites = {};
  const cur = ingressIps(s);
  if (cur.length !== ips.length || cur.some((ip, i) => ip !== ips[i])) out.ingress = [...ips];
  const ann = s.metadata?.annotations?.[POOL_ANNOTATION];
  const want = ips.length > 0 ? pool : undefined;
  if (want !== undefined && ann !== want) out.poolAnnotation = want;
  if (want === undefined && ann !== undefined) out.poolAnnotation = null;
  if (s.metadata?.annotations?.[DEPRECATED_POOL_ANNOTATION] !== undefined) out.dropDeprecatedPool = true;
  return out;
}

/** Any write: status, the pool annotation, or the deprecated one's removal. */
export const hasWrites = (w: ServiceWrites): boolean =>
  w.ingress !== undefined || w.poolAnnotation !== undefined || w.dropDeprecatedPool === true;

/** The annotation part of a merge patch for `w` (null removes), undefined when it has none. */
export function annotationPatch(w: ServiceWrites): Record<string, string | null> | undefined {
  if (w.poolAnnotation === undefined && !w.dropDeprecatedPool) return undefined;
  return {
    ...(w.poolAnnotation !== undefined ? { [POOL_ANNOTATION]: w.poolAnnotation } : {}),
    ...(w.dropDeprecatedPool ? { [DEPRECATED_POOL_ANNOTATION]: null } : {}),
  };
}

// ---- Events with MetalLB's reasons (controller/service.go, controller/main.go) -----------------
export interface ServiceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export const DEPRECATED_ANNOTATION_PREFIX = 'metallb.universe.tf/';

/** `deprecatedAnnotation` (Warning) per metallb.universe.tf/* annotation; MetalLB emits them only when it writes the service. */
export function deprecatedAnnotationEvents(s: ServiceLike): ServiceEvent[] {
  return Object.keys(s.metadata?.annotations ?? {})
    .filter((k) => k.startsWith(DEPRECATED_ANNOTATION_PREFIX))
    .sort()
    .map((k) => ({ type: 'Warning', reason: 'deprecatedAnnotation', message: `Service uses deprecated annotation ${k}` }));
}

/**
 * The IP(s) a service held were taken away because it is no longer ours (type or class changed).
 * `ips` are the ones the allocator held: the apiserver itself empties status.loadBalancer when the
 * type changes, so the object may no longer show them.
 */
export function clearedNotOursEvent(s: ServiceLike, ips: readonly string[], lbClass?: string): ServiceEvent | undefined {
  if (ips.length === 0) return undefined;
  const why =
    s.spec?.type !== 'LoadBalancer'
      ? `not a LoadBalancer (type ${s.spec?.type ?? 'unset'})`
      : `loadBalancerClass ${JSON.stringify(s.spec.loadBalancerClass ?? '')} is not ${lbClass ? JSON.stringify(lbClass) : 'unset'}`;
  return {
    type: 'Normal',
    reason: 'ClearAssignment',
    message: `cleared IP ${JSON.stringify(ips)} for ${JSON.stringify(serviceKey(s))}: ${why}`,
  };
}

/** A config change made the service's address invalid and the allocator moved it (MetalLB's wording). */
export function clearedByConfigEvent(key: string, from: readonly string[]): ServiceEvent {
  return {
    type: 'Normal',
    reason: 'ClearAssignment',
    message: `current IP for ${JSON.stringify(key)} not allowed by config, will attempt for new IP assignment: ${JSON.stringify(from)} is no longer in an eligible pool`,
  };
}

/**
 * A refusal becomes `LoadBalancerFailed` when the service keeps its addresses because only its
 * requested-IP annotation is unreadable (MetalLB), `AllocationFailed` otherwise.
 */
export function refusalEvent(key: string, code: string, reason: string, keptIps: readonly string[]): ServiceEvent {
  return code === 'invalidRequest' && keptIps.length > 0
    ? { type: 'Warning', reason: 'LoadBalancerFailed', message: `invalid requested loadbalancer IPs: ${reason}` }
    : { type: 'Warning', reason: 'AllocationFailed', message: `Failed to allocate IP for ${JSON.stringify(key)}: ${reason}` };
}

// ---- IPAddressPool status (MetalLB v0.15: assigned/available per family) ----------------------
export interface PoolStatus {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
}
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Counts for status; an IPv6 pool's available count saturates at 2^53-1 (JSON numbers). */
export function poolStatus(st: {
  ipv4: { assigned: number; available: bigint };
  ipv6: { assigned: number; available: bigint };
}): PoolStatus {
  const n = (b: bigint) => Number(b > SAFE ? SAFE : b);
  return {
    assignedIPv4: st.ipv4.assigned,
    assignedIPv6: st.ipv6.assigned,
    availableIPv4: n(st.ipv4.available),
    availableIPv6: n(st.ipv6.available),
  };
}
