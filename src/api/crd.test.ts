import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderCrdFiles } from '../../scripts/crd-files.js';
import { KINDS } from './metallb.js';

const dir = join(import.meta.dirname, '..', '..', 'deploy', 'crds');

test('committed deploy/crds equal a fresh `npm run gen:crds`', () => {
  const fresh = renderCrdFiles();
  const committed = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.deepEqual(committed, [...fresh.keys()].sort(), 'CRD file set differs: run npm run gen:crds');
  for (const [file, text] of fresh) {
    assert.equal(readFileSync(join(dir, file), 'utf8'), text, `${file} is stale: run npm run gen:crds`);
  }
});

test('every kind has one storage version, structural schemas and status subresources where a status exists', () => {
  for (const k of KINDS) {
    const crd = parse(readFileSync(join(dir, `metallb.io_${k.plural}.yaml`), 'utf8')) as {
      spec: {
        versions: Array<{
          name: string;
          storage: boolean;
          schema: { openAPIV3Schema: { type: string; properties: Record<string, unknown> } };
          subresources?: { status?: object };
        }>;
      };
    };
    assert.equal(crd.spec.versions.filter((v) => v.storage).length, 1, `${k.kind}: exactly one storage version`);
    for (const v of crd.spec.versions) {
      assert.equal(v.schema.openAPIV3Schema.type, 'object');
      assert.equal(
        Boolean(v.subresources?.status),
        'status' in v.schema.openAPIV3Schema.properties,
        `${k.kind} ${v.name}: status subresource iff status schema`,
      );
    }
  }
  const peer = KINDS.find((k) => k.kind === 'BGPPeer');
  assert.deepEqual(
    peer?.versions.map((v) => [v.name, v.storage]),
    [
      ['v1beta1', false],
      ['v1beta2', true],
    ],
  );
});
