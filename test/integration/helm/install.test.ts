// The install artefacts against a real kube-apiserver (test/lib/kube.ts; no kubelets, so the Pods
// never run: this checks what the apiserver accepts and what Helm leaves behind):
//   - `kubectl apply -f deploy/mooring.yaml`: every object is accepted (schemas, RBAC, webhook
//     configuration), and deletes cleanly;
//   - `helm install`, `helm upgrade` with changed values, `helm uninstall`: the objects appear,
//     change and disappear, and nothing of the release is left (objects, release records).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Lab, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { ensureKubeBinary, runTs, startKube, type Kube } from '../../lib/kube.js';
import { CHART_DIR, ensureHelm, parseObjects, runHelm } from '../../lib/helm.js';

const CLIENT = new URL('./objects.client.ts', import.meta.url).pathname;
const MANIFEST = join(CHART_DIR, '..', '..', 'mooring.yaml');
const NS = 'metallb-system';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

describe('install: deploy/mooring.yaml and the Helm chart against a real kube-apiserver', { timeout: 75 * 60_000 }, () => {
  const lab = new Lab('hm');
  let kube: Kube | undefined;
  let ns: Netns;
  let dir: string;

  const client = async (step: string, objects: Obj[]): Promise<Obj> => {
    assert.ok(kube);
    const f = join(dir, `${step}-${Date.now()}.yaml`);
    writeFileSync(f, objects.map((o) => `---\n${stringify(o)}`).join(''));
    const r = await runTs(ns, CLIENT, [step, f], kube.env);
    assert.equal(r.code, 0, `client ${step} failed:\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Obj;
  };
  const helm = async (...args: string[]) => {
    assert.ok(kube);
    const r = await runHelm(args, { netns: ns, env: kube.env });
    assert.equal(r.code, 0, `helm ${args.join(' ')} failed:\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
  };
  const rendered = async (...values: string[]): Promise<Obj[]> =>
    parseObjects(await helm('template', 'mooring', CHART_DIR, '-n', NS, ...values));
  const named = (objs: Obj[], kind: string, name: string): Obj | undefined =>
    objs.find((o) => o.kind === kind && o.metadata?.name === name);

  before(async () => {
    requireRoot();
    requireTools('ip');
    await ensureKubeBinary();
    await ensureHelm();
    dir = mkdtempSync(join(tmpdir(), 'mooring-install-'));
    ns = lab.netns('api');
    // No watch cache: deleting a CRD bumps its generation, so the apiserver rebuilds that kind's cache,
    // and its CRD finalizer's first List of instances meets the rebuilding cache ("storage is
    // (re)initializing", a 429). The retry reads the CRD from a lister that has not yet seen the
    // finalizer's own status write, gets a conflict and drops the key; the update event does not requeue
    // it (only the Terminating condition changed), so the CRD stays Terminating until the informer's
    // 5-minute resync (k8s.io/apiextensions-apiserver v0.37.2 crd_finalizer.go). Lists then read etcd.
    kube = await startKube({ netns: ns, extraArgs: ['--watch-cache=false'] });
  });

  after(async () => {
    try {
      await kube?.destroy();
    } finally {
      await lab.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kubectl apply -f deploy/mooring.yaml: the apiserver accepts every object, and they delete cleanly', async () => {
    const objs = parseObjects(readFileSync(MANIFEST, 'utf8'));
    const applied = await client('apply', objs);
    assert.equal(applied.created, objs.length);
    const read = await client('read', objs);
    assert.deepEqual(read.missing, []);
    // What the apiserver stored is what the file says (defaults aside).
    const nats = read.found[`StatefulSet/${NS}/mooring-nats`] as Obj;
    assert.equal(nats.spec.volumeClaimTemplates, undefined);
    assert.equal(nats.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.length, 1);
    // Keep the Namespaces (no namespace controller runs here to finish deleting one): Helm installs into them next.
    const rest = await client(
      'delete',
      objs.filter((o) => o.kind !== 'Namespace'),
    );
    assert.deepEqual(rest.left, []);
  });

  let v1: Obj[] = [];
  let v2: Obj[] = [];

  it('helm install creates every object the chart renders', async () => {
    v1 = await rendered();
    // --take-ownership: the issuer keys' Namespace (mooring-secrets) left by the kubectl test above
    // is still there (no namespace controller runs here to finish deleting one); Helm adopts it.
    await helm('install', 'mooring', CHART_DIR, '-n', NS, '--take-ownership');
    const read = await client('read', v1);
    assert.deepEqual(read.missing, []);
    const ds = read.found[`DaemonSet/${NS}/speaker`] as Obj;
    assert.equal(
      ds.spec.template.spec.containers[0].image,
      `ghcr.io/mooring/mooring:${JSON.parse(readFileSync(join(CHART_DIR, '..', '..', '..', 'package.json'), 'utf8')).version}`,
    );
    assert.equal(ds.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
    assert.match(await helm('status', 'mooring', '-n', NS), /STATUS: deployed/);
  });

  it('helm upgrade with changed values changes the objects and removes the bundled NATS', async () => {
    const values = [
      '--set',
      'image.tag=0.1.1,speaker.nodeSelector.mooring\\.io/speaker=yes,nats.bundled=false,nats.url=nats://nats.example:4222,loadBalancerClass=mooring.io/lb',
    ];
    v2 = await rendered(...values);
    await helm('upgrade', 'mooring', CHART_DIR, '-n', NS, ...values);
    const read = await client('read', v2);
    assert.deepEqual(read.missing, []);
    const ds = read.found[`DaemonSet/${NS}/speaker`] as Obj;
    assert.equal(ds.spec.template.spec.containers[0].image, 'ghcr.io/mooring/mooring:0.1.1');
    assert.deepEqual(ds.spec.template.spec.nodeSelector, { 'mooring.io/speaker': 'yes' });
    assert.ok((ds.spec.template.spec.containers[0].args as string[]).includes('--nats-url=nats://nats.example:4222'));
    const dep = read.found[`Deployment/${NS}/controller`] as Obj;
    assert.ok((dep.spec.template.spec.containers[0].args as string[]).includes('--lb-class=mooring.io/lb'));
    const natsObjs = v1.filter((o) => !named(v2, o.kind, o.metadata.name));
    assert.deepEqual(natsObjs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ConfigMap/mooring-nats-config',
      'Service/mooring-nats',
      'Service/mooring-nats-cluster',
      'StatefulSet/mooring-nats',
    ]);
    const gone = await client('gone', natsObjs);
    assert.deepEqual(gone.left, []);
    assert.match(await helm('history', 'mooring', '-n', NS), /\n2\s.*deployed/);
  });

  it('helm uninstall leaves nothing of the release: objects, CRDs and release records', async () => {
    await helm('uninstall', 'mooring', '-n', NS);
    const all = [...v1, ...v2.filter((o) => !named(v1, o.kind, o.metadata.name))];
    const releases = [1, 2].map((n) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `sh.helm.release.v1.mooring.v${n}`, namespace: NS },
    }));
    // A deleted Namespace (the issuer keys' one) stays Terminating without the namespace controller,
    // which does not run here: the real cluster's install suite checks that it goes.
    const gone = await client('gone', [...all.filter((o) => o.kind !== 'Namespace'), ...releases]);
    assert.deepEqual(gone.left, []);
    assert.ok(all.some((o) => o.kind === 'CustomResourceDefinition'));
    assert.equal((await helm('list', '-n', NS, '-a', '-q')).trim(), '');
  });
});
