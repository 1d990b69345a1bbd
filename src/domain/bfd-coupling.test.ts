import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bgpEventForBfd, bgpWaitsForBfd, peerUsesBfd, type BfdView } from './bfd-coupling.js';

const v = (state: BfdView['state'], downReason: BfdView['downReason'] = null): BfdView => ({ state, downReason });
const cases: Array<{ desc: string; prev: BfdView | undefined; next: BfdView; want: string | undefined }> = [
  { desc: 'start Down: nothing', prev: undefined, next: v('down'), want: undefined },
  { desc: 'Init → Up: bfd.up', prev: v('init'), next: v('up'), want: 'bfd.up' },
  { desc: 'Down → Up: bfd.up', prev: v('down'), next: v('up'), want: 'bfd.up' },
  { desc: 'Up → Up (no change): nothing', prev: v('up'), next: v('up'), want: undefined },
  { desc: 'Up → Down, detection expired: bfd.down', prev: v('up'), next: v('down', 'detectTimeExpired'), want: 'bfd.down' },
  { desc: 'Up → Down, neighbor signalled Down: bfd.down', prev: v('up'), next: v('down', 'neighborDown'), want: 'bfd.down' },
  { desc: 'Up → Down, neighbor AdminDown (RFC 5882 §3.2): nothing', prev: v('up'), next: v('down', 'neighborAdminDown'), want: undefined },
  { desc: 'Up → AdminDown (local, RFC 5882 §3.2): nothing', prev: v('up'), next: v('adminDown', 'adminDown'), want: undefined },
  { desc: 'Init → Down, detection expired: was never Up, nothing', prev: v('init'), next: v('down', 'detectTimeExpired'), want: undefined },
];
for (const c of cases) {
  test(`bgpEventForBfd: ${c.desc}`, () => assert.equal(bgpEventForBfd(c.prev, c.next)?.type, c.want));
}

test('peerUsesBfd: a peer with a bfdProfile, single or multi-hop; not one without a profile', () => {
  assert.equal(peerUsesBfd({ bfdProfile: 'fast', ebgpMultiHop: false }), true);
  assert.equal(peerUsesBfd({ bfdProfile: 'fast', ebgpMultiHop: true }), true);
  assert.equal(peerUsesBfd({ ebgpMultiHop: false }), false);
  assert.equal(peerUsesBfd({ bfdProfile: '', ebgpMultiHop: false }), false);
});

test('bgpWaitsForBfd: a single-hop peer with a profile waits for BFD Up; a multi-hop one does not (its router registers BFD after BGP)', () => {
  assert.equal(bgpWaitsForBfd({ bfdProfile: 'fast', ebgpMultiHop: false }), true);
  assert.equal(bgpWaitsForBfd({ bfdProfile: 'fast', ebgpMultiHop: true }), false);
  assert.equal(bgpWaitsForBfd({ ebgpMultiHop: false }), false);
});
