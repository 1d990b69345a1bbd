// mooringctl status as a process: usage errors, and an apiserver that does not answer (the report
// itself: src/domain/cluster-status.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const run = (args: string[]) => spawnSync(join(root, 'bin', 'mooringctl'), args, { cwd: root, encoding: 'utf8' });

test('status: usage errors exit 2; an apiserver that does not answer exits 1 with each list named', (t) => {
  for (const args of [
    ['status', '-o', 'yaml'],
    ['status', '-n'],
    ['status', 'extra'],
  ]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mooringctl-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1", insecure-skip-tls-verify: true } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  const r = run(['status', '--kubeconfig', kubeconfig, '-o', 'json']);
  assert.equal(r.status, 1, r.stderr);
  for (const l of [
    'lease mooring-controller',
    'nodes',
    'configurationstates',
    'ipaddresspools',
    'services',
    'servicel2statuses',
    'servicebgpstatuses',
  ])
    assert.match(r.stderr, new RegExp(`mooringctl status: cannot list ${l}: `));
  assert.equal(r.stdout, '');
});
