import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChurnMap } from './churn-map.js';

test('ChurnMap behaves like a Map (model-based), through compactions', () => {
  const op = fc.record({ kind: fc.constantFrom('set', 'delete', 'get'), k: fc.integer({ min: 0, max: 40 }), v: fc.integer() });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
      const m = new ChurnMap<number, number>();
      const model = new Map<number, number>();
      for (const o of ops) {
        if (o.kind === 'set') {
          m.set(o.k, o.v);
          model.set(o.k, o.v);
        } else if (o.kind === 'delete') assert.equal(m.delete(o.k), model.delete(o.k));
        else {
          assert.equal(m.get(o.k), model.get(o.k));
          assert.equal(m.has(o.k), model.has(o.k));
        }
        assert.equal(m.size, model.size);
      }
      assert.deepEqual([...m.keys()].sort(), [...model.keys()].sort());
      assert.deepEqual([...m.values()].sort(), [...model.values()].sort());
    }),
    { numRuns: 200 },
  );
});

test('ChurnMap memory stays bounded under delete/re-add churn of distinct keys', () => {
  const m = new ChurnMap<number, number>();
  for (let i = 0; i < 100; i++) m.set(i, i);
  for (let k = 0; k < 50_000; k++) {
    m.set(1000 + k, k);
    m.delete(1000 + k);
  }
  const inner = (m as unknown as { map: Map<number, unknown> }).map;
  assert.ok(inner.size <= 100 + 1024 + 1, `inner map holds ${inner.size} entries`);
  assert.equal(m.size, 100);
});
