import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntervalSet } from './interval-set.js';

test('a fresh /64 is one interval', () => {
  const s = new IntervalSet(1n << 64n);
  assert.equal(s.intervals, 1);
  assert.equal(s.count, 1n << 64n);
  assert.equal(s.first(), 0n);
  assert.equal(s.take(0n), true);
  assert.equal(s.take(0n), false);
  assert.equal(s.first(), 1n);
  assert.equal(s.take((1n << 64n) - 1n), true);
  assert.equal(s.intervals, 1);
  assert.equal(s.take(1000n), true);
  assert.deepEqual(s.toArray(), [
    [1n, 999n],
    [1001n, (1n << 64n) - 2n],
  ]);
  assert.equal(s.give(1000n), true);
  assert.deepEqual(s.toArray(), [[1n, (1n << 64n) - 2n]]);
});

test('empty set', () => {
  const s = new IntervalSet(0n);
  assert.equal(s.first(), undefined);
  assert.equal(s.take(0n), false);
  assert.equal(s.count, 0n);
});

test('behaves like a set of integers, with merged intervals (model-based)', () => {
  const size = 64;
  const op = fc.record({ kind: fc.constantFrom('take', 'give', 'takeFirst'), i: fc.integer({ min: 0, max: size - 1 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const s = new IntervalSet(BigInt(size));
      const model = new Set<number>(Array.from({ length: size }, (_, i) => i));
      for (const o of ops) {
        if (o.kind === 'take') assert.equal(s.take(BigInt(o.i)), model.delete(o.i));
        else if (o.kind === 'give') {
          const had = model.has(o.i);
          model.add(o.i);
          assert.equal(s.give(BigInt(o.i)), !had);
        } else {
          const f = s.first();
          const m = model.size ? Math.min(...model) : undefined;
          assert.equal(f === undefined ? undefined : Number(f), m);
          if (f !== undefined) {
            s.take(f);
            model.delete(Number(f));
          }
        }
        assert.equal(s.count, BigInt(model.size));
      }
      // Intervals are sorted, disjoint, never adjacent, and cover exactly the model.
      const arr = s.toArray();
      const covered: number[] = [];
      arr.forEach(([lo, hi], k) => {
        assert.ok(lo <= hi);
        const prev = arr[k - 1];
        if (prev) assert.ok(prev[1] + 1n < lo, 'intervals must be merged');
        for (let x = lo; x <= hi; x++) covered.push(Number(x));
      });
      assert.deepEqual(
        covered,
        [...model].sort((a, b) => a - b),
      );
      assert.equal(s.intervals, arr.length);
      for (let i = 0; i < size; i++) assert.equal(s.has(BigInt(i)), model.has(i));
    }),
    { numRuns: 300 },
  );
});
