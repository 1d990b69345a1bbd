import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeBackWaitingFor } from './take-back.js';

test('ready only once NATS settled, settled said and nothing awaits a release', () => {
  assert.deepEqual(takeBackWaitingFor({ path: 'up', handoverReady: true, awaiting: 0 }), []);
  assert.deepEqual(takeBackWaitingFor({ path: 'resyncing', handoverReady: false, awaiting: 0 }), [
    'L2: hearing peers before taking IPs back (NATS resync window)',
  ]);
  assert.deepEqual(takeBackWaitingFor({ path: 'up', handoverReady: false, awaiting: 2 }), [
    'L2: preparing the take-back (capture, frames, epochs)',
    "L2: taking back 2 IPs (waiting for the holder's release)",
  ]);
  assert.deepEqual(takeBackWaitingFor({ path: 'up', handoverReady: true, awaiting: 1 }), [
    "L2: taking back 1 IP (waiting for the holder's release)",
  ]);
});

test('a NATS path that is not up is said (an echo lost while the client believes it is connected too)', () => {
  assert.deepEqual(takeBackWaitingFor({ path: 'echoLost', handoverReady: true, awaiting: 0 }), ['L2: NATS path echoLost']);
  assert.deepEqual(takeBackWaitingFor({ path: 'connecting', handoverReady: false, awaiting: 0 }), ['L2: NATS path connecting']);
});
