// Compares the generated CRDs (deploy/crds, from src/api/metallb.ts) with MetalLB's own
// (config/crd/bases of go.universe.tf/metallb at METALLB_VERSION, fetched by `go mod download`):
// versions, subresources, scope, and every schema node's type, format, ranges, enum, defaults,
// required fields, list types and CEL rules (descriptions aside). Prints one line per difference
// not in ACCEPTED and exits 1 when there is any. `tsx scripts/metallb-crd-diff.ts`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const METALLB_VERSION = 'v0.16.2';

/** Differences kept on purpose, each with its reason. */
export const ACCEPTED: ReadonlyArray<{ match: RegExp; why: string }> = [
  {
    match: /^bgppeers conversion: metallb undefined, ours {"strategy":"None"}$/,
    why: 'MetalLB converts BGPPeer v1beta1↔v1beta2 by a webhook (a kustomize patch over the bases); the fields share names, so Mooring lets the apiserver rewrite apiVersion and converts semantically when parsing (src/api/bgppeer-convert.ts)',
  },
  {
    match: /^\w+ v1beta\d columns: ours adds (Age=\.metadata\.creationTimestamp:date|(Assigned|Available) IPv4=\.status\.\w+:integer:10)$/,
    why: 'an extra Age column (and Assigned/Available IPv4 on IPAddressPool, priority 10): only what `kubectl get` prints',
  },
];

type Node = Record<string, unknown>;
const sortKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? (v as unknown[]).every((x) => typeof x === 'string')
      ? [...(v as string[])].sort()
      : v.map(sortKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v as Node)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, x]) => [k, sortKeys(x)]),
        )
      : v;

/** path → the node's own constraints (no description, no children). */
function flatten(s: Node | undefined, path: string, out: Map<string, string>): void {
  if (!s) return;
  const {
    properties,
    items,
    description: _d,
    additionalProperties,
    ...rest
  } = s as Node & {
    properties?: Record<string, Node>;
    items?: Node;
    additionalProperties?: Node | boolean;
  };
  if (typeof additionalProperties === 'boolean') rest.additionalProperties = additionalProperties;
  out.set(path || '<root>', JSON.stringify(sortKeys(rest)));
  for (const [k, v] of Object.entries(properties ?? {})) flatten(v, `${path}.${k}`, out);
  if (items) flatten(items, `${path}[]`, out);
  if (additionalProperties && typeof additionalProperties === 'object') flatten(additionalProperties, `${path}{}`, out);
}

interface Version {
  name: string;
  served?: boolean;
  storage?: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  subresources?: unknown;
  additionalPrinterColumns?: Array<{ name: string; jsonPath: string; type: string; priority?: number }>;
  schema: { openAPIV3Schema: Node };
}
interface Crd {
  spec: { scope: string; conversion?: unknown; names: { shortNames?: string[]; kind: string }; versions: Version[] };
}

/** Every difference between MetalLB's CRD and ours, one line each (`<plural> <where>: metallb X, ours Y`). */
export function diffCrd(plural: string, metallb: Crd, ours: Crd): string[] {
  const out: string[] = [];
  const show = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(sortKeys(v)));
  const cmp = (where: string, a: unknown, b: unknown) => {
    if (show(a) !== show(b)) out.push(`${plural} ${where}: metallb ${show(a)}, ours ${show(b)}`);
  };
  cmp('kind', metallb.spec.names.kind, ours.spec.names.kind);
  cmp('scope', metallb.spec.scope, ours.spec.scope);
  cmp('shortNames', metallb.spec.names.shortNames, ours.spec.names.shortNames);
  cmp('conversion', metallb.spec.conversion, ours.spec.conversion);
  for (const mv of metallb.spec.versions) {
    const ov = ours.spec.versions.find((v) => v.name === mv.name);
    if (!ov) {
      out.push(`${plural} ${mv.name}: missing`);
      continue;
    }
    for (const k of ['served', 'storage', 'deprecated', 'deprecationWarning', 'subresources'] as const)
      cmp(`${mv.name} ${k}`, mv[k], ov[k]);
    const cols = (v: Version) =>
      (v.additionalPrinterColumns ?? []).map((c) => `${c.name}=${c.jsonPath}:${c.type}${c.priority ? `:${c.priority}` : ''}`);
    for (const c of cols(mv)) if (!cols(ov).includes(c)) out.push(`${plural} ${mv.name} columns: ours lacks ${c}`);
    for (const c of cols(ov)) if (!cols(mv).includes(c)) out.push(`${plural} ${mv.name} columns: ours adds ${c}`);
    const a = new Map<string, string>();
    const b = new Map<string, string>();
    flatten(mv.schema.openAPIV3Schema, '', a);
    flatten(ov.schema.openAPIV3Schema, '', b);
    for (const k of new Set([...a.keys(), ...b.keys()]))
      if (a.get(k) !== b.get(k)) out.push(`${plural} ${mv.name} ${k}: metallb ${a.get(k) ?? 'undefined'}, ours ${b.get(k) ?? 'undefined'}`);
  }
  for (const ov of ours.spec.versions)
    if (!metallb.spec.versions.some((v) => v.name === ov.name)) out.push(`${plural} ${ov.name}: not in MetalLB`);
  return out;
}

const loadCrd = (file: string): Crd =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as { kind?: string })
    .find((x) => x?.kind === 'CustomResourceDefinition') as unknown as Crd;

/** MetalLB's module directory (downloaded into the Go module cache when missing). */
export function metallbModuleDir(version = METALLB_VERSION): string {
  const j = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `go.universe.tf/metallb@${version}`], { encoding: 'utf8' })) as {
    Dir?: string;
    Error?: string;
  };
  if (!j.Dir) throw new Error(`go mod download go.universe.tf/metallb@${version}: ${j.Error ?? 'no Dir'}`);
  return j.Dir;
}

/** All differences, split into the accepted ones and the rest. */
export function compareWithMetallb(moduleDir: string, oursDir: string): { unexpected: string[]; accepted: string[]; kinds: number } {
  const bases = join(moduleDir, 'config', 'crd', 'bases');
  const files = readFileSync(join(moduleDir, 'config', 'crd', 'kustomization.yaml'), 'utf8').match(/metallb\.io_\w+\.yaml/g) ?? [];
  const unexpected: string[] = [];
  const accepted: string[] = [];
  for (const f of files) {
    const plural = /metallb\.io_(\w+)\.yaml/.exec(f)?.[1] ?? f;
    let ours: Crd;
    try {
      ours = loadCrd(join(oursDir, f));
    } catch {
      unexpected.push(`${plural}: no ${f} in ${oursDir}`);
      continue;
    }
    for (const d of diffCrd(plural, loadCrd(join(bases, f)), ours)) (ACCEPTED.some((a) => a.match.test(d)) ? accepted : unexpected).push(d);
  }
  return { unexpected, accepted, kinds: files.length };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const r = compareWithMetallb(metallbModuleDir(), join(import.meta.dirname, '..', 'deploy', 'crds'));
  for (const d of r.accepted) console.log(`accepted: ${d}`);
  for (const d of r.unexpected) console.log(`DIFFERS: ${d}`);
  console.log(
    `metallb-crd-diff: ${r.kinds} kinds against MetalLB ${METALLB_VERSION}: ${r.unexpected.length} unexpected, ${r.accepted.length} accepted`,
  );
  if (r.unexpected.length > 0) process.exit(1);
}
