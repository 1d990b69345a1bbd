// mooringctl migrate as a process: every example converts, and `mooringctl validate` accepts what it
// wrote; bad input is one line per problem with exit 1, usage errors exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const FIXTURES = join('test', 'fixtures', 'migrate');
const run = (args: string[], input?: string) =>
  spawnSync(join(root, 'bin', 'mooringctl'), args, { cwd: root, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });

test('migrate every example (MetalLB testdata and documentation), then validate the result: exit 0, valid', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mooringctl-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = readdirSync(join(root, FIXTURES)).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 14);
  for (const f of files) {
    const out = join(dir, f);
    const m = run(['migrate', '-f', join(FIXTURES, f), '-o', out]);
    assert.equal(m.status, 0, `${f}: ${m.stderr}`);
    const n = Number(/mooringctl migrate: (\d+) objects? in namespace (\S+) written to /.exec(m.stderr)?.[1]);
    const ns = /in namespace (\S+) written/.exec(m.stderr)?.[1] ?? '';
    assert.ok(n > 0, m.stderr);
    assert.equal(m.stdout, '', 'with -o nothing on stdout');
    assert.match(readFileSync(out, 'utf8'), /^# Converted by mooringctl migrate from MetalLB's legacy configuration/);
    const v = run(['validate', '-n', ns, '-f', out]);
    assert.equal(v.status, 0, `${f}: ${v.stdout}${v.stderr}`);
    assert.match(v.stdout, new RegExp(`mooringctl validate: ${n} objects? in 1 file: valid`));
  }
});

test('migrate to stdout and from stdin (-f -); renames and warnings on stderr', () => {
  const text = readFileSync(join(root, FIXTURES, 'metallb-convert-names.yaml'), 'utf8');
  const r = run(['migrate', '-f', '-'], text);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^# Converted by mooringctl migrate from MetalLB's legacy configuration \(stdin\)\.\napiVersion: metallb\.io\/v1beta1\n/,
  );
  assert.match(r.stdout, /name: numbered-addresspool\n/);
  assert.match(r.stderr, /^\(stdin\): BFDProfile "underscored_bfd_profile" renamed to "underscored-bfd-profile" \(Kubernetes names\)$/m);
  assert.match(r.stderr, /^\(stdin\): warning: BFDProfile\/toolong.*: spec\.echoMode: echo mode is not supported/m);
  assert.match(r.stderr, /mooringctl migrate: 6 objects in namespace metallb-system\n$/);
});

test('bad input: one line per problem (file: field: value: message), exit 1, nothing written', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mooringctl-migrate-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'peers:\n- my-asn: 64500\n  peer-asn: 64501\n  peer-address: 10.0.0.1\n  hold-time: 2s\naddress-pools:\n- name: p\n  protocol: l2\n  addresses: [198.51.100.0/24]\n',
  );
  const out = join(dir, 'out.yaml');
  const r = run(['migrate', '-f', bad, '-o', out]);
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `${bad}: peers[0].hold-time: "2s": invalid hold time: must be 0 or >=3s`,
    `${bad}: address-pools[0].protocol: "l2": unknown protocol: expected "layer2" or "bgp"`,
    `mooringctl migrate: 2 problems in ${bad}: nothing written`,
  ]);
  assert.throws(() => readFileSync(out), /ENOENT/);
  const missing = run(['migrate', '-f', join(dir, 'nope.yaml')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.yaml: cannot read: /);
});

test('migrate usage errors exit 2', () => {
  for (const args of [
    ['migrate'],
    ['migrate', '-f'],
    ['migrate', '-f', 'x.yaml', '-o'],
    ['migrate', 'x.yaml'],
    ['migrate', '-f', 'x', '--frob'],
  ]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error/);
  }
  assert.match(run(['help']).stdout, /migrate -f FILE \[-o FILE\] \[-n NAMESPACE\]/);
});
