// Renders the CustomResourceDefinitions (apiextensions.k8s.io/v1) from the kind definitions in
// metallb.ts. Pure: scripts/gen-crds.ts writes the YAML, a unit test checks the committed files
// equal a fresh rendering.
import { GROUP, KINDS, type KindDef, type VersionDef } from './metallb.js';
import { MOORING_KINDS } from './mooring.js';
import type { JsonSchema } from './schema.js';

function versionSchema(v: VersionDef): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { type: 'object' },
  };
  if (v.spec) properties.spec = v.spec;
  if (v.status) properties.status = v.status;
  return { type: 'object', properties, ...(v.specRequired ? { required: ['spec'] } : {}) };
}

export function renderCrd(k: KindDef): Record<string, unknown> {
  const group = k.group ?? GROUP;
  const hasStatus = (v: VersionDef) => v.status !== undefined;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${k.plural}.${group}`,
      labels: { 'app.kubernetes.io/part-of': 'mooring' },
      annotations: { 'mooring.io/generated-by': 'npm run gen:crds (src/api/metallb.ts)' },
    },
    spec: {
      group,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        ...(k.shortNames ? { shortNames: k.shortNames } : {}),
        categories: group === GROUP ? ['metallb', 'mooring'] : ['mooring'],
      },
      scope: 'Namespaced',
      // BGPPeer v1beta1 and v1beta2 share field names, so the apiserver converts by rewriting
      // apiVersion; the semantic conversion (src/api/bgppeer-convert.ts) happens when parsing.
      ...(k.versions.length > 1 ? { conversion: { strategy: 'None' } } : {}),
      versions: k.versions.map((v) => ({
        name: v.name,
        served: v.served,
        storage: v.storage,
        ...(v.deprecated
          ? {
              deprecated: true,
              deprecationWarning: `${v.name} is deprecated, please use ${k.versions.find((x) => x.storage)?.name ?? 'a newer version'}`,
            }
          : {}),
        additionalPrinterColumns: v.columns,
        schema: { openAPIV3Schema: { description: k.description, ...versionSchema(v) } },
        ...(hasStatus(v) ? { subresources: { status: {} } } : {}),
      })),
    },
  };
}

export function renderAllCrds(): Array<{ file: string; crd: Record<string, unknown> }> {
  return [...KINDS, ...MOORING_KINDS].map((k) => ({ file: `${k.group ?? GROUP}_${k.plural}.yaml`, crd: renderCrd(k) }));
}
