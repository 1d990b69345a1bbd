import { test } from 'node:test';
import assert from 'node:assert/strict';
import { err, ok, type Result } from './result.js';

const half = (n: number): Result<number> => (n % 2 === 0 ? ok(n / 2) : err(`${n} is odd`));

test('ok and err build the two sides, narrowed by `ok`', () => {
  const a = half(4);
  const b = half(3);
  assert.deepEqual(a, { ok: true, value: 2 });
  assert.deepEqual(b, { ok: false, error: '3 is odd' });
  if (b.ok) assert.fail('odd input must fail');
  else assert.equal(b.error, '3 is odd');
});
