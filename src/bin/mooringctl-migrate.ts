// `mooringctl migrate`: MetalLB's legacy ConfigMap → metallb.io objects (src/domain/migrate.ts does
// the conversion and checks the result with parseConfig); this file reads and writes the files.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { migrateText, renderObjects } from '../domain/migrate.js';

export const MIGRATE_USAGE = `  migrate -f FILE [-o FILE] [-n NAMESPACE]
      Convert MetalLB's legacy ConfigMap (the ConfigMap object, or only its "config" key's YAML;
      -f - reads stdin) to IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile
      and Community objects, named as MetalLB's converter names them, in the ConfigMap's namespace
      (or NAMESPACE). The result is checked as \`validate\` checks it; written to -o FILE or stdout.
      Renames and warnings go to stderr. Exit 0 converted, 1 problems (one line each: field:
      value: message), 2 usage, 3 internal bug.
`;

export function migrateCommand(args: string[]): number {
  let input: string | undefined;
  let output: string | undefined;
  let namespace: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const value = (what: string): string | undefined => {
      const v = args[++i];
      if (v === undefined || v === '') console.error(`mooringctl migrate: ${a} needs ${what}`);
      return v || undefined;
    };
    if (a === '-f' || a === '--filename') {
      if ((input = value('a file (or - for stdin)')) === undefined) return 2;
    } else if (a === '-o' || a === '--output') {
      if ((output = value('a file')) === undefined) return 2;
    } else if (a === '-n' || a === '--namespace') {
      if ((namespace = value('a namespace')) === undefined) return 2;
    } else {
      console.error(`mooringctl migrate: unexpected argument ${JSON.stringify(a)}\n\nusage:\n${MIGRATE_USAGE}`);
      return 2;
    }
  }
  if (input === undefined) {
    console.error(`mooringctl migrate: -f FILE is required\n\nusage:\n${MIGRATE_USAGE}`);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(input === '-' ? 0 : input, 'utf8');
  } catch (e) {
    console.error(`${input}: cannot read: ${(e as Error).message}`);
    return 1;
  }
  const label = input === '-' ? '(stdin)' : input;
  const r = migrateText(text, namespace);
  if (!r.ok) {
    for (const p of r.problems) console.error(`${label}: ${p.field ? `${p.field}: ` : ''}${p.message}`);
    const n = r.problems.length;
    console.error(`mooringctl migrate: ${n} problem${n === 1 ? '' : 's'} in ${label}: nothing written`);
    return 1;
  }
  for (const n of r.notes) console.error(`${label}: ${n}`);
  const yaml = renderObjects(
    r.objects,
    `Converted by mooringctl migrate from MetalLB's legacy configuration (${input === '-' ? 'stdin' : basename(input)}).`,
  );
  if (output === undefined) process.stdout.write(yaml);
  else {
    try {
      writeFileSync(output, yaml);
    } catch (e) {
      console.error(`${output}: cannot write: ${(e as Error).message}`);
      return 1;
    }
  }
  const n = r.objects.length;
  console.error(`mooringctl migrate: ${n} object${n === 1 ? '' : 's'} in namespace ${r.namespace}${output ? ` written to ${output}` : ''}`);
  return 0;
}
