// `npm run gen:crds`: writes deploy/crds/*.yaml from src/api/metallb.ts (the single source of
// truth). `--check` exits 1 when the committed files differ from a fresh rendering.
import { readFileSync, writeFileSync, readdirSync, unlinkSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdFiles } from './crd-files.js';

const dir = join(import.meta.dirname, '..', 'deploy', 'crds');
const check = process.argv.includes('--check');
const files = renderCrdFiles();
let stale = 0;
if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
for (const [name, text] of files) {
  const p = join(dir, name);
  const old = existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  if (old === text) continue;
  stale++;
  if (check) console.error(`gen:crds: ${p} is out of date`);
  else {
    writeFileSync(p, text);
    console.log(`gen:crds: wrote ${p}`);
  }
}
for (const f of readdirSync(dir)) {
  if (f.endsWith('.yaml') && !files.has(f)) {
    stale++;
    if (check) console.error(`gen:crds: ${join(dir, f)} is not generated`);
    else {
      unlinkSync(join(dir, f));
      console.log(`gen:crds: removed ${f}`);
    }
  }
}
if (check && stale > 0) {
  console.error('gen:crds: run `npm run gen:crds` and commit the result');
  process.exit(1);
}
console.log(`gen:crds: ${files.size} CRDs ${check ? 'up to date' : 'in ' + dir}`);
