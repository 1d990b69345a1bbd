// The one config function (as MetalLB's `config.For(resources)`): a snapshot of every metallb.io
// object (plus the Nodes, Namespaces and Secrets it needs) becomes either a validated internal
// config with every default applied, or the complete list of errors. No I/O: the controller,
// the speaker, the admission webhook and `mooringctl validate` all call it.
//
// Errors name the kind, object, field path and bad value. A reference to an object that does not
// exist (yet) is `transient` (the informer may deliver it next); everything else is `config`.
// The result does not depend on input order: objects are sorted by name and errors are sorted.
import { checkStructure, type StructuralIssue } from '../api/structural.js';
import { bgpPeerToV1beta2 } from '../api/bgppeer-convert.js';
import {
  bfdProfileSpec,
  bgpAdvertisementSpec,
  bgpPeerSpecV1beta1,
  bgpPeerSpecV1beta2,
  communitySpec,
  DEFAULT_NAMESPACE,
  GROUP,
  ipAddressPoolSpec,
  l2AdvertisementSpec,
  type BFDProfileSpec,
  type BGPAdvertisementSpec,
  type BGPPeerSpec,
  type BGPPeerV1beta1,
  type CommunitySpec,
  type IPAddressPoolSpec,
  type L2AdvertisementSpec,
  type ObjectMeta,
} from '../api/metallb.js';
import type { JsonSchema } from '../api/schema.js';
import { matchesAny, matchesSelector, validateSelector, type LabelSelector, type Labels } from './label-selector.js';
import { familyBits, parseIp, parseRange, type Family } from './ip.js';
import { parseDuration } from './duration.js';
import { parseCommunity, type BgpCommunity } from './community.js';

// ---- inputs ----------------------------------------------------------------------------------
export interface RawObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: unknown;
  spec?: unknown;
  [k: string]: unknown;
}
export interface NodeInfo {
  name: string;
  labels?: Labels;
}
export interface NamespaceInfo {
  name: string;
  labels?: Labels;
}
export interface SecretInfo {
  name: string;
  namespace: string;
  type?: string;
  /** base64 values, as in the API */ data?: Record<string, string>;
  stringData?: Record<string, string>;
}
export interface ConfigSnapshot {
  objects: readonly RawObject[];
  nodes?: readonly NodeInfo[];
  namespaces?: readonly NamespaceInfo[];
  secrets?: readonly SecretInfo[];
  /** The namespace config objects must live in (default metallb-system). */
  namespace?: string;
  /** The speakers' BGP backend: warnings name the fields it cannot honour (default native). */
  bgpBackend?: 'native' | 'frr';
}

// ---- outputs ---------------------------------------------------------------------------------
export type ErrorClass = 'config' | 'transient';
export interface ConfigError {
  kind: string;
  name: string;
  field: string;
  value?: unknown;
  message: string;
  class: ErrorClass;
}

export interface PoolRange {
  text: string;
  family: Family;
  first: bigint;
  last: bigint;
  minPrefixLen: number;
}
export interface Pool {
  name: string;
  labels: Labels;
  addresses: string[];
  ranges: PoolRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  serviceAllocation?: {
    priority?: number;
    namespaces: string[];
    namespaceSelectors: LabelSelector[];
    serviceSelectors: LabelSelector[];
  };
  l2Advertisements: string[];
  bgpAdvertisements: string[];
}
export interface PreferredNodeSelector {
  weight: number;
  preference: LabelSelector;
}
export interface L2Adv {
  name: string;
  pools: string[];
  nodeSelectors: LabelSelector[];
  /** Nodes from the snapshot that the selectors match. */
  nodes: string[];
  interfaces: string[];
  allInterfaces: boolean;
  serviceSelectors: LabelSelector[];
  preferredNodeSelectors: PreferredNodeSelector[];
}
export interface BgpAdv {
  name: string;
  pools: string[];
  aggregationLength: number;
  aggregationLengthV6: number;
  localPref?: number;
  /** AS_PATH prepends (1-10): the session's local AS this many extra times (MetalLB frr-k8s mode). */
  asPathPrepend?: number;
  communities: BgpCommunity[];
  peers: string[];
  nodeSelectors: LabelSelector[];
  nodes: string[];
  serviceSelectors: LabelSelector[];
}
export interface Peer {
  name: string;
  myASN: number;
  peerASN?: number;
  dynamicASN?: 'internal' | 'external';
  address?: string;
  interface?: string;
  sourceAddress?: string;
  port: number;
  holdTimeMs: number;
  keepaliveTimeMs: number;
  connectTimeMs?: number;
  routerID?: string;
  nodeSelectors: LabelSelector[];
  /** The TCP-MD5 password, from `password` or the referenced Secret. Never log it. */
  password?: string;
  passwordSource: 'none' | 'inline' | 'secret';
  bfdProfile?: string;
  enableGracefulRestart: boolean;
  ebgpMultiHop: boolean;
  vrf: string;
  /** v1beta2 localASN (BGP local-as … replace-as): this session's AS instead of myASN (sessionLocalAsn). */
  localASN?: number;
  disableMP: boolean;
  dualStackAddressFamily: boolean;
}
export interface BfdProfile {
  name: string;
  receiveIntervalMs: number;
  transmitIntervalMs: number;
  detectMultiplier: number;
  echoIntervalMs: number;
  echoMode: boolean;
  passiveMode: boolean;
  minimumTtl: number;
}
export interface Config {
  pools: Pool[];
  l2Advertisements: L2Adv[];
  bgpAdvertisements: BgpAdv[];
  peers: Peer[];
  bfdProfiles: BfdProfile[];
  communities: Record<string, BgpCommunity>;
}
export interface ConfigWarning {
  kind: string;
  name: string;
  field: string;
  message: string;
}
export type ConfigResult =
  { ok: true; config: Config; warnings: ConfigWarning[] } | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

/** MetalLB's defaults, in one place. */
export const DEFAULTS = {
  peerPort: 179,
  holdTimeMs: 90_000,
  aggregationLength: 32,
  aggregationLengthV6: 128,
  bfd: { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3, echoIntervalMs: 50, minimumTtl: 254 },
} as const;

const SPEC_SCHEMAS: Record<string, Record<string, JsonSchema>> = {
  IPAddressPool: { v1beta1: ipAddressPoolSpec.schema },
  L2Advertisement: { v1beta1: l2AdvertisementSpec.schema },
  BGPAdvertisement: { v1beta1: bgpAdvertisementSpec.schema },
  BGPPeer: { v1beta1: bgpPeerSpecV1beta1.schema, v1beta2: bgpPeerSpecV1beta2.schema },
  BFDProfile: { v1beta1: bfdProfileSpec.schema },
  Community: { v1beta1: communitySpec.schema },
};
export const CONFIG_KIND_NAMES = Object.keys(SPEC_SCHEMAS);

interface Parsed<S> {
  name: string;
  meta: ObjectMeta;
  spec: S;
}

class Errors {
  readonly list: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  add(kind: string, name: string, field: string, message: string, value?: unknown, cls: ErrorClass = 'config'): void {
    this.list.push({ kind, name, field, message, class: cls, ...(value !== undefined ? { value } : {}) });
  }
  transient(kind: string, name: string, field: string, message: string, value?: unknown): void {
    this.add(kind, name, field, message, value, 'transient');
  }
  warn(kind: string, name: string, field: string, message: string): void {
    this.warnings.push({ kind, name, field, message });
  }
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => cmpStr(a, b)))
      : x,
  );
/** Canonical text of a selector (values sorted), for duplicate detection. */
const selectorKey = (s: LabelSelector): string =>
  stable({
    l: s.matchLabels ?? {},
    e: [...(s.matchExpressions ?? [])]
      .map((e) => ({ ...e, values: [...(e.values ?? [])].sort() }))
      .map(stable)
      .sort(),
  });

function checkDuplicates(errs: Errors, kind: string, name: string, field: string, list: readonly string[] | undefined, what: string): void {
  const seen = new Set<string>();
  (list ?? []).forEach((v, i) => {
    if (seen.has(v)) errs.add(kind, name, `${field}[${i}]`, `duplicate definition of ${what} ${JSON.stringify(v)}`, v);
    seen.add(v);
  });
}

function checkSelectors(errs: Errors, kind: string, name: string, field: string, sels: readonly LabelSelector[] | undefined): void {
  const seen = new Set<string>();
  (sels ?? []).forEach((s, i) => {
    for (const e of validateSelector(s)) errs.add(kind, name, `${field}[${i}].${e.path}`, e.message);
    (s.matchExpressions ?? []).forEach((e, j) =>
      checkDuplicates(
        errs,
        kind,
        name,
        `${field}[${i}].matchExpressions[${j}].values`,
        e.values,
        'match expression value in label selector',
      ),
    );
    const k = selectorKey(s);
    if (seen.has(k))
      errs.add(kind, name, `${field}[${i}]`, `duplicate definition of ${field.split('.').pop() ?? field} ${JSON.stringify(s)}`);
    seen.add(k);
  });
}

/** Linux interface name rules (dev_valid_name). */
const validIfName = (s: string): boolean => s.length > 0 && s.length < 16 && s !== '.' && s !== '..' && !/[/\s:]/.test(s);

// ---- stage 1: envelope + structure ---------------------------------------------------------
interface Buckets {
  IPAddressPool: Parsed<IPAddressPoolSpec>[];
  L2Advertisement: Parsed<L2AdvertisementSpec>[];
  BGPAdvertisement: Parsed<BGPAdvertisementSpec>[];
  BGPPeer: Parsed<BGPPeerSpec>[];
  BFDProfile: Parsed<BFDProfileSpec>[];
  Community: Parsed<CommunitySpec>[];
}

function sortObjects(objs: readonly RawObject[]): RawObject[] {
  const head = (o: RawObject) => {
    const m = (o.metadata ?? {}) as Partial<ObjectMeta>;
    return `${String(o.kind)}\u0000${m.namespace ?? ''}\u0000${m.name ?? ''}`;
  };
  // Keys computed once per object, not per comparison; the whole object's canonical text (the
  // costly part) only breaks ties between objects with one kind, namespace and name.
  const full = new Map<RawObject, string>();
  const body = (o: RawObject): string => full.get(o) ?? (full.set(o, stable(o)).get(o) as string);
  return objs
    .map((o) => ({ o, k: head(o) }))
    .sort((a, b) => cmpStr(a.k, b.k) || cmpStr(body(a.o), body(b.o)))
    .map(({ o }) => o);
}

function envelope(snapshot: ConfigSnapshot, errs: Errors): Buckets {
  const ns = snapshot.namespace ?? DEFAULT_NAMESPACE;
  const b: Buckets = { IPAddressPool: [], L2Advertisement: [], BGPAdvertisement: [], BGPPeer: [], BFDProfile: [], Community: [] };
  for (const o of sortObjects(snapshot.objects)) {
    const kind = typeof o.kind === 'string' ? o.kind : '';
    const meta = (o.metadata && typeof o.metadata === 'object' ? o.metadata : {}) as ObjectMeta;
    const name = typeof meta.name === 'string' ? meta.name : '';
    const schemas = SPEC_SCHEMAS[kind];
    if (!schemas) {
      errs.add(
        kind || '(none)',
        name,
        'kind',
        `${o.kind === undefined ? 'Required value: no kind' : `unknown kind ${JSON.stringify(o.kind)}`}: expected one of ${CONFIG_KIND_NAMES.join(', ')}`,
        o.kind,
      );
      continue;
    }
    const [group, version] = typeof o.apiVersion === 'string' ? o.apiVersion.split('/') : [];
    if (group !== GROUP || !version || !schemas[version]) {
      errs.add(
        kind,
        name,
        'apiVersion',
        `unsupported apiVersion ${JSON.stringify(o.apiVersion)} for ${kind}: expected ${Object.keys(schemas)
          .map((v) => `${GROUP}/${v}`)
          .join(' or ')}`,
        o.apiVersion,
      );
      continue;
    }
    if (!name) {
      errs.add(kind, name, 'metadata.name', 'Required value: every object needs a name');
      continue;
    }
    if (meta.namespace !== undefined && meta.namespace !== ns) {
      errs.add(
        kind,
        name,
        'metadata.namespace',
        `config objects must be in namespace ${JSON.stringify(ns)}, found ${JSON.stringify(meta.namespace)}`,
        meta.namespace,
      );
      continue;
    }
    const issues: StructuralIssue[] = [];
    const spec = checkStructure(schemas[version] as JsonSchema, o.spec ?? {}, 'spec', issues);
    for (const i of issues) errs.add(kind, name, i.path, i.message, i.value);
    if (issues.length > 0) continue;
    if (kind === 'BGPPeer' && version === 'v1beta1') {
      const converted = bgpPeerToV1beta2({ ...(o as unknown as BGPPeerV1beta1), metadata: meta, spec: spec as BGPPeerV1beta1['spec'] });
      b.BGPPeer.push({ name, meta, spec: converted.spec as BGPPeerSpec });
      continue;
    }
    (b[kind as keyof Buckets] as Parsed<unknown>[]).push({ name, meta, spec });
  }
  for (const [kind, list] of Object.entries(b) as Array<[string, Parsed<unknown>[]]>) {
    const seen = new Set<string>();
    for (const p of list) {
      if (seen.has(p.name)) errs.add(kind, p.name, 'metadata.name', `duplicate definition of ${kind} ${JSON.stringify(p.name)}`, p.name);
      seen.add(p.name);
    }
  }
  return b;
}

// ---- stage 2: each kind --------------------------------------------------------------------
function bfdProfiles(b: Buckets, errs: Errors): BfdProfile[] {
  return b.BFDProfile.map(({ name, spec }) => {
    if (spec.echoMode)
      errs.warn(
        'BFDProfile',
        name,
        'spec.echoMode',
        'echo mode is not supported by the native BFD implementation; the session runs in asynchronous mode only',
      );
    return {
      name,
      receiveIntervalMs: spec.receiveInterval ?? DEFAULTS.bfd.receiveIntervalMs,
      transmitIntervalMs: spec.transmitInterval ?? DEFAULTS.bfd.transmitIntervalMs,
      detectMultiplier: spec.detectMultiplier ?? DEFAULTS.bfd.detectMultiplier,
      echoIntervalMs: spec.echoInterval ?? DEFAULTS.bfd.echoIntervalMs,
      echoMode: spec.echoMode ?? false,
      passiveMode: spec.passiveMode ?? false,
      minimumTtl: spec.minimumTtl ?? DEFAULTS.bfd.minimumTtl,
    };
  });
}

function communities(b: Buckets, errs: Errors): Record<string, BgpCommunity> {
  const out: Record<string, BgpCommunity> = {};
  const owner: Record<string, string> = {};
  for (const { name, spec } of b.Community) {
    (spec.communities ?? []).forEach((c, i) => {
      const f = `spec.communities[${i}]`;
      if (!c.name) {
        errs.add('Community', name, `${f}.name`, 'Required value: an alias needs a name');
        return;
      }
      if (c.name.includes(':'))
        errs.add('Community', name, `${f}.name`, `invalid alias ${JSON.stringify(c.name)}: an alias must not contain ':'`, c.name);
      const r = parseCommunity(c.value ?? '');
      if (!r.ok) {
        errs.add('Community', name, `${f}.value`, `parsing community ${JSON.stringify(c.name)}: ${r.message}`, c.value);
        return;
      }
      if (owner[c.name] !== undefined) {
        errs.add(
          'Community',
          name,
          `${f}.name`,
          `duplicate definition of community ${JSON.stringify(c.name)} (also in Community ${JSON.stringify(owner[c.name])})`,
          c.name,
        );
        return;
      }
      owner[c.name] = name;
      out[c.name] = r.value;
    });
  }
  return out;
}

/**
 * Every overlapping pair of ranges, reported on the later-defined one, in O(n log n + pairs): a
 * sweep over the ranges sorted by start, where every range still active (ends at or after the
 * current start) overlaps the current one. Same object: "in the same pool"; another pool: "already
 * defined"; two objects with one name (validate's files) are not compared, as before.
 */
function checkOverlaps(ranges: Array<{ pool: string; obj: number; seq: number; field: string; range: PoolRange }>, errs: Errors): void {
  const K = 'IPAddressPool';
  const sorted = [...ranges].sort((x, y) =>
    x.range.family !== y.range.family
      ? x.range.family - y.range.family
      : x.range.first < y.range.first
        ? -1
        : x.range.first > y.range.first
          ? 1
          : x.seq - y.seq,
  );
  let active: typeof ranges = [];
  let family: Family | undefined;
  for (const cur of sorted) {
    if (cur.range.family !== family) {
      active = [];
      family = cur.range.family;
    }
    active = active.filter((a) => a.range.last >= cur.range.first);
    for (const other of active) {
      const [prev, later] = other.seq < cur.seq ? [other, cur] : [cur, other];
      if (prev.obj === later.obj)
        errs.add(
          K,
          later.pool,
          later.field,
          `CIDR ${JSON.stringify(later.range.text)} overlaps with CIDR ${JSON.stringify(prev.range.text)} in the same pool`,
          later.range.text,
        );
      else if (prev.pool !== later.pool)
        errs.add(
          K,
          later.pool,
          later.field,
          `CIDR ${JSON.stringify(later.range.text)} in pool ${JSON.stringify(later.pool)} overlaps with already defined CIDR ${JSON.stringify(prev.range.text)} in pool ${JSON.stringify(prev.pool)}`,
          later.range.text,
        );
    }
    active.push(cur);
  }
}

function pools(b: Buckets, snap: ConfigSnapshot, errs: Errors): Pool[] {
  const out: Pool[] = [];
  const all: Array<{ pool: string; obj: number; seq: number; field: string; range: PoolRange }> = [];
  b.IPAddressPool.forEach(({ name, meta, spec }, obj) => {
    const K = 'IPAddressPool';
    if (spec.addresses.length === 0) {
      errs.add(K, name, 'spec.addresses', 'pool has no prefixes defined');
      return;
    }
    const ranges: PoolRange[] = [];
    spec.addresses.forEach((text, i) => {
      const r = parseRange(text);
      if (!r.ok) {
        errs.add(K, name, `spec.addresses[${i}]`, r.message, text);
        return;
      }
      const range: PoolRange = { text, ...r.interval, minPrefixLen: r.minPrefixLen };
      all.push({ pool: name, obj, seq: all.length, field: `spec.addresses[${i}]`, range });
      ranges.push(range);
    });
    const sa = spec.serviceAllocation;
    let serviceAllocation: Pool['serviceAllocation'];
    if (sa) {
      checkDuplicates(errs, K, name, 'spec.serviceAllocation.namespaces', sa.namespaces, 'namespace');
      checkSelectors(errs, K, name, 'spec.serviceAllocation.namespaceSelectors', sa.namespaceSelectors);
      checkSelectors(errs, K, name, 'spec.serviceAllocation.serviceSelectors', sa.serviceSelectors);
      const nsNames = new Set(sa.namespaces ?? []);
      for (const n of snap.namespaces ?? []) {
        if ((sa.namespaceSelectors ?? []).some((s) => matchesSelector(s, n.labels))) nsNames.add(n.name);
      }
      serviceAllocation = {
        ...(sa.priority !== undefined ? { priority: sa.priority } : {}),
        namespaces: [...nsNames].sort(),
        namespaceSelectors: sa.namespaceSelectors ?? [],
        serviceSelectors: sa.serviceSelectors ?? [],
      };
    }
    out.push({
      name,
      labels: meta.labels ?? {},
      addresses: [...spec.addresses],
      ranges,
      autoAssign: spec.autoAssign ?? true,
      avoidBuggyIPs: spec.avoidBuggyIPs ?? false,
      ...(serviceAllocation ? { serviceAllocation } : {}),
      l2Advertisements: [],
      bgpAdvertisements: [],
    });
  });
  checkOverlaps(all, errs);
  return out;
}

function selectPools(
  kind: string,
  name: string,
  spec: { ipAddressPools?: string[]; ipAddressPoolSelectors?: LabelSelector[] },
  all: Pool[],
  errs: Errors,
): string[] {
  if ((spec.ipAddressPools ?? []).length === 0 && (spec.ipAddressPoolSelectors ?? []).length === 0) return all.map((p) => p.name);
  const names = new Set<string>();
  const known = new Set(all.map((x) => x.name));
  (spec.ipAddressPools ?? []).forEach((p, i) => {
    if (known.has(p)) names.add(p);
    // MetalLB ignores a name that matches no pool (so deleting a pool never invalidates the
    // advertisements naming it); say so as a warning.
    else errs.warn(kind, name, `spec.ipAddressPools[${i}]`, `IPAddressPool ${JSON.stringify(p)} does not exist: ignored`);
  });
  for (const p of all) if ((spec.ipAddressPoolSelectors ?? []).some((s) => matchesSelector(s, p.labels))) names.add(p.name);
  return [...names].sort();
}

const selectNodes = (sels: LabelSelector[], nodes: readonly NodeInfo[]): string[] =>
  nodes
    .filter((n) => matchesAny(sels, n.labels))
    .map((n) => n.name)
    .sort();

function l2Advertisements(b: Buckets, snap: ConfigSnapshot, all: Pool[], errs: Errors): L2Adv[] {
  return b.L2Advertisement.map(({ name, spec }) => {
    const K = 'L2Advertisement';
    checkDuplicates(errs, K, name, 'spec.ipAddressPools', spec.ipAddressPools, 'ipAddressPools');
    checkDuplicates(errs, K, name, 'spec.interfaces', spec.interfaces, 'interfaces');
    checkSelectors(errs, K, name, 'spec.ipAddressPoolSelectors', spec.ipAddressPoolSelectors);
    checkSelectors(errs, K, name, 'spec.nodeSelectors', spec.nodeSelectors);
    checkSelectors(errs, K, name, 'spec.serviceSelectors', spec.serviceSelectors);
    (spec.interfaces ?? []).forEach((ifn, i) => {
      if (!validIfName(ifn))
        errs.add(
          K,
          name,
          `spec.interfaces[${i}]`,
          `invalid interface name ${JSON.stringify(ifn)}: 1-15 characters, no '/', ':' or whitespace`,
          ifn,
        );
    });
    (spec.preferredNodeSelectors ?? []).forEach((p, i) => {
      for (const e of validateSelector(p.preference))
        errs.add(K, name, `spec.preferredNodeSelectors[${i}].preference.${e.path}`, e.message);
    });
    const nodeSelectors = spec.nodeSelectors ?? [];
    return {
      name,
      pools: selectPools(K, name, spec, all, errs),
      nodeSelectors,
      nodes: selectNodes(nodeSelectors, snap.nodes ?? []),
      interfaces: [...(spec.interfaces ?? [])],
      allInterfaces: (spec.interfaces ?? []).length === 0,
      serviceSelectors: spec.serviceSelectors ?? [],
      preferredNodeSelectors: spec.preferredNodeSelectors ?? [],
    };
  });
}

function bgpAdvertisements(
  b: Buckets,
  snap: ConfigSnapshot,
  all: Pool[],
  comms: Record<string, BgpCommunity>,
  peerNames: Set<string>,
  errs: Errors,
): BgpAdv[] {
  const K = 'BGPAdvertisement';
  const seenSpecs = new Map<string, string>();
  const poolByName = new Map<string, Pool>();
  for (const p of all) if (!poolByName.has(p.name)) poolByName.set(p.name, p);
  const out = b.BGPAdvertisement.map(({ name, spec }) => {
    const key = stable(spec);
    if (seenSpecs.has(key))
      errs.add(
        K,
        name,
        'spec',
        `duplicate definition of bgpadvertisements: ${JSON.stringify(name)} is equal to ${JSON.stringify(seenSpecs.get(key))}`,
      );
    else seenSpecs.set(key, name);
    // MetalLB's schema says int32 for a Go uint32: the parser holds the uint32 range.
    if (spec.localPref !== undefined && (spec.localPref < 0 || spec.localPref > 0xffffffff))
      errs.add(K, name, 'spec.localPref', `invalid local preference ${spec.localPref}: must be 0-4294967295`, spec.localPref);
    checkDuplicates(errs, K, name, 'spec.ipAddressPools', spec.ipAddressPools, 'ipAddressPools');
    checkDuplicates(errs, K, name, 'spec.communities', spec.communities, 'community');
    checkDuplicates(errs, K, name, 'spec.peers', spec.peers, 'peers');
    checkSelectors(errs, K, name, 'spec.ipAddressPoolSelectors', spec.ipAddressPoolSelectors);
    checkSelectors(errs, K, name, 'spec.nodeSelectors', spec.nodeSelectors);
    checkSelectors(errs, K, name, 'spec.serviceSelectors', spec.serviceSelectors);
    const aggregationLength = spec.aggregationLength ?? DEFAULTS.aggregationLength;
    const aggregationLengthV6 = spec.aggregationLengthV6 ?? DEFAULTS.aggregationLengthV6;
    if (aggregationLength > 32)
      errs.add(
        K,
        name,
        'spec.aggregationLength',
        `invalid aggregation length ${aggregationLength} for IPv4: must be 0-32`,
        aggregationLength,
      );
    if (aggregationLengthV6 > 128 || aggregationLengthV6 < 0)
      errs.add(
        K,
        name,
        'spec.aggregationLengthV6',
        `invalid aggregation length ${aggregationLengthV6} for IPv6: must be 0-128`,
        aggregationLengthV6,
      );
    if ((spec.serviceSelectors ?? []).length > 0) {
      if (aggregationLength !== 32)
        errs.add(
          K,
          name,
          'spec.aggregationLength',
          'serviceSelectors and aggregationLength are mutually exclusive, both cannot be set',
          aggregationLength,
        );
      if (aggregationLengthV6 !== 128)
        errs.add(
          K,
          name,
          'spec.aggregationLengthV6',
          'serviceSelectors and aggregationLengthV6 are mutually exclusive, both cannot be set',
          aggregationLengthV6,
        );
    }
    const communities: BgpCommunity[] = [];
    (spec.communities ?? []).forEach((c, i) => {
      const f = `spec.communities[${i}]`;
      if (comms[c]) {
        communities.push(comms[c]);
        return;
      }
      const r = parseCommunity(c);
      if (r.ok) communities.push(r.value);
      else if (r.format)
        errs.transient(
          K,
          name,
          f,
          `invalid community ${JSON.stringify(c)}: not a community value and no Community alias with that name exists (yet)`,
          c,
        );
      else errs.add(K, name, f, r.message, c);
    });
    (spec.peers ?? []).forEach((p, i) => {
      if (!peerNames.has(p)) errs.transient(K, name, `spec.peers[${i}]`, `BGPPeer ${JSON.stringify(p)} does not exist (yet)`, p);
    });
    const nodeSelectors = spec.nodeSelectors ?? [];
    const adv: BgpAdv = {
      name,
      pools: selectPools(K, name, spec, all, errs),
      aggregationLength,
      aggregationLengthV6,
      ...(spec.localPref !== undefined ? { localPref: spec.localPref } : {}),
      ...(spec.asPathPrepend !== undefined ? { asPathPrepend: spec.asPathPrepend } : {}),
      communities,
      peers: [...(spec.peers ?? [])].sort(),
      nodeSelectors,
      nodes: selectNodes(nodeSelectors, snap.nodes ?? []),
      serviceSelectors: spec.serviceSelectors ?? [],
    };
    // Aggregation must not announce addresses outside the pool (MetalLB validateBGPAdvPerPool).
    for (const poolName of adv.pools) {
      const pool = poolByName.get(poolName);
      for (const r of pool?.ranges ?? []) {
        const max = r.family === 4 ? aggregationLength : aggregationLengthV6;
        if (max < r.minPrefixLen && max <= familyBits(r.family)) {
          errs.add(
            K,
            name,
            r.family === 4 ? 'spec.aggregationLength' : 'spec.aggregationLengthV6',
            `invalid aggregation length ${max}: prefix /${r.minPrefixLen} of ${JSON.stringify(r.text)} in pool ${JSON.stringify(poolName)} is more specific than the aggregation length`,
            max,
          );
        }
      }
    }
    return adv;
  });
  // Two advertisements of the same pool, to a common peer, from a common node, with the same
  // aggregation, must agree on LOCAL_PREF and on asPathPrepend (MetalLB
  // BGPAdvertisementsHaveCompatibleLocalPref / ...AsPathPrepend).
  const clashes = (a: BgpAdv, c: BgpAdv): Array<{ field: string; message: string; value: number }> => [
    ...((a.localPref ?? 0) !== (c.localPref ?? 0)
      ? [
          {
            field: 'spec.localPref',
            message: `invalid local preference ${c.localPref ?? 0}: BGPAdvertisement ${JSON.stringify(a.name)} sets local preference ${a.localPref ?? 0}`,
            value: c.localPref ?? 0,
          },
        ]
      : []),
    ...((a.asPathPrepend ?? 0) !== (c.asPathPrepend ?? 0)
      ? [
          {
            field: 'spec.asPathPrepend',
            message: `invalid as path prepend ${c.asPathPrepend ?? 0}: BGPAdvertisement ${JSON.stringify(a.name)} sets as path prepend ${a.asPathPrepend ?? 0}`,
            value: c.asPathPrepend ?? 0,
          },
        ]
      : []),
  ];
  for (let i = 0; i < out.length; i++) {
    for (let j = i + 1; j < out.length; j++) {
      const a = out[i] as BgpAdv;
      const c = out[j] as BgpAdv;
      const clash = clashes(a, c);
      if (clash.length === 0 || a.serviceSelectors.length > 0 || c.serviceSelectors.length > 0) continue;
      const cPools = new Set(c.pools);
      const common = a.pools.filter((p) => cPools.has(p));
      const peersDisjoint = a.peers.length > 0 && c.peers.length > 0 && !a.peers.some((p) => c.peers.includes(p));
      const nodesShared = a.nodes.some((n) => c.nodes.includes(n)) || (snap.nodes ?? []).length === 0;
      for (const pn of common) {
        const pool = poolByName.get(pn);
        const hasV4 = pool?.ranges.some((r) => r.family === 4) ?? false;
        const hasV6 = pool?.ranges.some((r) => r.family === 6) ?? false;
        const aggrDiffers =
          (hasV4 && !hasV6 && a.aggregationLength !== c.aggregationLength) ||
          (hasV6 && !hasV4 && a.aggregationLengthV6 !== c.aggregationLengthV6) ||
          (a.aggregationLength !== c.aggregationLength && a.aggregationLengthV6 !== c.aggregationLengthV6);
        if (!aggrDiffers && !peersDisjoint && nodesShared) {
          for (const x of clash)
            errs.add(
              K,
              c.name,
              x.field,
              `${x.message} for the same pool ${JSON.stringify(pn)}, peers, nodes and aggregation length`,
              x.value,
            );
          break;
        }
      }
    }
  }
  return out;
}

function decodeSecretValue(s: SecretInfo, key: string): string | undefined {
  if (s.stringData?.[key] !== undefined) return s.stringData[key];
  const b64 = s.data?.[key];
  if (b64 === undefined) return undefined;
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
}

function peers(b: Buckets, snap: ConfigSnapshot, bfd: BfdProfile[], errs: Errors): Peer[] {
  const K = 'BGPPeer';
  const ns = snap.namespace ?? DEFAULT_NAMESPACE;
  const out: Peer[] = [];
  const seen = new Map<string, string>();
  for (const { name, spec } of b.BGPPeer) {
    const before = errs.list.length;
    const bad = (field: string, message: string, value?: unknown) => errs.add(K, name, field, message, value);
    if (!spec.myASN) bad('spec.myASN', 'missing local ASN', spec.myASN);
    if (!spec.peerASN && !spec.dynamicASN) bad('spec.peerASN', 'missing peer ASN and dynamicASN: set exactly one');
    if (spec.peerASN && spec.dynamicASN) bad('spec.dynamicASN', 'both peer ASN and dynamicASN specified: set exactly one', spec.dynamicASN);
    if (spec.peerASN && spec.peerASN === spec.myASN && spec.ebgpMultiHop)
      bad('spec.ebgpMultiHop', 'invalid ebgp-multihop parameter set for an ibgp peer', true);
    if (spec.dynamicASN === 'internal' && spec.ebgpMultiHop)
      bad('spec.ebgpMultiHop', 'invalid ebgp-multihop parameter set for an ibgp peer', true);
    if (!spec.peerAddress && !spec.interface) bad('spec.peerAddress', 'peer has no Address or Interface specified');
    if (spec.peerAddress && spec.interface) bad('spec.interface', 'peer has both Address and Interface specified', spec.interface);
    if (spec.peerAddress && !parseIp(spec.peerAddress))
      bad('spec.peerAddress', `invalid BGPPeer address ${JSON.stringify(spec.peerAddress)}`, spec.peerAddress);
    if (spec.interface && !validIfName(spec.interface))
      bad('spec.interface', `invalid interface name ${JSON.stringify(spec.interface)}`, spec.interface);
    if (spec.sourceAddress && !parseIp(spec.sourceAddress))
      bad('spec.sourceAddress', `invalid source IP ${JSON.stringify(spec.sourceAddress)}`, spec.sourceAddress);
    if (spec.routerID && parseIp(spec.routerID)?.family !== 4)
      bad('spec.routerID', `invalid router ID ${JSON.stringify(spec.routerID)}: must be an IPv4 address`, spec.routerID);
    for (const f of ['password', 'vrf'] as const) {
      if (/[\n\r]/.test(spec[f] ?? '')) bad(`spec.${f}`, `${f} for peer ${JSON.stringify(name)} contains invalid characters (newline)`);
    }
    // Timers (MetalLB parseTimers), with unset staying unset until defaults apply.
    const timer = (f: 'holdTime' | 'keepaliveTime' | 'connectTime'): number | undefined => {
      const v = spec[f];
      if (v === undefined) return undefined;
      const ms = parseDuration(v);
      if (ms === undefined || ms < 0) {
        bad(`spec.${f}`, `invalid duration ${JSON.stringify(v)}: want a Go duration such as "90s" or "1m30s"`, v);
        return undefined;
      }
      return ms;
    };
    const ht = timer('holdTime');
    const ka = timer('keepaliveTime');
    const ct = timer('connectTime');
    const holdTimeMs = ht ?? (ka !== undefined ? ka * 3 : DEFAULTS.holdTimeMs);
    const keepaliveTimeMs = ka ?? holdTimeMs / 3;
    const holdSecs = Math.floor(holdTimeMs / 1000);
    if (holdSecs !== 0 && holdSecs < 3)
      bad('spec.holdTime', `invalid hold time ${JSON.stringify(spec.holdTime ?? `${holdTimeMs}ms`)}: must be 0 or >=3s`, spec.holdTime);
    if (keepaliveTimeMs > holdTimeMs)
      bad(
        'spec.keepaliveTime',
        `invalid keepaliveTime ${JSON.stringify(spec.keepaliveTime)}, must be lower than holdTime ${JSON.stringify(spec.holdTime ?? `${holdTimeMs / 1000}s`)}`,
        spec.keepaliveTime,
      );
    if (ct !== undefined && (ct < 1000 || ct > 65_535_000))
      bad('spec.connectTime', 'connect time should be between 1 seconds to 65535', spec.connectTime);
    else if (ct !== undefined && ct % 1000 !== 0)
      bad('spec.connectTime', 'connect time should contain a whole number of seconds', spec.connectTime);
    checkSelectors(errs, K, name, 'spec.nodeSelectors', spec.nodeSelectors);
    // Password: inline or from a basic-auth Secret in our namespace, never both.
    let password: string | undefined;
    let passwordSource: Peer['passwordSource'] = 'none';
    const ref = spec.passwordSecret;
    if (spec.password && ref?.name)
      bad('spec.passwordSecret', `can not have both password and secret ref set in peer config ${JSON.stringify(`${ns}/${name}`)}`);
    else if (spec.password) {
      password = spec.password;
      passwordSource = 'inline';
    } else if (ref?.name) {
      if (ref.namespace && ref.namespace !== ns)
        bad(
          'spec.passwordSecret.namespace',
          `the password secret must be in namespace ${JSON.stringify(ns)}, found ${JSON.stringify(ref.namespace)}`,
          ref.namespace,
        );
      else {
        const secret = (snap.secrets ?? []).find((s) => s.name === ref.name && s.namespace === ns);
        if (!secret)
          errs.transient(
            K,
            name,
            'spec.passwordSecret.name',
            `secret ref not found for peer config: Secret ${JSON.stringify(`${ns}/${ref.name}`)} does not exist (yet)`,
            ref.name,
          );
        else if (secret.type !== 'kubernetes.io/basic-auth')
          bad(
            'spec.passwordSecret.name',
            `secret type mismatch on ${JSON.stringify(`${ns}/${ref.name}`)}: type "kubernetes.io/basic-auth" is expected, found ${JSON.stringify(secret.type ?? 'Opaque')}`,
            ref.name,
          );
        else {
          const v = decodeSecretValue(secret, 'password');
          if (v === undefined)
            bad(
              'spec.passwordSecret.name',
              `password not specified in the secret ${JSON.stringify(`${ns}/${ref.name}`)}: key "password" is missing`,
              ref.name,
            );
          else if (/[\n\r]/.test(v))
            bad('spec.passwordSecret.name', `password secret for peer ${JSON.stringify(name)} contains invalid characters (newline)`);
          else {
            password = v;
            passwordSource = 'secret';
          }
        }
      }
    }
    if (spec.bfdProfile && !bfd.some((p) => p.name === spec.bfdProfile)) {
      errs.transient(K, name, 'spec.bfdProfile', `peer ${name} referencing non existing bfd profile ${spec.bfdProfile}`, spec.bfdProfile);
    }
    if (errs.list.length > before) continue;
    const peer: Peer = {
      name,
      myASN: spec.myASN,
      ...(spec.peerASN ? { peerASN: spec.peerASN } : {}),
      ...(spec.dynamicASN ? { dynamicASN: spec.dynamicASN } : {}),
      ...(spec.peerAddress ? { address: spec.peerAddress } : {}),
      ...(spec.interface ? { interface: spec.interface } : {}),
      ...(spec.sourceAddress ? { sourceAddress: spec.sourceAddress } : {}),
      port: spec.peerPort ?? DEFAULTS.peerPort,
      holdTimeMs,
      keepaliveTimeMs,
      ...(ct !== undefined ? { connectTimeMs: ct } : {}),
      ...(spec.routerID ? { routerID: spec.routerID } : {}),
      nodeSelectors: spec.nodeSelectors ?? [],
      ...(password !== undefined ? { password } : {}),
      passwordSource,
      ...(spec.bfdProfile ? { bfdProfile: spec.bfdProfile } : {}),
      enableGracefulRestart: spec.enableGracefulRestart ?? false,
      ebgpMultiHop: spec.ebgpMultiHop ?? false,
      vrf: spec.vrf ?? '',
      ...(spec.localASN ? { localASN: spec.localASN } : {}),
      disableMP: spec.disableMP ?? false,
      dualStackAddressFamily: spec.dualStackAddressFamily ?? false,
    };
    // Fields the native backend cannot honour: the speaker refuses the peer on its nodes; say so here too.
    if ((snap.bgpBackend ?? 'native') === 'native')
      for (const u of nativePeerLimits(peer)) errs.warn(K, name, u.field, `${JSON.stringify(u.value)}: ${u.message}`);
    if (peer.disableMP) errs.warn(K, name, 'spec.disableMP', DISABLE_MP_WARNING);
    // Two peers describing the same session (MetalLB "peer already exists").
    const sessionKey = stable({ ...peer, name: '' });
    if (seen.has(sessionKey)) bad('spec', `peer ${name} already exists: identical to BGPPeer ${JSON.stringify(seen.get(sessionKey))}`);
    else {
      seen.set(sessionKey, name);
      out.push(peer);
    }
  }
  return out;
}

// ---- entry point -----------------------------------------------------------------------------
export function parseConfig(snapshot: ConfigSnapshot): ConfigResult {
  const errs = new Errors();
  const b = envelope(snapshot, errs);
  const bfd = bfdProfiles(b, errs);
  const comms = communities(b, errs);
  const ps = peers(b, snapshot, bfd, errs);
  const allPools = pools(b, snapshot, errs);
  const l2 = l2Advertisements(b, snapshot, allPools, errs);
  const peerNames = new Set(b.BGPPeer.map((p) => p.name));
  const bgp = bgpAdvertisements(b, snapshot, allPools, comms, peerNames, errs);
  // Each pool's advertisements, in advertisement order (one pass over every adv's pools).
  const advsOf = (advs: ReadonlyArray<{ name: string; pools: string[] }>): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const a of advs) {
      for (const pn of new Set(a.pools)) {
        const list = m.get(pn);
        if (list) list.push(a.name);
        else m.set(pn, [a.name]);
      }
    }
    return m;
  };
  const l2Of = advsOf(l2);
  const bgpOf = advsOf(bgp);
  for (const p of allPools) {
    p.l2Advertisements = [...(l2Of.get(p.name) ?? [])];
    p.bgpAdvertisements = [...(bgpOf.get(p.name) ?? [])];
  }
  const warnings = errs.warnings.sort((x, y) => cmpStr(stable(x), stable(y)));
  if (errs.list.length > 0) {
    const key = (e: ConfigError) => `${e.kind}\u0000${e.name}\u0000${e.field}\u0000${e.message}`;
    return { ok: false, errors: errs.list.sort((x, y) => cmpStr(key(x), key(y))), warnings };
  }
  return {
    ok: true,
    config: { pools: allPools, l2Advertisements: l2, bgpAdvertisements: bgp, peers: ps, bfdProfiles: bfd, communities: comms },
    warnings,
  };
}

/** MetalLB 0.16's webhook warning: every session carries only its peer address's family by default. */
export const DISABLE_MP_WARNING =
  "disable mp is deprecated and has no effect since it's the default behavior now: a session carries only its peer address's family unless dualStackAddressFamily is set";

/**
 * BGPPeer fields the native BGP backend cannot honour; a speaker refuses such a peer
 * on its node rather than run it without them. [] when the peer is supported. (`interface`,
 * BGP unnumbered, is supported: the session goes to the router's IPv6 link-local address on it.)
 */
export function nativePeerLimits(p: Pick<Peer, 'vrf'>): Array<{ field: string; value: string; message: string }> {
  const out: Array<{ field: string; value: string; message: string }> = [];
  if (p.vrf)
    out.push({
      field: 'spec.vrf',
      value: p.vrf,
      message:
        'peering inside a VRF is not supported by the native BGP backend: it needs VRF devices in the kernel (CONFIG_NET_VRF) and a backend that binds the session to the VRF; run the speakers with --bgp-backend=frr (as MetalLB FRR mode)',
    });
  return out;
}

/** One line per error, as `mooringctl validate`, Events and ConfigurationState show them (long values shortened). */
export function formatConfigError(e: ConfigError): string {
  return shortenValues(
    `${shortText(e.kind)}/${shortText(e.name) || '(unnamed)'}: ${e.field}: ${e.message}${e.class === 'transient' ? ' (transient: waiting for the referenced object)' : ''}`,
  );
}

/** A name or other bare value shortened to its first 80 characters and its length. */
export const shortText = (s: string): string => (s.length > SHOW_CHARS ? `${s.slice(0, SHOW_CHARS)}… (${s.length} chars)` : s);

/** How an object is named in errors (kind `(none)` when missing, name `` when not a string): the key to where it was defined. */
export const originKey = (kind: unknown, name: unknown): string =>
  `${typeof kind === 'string' && kind ? kind : '(none)'}/${typeof name === 'string' ? name : ''}`;

const SHOW_CHARS = 80;
const LONG_WORD = 200;
/**
 * A message with its long values shortened, on one line: a quoted string longer than 80
 * characters keeps its first 80 (`"abc…" (5242880 chars)`), any other run of over 200 characters
 * without spaces likewise, and line breaks become `\n`.
 */
export function shortenValues(text: string): string {
  const cut = (s: string, n: number): string => `${s.slice(0, n)}…`;
  return text
    .replace(/\r?\n|\r/g, '\\n')
    .replace(/"(?:[^"\\]|\\.)*"/g, (q) => {
      if (q.length <= SHOW_CHARS + 3) return q; // up to 81 characters (also: already shortened)
      let n = q.length - 2;
      try {
        n = (JSON.parse(q) as string).length;
      } catch {
        // not a JSON string literal: count the characters between the quotes
      }
      return `${cut(q, SHOW_CHARS + 1)}" (${n} chars)`;
    })
    .replace(new RegExp(`[^\\s"]{${LONG_WORD + 1},}`, 'g'), (w) => `${cut(w, SHOW_CHARS)} (${w.length} chars)`);
}

export const isTransientOnly = (errors: readonly ConfigError[]): boolean =>
  errors.length > 0 && errors.every((e) => e.class === 'transient');
