// Bundles each component (src/bin/{controller,speaker,mooringctl,viz}.ts) into one minified ES module
// under dist/bundle/ with esbuild, the image's entry points (bin/mooring with MOORING_DIST=1).
// Why: a process that loads @kubernetes/client-node as ~600 separate modules keeps each module's
// record, source text and scope alive (the speaker idled at ~110 MB); one bundle holds ~half.
// Native addons (pcap, koffi) stay external: they are loaded from node_modules at run time.
// Code splitting: what a component imports dynamically (the speaker's BGP/BFD runtime, its pcap
// announcer) goes to dist/bundle/chunks/ and is loaded only when used; shared code goes there
// too. Measured on the speaker up to its NATS connect (modules loaded, idle): 89.3 MB RSS as one
// module, 77.0 MB split, 76.5 MB split with BGP/BFD loaded on the first peer. @kubernetes/client-node
// through lean-client-node.mjs (no cluster, log announcer, 4 s after start): 68.5 → 61.1–62.1 MB.
// `node scripts/bundle.mjs` (part of `npm run build`).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { leanClientNode } from './lean-client-node.mjs';

const entries = ['controller', 'speaker', 'mooringctl', 'viz'];
const t0 = Date.now();
const { metafile } = await build({
  entryPoints: Object.fromEntries(entries.map((e) => [e, `src/bin/${e}.ts`])),
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  // Minified names would hide which function failed; keep them (costs ~3 % of the size).
  keepNames: true,
  sourcemap: 'linked',
  // esbuild builds the visualizer's page only where no prebuilt assets exist (development).
  external: ['pcap', 'koffi', 'esbuild'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // CommonJS dependencies inside an ES module bundle still call require() for Node's builtins.
  banner: { js: "import { createRequire as __mooringRequire } from 'node:module'; const require = __mooringRequire(import.meta.url);" },
  // @kubernetes/client-node: what a component does not use is dropped or loaded on first use (lean-client-node.mjs).
  plugins: [leanClientNode],
  logLevel: 'warning',
  metafile: true,
});
// The speaker must not load client-node's generated API classes at start (a barrel import of
// '@kubernetes/client-node' anywhere in its static graph did: +13.7 MB RSS). What its entry loads
// statically (not through import()) is checked here, so such an import fails the build.
const staticOutputs = (entry) => {
  const seen = new Set();
  const queue = [`dist/bundle/${entry}.mjs`];
  while (queue.length > 0) {
    const out = queue.pop();
    if (seen.has(out) || !metafile.outputs[out]) continue;
    seen.add(out);
    for (const i of metafile.outputs[out].imports) if (i.kind === 'import-statement') queue.push(i.path);
  }
  return [...seen];
};
const speakerStatic = staticOutputs('speaker');
const heavy = speakerStatic
  .flatMap((o) => Object.keys(metafile.outputs[o].inputs))
  .filter((f) => /client-node\/dist\/(gen\/apis\/|index\.js$)/.test(f));
if (heavy.length > 0) throw new Error(`the speaker loads client-node's generated APIs at start, e.g. ${heavy.slice(0, 3).join(', ')}`);
const staticMB = speakerStatic.reduce((n, o) => n + metafile.outputs[o].bytes, 0) / 1048576;
process.stdout.write(`speaker loads ${staticMB.toFixed(2)} MB of bundle at start (${speakerStatic.length} files)\n`);
for (const e of entries) process.stdout.write(`dist/bundle/${e}.mjs ${(statSync(`dist/bundle/${e}.mjs`).size / 1048576).toFixed(1)} MB\n`);
// The visualizer's page script and laid-out statecharts, prebuilt (`mooring viz` reads them through
// MOORING_VIZ_ASSETS, set by bin/mooring in dist mode): the image carries neither esbuild nor a layout run.
writeFileSync(
  'dist/bundle/viz-assets.json',
  execFileSync(process.execPath, ['--import', 'tsx', 'src/viz/assets.ts'], { maxBuffer: 64 << 20 }),
);
process.stdout.write(`dist/bundle/viz-assets.json ${(statSync('dist/bundle/viz-assets.json').size / 1024).toFixed(0)} KB\n`);
process.stdout.write(`bundled in ${Date.now() - t0} ms\n`);
