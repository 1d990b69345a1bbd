// The Helm chart deploy/helm/mooring with Helm itself (built from helm.sh/helm/v3, test/lib/helm.ts):
// `helm lint`, and `helm template` with the default values (the same objects as deploy/mooring.yaml,
// but for Helm's labels and the Namespace, which `helm install --create-namespace` makes) and with
// changed values (each value lands where MetalLB's chart puts it). No apiserver: install.test.ts
// installs, upgrades and uninstalls against one.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, ensureHelm, parseObjects, runHelm } from '../../lib/helm.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];

const key = (o: Obj): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** The object without Helm's labels (and without a labels map that held only those). */
function withoutHelmLabels(o: Obj): Obj {
  const c = structuredClone(o);
  const labels = c.metadata?.labels as Record<string, string> | undefined;
  if (labels) {
    for (const l of HELM_LABELS) delete labels[l];
    if (Object.keys(labels).length === 0) delete c.metadata.labels;
  }
  return c;
}

async function template(...args: string[]): Promise<Obj[]> {
  const r = await runHelm(['template', 'mooring', CHART_DIR, '-n', 'metallb-system', ...args]);
  assert.equal(r.code, 0, `helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseObjects(r.stdout);
}

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind}/${name} not rendered`);
  return o;
};
const container = (o: Obj): Obj => o.spec.template.spec.containers[0];
const envOf = (o: Obj, name: string): unknown => (container(o).env as Obj[]).find((e) => e.name === name)?.value;

describe('Helm chart deploy/helm/mooring', { timeout: 40 * 60_000 }, () => {
  before(async () => {
    await ensureHelm();
  });

  it('passes helm lint --strict', async () => {
    const r = await runHelm(['lint', '--strict', CHART_DIR]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders with default values the objects of deploy/mooring.yaml (Helm labels aside, no Namespace)', async () => {
    const rendered = await template();
    // Not the release's Namespace (helm install -n … --create-namespace); the issuer keys' one is in the chart.
    const manifest = parseObjects(readFileSync(join(CHART_DIR, '..', '..', 'mooring.yaml'), 'utf8')).filter(
      (o) => !(o.kind === 'Namespace' && o.metadata.name === 'metallb-system'),
    );
    assert.deepEqual(rendered.map(key).sort(), manifest.map(key).sort());
    const byKey = new Map(rendered.map((o) => [key(o), o]));
    for (const m of manifest) {
      const r = byKey.get(key(m));
      assert.ok(r);
      // Every top-level object carries Helm's labels; pod templates do not (selectors stay stable).
      assert.equal(r.metadata.labels['app.kubernetes.io/managed-by'], 'Helm', key(m));
      assert.equal(r.metadata.labels['app.kubernetes.io/instance'], 'mooring', key(m));
      assert.deepEqual(withoutHelmLabels(r), m, `${key(m)} differs from deploy/mooring.yaml`);
    }
  });

  it('renders with speaker.frr.enabled=true the objects of deploy/mooring-frr.yaml (Helm labels aside, no Namespace)', async () => {
    const rendered = await template('--set', 'speaker.frr.enabled=true');
    const manifest = parseObjects(readFileSync(join(CHART_DIR, '..', '..', 'mooring-frr.yaml'), 'utf8')).filter(
      (o) => !(o.kind === 'Namespace' && o.metadata.name === 'metallb-system'),
    );
    assert.deepEqual(rendered.map(key).sort(), manifest.map(key).sort());
    const byKey = new Map(rendered.map((o) => [key(o), withoutHelmLabels(o)]));
    for (const m of manifest) assert.deepEqual(byKey.get(key(m)), m, `${key(m)} differs from deploy/mooring-frr.yaml`);
  });

  it('puts changed values where they belong', async () => {
    const objs = await template(
      '--set',
      'image.repository=registry.example/mooring,image.tag=9.9.9,image.pullPolicy=Always',
      '--set',
      'loadBalancerClass=mooring.io/lb,controller.logLevel=all,speaker.logLevel=warn',
      '--set',
      'speaker.nodeSelector.mooring\\.io/speaker=yes,speaker.tolerations=null,speaker.priorityClassName=system-node-critical',
      '--set',
      'controller.resources.limits.memory=300Mi,controller.tolerations[0].operator=Exists',
    );
    const ds = find(objs, 'DaemonSet', 'speaker');
    const dep = find(objs, 'Deployment', 'controller');
    for (const o of [ds, dep]) {
      assert.equal(container(o).image, 'registry.example/mooring:9.9.9');
      assert.equal(container(o).imagePullPolicy, 'Always');
      assert.ok((container(o).args as string[]).includes('--lb-class=mooring.io/lb'), key(o));
    }
    assert.equal(envOf(dep, 'MOORING_LOG_LEVEL'), 'debug', 'MetalLB level "all" is debug');
    assert.equal(envOf(ds, 'MOORING_LOG_LEVEL'), 'warn');
    assert.deepEqual(ds.spec.template.spec.nodeSelector, { 'mooring.io/speaker': 'yes' });
    assert.equal(ds.spec.template.spec.tolerations, undefined);
    assert.equal(ds.spec.template.spec.priorityClassName, 'system-node-critical');
    assert.deepEqual(container(dep).resources, { limits: { memory: '300Mi' }, requests: { cpu: '50m', memory: '64Mi' } });
    assert.deepEqual(dep.spec.template.spec.tolerations, [{ operator: 'Exists' }]);
    // The NATS image is not Mooring's.
    assert.equal(container(find(objs, 'StatefulSet', 'mooring-nats')).image, 'nats:2.10-alpine');
  });

  it('uses an existing NATS cluster with nats.bundled=false, and requires its URL', async () => {
    const objs = await template('--set', 'nats.bundled=false,nats.url=nats://nats.example:4222');
    assert.equal(objs.filter((o) => /nats/.test(o.metadata.name as string)).length, 0, 'no bundled NATS objects');
    const ds = find(objs, 'DaemonSet', 'speaker');
    assert.ok((container(ds).args as string[]).includes('--nats-url=nats://nats.example:4222'));
    // No credential Secret to provide: the speakers get minted per-node credentials from the controller.
    const volumes = (ds.spec.template.spec.volumes ?? []) as Array<{ secret?: unknown }>;
    assert.equal(volumes.filter((v) => v.secret !== undefined).length, 0, 'no Secret volume on the speakers');
    const r = await runHelm(['template', 'mooring', CHART_DIR, '--set', 'nats.bundled=false']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nats\.url is required when nats\.bundled is false/);
  });

  it('installs into the release namespace, and leaves CRDs out with crds.enabled=false', async () => {
    const objs = await template('-n', 'lb', '--set', 'crds.enabled=false');
    assert.equal(objs.filter((o) => o.kind === 'CustomResourceDefinition').length, 0);
    // Everything in the release namespace but the issuer keys' Role and RoleBinding (deploy/rbac/issuer.yaml).
    for (const o of objs)
      if (o.metadata.namespace !== undefined)
        assert.equal(o.metadata.namespace, o.metadata.namespace === 'mooring-secrets' ? 'mooring-secrets' : 'lb', key(o));
    const issuer = objs.filter((o) => o.metadata.namespace === 'mooring-secrets');
    assert.deepEqual(issuer.map(key).sort(), ['Role/mooring-secrets/controller', 'RoleBinding/mooring-secrets/controller']);
    assert.equal(issuer.find((o) => o.kind === 'RoleBinding')?.subjects[0].namespace, 'lb');
    assert.ok((container(find(objs, 'DaemonSet', 'speaker')).args as string[]).includes('--nats-url=nats://mooring-nats.lb.svc:4222'));
    assert.ok((container(find(objs, 'Deployment', 'controller')).args as string[]).includes('--namespace=lb'));
    assert.equal(
      find(objs, 'ValidatingWebhookConfiguration', 'mooring-webhook-configuration').webhooks[0].clientConfig.service.namespace,
      'lb',
    );
    assert.equal(find(objs, 'ClusterRoleBinding', 'mooring:speaker').subjects[0].namespace, 'lb');
    assert.match(find(objs, 'ConfigMap', 'mooring-nats-config').data['nats.conf'], /mooring-nats-0\.mooring-nats-cluster\.lb\.svc/);
  });

  it('runs the speaker on the FRR backend beside an FRR container with speaker.frr.enabled (MetalLB FRR mode)', async () => {
    const off = await template();
    const dsOff = find(off, 'DaemonSet', 'speaker');
    assert.deepEqual(
      (dsOff.spec.template.spec.containers as Obj[]).map((c) => c.name),
      ['speaker'],
    );
    assert.ok(!(container(dsOff).args as string[]).some((a) => a.startsWith('--bgp-backend')));
    assert.equal(dsOff.spec.template.spec.initContainers, undefined);
    assert.equal(off.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mooring-frr-startup').length, 0);

    const objs = await template('--set', 'speaker.frr.enabled=true,image.tag=9.9.9,speaker.frr.resources.limits.memory=200Mi');
    const ds = find(objs, 'DaemonSet', 'speaker');
    const pod = ds.spec.template.spec as Obj;
    const [speaker, frr] = pod.containers as Obj[];
    assert.deepEqual(
      (pod.containers as Obj[]).map((c) => c.name),
      ['speaker', 'frr'],
    );
    assert.ok(pod.hostNetwork, 'FRR in the node network namespace');
    // The speaker: the FRR backend, FRR's vty sockets, the image variant with vtysh and frr-reload.py.
    assert.deepEqual(
      (speaker!.args as string[]).filter((a) => a.startsWith('--bgp-backend') || a.startsWith('--frr-')),
      ['--bgp-backend=frr', '--frr-vty-socket=/var/run/frr', '--frr-state-dir=/var/lib/mooring/frr'],
    );
    assert.equal(speaker!.image, 'ghcr.io/mooring/mooring:9.9.9-frr');
    assert.ok((speaker!.securityContext.capabilities.add as string[]).includes('DAC_OVERRIDE'));
    // One emptyDir at /var/run/frr in both containers.
    const mountOf = (c: Obj, path: string) => (c.volumeMounts as Obj[]).find((m) => m.mountPath === path)?.name as string | undefined;
    const sockets = mountOf(speaker!, '/var/run/frr');
    assert.ok(sockets);
    assert.equal(mountOf(frr!, '/var/run/frr'), sockets);
    const vol = (name: string) => (pod.volumes as Obj[]).find((v) => v.name === name);
    assert.deepEqual(vol(sockets)?.emptyDir, {});
    assert.deepEqual(vol(mountOf(speaker!, '/var/lib/mooring/frr') ?? '')?.emptyDir, {}, 'a writable state dir (read-only root)');
    // FRR: its own image, the daemons, its configuration bootstrapped from the ConfigMap by the init container.
    assert.equal(frr!.image, 'quay.io/frrouting/frr:10.3.0');
    assert.deepEqual(frr!.command, ['/sbin/tini', '--', '/usr/lib/frr/docker-start']);
    assert.deepEqual(frr!.resources, { limits: { memory: '200Mi' } });
    const conf = mountOf(frr!, '/etc/frr');
    assert.ok(conf);
    const [init] = pod.initContainers as Obj[];
    assert.equal(mountOf(init!, '/etc/frr'), conf);
    const startup = vol(mountOf(init!, '/tmp/frr') ?? '');
    assert.equal(startup?.configMap?.name, 'mooring-frr-startup');
    const cm = find(objs, 'ConfigMap', 'mooring-frr-startup');
    assert.match(cm.data.daemons, /^bgpd=yes$/m);
    assert.match(cm.data.daemons, /^bfdd=yes$/m);
    assert.match(cm.data['frr.conf'], /^frr defaults traditional$/m);
    assert.equal(cm.data['vtysh.conf'], 'service integrated-vtysh-config\n');
    const own = await template('--set', 'speaker.frr.enabled=true,speaker.frr.speakerImage=registry.example/mooring-frr:1');
    assert.equal(container(find(own, 'DaemonSet', 'speaker')).image, 'registry.example/mooring-frr:1');
    const lint = await runHelm(['lint', '--strict', CHART_DIR, '--set', 'speaker.frr.enabled=true']);
    assert.equal(lint.code, 0, `${lint.stdout}\n${lint.stderr}`);
  });

  it('adds ServiceMonitors with prometheus.serviceMonitor.enabled, and refuses an unknown log level', async () => {
    const none = await template();
    assert.equal(none.filter((o) => o.kind === 'ServiceMonitor').length, 0);
    const objs = await template('--set', 'prometheus.serviceMonitor.enabled=true,prometheus.serviceMonitor.additionalLabels.release=prom');
    const sms = objs.filter((o) => o.kind === 'ServiceMonitor');
    assert.deepEqual(sms.map((o) => o.metadata.name).sort(), ['mooring-controller', 'mooring-speaker']);
    for (const sm of sms) {
      assert.equal(sm.metadata.labels.release, 'prom');
      assert.equal(sm.spec.endpoints[0].port, 'monitoring');
      // Each ServiceMonitor selects a metrics Service that selects the component's Pods.
      const svc = objs.find(
        (o) =>
          o.kind === 'Service' &&
          o.metadata.labels?.['app.kubernetes.io/component'] === sm.spec.selector.matchLabels['app.kubernetes.io/component'],
      );
      assert.ok(svc, `no Service for ${sm.metadata.name}`);
      assert.equal(svc.spec.ports[0].port, 7472);
    }
    const bad = await runHelm(['template', 'mooring', CHART_DIR, '--set', 'speaker.logLevel=verbose']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /logLevel "verbose"/);
  });
});
