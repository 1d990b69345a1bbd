#!/usr/bin/env node
// `npm run image`: builds Mooring's container image without Docker or a registry and writes it as an
// OCI image archive: dist/image/mooring-<version>.oci.tar, named ghcr.io/mooring/mooring:<version>
// (`ctr -n k8s.io images import dist/image/mooring-<version>.oci.tar`, `docker load -i ...`,
// `podman load -i ...`). The Dockerfile builds the equivalent image where Docker is available.
//
// Two layers, assembled with umoci:
//   1. base: a Debian trixie root file system made by mmdebstrap from Debian packages only: Node.js
//      (Debian's nodejs 20.19, the same Node-API/ABI 115 as the Node 20 the addons are built with),
//      libpcap, iproute2 (`ip link set ... allmulticast`), dash (/bin/sh for bin/mooring) and the CA
//      certificates; documentation, locales, perl and debconf are removed. Cached by its recipe.
//   2. app: bin/mooring, package.json, the esbuild bundle (dist/bundle, built in a copy of the
//      sources, never in the checkout) and the only node_modules the bundle loads at run time (the
//      native addons pcap and koffi). Cached by the hash of its inputs: with no source change the
//      whole build is a cache hit.
// Needs root (mmdebstrap --mode=root; as another user: --mode=unshare) and mmdebstrap, umoci, tar.
// Options: --force (rebuild the app layer), --rebuild-base, --out FILE, --frr (the variant for the
// FRR backend, chart value speaker.frr.enabled: Debian's frr and frr-pythontools added to the base,
// for vtysh and /usr/lib/frr/frr-reload.py with python3; named ghcr.io/mooring/mooring:<version>-frr,
// written to dist/image/mooring-<version>-frr.oci.tar).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = pkg.version;
export const REPOSITORY = 'ghcr.io/mooring/mooring';
const args = process.argv.slice(2);
const force = args.includes('--force');
const rebuildBase = args.includes('--rebuild-base');
const frr = args.includes('--frr');
const variant = frr ? '-frr' : '';
const outIdx = args.indexOf('--out');
const out = outIdx >= 0 ? args[outIdx + 1] : join(root, 'dist', 'image', `mooring-${version}${variant}.oci.tar`);
const cache = join(process.env.MOORING_CACHE ?? join(homedir(), '.cache', 'mooring'), 'image');
const layout = join(cache, 'layout');
const t0 = Date.now();
let step = 0;
const STEPS = 5;
const say = (s) => process.stdout.write(`image: ${s}\n`);
const progress = (s) => say(`[${++step}/${STEPS}] ${s} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
const run = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
const quiet = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });

// One build at a time per cache (several worktrees share ~/.cache/mooring/image): re-run under flock.
mkdirSync(cache, { recursive: true });
if (process.env.MOORING_IMAGE_LOCKED !== cache) {
  const r = spawnSync('flock', [join(cache, '.lock'), process.execPath, new URL(import.meta.url).pathname, ...args], {
    stdio: 'inherit',
    env: { ...process.env, MOORING_IMAGE_LOCKED: cache },
  });
  process.exit(r.status ?? 1);
}

for (const tool of ['mmdebstrap', 'umoci', 'tar']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`image: missing ${tool}: apt-get install -y mmdebstrap umoci (scripts/install-deps.sh)`);
    process.exit(1);
  }
}

// ---- 1. base layer (Debian packages) ---------------------------------------------------------
const SUITE = 'trixie';
const MIRROR = process.env.MOORING_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const PACKAGES = [
  ...['nodejs', 'libpcap0.8t64', 'libstdc++6', 'iproute2', 'dash', 'ca-certificates'],
  // The FRR backend runs vtysh and frr-reload.py (python3) against the FRR container of its Pod.
  ...(frr ? ['frr', 'frr-pythontools'] : []),
];
// Run in the new root ($1) after the packages are extracted (variant extract: no maintainer scripts
// run, so what they would do for us is done here; and it runs no customize hooks).
const CUSTOMIZE = [
  // /bin/sh for bin/mooring; the CA bundle that ca-certificates' postinst would build.
  'test -e "$1/usr/bin/sh" || ln -s dash "$1/usr/bin/sh"',
  'mkdir -p "$1/etc/ssl/certs" && cat "$1"/usr/share/ca-certificates/mozilla/*.crt > "$1/etc/ssl/certs/ca-certificates.crt"',
  // Users for runAsUser 65534 (the controller) and root (the speaker).
  'printf "root:x:0:0:root:/root:/usr/sbin/nologin\\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\\n" > "$1/etc/passwd"',
  'printf "root:x:0:\\nnogroup:x:65534:\\n" > "$1/etc/group"',
  'mkdir -p "$1/tmp" && chmod 1777 "$1/tmp"',
  // Not needed at run time: docs, man pages, locales, perl and debconf (ca-certificates' helpers),
  // glibc's iconv modules, npm's corepack. (mmdebstrap itself cleans apt's state afterwards.)
  'rm -rf "$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/info "$1"/usr/share/locale "$1"/usr/share/lintian' +
    ' "$1"/usr/share/bash-completion "$1"/usr/share/perl5 "$1"/usr/lib/x86_64-linux-gnu/perl-base "$1"/usr/bin/perl*' +
    ' "$1"/usr/share/debconf "$1"/usr/bin/debconf* "$1"/etc/debconf.conf "$1"/usr/lib/x86_64-linux-gnu/gconv' +
    ' "$1"/usr/share/nodejs/corepack "$1"/usr/bin/corepack "$1"/usr/share/nodejs/@types "$1"/usr/share/nodejs/undici-types',
];
const baseKey = createHash('sha256')
  .update(JSON.stringify({ SUITE, MIRROR, PACKAGES, CUSTOMIZE, v: 2 }))
  .digest('hex')
  .slice(0, 12);
const baseTag = `base-${baseKey}`;

// ---- 2. app layer inputs ----------------------------------------------------------------------
const nodeModules = realpathSync(join(root, 'node_modules'));
// What the bundle loads from node_modules at run time (scripts/bundle.mjs: external pcap, koffi).
const RUNTIME_MODULES = [
  { dir: 'pcap', skip: ['build/Release/obj.target', 'examples', 'spec', 'node_modules', 'Gruntfile.js', 'node_ko_article.md'] },
  { dir: 'koffi', skip: ['doc', 'vendor'] },
  { dir: '@koromix/koffi-linux-x64', skip: [] },
];
const APP_FILES = ['bin/mooring', 'package.json'];

function walk(dir, skip = [], base = dir) {
  const outList = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const rel = relative(base, p);
    if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
    if (e.isDirectory()) outList.push(...walk(p, skip, base));
    else outList.push(p);
  }
  return outList.sort();
}

function appKey() {
  const h = createHash('sha256');
  const files = [
    ...walk(join(root, 'src')).filter((f) => !f.endsWith('.test.ts')),
    ...[
      'package.json',
      'package-lock.json',
      'bin/mooring',
      'scripts/bundle.mjs',
      'scripts/lean-client-node.mjs',
      'scripts/image.mjs',
      'tsconfig.json',
    ].map((f) => join(root, f)),
    ...RUNTIME_MODULES.flatMap((m) => walk(join(nodeModules, m.dir), m.skip)),
  ];
  for (const f of files) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  h.update(baseTag);
  return h.digest('hex').slice(0, 16);
}

function tarDir(dir, file) {
  // Reproducible: sorted names, fixed owner and mtime.
  run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', file, '.']);
}

function ensureLayout() {
  if (!existsSync(join(layout, 'index.json'))) {
    mkdirSync(dirname(layout), { recursive: true });
    run('umoci', ['init', '--layout', layout]);
  }
}

const tags = () => quiet('umoci', ['ls', '--layout', layout]).split('\n').filter(Boolean);

// ---- build -----------------------------------------------------------------------------------
mkdirSync(cache, { recursive: true });
ensureLayout();
const key = appKey();
const stamp = `${out}.key`;
if (!force && !rebuildBase && existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === key) {
  say(
    `up to date: ${relative(process.cwd(), out)} (${REPOSITORY}:${version}${variant}, inputs ${key}, ${(statSync(out).size / 1048576).toFixed(1)} MB)`,
  );
  process.exit(0);
}

if (rebuildBase || !tags().includes(baseTag)) {
  progress(`base layer: mmdebstrap ${SUITE} (${PACKAGES.join(' ')})`);
  const work = join(cache, `base-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const rootfs = join(work, 'rootfs.tar');
    const mode = process.getuid?.() === 0 ? 'root' : 'unshare';
    run(
      'mmdebstrap',
      [
        `--mode=${mode}`,
        '--variant=extract',
        '--quiet',
        '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
        `--include=${PACKAGES.join(',')}`,
        ...CUSTOMIZE.map((c) => `--extract-hook=${c}`),
        SUITE,
        rootfs,
        MIRROR,
      ],
      { env: { ...process.env, SOURCE_DATE_EPOCH: '0' } },
    );
    // umoci adds layers from uncompressed archives; a fresh image, then the root file system.
    if (tags().includes(baseTag)) run('umoci', ['rm', '--image', `${layout}:${baseTag}`]);
    run('umoci', ['new', '--image', `${layout}:${baseTag}`]);
    run('umoci', [
      'raw',
      'add-layer',
      '--image',
      `${layout}:${baseTag}`,
      '--history.created_by',
      `mmdebstrap ${SUITE} ${PACKAGES.join(' ')}`,
      rootfs,
    ]);
    say(`base layer: ${(statSync(rootfs).size / 1048576).toFixed(1)} MB uncompressed`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
} else progress(`base layer: cached (${baseTag})`);

progress('app layer: esbuild bundle in a copy of the sources');
const work = join(cache, `app-${process.pid}`);
rmSync(work, { recursive: true, force: true });
try {
  const build = join(work, 'build');
  mkdirSync(build, { recursive: true });
  for (const f of ['src', 'scripts', 'bin', 'package.json', 'tsconfig.json']) cpSync(join(root, f), join(build, f), { recursive: true });
  symlinkSync(nodeModules, join(build, 'node_modules'));
  run(process.execPath, ['scripts/bundle.mjs'], { cwd: build });

  progress('app layer: runtime files (bundle, bin/mooring, native addons pcap and koffi)');
  const app = join(work, 'layer', 'app');
  mkdirSync(join(app, 'dist', 'bundle'), { recursive: true });
  for (const f of APP_FILES) {
    mkdirSync(dirname(join(app, f)), { recursive: true });
    copyFileSync(join(root, f), join(app, f));
  }
  execFileSync('chmod', ['0755', join(app, 'bin', 'mooring')]);
  // The bundles, their split chunks (dist/bundle/chunks) and the visualizer's prebuilt assets; not
  // the source maps (linked): they are 3× the size and node does not read them by default.
  for (const f of walk(join(build, 'dist', 'bundle'), []).filter((x) => /\.(mjs|json)$/.test(x))) {
    const dest = join(app, 'dist', 'bundle', relative(join(build, 'dist', 'bundle'), f));
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(f, dest);
  }
  for (const m of RUNTIME_MODULES) {
    for (const f of walk(join(nodeModules, m.dir), m.skip)) {
      const dest = join(app, 'node_modules', m.dir, relative(join(nodeModules, m.dir), f));
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(f, dest);
    }
  }
  const layerTar = join(work, 'app.tar');
  tarDir(join(work, 'layer'), layerTar);
  say(`app layer: ${(statSync(layerTar).size / 1048576).toFixed(1)} MB uncompressed`);

  progress('assemble: umoci add-layer and config');
  const tag = `app${variant}-${key}`;
  if (tags().includes(tag)) run('umoci', ['rm', '--image', `${layout}:${tag}`]);
  run('umoci', [
    'raw',
    'add-layer',
    '--image',
    `${layout}:${baseTag}`,
    '--tag',
    tag,
    '--history.created_by',
    `mooring ${version}${variant} app`,
    layerTar,
  ]);
  run('umoci', [
    'config',
    '--image',
    `${layout}:${tag}`,
    '--config.entrypoint',
    '/app/bin/mooring',
    '--clear=config.cmd',
    '--config.workingdir',
    '/app',
    '--config.env',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--config.env',
    'MOORING_DIST=1',
    '--config.env',
    'NODE_ENV=production',
    '--config.label',
    `org.opencontainers.image.version=${version}${variant}`,
    '--config.label',
    'org.opencontainers.image.title=mooring',
    '--config.label',
    `org.opencontainers.image.description=${pkg.description}`,
    '--config.label',
    `org.opencontainers.image.licenses=${pkg.license}`,
    '--created',
    '1970-01-01T00:00:00Z',
    '--history.created_by',
    'mooring config',
  ]);

  progress(`export: ${relative(process.cwd(), out)}`);
  exportImage(tag, out);
  writeFileSync(stamp, `${key}\n`);
  // Old app tags are garbage: keep the base and this build only.
  const sameVariant = (t) => t.startsWith(`app${variant}-`) && (frr || !t.startsWith('app-frr-'));
  for (const t of tags()) if (sameVariant(t) && t !== tag) run('umoci', ['rm', '--image', `${layout}:${t}`]);
  run('umoci', ['gc', '--layout', layout]);
} finally {
  rmSync(work, { recursive: true, force: true });
}
say(
  `wrote ${relative(process.cwd(), out)}: ${REPOSITORY}:${version}${variant}, ${(statSync(out).size / 1048576).toFixed(1)} MB, in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);

/** Writes a fresh OCI layout holding only image `tag` (named REPOSITORY:version) as a tar archive. */
function exportImage(tag, file) {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!desc) throw new Error(`image: tag ${tag} not in ${layout}`);
  const blob = (d) => join(layout, 'blobs', ...d.split(':'));
  const manifest = JSON.parse(readFileSync(blob(desc.digest), 'utf8'));
  const dir = join(work, 'export');
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const d of [desc.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
    copyFileSync(blob(d), join(dir, 'blobs', ...d.split(':')));
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const annotations = {
    // containerd (ctr import, the kubelet's image store) and Docker name the image from this one.
    'io.containerd.image.name': `${REPOSITORY}:${version}${variant}`,
    // The OCI tag (umoci, skopeo, podman).
    'org.opencontainers.image.ref.name': `${version}${variant}`,
  };
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...desc, annotations }] }),
  );
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp${process.pid}`;
  tarDir(dir, tmp);
  execFileSync('mv', [tmp, file]);
}
