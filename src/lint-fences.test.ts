// The layer fences of eslint.config.js (docs/architecture.md "Layers"), exercised: ESLint lints
// small in-memory modules placed, by file path, inside a layer, and each import that crosses a
// fence downwards-to-upwards must be reported by the fence's rule; an allowed import must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('..', import.meta.url));
// The project's own config, narrowed to the import rules: the fences need no types, so the probes
// (which exist only in memory, outside the TypeScript project) are parsed without a type program.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ruleId.startsWith('import-x/'),
});

async function lint(filePath: string, code: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, `no lint result for ${filePath}`);
  return result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message }));
}

const fenceCases = [
  {
    desc: 'domain → actors',
    filePath: 'src/domain/fence-probe.ts',
    code: "import { LogAnnouncer } from '../actors/log-announcer.js';\nexport const x = LogAnnouncer;\n",
  },
  {
    desc: 'codecs (nested folder) → machines',
    filePath: 'src/codecs/bgp/fence-probe.ts',
    code: "import { bgpSessionMachine } from '../../machines/bgp-session.machine.js';\nexport const x = bgpSessionMachine;\n",
  },
  {
    desc: 'machines → adapters',
    filePath: 'src/machines/fence-probe.ts',
    code: "import { createLogger } from '../adapters/log.js';\nexport const x = createLogger;\n",
  },
  {
    desc: 'api → bin',
    filePath: 'src/api/fence-probe.ts',
    code: "import type { X } from '../bin/controller.js';\nexport type Y = X;\n",
  },
  {
    desc: 'actors → bin',
    filePath: 'src/actors/fence-probe.ts',
    code: "export { x } from '../bin/speaker.js';\n",
  },
];

for (const c of fenceCases) {
  test(`layer fence: ${c.desc} is reported`, async () => {
    const messages = await lint(c.filePath, c.code);
    const fence = messages.filter((m) => m.ruleId === 'import-x/no-restricted-paths');
    assert.equal(fence.length, 1, `${c.desc}: ${JSON.stringify(messages)}`);
    assert.match(fence[0]!.message, /docs\/architecture\.md/);
  });
}

test('layer fence: an import down the stack passes (machines → domain, codecs)', async () => {
  const code = [
    "import { detectTimeUs } from '../domain/bfd-timers.js';",
    "import { BfdDiag } from '../codecs/bfd/control-packet.js';",
    'export const x = [detectTimeUs, BfdDiag];',
    '',
  ].join('\n');
  assert.deepEqual(await lint('src/machines/fence-probe.ts', code), []);
});

test('no-cycle: a module importing its own importer is reported', async () => {
  // bfd-timers.ts re-exports prng.ts; the probe stands in for prng.ts and imports bfd-timers.ts.
  const code = "import { detectTimeUs } from './bfd-timers.js';\nexport const x = detectTimeUs;\n";
  const messages = await lint('src/domain/prng.ts', code);
  assert.deepEqual(
    messages.map((m) => m.ruleId),
    ['import-x/no-cycle'],
    JSON.stringify(messages),
  );
});
