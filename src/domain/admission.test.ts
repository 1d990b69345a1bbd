// The admission decision, table-driven: each case is the informers' objects plus one request, and
// the expected response (allowed, the message, the warnings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, decodeAdmissionReview, review, type AdmissionRequest } from './admission.js';
import type { RawObject } from './config.js';

const NS = 'metallb-system';
const obj =
  (apiVersion: string, kind: string) =>
  (name: string, spec: Record<string, unknown>, namespace = NS): RawObject => ({ apiVersion, kind, metadata: { name, namespace }, spec });
const pool = obj('metallb.io/v1beta1', 'IPAddressPool');
const l2 = obj('metallb.io/v1beta1', 'L2Advertisement');
const peer = obj('metallb.io/v1beta2', 'BGPPeer');
const bfd = obj('metallb.io/v1beta1', 'BFDProfile');
const P = { myASN: 64512, peerASN: 64500, peerAddress: '198.51.100.1' };

const gvk = (o: RawObject) => {
  const [group = '', version = ''] = String(o.apiVersion).split('/');
  return { group, version, kind: String(o.kind) };
};
const req = (operation: AdmissionRequest['operation'], o: RawObject, old?: RawObject): AdmissionRequest => {
  const meta = o.metadata as { name: string; namespace?: string };
  return {
    uid: 'u-1',
    kind: gvk(o),
    operation,
    name: meta.name,
    ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}),
    object: operation === 'DELETE' ? null : o,
    oldObject: operation === 'CREATE' ? null : (old ?? o),
  };
};

interface Case {
  desc: string;
  objects: RawObject[];
  request: AdmissionRequest;
  allowed: boolean;
  message?: string;
  warnings?: string[];
}

const a = pool('a', { addresses: ['198.51.100.0/28'] });
const cases: Case[] = [
  { desc: 'a valid pool is admitted', objects: [a], request: req('CREATE', pool('b', { addresses: ['198.51.100.16/28'] })), allowed: true },
  {
    desc: 'an overlapping pool is refused, with the error that names both pools',
    objects: [a],
    request: req('CREATE', pool('b', { addresses: ['198.51.100.8/29'] })),
    allowed: false,
    message:
      'IPAddressPool/b: spec.addresses[0]: CIDR "198.51.100.8/29" in pool "b" overlaps with already defined CIDR "198.51.100.0/28" in pool "a"',
  },
  {
    desc: 'the overlap is refused even when the error is reported on the existing pool (sorted by name)',
    objects: [pool('z', { addresses: ['198.51.100.0/28'] })],
    request: req('CREATE', pool('b', { addresses: ['198.51.100.8/29'] })),
    allowed: false,
    message:
      'IPAddressPool/z: spec.addresses[0]: CIDR "198.51.100.0/28" in pool "z" overlaps with already defined CIDR "198.51.100.8/29" in pool "b"',
  },
  {
    desc: 'a malformed CIDR the CRD schema lets through is refused',
    objects: [a],
    request: req('CREATE', pool('b', { addresses: ['198.51.100.0/33'] })),
    allowed: false,
    message: 'IPAddressPool/b: spec.addresses[0]: invalid CIDR "198.51.100.0/33"',
  },
  {
    desc: 'an update is checked against the others, not against its own old version',
    objects: [a],
    request: req('UPDATE', pool('a', { addresses: ['198.51.100.0/27'] }), a),
    allowed: true,
  },
  {
    desc: 'an update that breaks the object is refused',
    objects: [a],
    request: req('UPDATE', pool('a', { addresses: ['198.51.100.0/28', '2001:db8::/200'] }), a),
    allowed: false,
    message: 'IPAddressPool/a: spec.addresses[1]: invalid CIDR "2001:db8::/200"',
  },
  {
    desc: 'an existing error about another object does not block an unrelated change',
    objects: [a, pool('bad', { addresses: ['198.51.100.0/33'] })],
    request: req('CREATE', pool('b', { addresses: ['198.51.100.16/28'] })),
    allowed: true,
  },
  {
    desc: 'creation outside the controller namespace is refused (MetalLB)',
    objects: [],
    request: req('CREATE', pool('x', { addresses: ['198.51.100.16/28'] }, 'default')),
    allowed: false,
    message: 'resource must be created in metallb-system namespace',
  },
  {
    desc: 'a reference to a pool that does not exist (yet) is admitted with the config warning (apply order does not matter)',
    objects: [],
    request: req('CREATE', l2('l', { ipAddressPools: ['later'] })),
    allowed: true,
    warnings: ['L2Advertisement/l: spec.ipAddressPools[0]: IPAddressPool "later" does not exist: ignored'],
  },
  {
    desc: 'a transient error (a BGPPeer naming a BFDProfile not there yet) is admitted with a warning',
    objects: [],
    request: req('CREATE', peer('p', { ...P, bfdProfile: 'later' })),
    allowed: true,
    warnings: [
      'BGPPeer/p: spec.bfdProfile: peer p referencing non existing bfd profile later (transient: waiting for the referenced object)',
    ],
  },
  {
    desc: 'deleting a pool is admitted even if an advertisement names it (MetalLB)',
    objects: [a, l2('l', { ipAddressPools: ['a'] })],
    request: req('DELETE', a),
    allowed: true,
  },
  {
    desc: 'deleting a BFDProfile a BGPPeer uses is refused (MetalLB)',
    objects: [
      bfd('fast', {}),
      peer('p2', { ...P, bfdProfile: 'fast' }),
      peer('p1', { ...P, peerAddress: '198.51.100.2', bfdProfile: 'fast' }),
    ],
    request: req('DELETE', bfd('fast', {})),
    allowed: false,
    message: 'failed to delete BFDProfile fast, used by BGPPeer p1',
  },
  {
    desc: 'deleting an unused BFDProfile is admitted',
    objects: [bfd('fast', {}), peer('p', P)],
    request: req('DELETE', bfd('fast', {})),
    allowed: true,
  },
  {
    desc: 'a BGPPeer at v1beta1 is checked at its own version',
    objects: [],
    request: req('CREATE', obj('metallb.io/v1beta1', 'BGPPeer')('p', { ...P, holdTime: '1s' })),
    allowed: false,
    message: 'BGPPeer/p: spec.holdTime: invalid hold time "1s": must be 0 or >=3s',
  },
  {
    desc: 'a kind that is not a config kind is not ours',
    objects: [],
    request: {
      uid: 'u-1',
      kind: { group: 'metallb.io', version: 'v1beta1', kind: 'ConfigurationState' },
      operation: 'CREATE',
      namespace: 'elsewhere',
      object: {},
    },
    allowed: true,
  },
];

for (const c of cases) {
  test(`admit: ${c.desc}`, () => {
    const frozen = structuredClone(c.objects);
    const r = admit(c.request, { objects: c.objects, namespace: NS });
    assert.deepEqual(c.objects, frozen, 'inputs not mutated');
    assert.equal(r.uid, 'u-1');
    assert.equal(r.allowed, c.allowed, JSON.stringify(r));
    if (!c.allowed) assert.deepEqual(r.status, { code: 403, reason: 'Forbidden', message: c.message });
    assert.deepEqual(r.warnings, c.warnings);
  });
}

test('decodeAdmissionReview: a v1 review round-trips into a response with the same uid', () => {
  const body = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { ...req('CREATE', pool('b', { addresses: ['198.51.100.16/28'] })), userInfo: { username: 'x' } },
  };
  const d = decodeAdmissionReview(JSON.parse(JSON.stringify(body)));
  assert.ok(d.ok);
  assert.deepEqual(review(d.request, { objects: [a], namespace: NS }), {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'u-1', allowed: true },
  });
});

test('decodeAdmissionReview: refuses what is not a v1 review', () => {
  for (const [body, error] of [
    [null, 'not an AdmissionReview'],
    [
      { kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1beta1', request: {} },
      'unsupported AdmissionReview version "admission.k8s.io/v1beta1" (v1 only)',
    ],
    [{ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1' }, 'AdmissionReview without a valid request'],
    [
      {
        kind: 'AdmissionReview',
        apiVersion: 'admission.k8s.io/v1',
        request: { uid: 'u', kind: { group: 'g', version: 'v', kind: 'K' }, operation: 'PATCH' },
      },
      'unknown operation "PATCH"',
    ],
  ] as const)
    assert.deepEqual(decodeAdmissionReview(body), { ok: false, error });
});
