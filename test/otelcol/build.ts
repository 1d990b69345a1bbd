// Builds the tests' OpenTelemetry Collector once (cached in ~/.cache/mooring; scripts/test.mjs runs
// this before the integration tier, as it builds the apiserver): `node --import tsx test/otelcol/build.ts`.
import { ensureOtelcol } from '../lib/otelcol.js';

process.stdout.write(`${await ensureOtelcol()}\n`);
