// Scale run from the issue: 1,000 speakers × 10,000 service IPs on the simulator (heartbeat 1 s × 3
// at this size), one owner killed; invariants I1–I3 checked on every clock step, the full I2
// (every IP against the truthful election) every half interval once steady, before and after the
// kill. Figures (wall time, memory) are printed as diagnostics, never asserted; see
// docs/coordination.md "Scale". Any size by hand: `npx tsx simulations/scale.ts [nodes] [ips]`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaleRun } from './scale.js';

test('1,000 nodes × 10,000 IPs: one announcer per IP, only the victim’s IPs move, invariants hold', async (t) => {
  const r = await scaleRun(1000, 10_000, 1000);
  t.diagnostic(JSON.stringify({ wallMs: r.wallMs, rssMaxMb: r.rssMaxMb, heapMb: r.heapMb, published: r.published, moved: r.moved }));
  assert.deepEqual(r.violations, []);
  assert.ok(r.steadyChecksBefore > 0 && r.steadyChecksAfter > 0, 'I2 was never checked over every IP');
  assert.ok(r.lostByVictim > 0);
  assert.equal(r.moved, r.lostByVictim);
  // Simulated time (deterministic): detection is 3 × 1 s at this size, plus one sweep.
  assert.ok(r.maxFailoverMs <= 3 * 1000 + 100, `failover ${r.maxFailoverMs} ms (simulated)`);
});
