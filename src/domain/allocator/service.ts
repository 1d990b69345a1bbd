// Reading a ServiceRequest the way MetalLB's controller reads a Service: requested IPs
// (metallb.io/loadBalancerIPs, its deprecated metallb.universe.tf twin, or spec.loadBalancerIP),
// the address-pool annotation, the sharing key and the backend key, the ports and the family mode.
// In every annotation pair the stable metallb.io key wins when it is present, even if empty.
import { parseIp, formatIp, type IpFamily, type ParsedIp } from './ip.js';
import { kubeFamily } from '../ip-family.js';
import type { ServiceRequest } from './types.js';

export const Annotation = {
  addressPool: 'metallb.io/address-pool',
  loadBalancerIPs: 'metallb.io/loadBalancerIPs',
  allowSharedIP: 'metallb.io/allow-shared-ip',
  ipAllocatedFromPool: 'metallb.io/ip-allocated-from-pool',
  deprecatedAddressPool: 'metallb.universe.tf/address-pool',
  deprecatedLoadBalancerIPs: 'metallb.universe.tf/loadBalancerIPs',
  deprecatedAllowSharedIP: 'metallb.universe.tf/allow-shared-ip',
} as const;

function annotation(req: ServiceRequest, stable: string, deprecated: string): { value: string; name: string } | undefined {
  const a = req.annotations ?? {};
  if (Object.prototype.hasOwnProperty.call(a, stable)) return { value: a[stable] ?? '', name: stable };
  if (Object.prototype.hasOwnProperty.call(a, deprecated)) return { value: a[deprecated] ?? '', name: deprecated };
  return undefined;
}

/** What the service wants, in the order MetalLB tries: families, then IPs, then a pool, then any. */
export type FamilyMode =
  | { readonly kind: 'single'; readonly family: IpFamily }
  | { readonly kind: 'dual'; readonly require: boolean; readonly primary: IpFamily; readonly secondary: IpFamily };

export interface ServiceIntent {
  readonly mode: FamilyMode;
  /** Requested addresses, canonical, in the order written. Empty when none is requested. */
  readonly requested: readonly ParsedIp[];
  readonly requestedFrom?: string;
  /** Requested pool, '' when none. */
  readonly pool: string;
  readonly sharing: string;
  readonly backend: string;
  /** `PROTO/port`. */
  readonly ports: readonly string[];
}

export type IntentResult =
  | { ok: true; value: ServiceIntent }
  | {
      ok: false;
      code: 'invalidRequest' | 'familyMismatch';
      reason: string;
      /**
       * Present when only the requested-IP annotation/field is unreadable: the rest of the intent,
       * so a service that already holds addresses can keep them (MetalLB returns before clearing).
       */
      fallback?: ServiceIntent;
    };

function portKey(protocol: string, port: number): string {
  return `${protocol.toUpperCase()}/${port}`;
}

function unreadable(base: ServiceIntent, reason: string): IntentResult {
  return { ok: false, code: 'invalidRequest', reason, fallback: base };
}

function portKeys(req: ServiceRequest): string[] {
  const out: string[] = [];
  for (const p of req.ports ?? []) out.push(portKey(p.protocol, p.port));
  return out;
}

/** labels.Set(selector).String() from apimachinery: sorted `k=v` joined by commas. */
export function selectorString(sel: Readonly<Record<string, string>> | undefined): string {
  if (!sel) return '';
  return Object.keys(sel)
    .sort()
    .map((k) => `${k}=${sel[k] ?? ''}`)
    .join(',');
}

export function readIntent(req: ServiceRequest): IntentResult {
  // Family mode: spec.ipFamilies mirrors clusterIPs, so two families = a dual-stack service.
  const fams = req.ipFamilies;
  const policy = req.ipFamilyPolicy ?? 'SingleStack';
  const f0 = fams[0];
  const f1 = fams[1];
  if (f0 === undefined) {
    return {
      ok: false,
      code: 'invalidRequest',
      reason: `service ${req.key} has no spec.ipFamilies yet (no ClusterIP assigned), so its address family is unknown`,
    };
  }
  if (fams.length > 2 || (f1 !== undefined && f1 === f0)) {
    return {
      ok: false,
      code: 'invalidRequest',
      reason: `service ${req.key} has invalid spec.ipFamilies [${fams.map(kubeFamily).join(', ')}]`,
    };
  }
  let mode: FamilyMode;
  if (f1 === undefined) {
    if (policy === 'RequireDualStack') {
      return {
        ok: false,
        code: 'invalidRequest',
        reason: `service ${req.key} requires dual stack but has only the ${kubeFamily(f0)} family (spec.ipFamilies); the cluster must give it two ClusterIPs`,
      };
    }
    mode = { kind: 'single', family: f0 };
  } else {
    if (policy === 'SingleStack') {
      return { ok: false, code: 'invalidRequest', reason: `service ${req.key} is SingleStack but lists two ipFamilies` };
    }
    mode = { kind: 'dual', require: policy === 'RequireDualStack', primary: f0, secondary: f1 };
  }

  const base: ServiceIntent = {
    mode,
    requested: [],
    pool: annotation(req, Annotation.addressPool, Annotation.deprecatedAddressPool)?.value ?? '',
    sharing: annotation(req, Annotation.allowSharedIP, Annotation.deprecatedAllowSharedIP)?.value ?? '',
    backend: req.externalTrafficPolicy === 'Local' ? selectorString(req.selector) : '',
    ports: portKeys(req),
  };

  // Requested addresses: annotation or spec.loadBalancerIP, never both.
  const lbIPs = annotation(req, Annotation.loadBalancerIPs, Annotation.deprecatedLoadBalancerIPs);
  const specIP = req.loadBalancerIP ?? '';
  const requested: ParsedIp[] = [];
  let requestedFrom: string | undefined;
  if (lbIPs && lbIPs.value !== '' && specIP !== '') {
    return unreadable(base, `service can not have both ${lbIPs.name} and spec.loadBalancerIP: remove one of them`);
  }
  if (lbIPs && lbIPs.value !== '') {
    requestedFrom = lbIPs.name;
    for (const part of lbIPs.value.split(',')) {
      const ip = parseIp(part);
      if (!ip) return unreadable(base, `invalid ${lbIPs.name} "${lbIPs.value}": "${part.trim()}" is not an IP address`);
      requested.push(ip);
    }
  } else if (specIP !== '') {
    requestedFrom = 'spec.loadBalancerIP';
    const ip = parseIp(specIP);
    if (!ip) return unreadable(base, `invalid spec.loadBalancerIP "${specIP}"`);
    requested.push(ip);
  }
  if (requested.length > 0) {
    const text = requested.map((p) => formatIp(p.family, p.value)).join(', ');
    const r0 = requested[0];
    const r1 = requested[1];
    if (requested.length > 2 || (r0 && r1 && r0.family === r1.family)) {
      return unreadable(base, `${requestedFrom} "${text}": give at most one IPv4 and one IPv6 address`);
    }
    const wantDual = mode.kind === 'dual';
    const gotDual = requested.length === 2;
    if (wantDual !== gotDual || (mode.kind === 'single' && r0 && r0.family !== mode.family)) {
      const fam = mode.kind === 'single' ? kubeFamily(mode.family) : 'dual-stack (IPv4 and IPv6)';
      return {
        ok: false,
        code: 'familyMismatch',
        reason: `requested loadBalancer IP(s) ${text} do not match the ipFamily of the service (${fam})`,
      };
    }
  }

  if (requested.length === 0) return { ok: true, value: base };
  return { ok: true, value: { ...base, requested, ...(requestedFrom ? { requestedFrom } : {}) } };
}
