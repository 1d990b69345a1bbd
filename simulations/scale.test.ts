// Scale run: 100 speakers × 10,000 service IPs on the simulator (heartbeat 1 s × 3 at this size),
// one owner killed, invariants checked on every clock step. The 1,000 × 10,000 run from the issue
// does not fit a test budget here (see docs/coordination.md, "Scale"); run it by hand with
// `npx tsx simulations/scale.ts 1000 10000`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaleRun } from './scale.js';

test('100 nodes × 10,000 IPs: one announcer per IP, only the victim’s IPs move, invariants hold', async () => {
  const r = await scaleRun(100, 10_000, 1000);
  assert.deepEqual(r.violations, []);
  assert.ok(r.lostByVictim > 0);
  assert.equal(r.moved, r.lostByVictim);
  // Simulated time (deterministic): detection is 3 × 1 s at this size.
  assert.ok(r.maxFailoverMs <= 3 * 1000 + 100, `failover ${r.maxFailoverMs} ms (simulated)`);
});
