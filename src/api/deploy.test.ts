// deploy/: every manifest parses, the kustomization lists files that exist, workloads use the
// ServiceAccounts the RBAC files define, and RBAC stays least-privilege (no wildcards, no
// cluster-wide Secret access). The apiserver tests (test/integration/kube) apply them for real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

const deploy = join(import.meta.dirname, '..', '..', 'deploy');
type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  spec?: { template?: { spec?: { serviceAccountName?: string } } };
};
const kustomization = parse(readFileSync(join(deploy, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
const docs: Obj[] = kustomization.resources
  .flatMap((f) => parseAllDocuments(readFileSync(join(deploy, f), 'utf8')).map((d) => d.toJS() as Obj))
  .filter(Boolean);

test('kustomization resources exist and parse', () => {
  for (const f of kustomization.resources) assert.ok(existsSync(join(deploy, f)), f);
  assert.ok(docs.length > 15);
});

test('workloads run as the ServiceAccounts that RBAC binds', () => {
  const sas = new Set(docs.filter((d) => d.kind === 'ServiceAccount').map((d) => d.metadata.name));
  for (const w of docs.filter((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet')) {
    const sa = w.spec?.template?.spec?.serviceAccountName ?? '';
    assert.ok(sas.has(sa), `${w.kind}/${w.metadata.name} uses ServiceAccount ${sa}`);
  }
});

test('RBAC: no wildcards, Secrets only namespaced', () => {
  for (const r of docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')) {
    for (const rule of r.rules ?? []) {
      for (const f of [rule.apiGroups, rule.resources, rule.verbs])
        assert.ok(!f.includes('*'), `${r.kind}/${r.metadata.name} has a wildcard`);
      if (r.kind === 'ClusterRole') assert.ok(!rule.resources.includes('secrets'), `${r.metadata.name} grants Secrets cluster-wide`);
    }
  }
});

test("speakers cannot read the NATS issuer keys: nothing binds the speaker in the issuer's namespace", () => {
  const dep = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'controller') as
    (Obj & { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }) | undefined;
  assert.ok(dep?.spec.template.spec.containers[0]?.args.includes('--nats-issuer-namespace=mooring-secrets'));
  type Binding = Obj & { subjects?: Array<{ kind: string; name: string; namespace?: string }> };
  const inIssuerNs = docs.filter((d) => d.metadata.namespace === 'mooring-secrets') as Binding[];
  assert.deepEqual(inIssuerNs.map((d) => `${d.kind}/${d.metadata.name}`).sort(), ['Role/controller', 'RoleBinding/controller']);
  const subjects = inIssuerNs.flatMap((b) => b.subjects ?? []);
  assert.deepEqual(subjects, [{ kind: 'ServiceAccount', name: 'controller', namespace: 'metallb-system' }]);
  // No cluster-wide Secret access for anyone (the test below), so no other way in.
});

test('controller: two replicas, Lease access in its namespace only; only its own Secrets and its own webhook configuration', () => {
  const dep = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'controller') as
    (Obj & { spec?: { replicas?: number } }) | undefined;
  assert.equal(dep?.spec?.replicas, 2);
  const roles = docs.filter(
    (d) =>
      (d.kind === 'Role' || d.kind === 'ClusterRole') && (d.metadata.name === 'controller' || d.metadata.name === 'mooring:controller'),
  );
  const leaseRules = roles.flatMap((r) =>
    (r.rules ?? []).filter((x) => x.resources.includes('leases')).map((x) => ({ kind: r.kind, verbs: x.verbs })),
  );
  assert.deepEqual(leaseRules, [{ kind: 'Role', verbs: ['get', 'create', 'update'] }]);
  // It manages the webhook certificate and the NATS issuer: it may create Secrets (create cannot be
  // limited by name) but read and replace only the ones it manages, and patch only its own webhook.
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
  const rulesFor = (res: string) =>
    roles.flatMap((r) => ((r.rules ?? []) as Rule[]).filter((x) => x.resources.includes(res)).map((x) => ({ kind: r.kind, ...x })));
  const ns = (r: Obj) => r.metadata.namespace;
  const secretRules = roles.flatMap((r) =>
    ((r.rules ?? []) as Rule[]).filter((x) => x.resources.includes('secrets')).map((x) => ({ kind: r.kind, ns: ns(r), ...x })),
  );
  for (const x of secretRules) {
    assert.equal(x.kind, 'Role');
    if (x.verbs.join() !== 'create')
      assert.deepEqual(
        x.resourceNames,
        x.ns === 'mooring-secrets' ? ['mooring-nats-issuer'] : ['mooring-webhook-cert', 'mooring-nats-auth'],
        `secrets ${x.verbs.join()} in ${x.ns}`,
      );
  }
  assert.deepEqual([...new Set(secretRules.map((x) => x.ns))].sort(), ['metallb-system', 'mooring-secrets']);
  assert.deepEqual(
    rulesFor('validatingwebhookconfigurations').map((x) => ({ names: x.resourceNames, verbs: x.verbs })),
    [{ names: ['mooring-webhook-configuration'], verbs: ['get', 'patch'] }],
  );
});

test("webhook configuration: our path, the six config kinds, CREATE/UPDATE/DELETE, the controller's Service", async () => {
  const { WEBHOOK_PATH } = await import('../domain/admission.js');
  const { KINDS } = await import('./metallb.js');
  const { CONFIG_KIND_NAMES } = await import('../domain/config.js');
  type Hook = {
    clientConfig: { service: { name: string; namespace: string; path: string } };
    rules: Array<{ apiGroups: string[]; operations: string[]; resources: string[] }>;
  };
  const cfg = docs.find((d) => d.kind === 'ValidatingWebhookConfiguration') as (Obj & { webhooks: Hook[] }) | undefined;
  const hook = cfg?.webhooks[0];
  assert.equal(hook?.clientConfig.service.path, WEBHOOK_PATH);
  assert.ok(
    docs.some(
      (d) =>
        d.kind === 'Service' &&
        d.metadata.name === hook?.clientConfig.service.name &&
        d.metadata.namespace === hook.clientConfig.service.namespace,
    ),
  );
  const plurals = CONFIG_KIND_NAMES.map((k) => KINDS.find((x) => x.kind === k)?.plural).sort();
  assert.deepEqual([...(hook?.rules[0]?.resources ?? [])].sort(), plurals);
  assert.deepEqual(hook?.rules[0]?.operations, ['CREATE', 'UPDATE', 'DELETE']);
});
