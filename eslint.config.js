// ESLint flat config. Two fences keep the layers of docs/architecture.md honest:
//   purity  src/machines, src/domain, src/codecs and src/api import no I/O module and read no
//           clock or randomness; time reaches machines only through XState delays, I/O only
//           through actors and adapters;
//   layers  an import points down the stack only (bin → adapters → actors → machines →
//           domain/codecs/api), and no module imports itself back through a cycle.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const ioModules = [
  'net',
  'node:net',
  'dgram',
  'node:dgram',
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'child_process',
  'node:child_process',
  'http',
  'node:http',
  'https',
  'node:https',
  'http2',
  'node:http2',
  'tls',
  'node:tls',
  'os',
  'node:os',
  'worker_threads',
  'node:worker_threads',
  '@kubernetes/client-node',
  'pcap',
  'koffi',
  'nats',
  'undici',
];

// Layer fences (import-x/no-restricted-paths resolves every import, so `../../actors/x.js`
// from a nested folder is caught as well). Test files may cross layers (a codec test may check
// an actor's use of it), so they are left out below, as for the purity fence. src/actors may
// import src/adapters today only from tests; it is not fenced yet (ports are on their way in).
const pureLayers = ['./src/domain', './src/codecs', './src/api'];
const layerZones = [
  ...pureLayers.map((target) => ({
    target,
    from: ['./src/machines', './src/actors', './src/adapters', './src/bin'],
    message: 'pure layer: domain, codecs and api sit below machines, actors, adapters and bin (docs/architecture.md "Layers")',
  })),
  {
    target: './src/machines',
    from: ['./src/actors', './src/adapters', './src/bin'],
    message:
      'machines name the actors they invoke; the real ones are bound with machine.provide where the machine runs (docs/architecture.md "Layers")',
  },
  {
    target: './src/actors',
    from: ['./src/bin'],
    message: 'src/bin is a composition root: nothing imports it (docs/architecture.md "Layers")',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'test/kube/bin/**', '**/*.d.ts', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'simulations/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // no-cycle follows imports through TypeScript sources: parse them with the TS parser.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      // Sources import `./x.js` for `./x.ts` (NodeNext); resolve that the way TypeScript does.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js', '.mjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'] },
        }),
      ],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
    },
  },
  {
    files: ['src/machines/**/*.ts', 'src/domain/**/*.ts', 'src/codecs/**/*.ts', 'src/api/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: 'pure layer: put I/O behind a port in src/actors or src/adapters' })),
          patterns: [
            { group: ['@nats-io/*'], message: 'pure layer: NATS lives in src/adapters' },
            {
              group: ['@opentelemetry/*'],
              message: 'pure layer: OpenTelemetry lives in src/adapters (spans through src/actors/trace-port.ts)',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'pure layer: use an XState `after` delay' },
        { name: 'setInterval', message: 'pure layer: use an XState `after` delay' },
        { name: 'process', message: 'pure layer: pass configuration in' },
        { name: 'fetch', message: 'pure layer: I/O belongs in adapters' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'pure layer: time comes from the caller or the XState clock' },
        { object: 'Math', property: 'random', message: 'pure layer: pass a seeded random source' },
        { object: 'performance', property: 'now', message: 'pure layer: time comes from the caller' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
