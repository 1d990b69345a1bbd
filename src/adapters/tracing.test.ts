// Tracing's switch and fence (docs/observability.md): on only with an OTLP endpoint;
// no pure layer may import OpenTelemetry; with tracing on, /metrics is the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

test('tracing on: the NodeSDK owns the MeterProvider and /metrics renders exactly as with tracing off', async () => {
  // Each in a child process: the global MeterProvider can be set once per process.
  const script = `
    const { openTelemetry } = await import('./src/adapters/telemetry.ts');
    const t = await openTelemetry('probe');
    t.meter.createCounter('metallb_layer2_requests_received', { description: 'requests' }).add(3, { ip: '203.0.113.1' });
    t.meter.createObservableGauge('mooring_probe_state', { description: 'state' }).addCallback((r) => r.observe(1, { state: 'up' }));
    process.stdout.write(JSON.stringify({ tracer: t.tracer !== undefined, text: await t.render() }));
    await t.shutdown();
  `;
  const run = (endpoint: string): { tracer: boolean; text: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: '', OTEL_TRACES_EXPORTER: '' },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { tracer: boolean; text: string };
  };
  const off = run('');
  const on = run('http://127.0.0.1:9');
  assert.equal(off.tracer, false);
  assert.equal(on.tracer, true);
  assert.match(off.text, /^metallb_layer2_requests_received\{ip="203.0.113.1"\} 3$/m);
  assert.equal(on.text, off.text);
});
