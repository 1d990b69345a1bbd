// mooringctl validate as a process: exit codes and output lines on good, bad and nasty files, and
// the bin script run through a symlink (npm's bin link).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const run = (...args: string[]) => spawnSync(join(root, 'bin', 'mooringctl'), args, { cwd: root, encoding: 'utf8' });

test('validate deploy/samples exits 0', () => {
  const r = run('validate', 'deploy/samples');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /mooringctl validate: 10 objects in 3 files: valid/);
});

test('validate reports an overlapping pool, an invalid community and password+passwordSecret, exit 1', () => {
  const r = run('validate', '-f', 'test/fixtures/validate/bad.yaml');
  assert.equal(r.status, 1);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'test/fixtures/validate/bad.yaml#2: IPAddressPool/second: spec.addresses[0]: CIDR "198.51.100.128/25" in pool "second" overlaps with already defined CIDR "198.51.100.0/24" in pool "first"',
    'test/fixtures/validate/bad.yaml#3: BGPAdvertisement/adv: spec.communities[0]: invalid community value "65536:1": both halves must be 16-bit unsigned numbers (0-65535)',
    'test/fixtures/validate/bad.yaml#4: BGPPeer/router: spec.passwordSecret: can not have both password and secret ref set in peer config "metallb-system/router"',
  ]);
  assert.match(r.stderr, /3 problems in 1 file/);
});

test('malformed YAML, unknown kinds and wrong apiVersions get one clear line each, no stack trace', () => {
  const r = run('validate', 'test/fixtures/validate/malformed.yaml');
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? '', /^test\/fixtures\/validate\/malformed\.yaml#1: malformed YAML at line 7: /);
  assert.equal(
    lines[1],
    'test/fixtures/validate/malformed.yaml#2: IPAddressPool/old: apiVersion: unsupported apiVersion "metallb.io/v1alpha1" for IPAddressPool: expected metallb.io/v1beta1',
  );
  assert.equal(
    lines[2],
    'test/fixtures/validate/malformed.yaml#3: Gadget/what: kind: unknown kind "Gadget": expected one of IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community',
  );
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
});

test('usage errors exit 2, a missing file exits 1', () => {
  assert.equal(run('validate').status, 2);
  assert.equal(run('frobnicate').status, 2);
  assert.equal(run('validate', 'deploy/samples', '-n').status, 2);
  const r = run('validate', '-f', 'does/not/exist.yaml');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /does\/not\/exist\.yaml: no such file or directory/);
});

test('drain/undrain: usage errors exit 2 before any connection', () => {
  const noNode = run('drain');
  assert.equal(noNode.status, 2);
  assert.match(noNode.stderr, /exactly one node name expected/);
  const env = { ...process.env, MOORING_NATS_URL: '' };
  const noServers = spawnSync(join(root, 'bin', 'mooringctl'), ['undrain', 'n1'], { cwd: root, encoding: 'utf8', env });
  assert.equal(noServers.status, 2);
  assert.match(noServers.stderr, /--servers \(or MOORING_NATS_URL\) is required/);
  const badTimeout = run('drain', 'n1', '--servers', 'nats://198.51.100.1:4222', '--timeout', 'soon');
  assert.equal(badTimeout.status, 2);
  assert.match(badTimeout.stderr, /--timeout must be a positive number/);
});

const POOL = (name: string, addresses: string) =>
  `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: ${name}\nspec:\n  addresses: [${addresses}]\n`;

/** A ~10-level "billion laughs" document: each level is ten aliases of the one before. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

test('nasty input: each problem is one line for its document, exit 1, every other document and file still checked', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mooringctl-nasty-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const big = 'x'.repeat(5 * 1024 * 1024);
  const digits = '9'.repeat(5001);
  writeFileSync(join(dir, 'a-bomb.yaml'), [POOL('first', '198.51.100.0/28'), aliasBomb(), POOL('second', '198.51.100.0/29')].join('---\n'));
  writeFileSync(
    join(dir, 'b-nasty.yaml'),
    [
      POOL('huge', `"${big}"`),
      'apiVersion: metallb.io/v1beta1\nmetadata:\n  name: kindless\nspec: {}\n',
      POOL('digits', digits),
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: "%%% not base64"\n',
    ].join('---\n'),
  );
  writeFileSync(join(dir, 'c-good.yaml'), POOL('fine', '203.0.113.0/24'));
  const r = run('validate', dir);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const bomb = join(dir, 'a-bomb.yaml');
  const nasty = join(dir, 'b-nasty.yaml');
  assert.equal(lines.length, 6, r.stdout.slice(0, 4000));
  assert.match(lines[0] ?? '', new RegExp(`^${bomb}#2: YAML aliases expand too far \\(an alias bomb\\?\\): `));
  // The documents after the bomb were checked: the overlap is reported on the later pool.
  assert.match(
    lines[1] ?? '',
    new RegExp(`^${bomb}#3: IPAddressPool/second: spec\\.addresses\\[0\\]: CIDR "198\\.51\\.100\\.0/29" in pool`),
  );
  assert.equal(lines[2], `${nasty}#1: IPAddressPool/huge: spec.addresses[0]: invalid CIDR "${'x'.repeat(80)}…" (5242880 chars)`);
  assert.equal(
    lines[3],
    `${nasty}#2: (none)/kindless: kind: Required value: no kind: expected one of IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community`,
  );
  assert.equal(
    lines[4],
    `${nasty}#3: IPAddressPool/digits: spec.addresses[0]: must be of type string, got number Infinity (a number too large to represent)`,
  );
  assert.equal(lines[5], `${nasty}#4: Secret/s: data.password: not valid base64`);
  for (const l of lines) assert.ok(l.length < 400, `one short line: ${l.slice(0, 200)}`);
  assert.doesNotMatch(r.stdout + r.stderr, /internal error|\bnull\b|\n\s+at /);
  assert.match(r.stderr, /6 problems in 3 files/);
});

test('bin/mooringctl runs through a symlink (npm bin link), from another directory', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mooringctl-link-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  const link = join(dir, 'node_modules', '.bin', 'mooringctl');
  symlinkSync(join(root, 'bin', 'mooringctl'), link);
  cpSync(join(root, 'deploy', 'samples'), join(dir, 'samples'), { recursive: true });
  const r = spawnSync(link, ['validate', 'samples'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /mooringctl validate: 10 objects in 3 files: valid/);
  // A relative link through a second link (as a global install's bin → lib/node_modules/…).
  const rel = join(dir, 'mooringctl-again');
  symlinkSync(join('node_modules', '.bin', 'mooringctl'), rel);
  const r2 = spawnSync(rel, ['validate', 'samples'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r2.status, 0, r2.stdout + r2.stderr);
});

test('`npx mooringctl validate` in the project runs the declared bin', () => {
  const r = spawnSync('npx', ['--offline', '--no-install', 'mooringctl', 'validate', 'deploy/samples'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /mooringctl validate: 10 objects in 3 files: valid/);
});

test('validate warns on BGPPeer fields the chosen backend cannot honour: vrf under native (the default), nothing under frr', () => {
  const native = run('validate', '-f', 'test/fixtures/validate/vrf-peer.yaml');
  assert.equal(native.status, 0);
  assert.match(
    native.stdout,
    /^test\/fixtures\/validate\/vrf-peer\.yaml#1: warning: BGPPeer\/in-vrf: spec\.vrf: "red": peering inside a VRF is not supported by the native BGP backend: .*--bgp-backend=frr/m,
  );
  const frr = run('validate', '--bgp-backend', 'frr', '-f', 'test/fixtures/validate/vrf-peer.yaml');
  assert.equal(frr.status, 0);
  assert.doesNotMatch(frr.stdout, /spec\.vrf/);
  assert.equal(run('validate', '--bgp-backend', 'bird', '-f', 'test/fixtures/validate/vrf-peer.yaml').status, 2);
});

test('validate says nothing about an unnumbered BGPPeer (interface) under either backend: both run it', () => {
  for (const backend of ['native', 'frr']) {
    const r = run('validate', '--bgp-backend', backend, '-f', 'test/fixtures/validate/unnumbered-peer.yaml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /warning/, backend);
    assert.match(r.stdout, /valid/, backend);
  }
});
