// The FRR backend's read-back (show bgp vrf all neighbors json → per peer) and its PeerSpec mapping.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { frrPeerOf, neighborsByPeer } from './frr.js';

describe('FRR backend read-back', () => {
  it('maps neighbors of every VRF to peers by their description, with native state names and counters', () => {
    const json = {
      default: {
        vrfId: 0,
        vrfName: 'default',
        '198.51.100.1': {
          nbrDesc: 'router',
          bgpState: 'Established',
          messageStats: { updatesSent: 7 },
          addressFamilyInfo: { ipv4Unicast: { sentPrefixCounter: 3 }, ipv6Unicast: { sentPrefixCounter: 2 } },
        },
        eth0: { nbrDesc: 'tor', bgpState: 'OpenSent', lastResetDueTo: 'Waiting for Peer IPv6 LLA' },
        '198.51.100.9': { bgpState: 'Active' },
      },
      red: { vrfId: 5, vrfName: 'red', '198.51.100.250': { nbrDesc: 'red', bgpState: 'Active' } },
    };
    const m = neighborsByPeer(json);
    assert.deepEqual([...m.keys()].sort(), ['red', 'router', 'tor']);
    assert.deepEqual(m.get('router'), { state: 'established', updatesSent: 7, prefixesSent: 5 });
    assert.equal(m.get('tor')?.state, 'openSent');
    assert.equal(m.get('tor')?.lastResetDueTo, 'Waiting for Peer IPv6 LLA');
    assert.equal(m.get('red')?.state, 'active');
    assert.equal(neighborsByPeer('not json').size, 0);
  });

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
