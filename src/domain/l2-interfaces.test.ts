import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectInterfaces, IFF, type IfaceFacts } from './l2-interfaces.js';

const UP = IFF.up | IFF.broadcast | IFF.multicast;
const facts: readonly IfaceFacts[] = Object.freeze(
  [
    { name: 'eth1', flags: UP },
    { name: 'eth0', flags: UP },
    { name: 'lo', flags: IFF.up | IFF.loopback },
    { name: 'docker0', flags: UP },
    { name: 'veth12ab', flags: UP },
    { name: 'cali123', flags: UP },
    { name: 'eth2', flags: IFF.broadcast | IFF.multicast },
    { name: 'wg0', flags: IFF.up | IFF.noarp },
    { name: 'ens3', flags: UP, master: 'bond0' },
    { name: 'bond0', flags: UP },
    { name: 'lo2', flags: IFF.up | IFF.loopback },
  ].map((f) => Object.freeze(f)),
);

const cases: Array<{ desc: string; wanted?: string[]; exclude?: string[]; want: string[] }> = [
  { desc: 'default: all healthy, non-excluded, sorted', want: ['bond0', 'eth0', 'eth1'] },
  { desc: 'L2Advertisement interfaces narrow the set', wanted: ['eth1'], want: ['eth1'] },
  { desc: 'empty list means all', wanted: [], want: ['bond0', 'eth0', 'eth1'] },
  { desc: 'a listed but down interface is still skipped', wanted: ['eth2', 'eth0'], want: ['eth0'] },
  { desc: 'a listed but excluded-by-name interface is skipped (as MetalLB)', wanted: ['docker0'], want: [] },
  { desc: 'custom exclusions replace the default', exclude: ['^eth1$'], want: ['bond0', 'cali123', 'docker0', 'eth0', 'veth12ab'] },
];
for (const c of cases) {
  test(`selectInterfaces: ${c.desc}`, () => assert.deepEqual(selectInterfaces(facts, c.wanted, c.exclude).selected, c.want));
}

test('selectInterfaces: every exclusion carries a reason', () => {
  const ex = Object.fromEntries(selectInterfaces(facts).excluded.map((e) => [e.name, e.reason]));
  assert.deepEqual(ex, {
    cali123: 'excludedByName',
    docker0: 'excludedByName',
    ens3: 'bondOrBridgeMember',
    eth2: 'down',
    lo: 'excludedByName',
    lo2: 'loopback',
    veth12ab: 'excludedByName',
    wg0: 'noArp',
  });
});

test('selectInterfaces: input order does not matter', () => {
  const rev = [...facts].reverse();
  assert.deepEqual(selectInterfaces(rev), selectInterfaces(facts));
});

test('selectInterfaces: per family, ARP needs broadcast and NDP multicast', () => {
  const f: IfaceFacts[] = [
    { name: 'p2p0', flags: IFF.up | IFF.multicast },
    { name: 'nomc0', flags: IFF.up | IFF.broadcast },
    { name: 'eth0', flags: UP },
  ];
  assert.deepEqual(selectInterfaces(f).selected, ['eth0', 'nomc0', 'p2p0']);
  assert.deepEqual(selectInterfaces(f, undefined, undefined, 4).selected, ['eth0', 'nomc0']);
  assert.deepEqual(selectInterfaces(f, undefined, undefined, 6).selected, ['eth0', 'p2p0']);
  assert.deepEqual(selectInterfaces(f, undefined, undefined, 4).excluded, [{ name: 'p2p0', reason: 'noBroadcast' }]);
});
