// ESLint flat config. The purity fence (STYLE.md, DESIGN.md "Code layers"): src/machines,
// src/domain and src/codecs import no I/O module and read no clock or randomness; time reaches
// machines only through XState delays, I/O only through actors and adapters.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'net', 'node:net', 'dgram', 'node:dgram', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises',
  'child_process', 'node:child_process', 'http', 'node:http', 'https', 'node:https',
  'http2', 'node:http2', 'tls', 'node:tls', 'os', 'node:os', 'worker_threads', 'node:worker_threads',
  '@kubernetes/client-node', 'pcap', 'koffi', 'nats', 'undici',
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
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/machines/**/*.ts', 'src/domain/**/*.ts', 'src/codecs/**/*.ts', 'src/api/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules.map((name) => ({ name, message: 'pure layer: put I/O behind a port in src/actors or src/adapters' })),
        patterns: [{ group: ['@nats-io/*'], message: 'pure layer: NATS lives in src/adapters' }],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'pure layer: use an XState `after` delay' },
        { name: 'setInterval', message: 'pure layer: use an XState `after` delay' },
        { name: 'process', message: 'pure layer: pass configuration in' },
        { name: 'fetch', message: 'pure layer: I/O belongs in adapters' },
      ],
      'no-restricted-properties': ['error',
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
