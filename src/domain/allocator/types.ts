// Inputs and outputs of the allocator. Field names follow MetalLB's IPAddressPool spec and the
// Kubernetes Service spec so that the config parser and the controller map onto them directly.
import type { LabelSelector, Labels } from '../label-selector.js';
import type { IpFamily } from './ip.js';

export type { IpFamily } from './ip.js';

/** `"namespace/name"`, the key MetalLB uses for a service. */
export type ServiceKey = string;

/** IPAddressPool.spec.serviceAllocation. */
export interface ServiceAllocation {
  /** Lower positive value = preferred; 0 or absent = after every pool with a priority. */
  readonly priority?: number;
  readonly namespaces?: readonly string[];
  readonly namespaceSelectors?: readonly LabelSelector[];
  readonly serviceSelectors?: readonly LabelSelector[];
}

/** One IPAddressPool, as the allocator needs it. */
export interface AllocatorPool {
  readonly name: string;
  /** CIDRs ("198.51.100.0/24", "2001:db8::/64") or ranges ("198.51.100.10-198.51.100.20"). */
  readonly addresses: readonly string[];
  /** Never hand out IPv4 addresses ending in .0 or .255. Default false. */
  readonly avoidBuggyIPs?: boolean;
  /** Use this pool for services that name no pool and no IP. Default true. */
  readonly autoAssign?: boolean;
  readonly serviceAllocation?: ServiceAllocation;
}

export type IpFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  /** TCP, UDP or SCTP (Kubernetes spelling). */
  readonly protocol: string;
  readonly port: number;
}

/** The parts of a Service of type LoadBalancer that decide its addresses. */
export interface ServiceRequest {
  readonly key: ServiceKey;
  readonly namespace: string;
  readonly labels?: Labels;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ports?: readonly ServicePort[];
  /** Default SingleStack. */
  readonly ipFamilyPolicy?: IpFamilyPolicy;
  /** spec.ipFamilies as set by the apiserver (mirrors clusterIPs); the first is the primary family. */
  readonly ipFamilies: readonly IpFamily[];
  /** spec.loadBalancerIP (deprecated by Kubernetes, still honoured). */
  readonly loadBalancerIP?: string;
  /** Default Cluster. */
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  /** spec.selector: with externalTrafficPolicy Local, services sharing an IP must have the same one. */
  readonly selector?: Readonly<Record<string, string>>;
}

/** Why an allocation was refused; stable, for metrics labels and Event reasons. */
export const RefusalCode = {
  noPools: 'noPools',
  invalidRequest: 'invalidRequest',
  familyMismatch: 'familyMismatch',
  notInPool: 'notInPool',
  poolIncompatible: 'poolIncompatible',
  notShareable: 'notShareable',
  unknownPool: 'unknownPool',
  exhausted: 'exhausted',
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

export type AssignResult =
  | {
      readonly ok: true;
      /** Primary family first for allocated addresses; as requested for requested ones. */
      readonly ips: readonly string[];
      readonly pool: string;
      /** False when the service already held exactly these addresses. */
      readonly changed: boolean;
      /** Set when PreferDualStack could only get one family. */
      readonly warning?: string;
    }
  | {
      readonly ok: false;
      readonly code: RefusalCode;
      /** A sentence the user can act on; goes into the AllocationFailed Event. */
      readonly reason: string;
      /**
       * Addresses the service still holds. Empty, except for an unparseable request on a service
       * that already had addresses: like MetalLB, a typo in an annotation does not cost the IP.
       */
      readonly ips: readonly string[];
    };

export interface Allocation {
  readonly key: ServiceKey;
  readonly ips: readonly string[];
  readonly pool: string;
}

export interface FamilyStats {
  /** Distinct addresses in use (a shared IP counts once). */
  readonly assigned: number;
  /** Usable addresses (without .0/.255 when avoidBuggyIPs). */
  readonly total: bigint;
  readonly available: bigint;
}

export interface PoolStats {
  readonly pool: string;
  readonly services: number;
  readonly ipv4: FamilyStats;
  readonly ipv6: FamilyStats;
}

/** What a config or namespace change did to existing allocations (keys sorted). */
export interface ChangeReport {
  /** Services whose addresses stopped being valid and that got new ones. */
  readonly moved: ReadonlyArray<{ readonly key: ServiceKey; readonly from: readonly string[]; readonly result: AssignResult }>;
  /** Services that kept their addresses but now count against another pool (renamed/split pools). */
  readonly repooled: ReadonlyArray<{ readonly key: ServiceKey; readonly from: string; readonly to: string }>;
}

export type SetPoolsResult = ({ readonly ok: true } & ChangeReport) | { readonly ok: false; readonly reason: string };

export interface ReclaimEntry {
  readonly service: ServiceRequest;
  /** status.loadBalancer.ingress IPs the service had before the restart. */
  readonly ips: readonly string[];
}

export interface ReclaimReport {
  /** One entry per service, sorted by key. `kept` = the previous addresses were re-claimed as they were. */
  readonly results: ReadonlyArray<{ readonly key: ServiceKey; readonly kept: boolean; readonly result: AssignResult }>;
}
