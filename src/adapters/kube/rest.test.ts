import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lineSplitter } from './rest.js';

test('lineSplitter: lines split across chunks come out whole, empty lines are dropped', () => {
  const split = lineSplitter();
  assert.deepEqual(split('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(split(':2}'), []);
  assert.deepEqual(split('\n\n{"c":3}\n'), ['{"b":2}', '{"c":3}']);
  assert.deepEqual(split(''), []);
});

test('lineSplitter: any chunking of a stream gives the same lines as splitting it whole', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '{', '}', '"', '\n', 'é') })), fc.array(fc.nat()), (parts, cuts) => {
      const text = parts.join('');
      const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((x, y) => x - y);
      const chunks: string[] = [];
      let prev = 0;
      for (const c of [...at, text.length]) {
        chunks.push(text.slice(prev, c));
        prev = c;
      }
      const split = lineSplitter();
      const got = chunks.flatMap((c) => split(c));
      const lastNl = text.lastIndexOf('\n');
      const want = text
        .slice(0, lastNl + 1)
        .split('\n')
        .filter((l) => l.length > 0);
      assert.deepEqual(got, want);
    }),
  );
});
