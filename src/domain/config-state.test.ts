import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configurationStateLabels, configurationStateStatus } from './config-state.js';

const NOW = '2026-12-07T10:00:00Z';

test('ConfigurationState: the controller owns poolReconcilerValid, a speaker configReconcilerValid, with MetalLB reasons (table)', () => {
  const cases: Array<[string, boolean, string, { type: string; status: string; reason: string; message: string }, string]> = [
    ['controller', true, '', { type: 'poolReconcilerValid', status: 'True', reason: 'Reconciled', message: '' }, 'Valid'],
    [
      'controller',
      false,
      'IPAddressPool/p: bad',
      { type: 'poolReconcilerValid', status: 'False', reason: 'ConfigurationError', message: 'IPAddressPool/p: bad' },
      'Invalid',
    ],
    ['speaker-n1', true, '', { type: 'configReconcilerValid', status: 'True', reason: 'Reconciled', message: '' }, 'Valid'],
    [
      'speaker-n1',
      false,
      'BGPPeer/r: spec.vrf',
      { type: 'configReconcilerValid', status: 'False', reason: 'ConfigurationError', message: 'BGPPeer/r: spec.vrf' },
      'Invalid',
    ],
  ];
  for (const [name, valid, summary, cond, result] of cases) {
    const s = configurationStateStatus(name, valid, summary, NOW);
    assert.equal(s.result, result, name);
    assert.equal(s.errorSummary, summary, name);
    assert.deepEqual(s.conditions, [{ ...cond, lastTransitionTime: NOW }], name);
    // The CRD's condition schema (MetalLB's): reason pattern and type pattern hold.
    for (const c of s.conditions ?? []) {
      assert.match(c.reason, /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
      assert.match(c.type, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/);
    }
  }
  assert.equal(configurationStateStatus('controller', false, 'x'.repeat(40_000), NOW).conditions?.[0]?.message.length, 32_000);
});

test("ConfigurationState labels are MetalLB's: component-type, and node-name on a speaker's", () => {
  assert.deepEqual(configurationStateLabels('controller'), { 'metallb.io/component-type': 'controller' });
  assert.deepEqual(configurationStateLabels('speaker-worker-1'), {
    'metallb.io/component-type': 'speaker',
    'metallb.io/node-name': 'worker-1',
  });
});
