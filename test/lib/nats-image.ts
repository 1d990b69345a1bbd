// A NATS server image for the real cluster (test/lib/real-cluster.ts). deploy/mooring.yaml bundles
// `nats:2.10-alpine`, which these machines cannot pull (no registry): this builds the real
// nats-server of the same minor version from the Go module proxy (github.com/nats-io/nats-server/v2,
// pinned in test/nats/go.mod) with the tests' cached Go build (test/lib/kube.ts ensureGoBuild:
// ~/.cache/mooring, `flock /tmp/mooring-go.lock`), and wraps the static binary in a one-layer OCI
// image with umoci. Its entrypoint is the server itself, so the manifest's `args: [-c, …]` work
// as with the upstream image (whose entrypoint prepends `nats-server` to flag arguments).
//
//   const img = await ensureNatsImage();      // { path, ref: 'mooring.test/nats:2.10.27', version }
//   await rc.importImage({ path: img.path, baseName: NATS_IMAGE_REPO });
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGoBuild, GO_CACHE_DIR, hashFiles } from './kube.js';
import { sh } from './netns.js';

const NATS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'nats');
/** The repository the image's tag is imported under (`ctr images import --base-name`). */
export const NATS_IMAGE_REPO = 'mooring.test/nats';
/** The image deploy/mooring.yaml names, replaced by ours in the install tests. */
export const BUNDLED_NATS_IMAGE = 'nats:2.10-alpine';

/** The nats-server version required by test/nats/go.mod (e.g. v2.10.27). */
export function natsServerVersion(): string {
  const m = /^\s*github\.com\/nats-io\/nats-server\/v2 (v[\d.]+)/m.exec(readFileSync(join(NATS_DIR, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error('test/nats/go.mod does not require github.com/nats-io/nats-server/v2');
  return m[1];
}

export interface NatsImage {
  /** OCI archive (tar of an OCI layout) whose one tag is `version` without the `v`. */
  path: string;
  /** The reference it has once imported with baseName NATS_IMAGE_REPO. */
  ref: string;
  version: string;
}

/** Builds (once; cached under a hash of test/nats/go.mod and go.sum) nats-server and its image. */
export async function ensureNatsImage(log?: (s: string) => void): Promise<NatsImage> {
  const version = natsServerVersion();
  const dir = join(GO_CACHE_DIR, `nats-${version}-${hashFiles(NATS_DIR, ['go.mod', 'go.sum'], ['image-v1'])}`);
  const bin = await ensureGoBuild(
    {
      label: `nats-server ${version}`,
      moduleDir: NATS_DIR,
      pkg: 'github.com/nats-io/nats-server/v2',
      out: join(dir, 'nats-server'),
      ldflags: '-s -w',
      env: { CGO_ENABLED: '0' },
    },
    log,
  );
  const tag = version.replace(/^v/, '');
  // v2: the server at /usr/local/bin/nats-server with PATH set, as in the upstream image (the
  // manifest's preStop runs `nats-server --signal ldm=…`).
  const path = join(dir, 'nats-image-v2.tar');
  if (!existsSync(path)) buildImage(bin, tag, path);
  return { path, ref: `${NATS_IMAGE_REPO}:${tag}`, version };
}

function buildImage(bin: string, tag: string, out: string): void {
  const w = mkdtempSync(join(tmpdir(), 'mooring-nats-image-'));
  try {
    const um = (...args: string[]) => sh('umoci', args);
    const layout = join(w, 'layout');
    const ref = `${layout}:${tag}`;
    const bundle = join(w, 'bundle');
    um('init', '--layout', layout);
    um('new', '--image', ref);
    um('unpack', '--image', ref, bundle);
    const rootfs = join(bundle, 'rootfs');
    for (const d of ['tmp', 'etc/nats', 'data', 'usr/local/bin', 'var/run/nats']) mkdirSync(join(rootfs, d), { recursive: true });
    sh('cp', [bin, join(rootfs, 'usr/local/bin/nats-server')]);
    um('repack', '--image', ref, bundle);
    um(
      'config',
      '--image',
      ref,
      '--config.entrypoint',
      '/usr/local/bin/nats-server',
      '--config.env',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      '--config.exposedports',
      '4222/tcp',
    );
    um('gc', '--layout', layout);
    const tmp = `${out}.tmp${process.pid}`;
    sh('tar', ['-C', layout, '-cf', tmp, '.']);
    renameSync(tmp, out);
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
}
