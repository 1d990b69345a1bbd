// Shared by the allocator's tests: service builders, deep-freeze, and the sequential table runner
// (each row one step on the same allocator, as in MetalLB's TestAssignment). Not used by product code.
import assert from 'node:assert/strict';
import { Allocator } from './allocator.js';
import type { Labels } from '../label-selector.js';
import type { AllocatorPool, AssignResult, IpFamilyPolicy, RefusalCode, ServiceRequest } from './types.js';
import type { IpFamily } from './ip.js';

export function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x as Record<string, unknown>)) deepFreeze(v);
  }
  return x;
}

export interface SvcOpts {
  ns?: string;
  labels?: Labels;
  ports?: string[]; // "TCP/80"
  share?: string;
  pool?: string;
  lbIPs?: string;
  lbIP?: string;
  families?: IpFamily[];
  policy?: IpFamilyPolicy;
  local?: Record<string, string>; // externalTrafficPolicy Local with this selector
  annotations?: Record<string, string>;
}

/** A LoadBalancer service `ns/name` (default namespace "default", IPv4, port TCP/80). */
export function svc(name: string, o: SvcOpts = {}): ServiceRequest {
  const ns = o.ns ?? 'default';
  const annotations: Record<string, string> = { ...(o.annotations ?? {}) };
  if (o.share !== undefined) annotations['metallb.io/allow-shared-ip'] = o.share;
  if (o.pool !== undefined) annotations['metallb.io/address-pool'] = o.pool;
  if (o.lbIPs !== undefined) annotations['metallb.io/loadBalancerIPs'] = o.lbIPs;
  return {
    key: `${ns}/${name}`,
    namespace: ns,
    labels: o.labels ?? {},
    annotations,
    ports: (o.ports ?? ['TCP/80']).map((p) => {
      const [protocol, port] = p.split('/');
      return { protocol: protocol ?? 'TCP', port: Number(port) };
    }),
    ipFamilies: o.families ?? [4],
    ...(o.policy ? { ipFamilyPolicy: o.policy } : {}),
    ...(o.lbIP ? { loadBalancerIP: o.lbIP } : {}),
    ...(o.local ? { externalTrafficPolicy: 'Local' as const, selector: o.local } : { externalTrafficPolicy: 'Cluster' as const }),
  };
}

export type Step =
  | { desc: string; pools: AllocatorPool[]; wantErr?: RegExp; moved?: Record<string, string[] | RefusalCode>; repooled?: string[] }
  | {
      desc: string;
      svc: ServiceRequest;
      want: string[] | RefusalCode;
      reason?: RegExp;
      pool?: string;
      changed?: boolean;
      warning?: RegExp;
      kept?: string[];
    }
  | { desc: string; release: string; want?: boolean }
  | { desc: string; namespaces: Record<string, Labels>; moved?: Record<string, string[] | RefusalCode> }
  | { desc: string; stats: Record<string, { v4?: [number, bigint]; v6?: [number, bigint]; services?: number }> }
  | { desc: string; holds: Record<string, string[]> };

function checkResult(desc: string, r: AssignResult, want: string[] | RefusalCode): void {
  if (Array.isArray(want)) {
    assert.ok(r.ok, `${desc}: refused: ${r.ok ? '' : `${r.code}: ${r.reason}`}`);
    assert.deepEqual(r.ips, want, desc);
  } else {
    assert.equal(r.ok, false, `${desc}: expected ${want}, got ${JSON.stringify(r)}`);
    if (!r.ok) assert.equal(r.code, want, `${desc}: ${r.reason}`);
  }
}

function checkMoved(
  desc: string,
  moved: ReadonlyArray<{ key: string; result: AssignResult }>,
  want: Record<string, string[] | RefusalCode>,
): void {
  assert.deepEqual(
    moved.map((m) => m.key),
    Object.keys(want).sort(),
    `${desc}: moved services`,
  );
  for (const m of moved) checkResult(`${desc} (${m.key})`, m.result, want[m.key] as string[] | RefusalCode);
}

export function run(steps: Step[], a: Allocator = new Allocator()): Allocator {
  deepFreeze(steps);
  for (const s of steps) {
    if ('pools' in s) {
      const r = a.setPools(s.pools);
      if (s.wantErr) {
        assert.equal(r.ok, false, s.desc);
        if (!r.ok) assert.match(r.reason, s.wantErr, s.desc);
        continue;
      }
      assert.ok(r.ok, `${s.desc}: ${r.ok ? '' : r.reason}`);
      if (!r.ok) continue;
      checkMoved(s.desc, r.moved, s.moved ?? {});
      assert.deepEqual(
        r.repooled.map((x) => x.key),
        s.repooled ?? [],
        `${s.desc}: repooled`,
      );
    } else if ('svc' in s) {
      const r = a.assign(s.svc);
      checkResult(s.desc, r, s.want);
      if (!r.ok && s.reason) assert.match(r.reason, s.reason, s.desc);
      if (!r.ok) assert.deepEqual(r.ips, s.kept ?? [], `${s.desc}: kept`);
      if (r.ok && s.pool) assert.equal(r.pool, s.pool, `${s.desc}: pool`);
      if (r.ok && s.changed !== undefined) assert.equal(r.changed, s.changed, `${s.desc}: changed`);
      if (r.ok && s.warning) assert.match(r.warning ?? '', s.warning, `${s.desc}: warning`);
      // What the allocator reports afterwards agrees with the result.
      const held = a.get(s.svc.key);
      assert.deepEqual(held?.ips ?? [], r.ips, `${s.desc}: get() after assign`);
    } else if ('release' in s) {
      assert.equal(a.release(s.release), s.want ?? true, s.desc);
    } else if ('namespaces' in s) {
      checkMoved(s.desc, a.setNamespaces(s.namespaces).moved, s.moved ?? {});
    } else if ('stats' in s) {
      const st = new Map(a.stats().map((x) => [x.pool, x] as const));
      for (const [pool, w] of Object.entries(s.stats)) {
        const got = st.get(pool);
        assert.ok(got, `${s.desc}: no stats for ${pool}`);
        if (w.v4) assert.deepEqual([got.ipv4.assigned, got.ipv4.available], w.v4, `${s.desc}: ${pool} IPv4`);
        if (w.v6) assert.deepEqual([got.ipv6.assigned, got.ipv6.available], w.v6, `${s.desc}: ${pool} IPv6`);
        if (w.services !== undefined) assert.equal(got.services, w.services, `${s.desc}: ${pool} services`);
      }
    } else {
      for (const [key, ips] of Object.entries(s.holds)) assert.deepEqual(a.get(key)?.ips ?? [], ips, `${s.desc}: ${key}`);
    }
  }
  return a;
}
