import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfdIoFromEnv } from './bfd-port.js';

test('MOORING_BFD_IO=dgram selects node:dgram; unset or anything else the batched port', () => {
  assert.equal(bfdIoFromEnv({ MOORING_BFD_IO: 'dgram' }), 'dgram');
  assert.equal(bfdIoFromEnv({}), 'mmsg');
  assert.equal(bfdIoFromEnv({ MOORING_BFD_IO: 'mmsg' }), 'mmsg');
  assert.equal(bfdIoFromEnv({ MOORING_BFD_IO: 'DGRAM' }), 'mmsg');
  assert.equal(bfdIoFromEnv({ BFD_IO: 'dgram' }), 'mmsg', "the probe's variable is not the speaker's");
});
