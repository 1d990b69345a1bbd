// MetalLB as its users install it, on the real cluster (test/lib/real-cluster.ts): its own
// `config/manifests/metallb-native.yaml` from the Go module (go.universe.tf/metallb, the version
// test/metallb-native/go.mod pins), with ONLY its two images replaced: quay.io cannot be pulled
// here (no registry), so MetalLB's controller and speaker are built from the Go module proxy as
// static binaries (CGO_ENABLED=0, cached in ~/.cache/mooring by ensureGoBuild) and each wrapped in
// a one-layer OCI image whose entrypoint is the binary, as upstream's (`/controller`, `/speaker`).
// Used by test/integration/cluster/metallb-move.suite.ts: MetalLB → Mooring with the same CRs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGoBuild, GO_CACHE_DIR, hashFiles } from './kube.js';
import { sh } from './netns.js';

const GO = process.env.GO ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go');
const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'metallb-native');
export const METALLB_IMAGE_REPO = 'mooring.test/metallb';
/** MetalLB's own labels (metallb-native.yaml). */
export const METALLB_SEL = { controller: 'app=metallb,component=controller', speaker: 'app=metallb,component=speaker' };

export function metallbNativeVersion(): string {
  const m = /^require go\.universe\.tf\/metallb (v\S+)/m.exec(readFileSync(join(DIR, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error('test/metallb-native/go.mod: no go.universe.tf/metallb requirement');
  return m[1];
}

export interface MetallbNative {
  version: string;
  /** OCI archives to import with baseName METALLB_IMAGE_REPO (tags `controller-<v>`, `speaker-<v>`). */
  images: string[];
  /** metallb-native.yaml with its images replaced by ours. */
  manifest: string;
}

/** Builds (cached) MetalLB's controller and speaker and their images; returns them with the manifest. */
export async function ensureMetallbNative(log?: (s: string) => void): Promise<MetallbNative> {
  const version = metallbNativeVersion();
  const dir = join(GO_CACHE_DIR, `metallb-native-${version}-${hashFiles(DIR, ['go.mod', 'go.sum'], ['image-v1'])}`);
  const tag = version.replace(/^v/, '');
  const images: string[] = [];
  let manifest = readFileSync(join(moduleDir(version), 'config/manifests/metallb-native.yaml'), 'utf8');
  for (const part of ['controller', 'speaker'] as const) {
    const bin = await ensureGoBuild(
      {
        label: `MetalLB's ${part} ${version} (static)`,
        moduleDir: DIR,
        pkg: `go.universe.tf/metallb/${part}`,
        out: join(dir, part),
        ldflags: '-s -w',
        env: { CGO_ENABLED: '0' },
      },
      log,
    );
    const path = join(dir, `${part}-image.tar`);
    if (!existsSync(path)) buildImage(bin, part, `${part}-${tag}`, path);
    images.push(path);
    const upstream = `image: quay.io/metallb/${part}:${version}\n`;
    if (manifest.split(upstream).length !== 2) throw new Error(`metallb-native.yaml should name quay.io/metallb/${part}:${version} once`);
    manifest = manifest.replace(upstream, `image: ${METALLB_IMAGE_REPO}:${part}-${tag}\n`);
  }
  return { version, images, manifest };
}

/** The module's source directory (downloaded into the module cache if needed). */
function moduleDir(version: string): string {
  const r = spawnSync(GO, ['mod', 'download', '-json', `go.universe.tf/metallb@${version}`], { cwd: DIR, encoding: 'utf8' });
  const d = r.status === 0 ? (JSON.parse(r.stdout) as { Dir?: string }).Dir : undefined;
  if (!d) throw new Error(`go mod download go.universe.tf/metallb@${version} failed: ${r.stderr}`);
  return d;
}

function buildImage(bin: string, name: string, tag: string, out: string): void {
  const w = mkdtempSync(join(tmpdir(), 'mooring-metallb-image-'));
  try {
    const um = (...args: string[]) => sh('umoci', args);
    const layout = join(w, 'layout');
    const ref = `${layout}:${tag}`;
    const bundle = join(w, 'bundle');
    um('init', '--layout', layout);
    um('new', '--image', ref);
    um('unpack', '--image', ref, bundle);
    sh('cp', [bin, join(bundle, 'rootfs', name)]);
    sh('mkdir', ['-p', join(bundle, 'rootfs', 'tmp')]);
    um('repack', '--image', ref, bundle);
    um('config', '--image', ref, '--config.entrypoint', `/${name}`);
    um('gc', '--layout', layout);
    const tmp = `${out}.tmp${process.pid}`;
    sh('tar', ['-C', layout, '-cf', tmp, '.']);
    renameSync(tmp, out);
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
}
