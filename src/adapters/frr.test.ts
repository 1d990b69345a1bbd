// The FRR backend's PeerSpec mapping (the read-back's mapping is src/domain/frr-status.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { frrPeerOf } from './frr.js';

describe('FRR backend peers', () => {
  it('carries VRF, interface, local-as and the BFD profile name into the render', () => {
    const p = frrPeerOf({
      bgp: {
        name: 'tor',
        peerAddress: '',
        myAsn: 64500,
        peerAsn: 0,
        dynamicAsn: 'external',
        interface: 'eth0',
        vrf: 'red',
        localAsn: 65001,
      },
      bfd: { address: 'fe80::1', multihop: false, profile: { detectMultiplier: 5 }, profileName: 'fast' },
    });
    assert.deepEqual(p, {
      name: 'tor',
      interface: 'eth0',
      vrf: 'red',
      myAsn: 64500,
      peerAsn: 0,
      dynamicAsn: 'external',
      localAsn: 65001,
      bfdProfile: 'fast',
    });
  });
});
