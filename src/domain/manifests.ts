// Multi-document YAML manifests → config snapshot, remembering where each object came from so
// problems can be reported as `file:document`. Pure (the caller reads the files).
import { parseAllDocuments } from 'yaml';
import type { ConfigSnapshot, RawObject, SecretInfo, NodeInfo, NamespaceInfo } from './config.js';

export interface Located {
  file: string;
  doc: number;
}
export interface LoadedManifests {
  snapshot: ConfigSnapshot;
  /** `Kind/name` → where it was defined (first definition). */
  origin: Map<string, Located>;
  /** Problems found before validation (malformed YAML, not an object, ...). */
  problems: Array<Located & { message: string }>;
}

const CONTEXT_KINDS = new Set(['Secret', 'Node', 'Namespace']);

export function loadManifests(files: ReadonlyArray<{ file: string; text: string }>, namespace?: string): LoadedManifests {
  const objects: RawObject[] = [];
  const secrets: SecretInfo[] = [];
  const nodes: NodeInfo[] = [];
  const namespaces: NamespaceInfo[] = [];
  const origin = new Map<string, Located>();
  const problems: LoadedManifests['problems'] = [];
  for (const { file, text } of files) {
    const docs = parseAllDocuments(text);
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((d, i) => {
      const at = { file, doc: i + 1 };
      if (d.errors.length > 0) {
        const e = d.errors[0];
        const line = e?.linePos?.[0]?.line;
        problems.push({
          ...at,
          message: `malformed YAML${line ? ` at line ${line}` : ''}: ${(e?.message ?? 'parse error').split('\n')[0]?.replace(/:\s*$/, '')}`,
        });
        return;
      }
      const v: unknown = d.toJS();
      if (v === null || v === undefined) return; // empty document
      if (typeof v !== 'object' || Array.isArray(v)) {
        problems.push({ ...at, message: 'not a Kubernetes object (expected a mapping with apiVersion and kind)' });
        return;
      }
      const o = v as RawObject;
      const meta = (o.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string> };
      if (o.kind === 'List' && Array.isArray(o.items)) {
        problems.push({ ...at, message: 'List objects are not supported: put one object per YAML document' });
        return;
      }
      if (typeof o.kind === 'string' && CONTEXT_KINDS.has(o.kind)) {
        if (o.kind === 'Secret') {
          secrets.push({
            name: meta.name ?? '',
            namespace: meta.namespace ?? namespace ?? 'metallb-system',
            type: (o.type as string | undefined) ?? 'Opaque',
            ...(o.data ? { data: o.data as Record<string, string> } : {}),
            ...(o.stringData ? { stringData: o.stringData as Record<string, string> } : {}),
          });
        } else if (o.kind === 'Node') nodes.push({ name: meta.name ?? '', labels: meta.labels ?? {} });
        else namespaces.push({ name: meta.name ?? '', labels: meta.labels ?? {} });
        return;
      }
      const key = `${String(o.kind)}/${meta.name ?? ''}`;
      if (!origin.has(key)) origin.set(key, at);
      objects.push(o);
    });
  }
  return { snapshot: { objects, secrets, nodes, namespaces, ...(namespace ? { namespace } : {}) }, origin, problems };
}
