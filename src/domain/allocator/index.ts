// The allocator's public surface (issue 3): `new Allocator()`, then setPools / setNamespaces /
// reclaim / assign / release / get / list / stats. See docs/allocator.md.
export { Allocator } from './allocator.js';
export { Annotation, selectorString } from './service.js';
export { canonicalIp, formatIp, parseIp, parseAddressEntry, isBuggyIp } from './ip.js';
export type { IpFamily, ParsedIp, AddressRange } from './ip.js';
export { RefusalCode } from './types.js';
export type {
  Allocation,
  AllocatorPool,
  AssignResult,
  ChangeReport,
  FamilyStats,
  IpFamilyPolicy,
  PoolStats,
  ReclaimEntry,
  ReclaimReport,
  ServiceAllocation,
  ServiceKey,
  ServicePort,
  ServiceRequest,
  SetPoolsResult,
} from './types.js';
