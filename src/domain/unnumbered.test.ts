import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseUnnumberedPeer, UNNUMBERED_EXPIRE_MS } from './unnumbered.js';

test('no RA heard: no address yet', () => {
  assert.deepEqual(chooseUnnumberedPeer({ iface: 'eth0', heard: [], own: [] }), { address: undefined, scoped: undefined, ambiguous: [] });
});

test('the one router on the link, scoped to the interface; our own RA and non-link-local senders ignored', () => {
  const c = chooseUnnumberedPeer({
    iface: 'eth0',
    heard: [
      { address: 'FE80::2', ageMs: 10 },
      { address: 'fe80::1', ageMs: 5 },
      { address: '2001:db8::1', ageMs: 1 },
    ],
    own: ['fe80::1%eth0'],
  });
  assert.deepEqual(c, { address: 'fe80::2', scoped: 'fe80::2%eth0', ambiguous: [] });
});

test('a router not heard for the expiry is forgotten', () => {
  const heard = [{ address: 'fe80::2', ageMs: UNNUMBERED_EXPIRE_MS + 1 }];
  assert.equal(chooseUnnumberedPeer({ iface: 'eth0', heard, own: [] }).address, undefined);
  assert.equal(chooseUnnumberedPeer({ iface: 'eth0', heard, own: [], expireMs: UNNUMBERED_EXPIRE_MS + 5 }).address, 'fe80::2');
});

test('two routers: the most recently heard wins, the other is reported; the current one is kept while heard', () => {
  const heard = [
    { address: 'fe80::3', ageMs: 4000 },
    { address: 'fe80::2', ageMs: 100 },
  ];
  assert.deepEqual(chooseUnnumberedPeer({ iface: 'eth1', heard, own: [] }), {
    address: 'fe80::2',
    scoped: 'fe80::2%eth1',
    ambiguous: ['fe80::3'],
  });
  assert.equal(chooseUnnumberedPeer({ iface: 'eth1', heard, own: [], current: 'fe80::3%eth1' }).address, 'fe80::3');
  // The current one gone: the other takes over.
  assert.equal(chooseUnnumberedPeer({ iface: 'eth1', heard: heard.slice(1), own: [], current: 'fe80::3' }).address, 'fe80::2');
  // Same age: the lowest address, so every node picks the same.
  const tie = chooseUnnumberedPeer({
    iface: 'eth1',
    heard: [
      { address: 'fe80::b', ageMs: 1 },
      { address: 'fe80::a', ageMs: 1 },
    ],
    own: [],
  });
  assert.equal(tie.address, 'fe80::a');
});

test('fe8::/16 is not link-local (fe80::/10 is)', () => {
  assert.equal(chooseUnnumberedPeer({ iface: 'eth0', heard: [{ address: 'fe8::1', ageMs: 0 }], own: [] }).address, undefined);
  assert.equal(chooseUnnumberedPeer({ iface: 'eth0', heard: [{ address: 'febf::1', ageMs: 0 }], own: [] }).address, 'febf::1');
});
