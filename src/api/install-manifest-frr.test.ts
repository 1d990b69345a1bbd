// deploy/mooring-frr.yaml, the one-file install in FRR mode (as MetalLB's metallb-frr.yaml beside
// metallb-native.yaml), is rendered by `npm run gen:manifest` (scripts/install-files.ts) from the
// same sources as deploy/mooring.yaml (its freshness: install-manifest.test.ts). Here: it is that
// install but for the speaker DaemonSet in FRR mode and the FRR bootstrap ConfigMap. That it equals
// the chart rendered with speaker.frr.enabled=true is checked with Helm in
// test/integration/helm/chart.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FRR_IMAGE, FRR_SPEAKER_ARGS, packageVersion } from '../../scripts/install-files.js';

const root = join(import.meta.dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const load = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(join(root, 'deploy', file), 'utf8'), { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
const key = (o: Obj): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const isSpeaker = (o: Obj) => o.kind === 'DaemonSet' && o.metadata.name === 'speaker';

test('deploy/mooring-frr.yaml is deploy/mooring.yaml with the FRR bootstrap ConfigMap and the speaker in FRR mode', () => {
  const native = load('mooring.yaml');
  const frr = load('mooring-frr.yaml');
  assert.deepEqual(frr.map(key).sort(), [...native.map(key), 'ConfigMap/metallb-system/mooring-frr-startup'].sort());
  const byKey = new Map(frr.map((o) => [key(o), o]));
  for (const o of native) if (!isSpeaker(o)) assert.deepEqual(byKey.get(key(o)), o, `${key(o)} differs from deploy/mooring.yaml`);
  // In install order: the ConfigMap before the DaemonSet that mounts it.
  assert.ok(frr.findIndex((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mooring-frr-startup') < frr.findIndex(isSpeaker));
});

test('the FRR-mode speaker drives an FRR container of its Pod through shared vty sockets', () => {
  const frr = load('mooring-frr.yaml');
  const nativeDs = load('mooring.yaml').find(isSpeaker);
  const ds = frr.find(isSpeaker);
  assert.ok(ds && nativeDs);
  const pod = ds.spec.template.spec as Obj;
  assert.ok(pod.hostNetwork, 'FRR in the node network namespace');
  const [speaker, frrC, ...rest] = pod.containers as Obj[];
  assert.equal(rest.length, 0);
  assert.equal(speaker!.name, 'speaker');
  assert.equal(frrC!.name, 'frr');
  assert.equal(speaker!.image, `ghcr.io/mooring/mooring:${packageVersion()}-frr`, 'the image variant with vtysh and frr-reload.py');
  const nativeSpeaker = (nativeDs.spec.template.spec.containers as Obj[])[0]!;
  assert.deepEqual(speaker!.args, [...(nativeSpeaker.args as string[]), ...FRR_SPEAKER_ARGS]);
  assert.ok((speaker!.securityContext.capabilities.add as string[]).includes('DAC_OVERRIDE'));
  const mountOf = (c: Obj, path: string) => (c.volumeMounts as Obj[]).find((m) => m.mountPath === path)?.name as string | undefined;
  const vol = (name: string | undefined) => (pod.volumes as Obj[]).find((v) => v.name === name);
  const sockets = mountOf(speaker!, '/var/run/frr');
  assert.ok(sockets);
  assert.equal(mountOf(frrC!, '/var/run/frr'), sockets);
  assert.deepEqual(vol(sockets)?.emptyDir, {});
  assert.deepEqual(vol(mountOf(speaker!, '/var/lib/mooring/frr'))?.emptyDir, {}, 'a writable state dir (read-only root)');
  assert.equal(frrC!.image, FRR_IMAGE);
  const [init, ...more] = pod.initContainers as Obj[];
  assert.equal(more.length, 0);
  assert.equal(init!.image, FRR_IMAGE);
  assert.equal(mountOf(init!, '/etc/frr'), mountOf(frrC!, '/etc/frr'));
  const startup = vol(mountOf(init!, '/tmp/frr'))?.configMap?.name as string | undefined;
  const cm = frr.find((o) => o.kind === 'ConfigMap' && o.metadata.name === startup);
  assert.ok(cm, `ConfigMap ${startup} is in the file`);
  assert.match(cm.data.daemons, /^bgpd=yes$/m);
  assert.match(cm.data.daemons, /^bfdd=yes$/m);
  assert.match(cm.data['frr.conf'], /^frr defaults traditional$/m);
  // Every volume a container mounts exists.
  for (const c of [...(pod.containers as Obj[]), ...(pod.initContainers as Obj[])])
    for (const m of c.volumeMounts as Obj[]) assert.ok(vol(m.name as string), `${c.name}: volume ${m.name}`);
});
