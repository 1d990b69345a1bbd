import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bgpPeerToV1beta1, bgpPeerToV1beta2, V1BETA2_FIELDS_ANNOTATION } from './bgppeer-convert.js';
import type { BGPPeer, BGPPeerV1beta1 } from './metallb.js';

const v1: BGPPeerV1beta1 = {
  apiVersion: 'metallb.io/v1beta1',
  kind: 'BGPPeer',
  metadata: { name: 'r', namespace: 'metallb-system' },
  spec: { myASN: 64512, peerASN: 64500, peerAddress: '198.51.100.1', nodeSelectors: [{ matchLabels: { a: 'b' } }] },
};

test('v1beta1 -> v1beta2 keeps unset timers unset (no "0s" quirk)', () => {
  const v2 = bgpPeerToV1beta2(v1);
  assert.equal(v2.apiVersion, 'metallb.io/v1beta2');
  assert.deepEqual(v2.spec, { myASN: 64512, peerASN: 64500, peerAddress: '198.51.100.1', nodeSelectors: [{ matchLabels: { a: 'b' } }] });
  assert.equal('holdTime' in (v2.spec ?? {}), false);
  assert.equal('keepaliveTime' in (v2.spec ?? {}), false);
});

test('v1beta1 -> v1beta2 -> v1beta1 round trip is lossless', () => {
  const withTimers: BGPPeerV1beta1 = {
    ...v1,
    spec: { ...v1.spec!, holdTime: '9s', keepaliveTime: '3s', password: 'x', bfdProfile: 'f', ebgpMultiHop: true },
  };
  assert.deepEqual(bgpPeerToV1beta1(bgpPeerToV1beta2(withTimers)), withTimers);
});

test('v1beta2-only fields survive a trip through v1beta1 in an annotation', () => {
  const v2: BGPPeer = {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: { name: 'r', annotations: { keep: 'me' } },
    spec: {
      myASN: 1,
      dynamicASN: 'external',
      interface: 'eth1',
      connectTime: '5s',
      vrf: 'red',
      enableGracefulRestart: true,
      passwordSecret: { name: 's' },
    },
  };
  const down = bgpPeerToV1beta1(v2);
  assert.equal(down.apiVersion, 'metallb.io/v1beta1');
  assert.deepEqual(down.spec, { myASN: 1 });
  assert.deepEqual(JSON.parse(down.metadata.annotations?.[V1BETA2_FIELDS_ANNOTATION] ?? '{}'), {
    dynamicASN: 'external',
    interface: 'eth1',
    connectTime: '5s',
    vrf: 'red',
    enableGracefulRestart: true,
    passwordSecret: { name: 's' },
  });
  assert.deepEqual(bgpPeerToV1beta2(down), v2);
});

test('v1beta2 -> v1beta1 -> v1beta2 round trip (property)', () => {
  const dur = fc.constantFrom('0s', '3s', '90s', '1m30s');
  const spec = fc.record(
    {
      myASN: fc.integer({ min: 1, max: 4294967295 }),
      peerASN: fc.integer({ min: 1, max: 4294967295 }),
      peerAddress: fc.ipV4(),
      holdTime: dur,
      keepaliveTime: dur,
      peerPort: fc.integer({ min: 1, max: 16384 }),
      vrf: fc.string(),
      disableMP: fc.boolean(),
      dynamicASN: fc.constantFrom('internal' as const, 'external' as const),
      ebgpMultiHop: fc.boolean(),
    },
    { requiredKeys: ['myASN'] },
  );
  fc.assert(
    fc.property(spec, (s) => {
      const v2: BGPPeer = { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'p' }, spec: { ...s } };
      assert.deepEqual(bgpPeerToV1beta2(bgpPeerToV1beta1(v2)), v2);
    }),
    { numRuns: 200 },
  );
});
