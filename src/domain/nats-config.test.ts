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

test('death fast path: the system account exports only the account’s connect/disconnect advisories, nodes may only read them', () => {
  const conf = natsAccountsBlock('co', [{ node: 'n1', user: 'n1', password: 'p1' }], 'MOORING', [{ user: 'ops', password: 'px' }]);
  assert.match(
    conf,
    /SYS: \{\n {4}exports: \[\{ stream: "\$SYS\.ACCOUNT\.MOORING\.CONNECT" \}, \{ stream: "\$SYS\.ACCOUNT\.MOORING\.DISCONNECT" \}\]\n {2}\}/,
  );
  assert.match(
    conf,
    /imports: \[\{ stream: \{ account: SYS, subject: "\$SYS\.ACCOUNT\.MOORING\.CONNECT" \} \}, \{ stream: \{ account: SYS, subject: "\$SYS\.ACCOUNT\.MOORING\.DISCONNECT" \} \}\]/,
  );
  assert.match(conf, /^system_account: SYS$/m);
  const n1 = (conf.split('user: "n1"')[1] ?? '').split('user: "ops"')[0] ?? '';
  assert.match(n1, /subscribe: \{ allow: \[[^\]]*"\$SYS\.ACCOUNT\.MOORING\.DISCONNECT"/);
  assert.doesNotMatch(n1.split('subscribe')[0] ?? '', /\$SYS/, 'nobody publishes advisories');
  assert.doesNotMatch(conf, /users: \[[^\]]*\n\s*\]\n\s*\}\n\s*SYS/, 'no users in the system account');
  const off = natsAccountsBlock('co', [{ node: 'n1', user: 'n1', password: 'p1' }], 'MOORING', [], { presence: false });
  assert.doesNotMatch(off, /SYS/);
});

test('the controller (its allocation feed) may publish only its feed and snapshots, and read only the requests for them', () => {
  const conf = natsAccountsBlock('co', [{ node: 'n1', user: 'n1', password: 'p1' }], 'MOORING', [], {
    controllers: [{ user: 'ctl', password: 'pc' }],
  });
  const ctl = conf.split('user: "ctl"')[1] ?? '';
  assert.match(ctl, /publish: \{ allow: \["mooring\.v1\.co\.feed\.:controller", "mooring\.v1\.co\.snap\.:controller"\] \}/);
  assert.match(ctl, /subscribe: \{ allow: \["mooring\.v1\.co\.snapreq\.:controller"\] \}/);
  // Even a node named "controller" publishes under `*.controller`, never `*.:controller` (':' is
  // not in node names): no node can forge allocations.
  assert.equal(nodePublishPermissions('co', 'controller')[0], 'mooring.v1.co.*.controller');
});
