// deploy/mooring.yaml and the Helm chart's generated files are rendered from the kustomize sources
// in deploy/ (scripts/install-files.ts, `npm run gen:manifest`): the committed files must equal a
// fresh rendering, and the one-file install must hold what `kubectl apply -f` needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageVersion, renderInstallFiles, sourceObjects, staleTemplates } from '../../scripts/install-files.js';

const root = join(import.meta.dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const manifest = (): Obj[] =>
  parseAllDocuments(readFileSync(join(root, 'deploy', 'mooring.yaml'), 'utf8'), { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);

test('committed deploy/mooring.yaml and chart files equal a fresh `npm run gen:manifest`', () => {
  for (const [file, text] of renderInstallFiles()) {
    let committed: string | undefined;
    try {
      committed = readFileSync(join(root, file), 'utf8');
    } catch {
      committed = undefined;
    }
    assert.ok(committed !== undefined, `${file} is missing: run npm run gen:manifest`);
    assert.equal(committed, text, `${file} is stale: run npm run gen:manifest`);
  }
  assert.deepEqual(staleTemplates(), [], 'generated chart templates whose source is gone: run npm run gen:manifest');
});

test('deploy/mooring.yaml holds every object of the kustomization, the Namespace first and the webhook last', () => {
  const objs = manifest();
  const key = (o: Obj): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  assert.deepEqual(
    objs.map(key).sort(),
    sourceObjects()
      .map((s) => key(s.obj))
      .sort(),
  );
  assert.equal(objs[0]?.kind, 'Namespace');
  assert.equal(objs.at(-1)?.kind, 'ValidatingWebhookConfiguration');
  const firstNamespaced = objs.findIndex((o) => o.metadata?.namespace !== undefined);
  const lastCrd = objs.findLastIndex((o) => o.kind === 'CustomResourceDefinition');
  assert.ok(lastCrd < firstNamespaced, 'CRDs come before the namespaced objects');
  for (const o of objs) {
    // metallb-system, but for the issuer keys' namespace (deploy/rbac/issuer.yaml).
    if (o.metadata?.namespace !== undefined) assert.ok(['metallb-system', 'mooring-secrets'].includes(o.metadata.namespace), key(o));
  }
  assert.equal(
    objs.filter((o) => o.kind === 'CustomResourceDefinition').length,
    10,
    'nine metallb.io kinds and mooring.io BGPSessionState',
  );
});

test('the install needs no PersistentVolume, tolerates 1-3 nodes and runs the image of this version', () => {
  const objs = manifest();
  const nats = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'mooring-nats');
  assert.ok(nats);
  assert.equal(nats.spec.volumeClaimTemplates, undefined, 'no PersistentVolumeClaims');
  assert.equal(objs.filter((o) => o.kind === 'PersistentVolumeClaim').length, 0);
  const data = (nats.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'data');
  assert.equal(data?.emptyDir?.medium, 'Memory', 'JetStream on tmpfs');
  const anti = nats.spec.template.spec.affinity.podAntiAffinity;
  assert.equal(anti.requiredDuringSchedulingIgnoredDuringExecution, undefined, 'anti-affinity must not be required');
  assert.equal(anti.preferredDuringSchedulingIgnoredDuringExecution.length, 1);
  const images = objs.flatMap((o) => (o.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.image as string));
  const ours = images.filter((i) => i.startsWith('ghcr.io/mooring/mooring'));
  assert.equal(ours.length, 2);
  for (const i of ours) assert.equal(i, `ghcr.io/mooring/mooring:${packageVersion()}`);
  // No credential to write by hand: the speakers' one volume is their projected token for the controller's NATS issuer.
  const speaker = objs.find((o) => o.kind === 'DaemonSet');
  const vols = speaker?.spec.template.spec.volumes as Obj[];
  assert.deepEqual(
    vols.map((v) => v.name),
    ['nats-token'],
  );
  assert.equal(vols[0]?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'mooring-nats');
});
