// Builds MetalLB's own controller and speaker and their images once (cached in ~/.cache/mooring),
// for the MetalLB → Mooring move suite (test/integration/cluster/metallb-move.suite.ts).
// scripts/test.mjs runs this before the integration tier, as it builds the apiserver, so no test's
// timeout has to cover a cold Go build: `node --import tsx test/metallb-native/build.ts`.
import { ensureMetallbNative } from '../lib/metallb-native.js';

const m = await ensureMetallbNative((s) => process.stdout.write(`${s}\n`));
process.stdout.write(`${m.images.join('\n')}\n`);
