import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfdSessionSettings, type BfdProfileSettings } from './bfd-profile.js';
import type { BfdProfile } from './config.js';

const cases: Array<{ desc: string; input: BfdProfileSettings; want?: object; wantErr?: string[] }> = [
  {
    desc: 'empty profile: MetalLB defaults',
    input: {},
    want: { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3, passive: false, minimumTtl: 254 },
  },
  {
    desc: 'explicit values in µs',
    input: { receiveIntervalMs: 100, transmitIntervalMs: 50, detectMultiplier: 5, passiveMode: true, minimumTtl: 10 },
    want: { desiredMinTxUs: 50_000, requiredMinRxUs: 100_000, detectMult: 5, passive: true, minimumTtl: 10 },
  },
  {
    desc: 'range lower bounds',
    input: { receiveIntervalMs: 10, transmitIntervalMs: 10, detectMultiplier: 2, minimumTtl: 1 },
    want: { desiredMinTxUs: 10_000, requiredMinRxUs: 10_000, detectMult: 2, passive: false, minimumTtl: 1 },
  },
  {
    desc: 'out of range',
    input: { receiveIntervalMs: 9, transmitIntervalMs: 60001, detectMultiplier: 1, minimumTtl: 255 },
    wantErr: ['receiveIntervalMs', 'transmitIntervalMs', 'detectMultiplier', 'minimumTtl'],
  },
  { desc: 'non-integer', input: { detectMultiplier: 2.5 }, wantErr: ['detectMultiplier'] },
];
for (const c of cases) {
  test(`bfdSessionSettings: ${c.desc}`, () => {
    const r = bfdSessionSettings(Object.freeze({ ...c.input }));
    if (c.wantErr) {
      assert.equal(r.ok, false);
      if (!r.ok)
        assert.deepEqual(
          r.errors.map((e) => e.field),
          c.wantErr,
        );
    } else {
      assert.ok(r.ok);
      assert.deepEqual(r.value, c.want);
    }
  });
}

test('bfdSessionSettings: echo mode is accepted with a warning', () => {
  const r = bfdSessionSettings({ echoMode: true, echoIntervalMs: 50 });
  assert.ok(r.ok);
  assert.deepEqual(
    r.warnings.map((w) => w.field),
    ['echoMode'],
  );
});

test('bfdSessionSettings: takes a parsed config.ts BfdProfile as is', () => {
  const p: BfdProfile = {
    name: 'fast',
    receiveIntervalMs: 100,
    transmitIntervalMs: 100,
    detectMultiplier: 3,
    echoIntervalMs: 50,
    echoMode: false,
    passiveMode: false,
    minimumTtl: 254,
  };
  const r = bfdSessionSettings(p);
  assert.ok(r.ok);
  assert.equal(r.value.desiredMinTxUs, 100_000);
});
