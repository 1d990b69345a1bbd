// deploy/viz.yaml (the optional visualizer, generated from deploy/viz/ with the rest: its freshness
// is checked by install-manifest.test.ts): read-only RBAC, the viewer's minted credential, the
// page on the Pod IP and on 127.0.0.1 behind a ClusterIP Service; off by default in the chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const docs = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(join(root, file), 'utf8'), { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);

test('deploy/viz.yaml: read-only RBAC, viewer credential minted for the Pod, Pod IP + loopback, ClusterIP Service', () => {
  const objs = docs('deploy/viz.yaml');
  const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'ClusterRole/mooring:viz',
    'ClusterRoleBinding/mooring:viz',
    'Deployment/viz',
    'Role/viz',
    'RoleBinding/viz',
    'Service/mooring-viz',
    'ServiceAccount/viz',
  ]);
  for (const r of objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole'))
    for (const rule of r.rules as Obj[])
      assert.deepEqual([...rule.verbs].sort(), ['get', 'list', 'watch'], `${r.kind} ${JSON.stringify(rule)}`);
  const rules = objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole').flatMap((r) => r.rules as Obj[]);
  assert.deepEqual(
    rules.filter((r) => r.resources.includes('secrets')),
    [],
    'no Secret: the webhook certificate Secret holds private keys',
  );
  const cms = rules.filter((r) => r.resources.includes('configmaps'));
  assert.deepEqual(
    cms.map((r) => r.resourceNames),
    [['mooring-ca']],
    'one ConfigMap only: the CA of the credential endpoint',
  );
  assert.ok(
    rules.some((r) => r.apiGroups.includes('mooring.io') && r.resources.includes('bgpsessionstates')),
    'BGP sessions of nodes without a feed',
  );
  const dep = objs.find((o) => o.kind === 'Deployment') as Obj;
  const pod = dep.spec.template.spec;
  assert.equal(pod.serviceAccountName, 'viz');
  const c = pod.containers[0];
  assert.equal(c.args[0], 'viz');
  assert.ok(c.args.includes('--listen=$(POD_IP):8089') && c.args.includes('--listen=127.0.0.1:8089'));
  assert.ok(c.args.some((a: string) => a.startsWith('--nats-credentials-url=https://mooring-webhook-service.')));
  assert.equal(c.env.find((e: Obj) => e.name === 'POD_IP')?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
  assert.equal(pod.volumes[0]?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'mooring-nats');
  assert.equal(c.readinessProbe.httpGet.port, 'http');
  const svc = objs.find((o) => o.kind === 'Service') as Obj;
  assert.equal(svc.spec.type, 'ClusterIP');
  assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);
  // Off by default: not in the one-file install, and the chart's value is false.
  assert.equal(docs('deploy/mooring.yaml').filter((o) => o.metadata?.labels?.['app.kubernetes.io/component'] === 'viz').length, 0);
  assert.match(readFileSync(join(root, 'deploy/helm/mooring/values.yaml'), 'utf8'), /\nviz:\n(?:\s*#.*\n)*\s+enabled: false\n/);
  // The controller's issuer mints viewer credentials for this ServiceAccount (its default).
  const ctl = docs('deploy/mooring.yaml').find((o) => o.kind === 'Deployment' && o.metadata.name === 'controller') as Obj;
  const args = ctl.spec.template.spec.containers[0].args as string[];
  assert.ok(!args.some((a) => a.startsWith('--nats-viewer-sa=') && a !== '--nats-viewer-sa=viz'));
});
