// Tracing's switch and fence (docs/observability.md): on only with an OTLP endpoint;
// no pure layer may import OpenTelemetry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { tracingWanted } from './otel-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('tracing is on only with an OTLP endpoint, and off when the SDK or the traces exporter is disabled', () => {
  assert.equal(tracingWanted({}), false);
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), false);
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), true);
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }), true);
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }), false);
  assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }), false);
});

test('pure layers cannot import OpenTelemetry (ESLint fence); adapters can', async () => {
  const eslint = new ESLint({
    cwd: root,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  });
  const code = "import { trace } from '@opentelemetry/api';\nexport const t = trace;\n";
  for (const layer of ['domain', 'machines', 'codecs', 'api']) {
    const [r] = await eslint.lintText(code, { filePath: `src/${layer}/otel-probe.ts` });
    assert.ok(
      r?.messages.some((m) => m.ruleId === 'no-restricted-imports' && /OpenTelemetry lives in src\/adapters/.test(m.message)),
      `${layer}: ${JSON.stringify(r?.messages)}`,
    );
  }
  const [ok] = await eslint.lintText(code, { filePath: 'src/adapters/otel-probe.ts' });
  assert.deepEqual(ok?.messages, []);
});
