import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsAccountsBlock, nodePublishPermissions } from './nats-config.js';

test('a node user publishes only under its own id (plus JetStream KV plumbing)', () => {
  assert.deepEqual(nodePublishPermissions('co', 'n1.example'), [
    'mooring.v1.co.*.n1_example',
    '$JS.API.>',
    '$KV.mooring-v1-co-epochs.>',
    '_INBOX.>',
  ]);
});

test('accounts block lists every user with its own permissions', () => {
  const conf = natsAccountsBlock('co', [
    { node: 'n1', user: 'n1', password: 'p1' },
    { node: 'n2', user: 'n2', password: 'p2' },
  ]);
  assert.match(conf, /jetstream: enabled/);
  assert.match(conf, /user: "n1", password: "p1"[\s\S]*"mooring\.v1\.co\.\*\.n1"/);
  assert.match(conf, /user: "n2", password: "p2"[\s\S]*"mooring\.v1\.co\.\*\.n2"/);
  assert.doesNotMatch(conf.split('user: "n2"')[0] ?? '', /\*\.n2"/);
});

test('an admin (mooringctl) may publish drain commands for any node and nothing else', () => {
  const conf = natsAccountsBlock('co', [{ node: 'n1', user: 'n1', password: 'p1' }], 'MOORING', [{ user: 'ops', password: 'px' }]);
  const admin = conf.split('user: "ops"')[1] ?? '';
  assert.match(admin, /publish: \{ allow: \["mooring\.v1\.co\.drain\.\*"\] \}/);
  assert.match(admin, /subscribe: \{ allow: \["mooring\.v1\.co\.>", "_INBOX\.>"\] \}/);
});
