// MetalLB's legacy configuration (the `config` ConfigMap of MetalLB ≤ 0.12: peers, address-pools,
// bgp-communities, bfd-profiles) → metallb.io objects, with the mapping and naming rules of MetalLB's
// own converter (configmaptocrs): peers become BGPPeer peer1, peer2, …; each pool an IPAddressPool
// with its (K8s-compatible) name; each bgp-advertisement a BGPAdvertisement bgpadvertisement1, …
// (a bgp pool without any gets an empty one); each layer2 pool an L2Advertisement l2advertisement1,
// …; every BFD profile a BFDProfile; all bgp-communities one Community "communities".
//
// Where MetalLB's converter would silently drop or mangle something, this says so instead: an
// unknown field, a protocol other than layer2/bgp (MetalLB ≤ 0.12 refused those too), bgp-
// advertisements on a layer2 pool (refused by MetalLB ≤ 0.12), a community alias that is not
// defined, two names that become one. The result is then checked with parseConfig, the function
// `mooringctl validate`, the controller and the speakers use. Pure: text in, objects or problems out.
import { parseAllDocuments, stringify } from 'yaml';
import { DEFAULT_NAMESPACE } from '../api/metallb.js';
import { formatDuration, parseDuration } from './duration.js';
import { formatConfigError, parseConfig, shortenValues, type RawObject } from './config.js';

export interface MigrateProblem {
  /** Where in the legacy config, e.g. `address-pools[1].protocol` (`` for the whole input). */
  readonly field: string;
  readonly message: string;
}
export type MigrateResult =
  { ok: true; objects: RawObject[]; namespace: string; notes: string[] } | { ok: false; problems: MigrateProblem[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => shortenValues(typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));

/** The legacy format's fields, per section (MetalLB configmaptocrs types.go). */
const FIELDS = {
  top: ['peers', 'bgp-communities', 'address-pools', 'bfd-profiles'],
  peer: [
    'my-asn',
    'peer-asn',
    'peer-address',
    'source-address',
    'peer-port',
    'hold-time',
    'keepalive-time',
    'router-id',
    'node-selectors',
    'password',
    'bfd-profile',
    'ebgp-multihop',
  ],
  selector: ['match-labels', 'match-expressions'],
  expression: ['key', 'operator', 'values'],
  pool: ['protocol', 'name', 'addresses', 'auto-assign', 'avoid-buggy-ips', 'bgp-advertisements'],
  advertisement: ['aggregation-length', 'aggregation-length-v6', 'localpref', 'communities'],
  bfd: ['name', 'receive-interval', 'transmit-interval', 'detect-multiplier', 'echo-interval', 'echo-mode', 'passive-mode', 'minimum-ttl'],
} as const;

/** Reads typed fields of one legacy mapping, collecting a problem per bad field. */
class Reader {
  constructor(
    private readonly problems: MigrateProblem[],
    readonly path: string,
    readonly o: Obj,
    known: readonly string[],
  ) {
    for (const k of Object.keys(o))
      if (!known.includes(k)) this.bad(k, `unknown field: expected one of ${known.join(', ')}`, o[k], this.at(k));
  }
  at(k: string): string {
    return this.path ? `${this.path}.${k}` : k;
  }
  bad(k: string, message: string, value?: unknown, field = this.at(k)): void {
    this.problems.push({ field, message: value === undefined ? message : `${show(value)}: ${message}` });
  }
  str(k: string, required = false): string | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) {
      if (required) this.bad(k, 'Required value');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.bad(k, `must be a string, got ${typeof v}`, v);
      return undefined;
    }
    if (required && v === '') this.bad(k, 'Required value: must not be empty');
    return v;
  }
  int(k: string, min: number, max: number, required = false): number | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) {
      if (required) this.bad(k, 'Required value');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.bad(k, `must be an integer ${min}-${max}`, v);
      return undefined;
    }
    return v;
  }
  bool(k: string): boolean | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.bad(k, 'must be true or false', v);
      return undefined;
    }
    return v;
  }
  list(k: string): unknown[] {
    const v = this.o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.bad(k, 'must be a list', v);
      return [];
    }
    return v;
  }
  strings(k: string): string[] {
    return this.list(k).flatMap((x, i) => {
      if (typeof x === 'string') return [x];
      this.bad(k, `must be a string, got ${typeof x}`, x, `${this.at(k)}[${i}]`);
      return [];
    });
  }
  /** Each list item as a Reader (items that are not mappings are problems). */
  items(k: string, known: readonly string[]): Reader[] {
    return this.list(k).flatMap((x, i) => {
      const p = `${this.at(k)}[${i}]`;
      if (!isObj(x)) {
        this.problems.push({ field: p, message: `${show(x)}: must be a mapping` });
        return [];
      }
      return [new Reader(this.problems, p, x, known)];
    });
  }
  stringMap(k: string): Record<string, string> | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.bad(k, 'must be a mapping of names to strings', v);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [name, x] of Object.entries(v)) {
      if (typeof x === 'string') out[name] = x;
      else this.bad(k, `must be a string, got ${typeof x}`, x, `${this.at(k)}.${name}`);
    }
    return out;
  }
}

const K8S_LABEL = /^[a-z][-a-z0-9]{0,61}[a-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * A name as MetalLB's converter makes it Kubernetes-compatible: kept when it is a valid DNS label
 * already; otherwise the first 63 characters, lower case, `_` → `-`, from the first letter on.
 * Where that still is not a valid object name (a trailing `-`, other characters), undefined.
 */
export function k8sName(name: string): string | undefined {
  if (K8S_LABEL.test(name)) return name;
  const lowered = name.slice(0, 63).toLowerCase().replaceAll('_', '-');
  const first = lowered.search(/[a-z]/);
  if (first < 0) return undefined;
  const out = lowered.slice(first);
  return DNS_SUBDOMAIN.test(out) ? out : undefined;
}

const meta = (name: string, namespace: string) => ({ name, namespace });
const obj = (apiVersion: string, kind: string, name: string, namespace: string, spec: Obj): RawObject => ({
  apiVersion: `metallb.io/${apiVersion}`,
  kind,
  metadata: meta(name, namespace),
  spec,
});
/** Only the keys whose value is set, in the order given (alphabetical, as MetalLB's output). */
const defined = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** A Go duration rounded down to whole seconds, as MetalLB's converter (and legacy config) did. */
function seconds(r: Reader, k: string): number | undefined {
  const v = r.str(k);
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (ms === undefined || ms < 0) {
    r.bad(k, 'invalid duration: want a Go duration such as "90s" or "1m30s"', v);
    return undefined;
  }
  return Math.floor(ms / 1000);
}

function selectors(r: Reader): Obj[] {
  return r.items('node-selectors', FIELDS.selector).map((s) => {
    const matchLabels = s.stringMap('match-labels');
    const matchExpressions = s.items('match-expressions', FIELDS.expression).map((e) => {
      const operator = e.str('operator', true);
      if (operator !== undefined && !['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(operator))
        e.bad('operator', 'invalid operator: expected In, NotIn, Exists or DoesNotExist', operator);
      const values = e.strings('values');
      return defined({ key: e.str('key', true), operator, values: values.length > 0 ? values : undefined });
    });
    return defined({
      matchExpressions: matchExpressions.length > 0 ? matchExpressions : undefined,
      matchLabels: matchLabels && Object.keys(matchLabels).length > 0 ? matchLabels : undefined,
    });
  });
}

/** Converts the legacy config (the `config` key's YAML, parsed) into metallb.io objects in `namespace`. */
export function migrateLegacyConfig(config: unknown, namespace: string = DEFAULT_NAMESPACE): MigrateResult {
  const problems: MigrateProblem[] = [];
  const notes: string[] = [];
  if (!isObj(config))
    return {
      ok: false,
      problems: [{ field: '', message: `${show(config)}: the legacy config must be a mapping with ${FIELDS.top.join(', ')}` }],
    };
  const top = new Reader(problems, '', config, FIELDS.top);
  const rename = (what: string, field: string, name: string): string => {
    const out = k8sName(name);
    if (out === undefined) {
      problems.push({ field, message: `${show(name)}: cannot be made a Kubernetes ${what} name (lower case letters, digits, '-')` });
      return name;
    }
    if (out !== name) notes.push(`${what} ${JSON.stringify(name)} renamed to ${JSON.stringify(out)} (Kubernetes names)`);
    return out;
  };
  const unique = (what: string, field: string, name: string, seen: Map<string, string>, given: string): void => {
    const before = seen.get(name);
    if (before !== undefined)
      problems.push({ field, message: `${show(given)}: ${what} name ${JSON.stringify(name)} is already used by ${before}` });
    else seen.set(name, field);
  };

  // BFD profiles first: peers refer to them by (converted) name.
  const bfdNames = new Map<string, string>();
  const bfdSeen = new Map<string, string>();
  const bfdProfiles = top.items('bfd-profiles', FIELDS.bfd).map((b) => {
    const given = b.str('name', true) ?? '';
    const name = given ? rename('BFDProfile', b.at('name'), given) : '';
    if (given) unique('BFDProfile', b.at('name'), name, bfdSeen, given);
    bfdNames.set(given, name);
    return obj('v1beta1', 'BFDProfile', name, namespace, {
      ...defined({
        detectMultiplier: b.int('detect-multiplier', 0, 0xffffffff),
        echoInterval: b.int('echo-interval', 0, 0xffffffff),
      }),
      echoMode: b.bool('echo-mode') ?? false,
      ...defined({ minimumTtl: b.int('minimum-ttl', 0, 0xffffffff) }),
      passiveMode: b.bool('passive-mode') ?? false,
      ...defined({
        receiveInterval: b.int('receive-interval', 0, 0xffffffff),
        transmitInterval: b.int('transmit-interval', 0, 0xffffffff),
      }),
    });
  });

  const communityMap = top.stringMap('bgp-communities') ?? {};
  const communities = Object.keys(communityMap)
    .sort()
    .map((name) => ({ name, value: communityMap[name] as string }));

  const peers = top.items('peers', FIELDS.peer).map((p, i) => {
    const hold = seconds(p, 'hold-time');
    if (hold !== undefined && hold !== 0 && hold < 3) p.bad('hold-time', 'invalid hold time: must be 0 or >=3s', p.o['hold-time']);
    const keepalive = seconds(p, 'keepalive-time');
    const bfd = p.str('bfd-profile');
    if (bfd && !bfdNames.has(bfd)) p.bad('bfd-profile', 'no bfd-profiles entry with that name', bfd);
    const nodeSelectors = selectors(p);
    return obj(
      'v1beta2',
      'BGPPeer',
      `peer${i + 1}`,
      namespace,
      defined({
        bfdProfile: bfd ? (bfdNames.get(bfd) ?? bfd) : undefined,
        ebgpMultiHop: p.bool('ebgp-multihop') || undefined,
        holdTime: formatDuration((hold ?? 90) * 1000),
        keepaliveTime: keepalive === undefined ? undefined : formatDuration(keepalive * 1000),
        myASN: p.int('my-asn', 1, 0xffffffff, true),
        nodeSelectors: nodeSelectors.length > 0 ? nodeSelectors : undefined,
        password: p.str('password') || undefined,
        peerASN: p.int('peer-asn', 1, 0xffffffff, true),
        peerAddress: p.str('peer-address', true),
        peerPort: p.int('peer-port', 0, 65535) || undefined,
        routerID: p.str('router-id') || undefined,
        sourceAddress: p.str('source-address') || undefined,
      }),
    );
  });

  const pools: RawObject[] = [];
  const bgpAdvs: RawObject[] = [];
  const l2Advs: RawObject[] = [];
  const poolSeen = new Map<string, string>();
  for (const p of top.items('address-pools', FIELDS.pool)) {
    const given = p.str('name', true) ?? '';
    const name = given ? rename('IPAddressPool', p.at('name'), given) : '';
    if (given) unique('IPAddressPool', p.at('name'), name, poolSeen, given);
    const protocol = p.str('protocol', true);
    if (protocol !== undefined && protocol !== 'layer2' && protocol !== 'bgp')
      p.bad('protocol', 'unknown protocol: expected "layer2" or "bgp"', protocol);
    const addresses = p.strings('addresses');
    if (p.o.addresses === undefined) p.bad('addresses', 'Required value');
    pools.push(
      obj(
        'v1beta1',
        'IPAddressPool',
        name,
        namespace,
        defined({ addresses, autoAssign: p.bool('auto-assign'), avoidBuggyIPs: p.bool('avoid-buggy-ips') || undefined }),
      ),
    );
    const advs = p.items('bgp-advertisements', FIELDS.advertisement);
    if (protocol === 'layer2') {
      if (advs.length > 0) p.bad('bgp-advertisements', 'a layer2 address pool cannot have bgp-advertisements (MetalLB refuses them too)');
      l2Advs.push(obj('v1beta1', 'L2Advertisement', `l2advertisement${l2Advs.length + 1}`, namespace, { ipAddressPools: [name] }));
      continue;
    }
    for (const a of advs) {
      const comms = a.strings('communities');
      comms.forEach((c, j) => {
        if (!c.includes(':') && communityMap[c] === undefined)
          a.bad(
            'communities',
            'neither a community value (AA:NN) nor a name defined in bgp-communities',
            c,
            `${a.at('communities')}[${j}]`,
          );
      });
      const localPref = a.int('localpref', 0, 0xffffffff);
      bgpAdvs.push(
        obj(
          'v1beta1',
          'BGPAdvertisement',
          `bgpadvertisement${bgpAdvs.length + 1}`,
          namespace,
          defined({
            aggregationLength: a.int('aggregation-length', 0, 32),
            aggregationLengthV6: a.int('aggregation-length-v6', 0, 128),
            communities: comms.length > 0 ? comms : undefined,
            ipAddressPools: [name],
            localPref: localPref || undefined,
          }),
        ),
      );
    }
    if (advs.length === 0 && protocol === 'bgp')
      bgpAdvs.push(obj('v1beta1', 'BGPAdvertisement', `bgpadvertisement${bgpAdvs.length + 1}`, namespace, { ipAddressPools: [name] }));
  }

  const objects = [
    ...peers,
    ...pools,
    ...bgpAdvs,
    ...l2Advs,
    ...bfdProfiles,
    ...(communities.length > 0 ? [obj('v1beta1', 'Community', 'communities', namespace, { communities })] : []),
  ];
  if (problems.length === 0 && objects.length === 0)
    problems.push({ field: '', message: `nothing to convert: the legacy config has none of ${FIELDS.top.join(', ')}` });
  if (problems.length > 0) return { ok: false, problems };
  // The objects must be a valid config (as `mooringctl validate` checks them).
  const checked = parseConfig({ objects, namespace });
  if (!checked.ok) return { ok: false, problems: checked.errors.map((e) => ({ field: '(converted)', message: formatConfigError(e) })) };
  for (const w of checked.warnings) notes.push(`warning: ${w.kind}/${w.name}: ${w.field}: ${w.message}`);
  return { ok: true, objects, namespace, notes };
}

/** The YAML documents of a file as plain values, or the problem that stops reading it. */
function documents(text: string): { ok: true; docs: unknown[] } | { ok: false; problem: MigrateProblem } {
  try {
    const docs: unknown[] = [];
    for (const [i, d] of parseAllDocuments(text).entries()) {
      const e = d.errors[0];
      if (e)
        return {
          ok: false,
          problem: { field: '', message: shortenValues(`document ${i + 1}: malformed YAML: ${e.message.split('\n')[0]}`) },
        };
      const v = d.toJS({ maxAliasCount: 100 }) as unknown;
      if (v !== null && v !== undefined) docs.push(v);
    }
    return { ok: true, docs };
  } catch (e) {
    return {
      ok: false,
      problem: { field: '', message: shortenValues(`cannot read the YAML: ${String((e as Error).message).split('\n')[0]}`) },
    };
  }
}

/**
 * A file holding MetalLB's ConfigMap (alone or among other manifests) or only its `config` key's
 * YAML → metallb.io objects. The ConfigMap's namespace is the objects' namespace unless `namespace` is given.
 */
export function migrateText(text: string, namespace?: string): MigrateResult {
  const read = documents(text);
  if (!read.ok) return { ok: false, problems: [read.problem] };
  const maps = read.docs.filter(isObj);
  const configMaps = maps.filter((d) => d.kind === 'ConfigMap' && isObj(d.data) && d.data.config !== undefined);
  if (configMaps.length > 1)
    return {
      ok: false,
      problems: [{ field: '', message: `${configMaps.length} ConfigMaps with a "config" key in the file: give one MetalLB ConfigMap` }],
    };
  const cm = configMaps[0];
  if (cm) {
    const cmMeta = isObj(cm.metadata) ? cm.metadata : {};
    const data = (cm.data as Obj).config;
    if (typeof data !== 'string' || data.trim() === '')
      return {
        ok: false,
        problems: [{ field: 'data.config', message: 'bad ConfigMap: the "config" key must hold the legacy configuration as YAML text' }],
      };
    const inner = documents(data);
    if (!inner.ok) return { ok: false, problems: [{ field: 'data.config', message: inner.problem.message }] };
    if (inner.docs.length !== 1)
      return { ok: false, problems: [{ field: 'data.config', message: 'the "config" key must hold exactly one YAML document' }] };
    const ns = namespace ?? (typeof cmMeta.namespace === 'string' && cmMeta.namespace ? cmMeta.namespace : DEFAULT_NAMESPACE);
    return migrateLegacyConfig(inner.docs[0], ns);
  }
  // Only the `config` key's YAML: one mapping without a kind (unknown keys are reported field by field).
  const legacy = maps.filter((d) => d.kind === undefined && d.apiVersion === undefined);
  if (legacy.length === 1 && read.docs.length === 1) return migrateLegacyConfig(legacy[0], namespace ?? DEFAULT_NAMESPACE);
  return {
    ok: false,
    problems: [
      {
        field: '',
        message: `no MetalLB configuration found: expected a ConfigMap with a "config" key, or only that key's YAML (${FIELDS.top.join(', ')})`,
      },
    ],
  };
}

/** The objects as one multi-document YAML file. */
export function renderObjects(objects: readonly RawObject[], header: string): string {
  const docs = objects.map((o) => stringify(o, { lineWidth: 0, version: '1.1' }));
  return `${header
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n')}\n${docs.join('---\n')}`;
}
