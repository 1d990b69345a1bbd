// `npm run image` (scripts/image.mjs): the OCI image archive is a valid OCI layout (every blob's
// digest and size), named ghcr.io/mooring/mooring:<version>, with the entry point and environment
// the manifests rely on; a rebuild with no source change is a cache hit; and the image's own Node
// runs the entry point from a read-only root (as readOnlyRootFilesystem): `mooring --version`,
// `mooring mooringctl validate` on a sample, and the native addons (pcap, koffi) load. The image is
// unpacked with umoci and run with chroot as root in a private mount namespace, in a throwaway
// directory; and a private containerd (as on the nodes) imports the archive by its name and runs
// the entry point with runc. No network is used from the root namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { waitFor } from '../../lib/netns.js';

const root = new URL('../../..', import.meta.url).pathname;
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

describe('npm run image: the OCI image archive', { timeout: 30 * 60_000 }, () => {
  let dir: string;
  let archive: string;
  let layout: string;
  let rootfs: string;
  let env: string[] = [];

  before(() => {
    requireRoot();
    requireTools('mmdebstrap', 'umoci');
    dir = mkdtempSync(join(tmpdir(), 'mooring-image-'));
    archive = join(dir, `mooring-${version}.oci.tar`);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const build = (): string => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'image.mjs'), '--out', archive], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `npm run image failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };

  it('builds the archive, and a rebuild with no source change is a cache hit', () => {
    const t0 = Date.now();
    const first = build();
    const firstS = (Date.now() - t0) / 1000;
    assert.match(first, /image: wrote .*ghcr\.io\/mooring\/mooring:/);
    const t1 = Date.now();
    const second = build();
    assert.match(second, /image: up to date/);
    const sizeMB = statSync(archive).size / 1048576;
    process.stdout.write(
      `# image: ${sizeMB.toFixed(1)} MB archive, built in ${firstS.toFixed(1)} s, cached rebuild ${((Date.now() - t1) / 1000).toFixed(1)} s\n`,
    );
    assert.ok(sizeMB <= 250, `image archive ${sizeMB.toFixed(1)} MB > 250 MB`);
  });

  it('is a valid OCI layout named ghcr.io/mooring/mooring:<version> with the entry point the manifests use', () => {
    layout = join(dir, 'layout');
    execFileSync('mkdir', ['-p', layout]);
    execFileSync('tar', ['-xf', archive, '-C', layout]);
    assert.deepEqual(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { schemaVersion: number; manifests: Descriptor[] };
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.manifests.length, 1);
    const desc = index.manifests[0] as Descriptor;
    assert.equal(desc.annotations?.['io.containerd.image.name'], `ghcr.io/mooring/mooring:${version}`);
    assert.equal(desc.annotations?.['org.opencontainers.image.ref.name'], version);
    const blob = (d: Descriptor): Buffer => {
      const [alg, hex] = d.digest.split(':') as [string, string];
      const b = readFileSync(join(layout, 'blobs', alg, hex));
      assert.equal(alg, 'sha256');
      assert.equal(createHash('sha256').update(b).digest('hex'), hex, `blob ${d.digest}: digest mismatch`);
      assert.equal(b.length, d.size, `blob ${d.digest}: size mismatch`);
      return b;
    };
    const manifest = JSON.parse(blob(desc).toString('utf8')) as { mediaType: string; config: Descriptor; layers: Descriptor[] };
    assert.equal(desc.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    assert.equal(manifest.layers.length, 2, 'a base layer (Debian) and an app layer');
    for (const l of manifest.layers) {
      assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      blob(l);
    }
    const config = JSON.parse(blob(manifest.config).toString('utf8')) as {
      architecture: string;
      os: string;
      config: { Entrypoint: string[]; Cmd?: string[]; WorkingDir: string; Env: string[] };
    };
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.os, 'linux');
    assert.deepEqual(config.config.Entrypoint, ['/app/bin/mooring']);
    assert.equal(config.config.Cmd, undefined);
    assert.equal(config.config.WorkingDir, '/app');
    assert.ok(config.config.Env.includes('MOORING_DIST=1'), 'the image runs dist/bundle, not tsx');
    env = config.config.Env;
  });

  const inImage = (args: string[], userspec = '0:0'): { status: number | null; stdout: string; stderr: string } => {
    // A private mount namespace with the root file system bound read-only: the container's
    // readOnlyRootFilesystem. The image's environment only (env -i).
    const script =
      'mount --make-rprivate / && mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && r="$1" && shift && u="$1" && shift && exec chroot --userspec="$u" "$r" "$@"';
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', rootfs, userspec, ...args], {
      encoding: 'utf8',
      env: Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("runs the entry point with the image's own Node from a read-only root", () => {
    assert.ok(env.length > 0, 'needs the layout test');
    const bundle = join(dir, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:${version}`, bundle], { stdio: 'ignore' });
    rootfs = join(bundle, 'rootfs');
    copyFileSync(join(root, 'deploy', 'samples', 'l2.yaml'), join(rootfs, 'tmp', 'l2.yaml'));
    assert.ok(!existsSync(join(rootfs, 'app', 'node_modules', '.bin', 'tsx')), 'no tsx in the image');

    const v = inImage(['/app/bin/mooring', '--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), version);

    // The controller runs as nobody (runAsUser 65534).
    const asNobody = inImage(['/app/bin/mooring', '--version'], '65534:65534');
    assert.equal(asNobody.status, 0, asNobody.stderr);
    assert.equal(asNobody.stdout.trim(), version);

    const node = inImage(['/usr/bin/node', '--version']);
    assert.match(node.stdout.trim(), /^v(2[0-9]|[3-9][0-9])\./, `image node ${node.stdout}`);
    const [major, minor] = node.stdout.trim().slice(1).split('.').map(Number) as [number, number];
    assert.ok(major > 20 || minor >= 19, `package.json engines: node >= 20.19, image has ${node.stdout.trim()}`);

    const val = inImage(['/app/bin/mooring', 'mooringctl', 'validate', '-f', '/tmp/l2.yaml']);
    assert.equal(val.status, 0, `${val.stdout}\n${val.stderr}`);
    assert.match(val.stdout, /valid/);

    const natives = inImage([
      '/usr/bin/node',
      '--input-type=module',
      '-e',
      "process.chdir('/app'); const { createRequire } = await import('node:module'); const require = createRequire('/app/package.json');" +
        "const pcap = require('pcap'); const koffi = require('koffi'); koffi.load('libc.so.6');" +
        'console.log(typeof pcap.createSession, typeof koffi.load)',
    ]);
    assert.equal(natives.status, 0, natives.stderr);
    assert.equal(natives.stdout.trim(), 'function function');
    const du = execFileSync('du', ['-sm', rootfs], { encoding: 'utf8' }).split('\t')[0];
    process.stdout.write(`# image: ${du} MB unpacked, node ${node.stdout.trim()}\n`);
  });
  it('containerd imports the archive as ghcr.io/mooring/mooring:<version> and runs its entry point', async () => {
    requireTools('containerd', 'ctr', 'runc');
    const d = join(dir, 'containerd');
    mkdirSync(d);
    const sock = join(d, 'c.sock');
    writeFileSync(
      join(d, 'config.toml'),
      `version = 2\nroot = "${d}/root"\nstate = "${d}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n` +
        `[grpc]\n  address = "${sock}"\n[ttrpc]\n  address = "${sock}.ttrpc"\n`,
    );
    const log = openSync(join(d, 'log'), 'a');
    let proc: ChildProcess | undefined;
    try {
      proc = spawn('containerd', ['--config', join(d, 'config.toml')], { stdio: ['ignore', log, log] });
      const p = proc;
      await waitFor(
        'containerd socket',
        () => {
          if (p.exitCode !== null) throw new Error(`containerd exited: ${readFileSync(join(d, 'log'), 'utf8').slice(-2000)}`);
          return existsSync(sock);
        },
        30_000,
        100,
      );
      const ctr = (...a: string[]) => spawnSync('ctr', ['-a', sock, '-n', 'mooring-test', ...a], { encoding: 'utf8' });
      const imp = ctr('images', 'import', archive);
      assert.equal(imp.status, 0, imp.stderr);
      const name = `ghcr.io/mooring/mooring:${version}`;
      assert.ok(ctr('images', 'ls', '-q').stdout.split('\n').includes(name), `containerd has no ${name}`);
      // No arguments: the image's entry point alone (bin/mooring's usage, exit 2).
      const bare = ctr('run', '--rm', '--read-only', name, `mooring-bare-${process.pid}`);
      assert.equal(bare.status, 2, bare.stderr);
      assert.match(bare.stdout + bare.stderr, /usage: mooring controller\|speaker\|viz\|mooringctl/);
      const v = ctr('run', '--rm', '--read-only', name, `mooring-version-${process.pid}`, '/app/bin/mooring', '--version');
      assert.equal(v.status, 0, v.stderr);
      assert.equal(v.stdout.trim(), version);
    } finally {
      closeSync(log);
      if (proc && proc.exitCode === null && proc.pid) {
        const p = proc;
        process.kill(p.pid as number, 'SIGTERM');
        await waitFor('containerd to stop', () => p.exitCode !== null || p.signalCode !== null, 15_000, 100).catch(() => {
          process.kill(p.pid as number, 'SIGKILL');
        });
      }
      for (const m of readFileSync('/proc/mounts', 'utf8').split('\n')) {
        const target = m.split(' ')[1];
        if (target?.startsWith(d)) spawnSync('umount', ['-l', target]);
      }
    }
  });
});
