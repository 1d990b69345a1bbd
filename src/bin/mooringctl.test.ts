// mooringctl validate as a process: exit codes and output lines on good and bad files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
    'test/fixtures/validate/bad.yaml:2: IPAddressPool/second: spec.addresses[0]: CIDR "198.51.100.128/25" in pool "second" overlaps with already defined CIDR "198.51.100.0/24" in pool "first"',
    'test/fixtures/validate/bad.yaml:3: BGPAdvertisement/adv: spec.communities[0]: invalid community value "65536:1": both halves must be 16-bit unsigned numbers (0-65535)',
    'test/fixtures/validate/bad.yaml:4: BGPPeer/router: spec.passwordSecret: can not have both password and secret ref set in peer config "metallb-system/router"',
  ]);
  assert.match(r.stderr, /3 problems in 1 file/);
});

test('malformed YAML, unknown kinds and wrong apiVersions get one clear line each, no stack trace', () => {
  const r = run('validate', 'test/fixtures/validate/malformed.yaml');
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? '', /^test\/fixtures\/validate\/malformed\.yaml:1: malformed YAML at line 7: /);
  assert.equal(
    lines[1],
    'test/fixtures/validate/malformed.yaml:2: IPAddressPool/old: apiVersion: unsupported apiVersion "metallb.io/v1alpha1" for IPAddressPool: expected metallb.io/v1beta1',
  );
  assert.equal(
    lines[2],
    'test/fixtures/validate/malformed.yaml:3: Gadget/what: kind: unknown kind "Gadget": expected one of IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community',
  );
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
});

test('usage errors exit 2, a missing file exits 1', () => {
  assert.equal(run('validate').status, 2);
  assert.equal(run('frobnicate').status, 2);
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
