import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesSelector, matchesAny, validateSelector, type LabelSelector } from './label-selector.js';

const cases: Array<{ desc: string; sel: LabelSelector | undefined; labels: Record<string, string>; want: boolean }> = [
  { desc: 'absent selector matches all', sel: undefined, labels: {}, want: true },
  { desc: 'empty selector matches all', sel: {}, labels: { a: '1' }, want: true },
  { desc: 'matchLabels hit', sel: { matchLabels: { a: '1' } }, labels: { a: '1', b: '2' }, want: true },
  { desc: 'matchLabels value differs', sel: { matchLabels: { a: '1' } }, labels: { a: '2' }, want: false },
  { desc: 'In hit', sel: { matchExpressions: [{ key: 'z', operator: 'In', values: ['x', 'y'] }] }, labels: { z: 'y' }, want: true },
  { desc: 'In missing key', sel: { matchExpressions: [{ key: 'z', operator: 'In', values: ['x'] }] }, labels: {}, want: false },
  {
    desc: 'NotIn missing key matches',
    sel: { matchExpressions: [{ key: 'z', operator: 'NotIn', values: ['x'] }] },
    labels: {},
    want: true,
  },
  {
    desc: 'NotIn listed value',
    sel: { matchExpressions: [{ key: 'z', operator: 'NotIn', values: ['x'] }] },
    labels: { z: 'x' },
    want: false,
  },
  { desc: 'Exists', sel: { matchExpressions: [{ key: 'z', operator: 'Exists' }] }, labels: { z: '' }, want: true },
  { desc: 'DoesNotExist', sel: { matchExpressions: [{ key: 'z', operator: 'DoesNotExist' }] }, labels: { z: '' }, want: false },
  {
    desc: 'labels AND expressions',
    sel: { matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'Exists' }] },
    labels: { a: '1' },
    want: false,
  },
];
for (const c of cases) {
  test(`matchesSelector: ${c.desc}`, () => assert.equal(matchesSelector(c.sel, c.labels), c.want));
}

test('matchesAny: empty list matches, otherwise any', () => {
  assert.equal(matchesAny([], { a: '1' }), true);
  assert.equal(matchesAny([{ matchLabels: { a: '2' } }, { matchLabels: { a: '1' } }], { a: '1' }), true);
  assert.equal(matchesAny([{ matchLabels: { a: '2' } }], { a: '1' }), false);
});

test('validateSelector: operator/value rules', () => {
  assert.deepEqual(validateSelector({ matchExpressions: [{ key: 'k', operator: 'In', values: [] }] }), [
    { path: 'matchExpressions[0].values', message: 'must be specified when operator is In' },
  ]);
  assert.deepEqual(validateSelector({ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }] }), [
    { path: 'matchExpressions[0].values', message: 'may not be specified when operator is Exists' },
  ]);
  assert.deepEqual(validateSelector({ matchExpressions: [{ key: 'k', operator: 'Bogus' as never }] }), [
    { path: 'matchExpressions[0].operator', message: 'not a valid selector operator: "Bogus"' },
  ]);
  assert.deepEqual(validateSelector({ matchLabels: { a: 'b' } }), []);
});
