// `npm run gen:manifest`: writes deploy/mooring.yaml (the one-file install) and the generated files
// of the Helm chart deploy/helm/mooring from the kustomize sources in deploy/ (scripts/install-files.ts).
// `--check` exits 1 when a committed file differs from a fresh rendering.
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderInstallFiles, staleTemplates } from './install-files.js';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const files = renderInstallFiles();
let stale = 0;
for (const [rel, text] of files) {
  const p = join(root, rel);
  const old = existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  if (old === text) continue;
  stale++;
  if (check) console.error(`gen:manifest: ${rel} is out of date`);
  else {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    console.log(`gen:manifest: wrote ${rel}`);
  }
}
for (const rel of staleTemplates(files)) {
  stale++;
  if (check) console.error(`gen:manifest: ${rel} is no longer generated`);
  else {
    unlinkSync(join(root, rel));
    console.log(`gen:manifest: removed ${rel}`);
  }
}
if (check && stale > 0) {
  console.error('gen:manifest: run `npm run gen:manifest` and commit the result');
  process.exit(1);
}
console.log(`gen:manifest: ${files.size} files ${check ? 'up to date' : 'generated'}`);
