// Our generated CRDs against MetalLB v0.16.2's own (config/crd/bases from the Go module proxy):
// every schema constraint, subresource and version flag must agree, except the differences
// scripts/metallb-crd-diff.ts accepts with a reason. Needs `go` and the module proxy.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireTools } from '../../lib/prereq.js';
import { ACCEPTED, METALLB_VERSION, compareWithMetallb, metallbModuleDir } from '../../../scripts/metallb-crd-diff.js';

test(`generated CRDs match MetalLB ${METALLB_VERSION}'s schemas, subresources and versions`, () => {
  requireTools('go');
  const dir = metallbModuleDir();
  const r = compareWithMetallb(dir, join(import.meta.dirname, '..', '..', '..', 'deploy', 'crds'));
  assert.equal(r.kinds, 9, 'MetalLB ships nine CRDs');
  assert.deepEqual(r.unexpected, []);
  // Every accepted difference still exists (an allowance nobody needs is removed, not kept).
  for (const a of ACCEPTED)
    assert.ok(
      r.accepted.some((d) => a.match.test(d)),
      `accepted difference no longer seen: ${a.match}`,
    );
});
