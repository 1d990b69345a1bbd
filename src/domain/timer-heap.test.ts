import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TimerHeap, type TimerNode } from './timer-heap.js';

interface Node extends TimerNode {
  readonly id: number;
}
const node = (id: number): Node => ({ id, key: 0, seq: 0, pos: -1 });

type Op = { op: 'push'; key: number } | { op: 'pop' } | { op: 'remove'; pick: number } | { op: 'repush'; pick: number; key: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), key: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('repush' as const), pick: fc.nat(), key: fc.integer({ min: 0, max: 8 }) }) },
);

test('pops in deadline order, ties in insertion order; remove cancels; a removed or popped node can be pushed again', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
      const heap = new TimerHeap<Node>();
      const all: Node[] = [];
      // The model: live nodes with their key and the order they were (last) inserted in.
      let model: Array<{ n: Node; key: number; order: number }> = [];
      let order = 0;
      const expectMin = (): Node | undefined => {
        let best: (typeof model)[number] | undefined;
        for (const m of model) if (!best || m.key < best.key || (m.key === best.key && m.order < best.order)) best = m;
        return best?.n;
      };
      for (const o of ops) {
        if (o.op === 'push') {
          const n = node(all.length);
          all.push(n);
          heap.push(n, o.key);
          model.push({ n, key: o.key, order: order++ });
        } else if (o.op === 'pop') {
          const want = expectMin();
          assert.equal(heap.pop(), want);
          model = model.filter((m) => m.n !== want);
          if (want) assert.equal(heap.has(want), false);
        } else if (all.length > 0) {
          const n = all[o.pick % all.length] as Node;
          const inHeap = model.some((m) => m.n === n);
          if (o.op === 'remove') {
            assert.equal(heap.remove(n), inHeap);
            model = model.filter((m) => m.n !== n);
            assert.equal(heap.has(n), false);
          } else if (!inHeap) {
            heap.push(n, o.key);
            model.push({ n, key: o.key, order: order++ });
          }
        }
        assert.equal(heap.size, model.length);
        assert.equal(heap.peek(), expectMin());
      }
      // Draining yields the sorted model.
      const want = [...model].sort((a, b) => a.key - b.key || a.order - b.order).map((m) => m.n.id);
      const got: number[] = [];
      for (let n = heap.pop(); n; n = heap.pop()) got.push(n.id);
      assert.deepEqual(got, want);
      assert.equal(heap.size, 0);
    }),
    { numRuns: 300 },
  );
});

test('nextSeq bounds the stamps of later pushes', () => {
  const heap = new TimerHeap<Node>();
  heap.push(node(0), 5);
  const limit = heap.nextSeq;
  const later = node(1);
  heap.push(later, 1);
  assert.ok(later.seq >= limit);
  assert.equal(heap.pop(), later);
});
