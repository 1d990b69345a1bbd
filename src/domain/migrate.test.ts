// mooringctl migrate's conversion: MetalLB's legacy ConfigMap → metallb.io objects. Expected objects
// follow MetalLB's converter (configmaptocrs goldens) minus what it prints but means nothing
// (creationTimestamp: null, status: {}, passwordSecret: {}, keepaliveTime: 0s for an unset one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { k8sName, migrateLegacyConfig, migrateText, renderObjects, type MigrateResult } from './migrate.js';
import { parseConfig, type RawObject } from './config.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'migrate');
const fixture = (f: string) => readFileSync(join(FIXTURES, f), 'utf8');
const NS = 'metallb-system';
const o = (apiVersion: string, kind: string, name: string, spec: Record<string, unknown>, namespace = NS): RawObject => ({
  apiVersion: `metallb.io/${apiVersion}`,
  kind,
  metadata: { name, namespace },
  spec,
});
const ok = (r: MigrateResult) => {
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  return r;
};
const problems = (r: MigrateResult) => {
  assert.ok(!r.ok, 'expected problems');
  return r.problems.map((p) => `${p.field}: ${p.message}`);
};

const FULL: RawObject[] = [
  o('v1beta2', 'BGPPeer', 'peer1', {
    bfdProfile: 'bfdprofile1',
    holdTime: '2m0s',
    keepaliveTime: '30s',
    myASN: 64512,
    nodeSelectors: [
      {
        matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm'] }],
        matchLabels: { 'kubernetes.io/hostname': 'prod-01' },
      },
    ],
    password: 'yourPassword',
    peerASN: 64512,
    peerAddress: '10.0.0.1',
    peerPort: 179,
    routerID: '1.2.3.4',
    sourceAddress: '10.0.0.2',
  }),
  o('v1beta1', 'IPAddressPool', 'my-ip-space', {
    addresses: ['192.168.10.0/24', '192.168.0.150-192.168.0.200'],
    autoAssign: true,
    avoidBuggyIPs: true,
  }),
  o('v1beta1', 'IPAddressPool', 'my-l2-space', { addresses: ['192.168.11.0/24', '192.168.1.150-192.168.1.200'], avoidBuggyIPs: true }),
  o('v1beta1', 'BGPAdvertisement', 'bgpadvertisement1', {
    aggregationLength: 32,
    aggregationLengthV6: 64,
    communities: ['64512:1', 'no-export'],
    ipAddressPools: ['my-ip-space'],
    localPref: 100,
  }),
  o('v1beta1', 'L2Advertisement', 'l2advertisement1', { ipAddressPools: ['my-l2-space'] }),
  o('v1beta1', 'BFDProfile', 'bfdprofile1', {
    detectMultiplier: 200,
    echoInterval: 62,
    echoMode: false,
    minimumTtl: 254,
    passiveMode: false,
    receiveInterval: 280,
    transmitInterval: 270,
  }),
  o('v1beta1', 'Community', 'communities', { communities: [{ name: 'no-export', value: '65535:65281' }] }),
];

test('every field: the ConfigMap and its config key alone give the same objects as MetalLB (config-yaml-full)', () => {
  assert.deepEqual(ok(migrateText(fixture('metallb-full.yaml'))).objects, FULL);
  assert.deepEqual(ok(migrateText(fixture('metallb-full-data.yaml'))).objects, FULL);
});

test('peers: peer1..N in order; hold time defaults to 90s and is rounded to seconds; keepalive only when given', () => {
  const r = ok(migrateText(fixture('metallb-peers.yaml')));
  assert.deepEqual(
    r.objects.map((x) => [x.kind, (x.metadata as { name: string }).name]),
    [
      ['BGPPeer', 'peer1'],
      ['BGPPeer', 'peer2'],
      ['BGPPeer', 'peer3'],
      ['BFDProfile', 'bfdprofile1'],
    ],
  );
  assert.deepEqual(r.objects[0]?.spec, { holdTime: '1m30s', myASN: 64512, peerASN: 64512, peerAddress: '10.96.0.100' });
  assert.deepEqual(r.objects[3]?.spec, { echoMode: false, passiveMode: false, receiveInterval: 280, transmitInterval: 270 });
  const rounded = ok(migrateLegacyConfig({ peers: [{ 'my-asn': 1, 'peer-asn': 2, 'peer-address': '10.0.0.1', 'hold-time': '4.9s' }] }));
  assert.equal((rounded.objects[0]?.spec as { holdTime: string }).holdTime, '4s');
});

test('names become Kubernetes names as MetalLB converts them (config-yaml-convert-names), references follow', () => {
  const r = ok(migrateText(fixture('metallb-convert-names.yaml')));
  assert.deepEqual(
    r.objects.map((x) => `${x.kind}/${(x.metadata as { name: string }).name}`),
    [
      'IPAddressPool/numbered-addresspool',
      'IPAddressPool/capitalized-addresspool',
      'BGPAdvertisement/bgpadvertisement1',
      'L2Advertisement/l2advertisement1',
      'BFDProfile/underscored-bfd-profile',
      'BFDProfile/toolongbfdprofilename01-toolongbfdprofilename02-toolongbfdprofi',
    ],
  );
  assert.deepEqual(r.objects[2]?.spec, { ipAddressPools: ['numbered-addresspool'] });
  assert.deepEqual(r.objects[3]?.spec, { ipAddressPools: ['capitalized-addresspool'] });
  assert.equal(r.notes.filter((n) => n.includes('renamed')).length, 4);
  // A peer's bfd-profile follows its profile's new name.
  const p = ok(
    migrateLegacyConfig({
      peers: [{ 'my-asn': 1, 'peer-asn': 2, 'peer-address': '10.0.0.1', 'bfd-profile': 'Fast_BFD' }],
      'bfd-profiles': [{ name: 'Fast_BFD' }],
    }),
  );
  assert.equal((p.objects[0]?.spec as { bfdProfile: string }).bfdProfile, 'fast-bfd');
  assert.equal((p.objects[1]?.metadata as { name: string }).name, 'fast-bfd');
});

test('k8sName: kept when valid, else truncated, lower-cased, _ → -, from the first letter; undefined when that is no name', () => {
  const cases: Array<[string, string | undefined]> = [
    ['default', 'default'],
    ['a', 'a'],
    ['My_Pool', 'my-pool'],
    ['007-bond', 'bond'],
    ['x'.repeat(70), 'x'.repeat(63)],
    ['123', undefined],
    ['bad pool', undefined],
    [`${'a'.repeat(62)}_b`, undefined], // cut at 63 leaves a trailing '-'
  ];
  for (const [given, want] of cases) assert.equal(k8sName(given), want, given);
});

test('communities: one Community "communities" with the aliases sorted; advertisements keep the alias names', () => {
  const r = ok(migrateText(fixture('metallb-communities.yaml')));
  assert.deepEqual(r.objects, [
    o('v1beta1', 'Community', 'communities', {
      communities: [
        { name: 'my-community', value: '1234:5678' },
        { name: 'no-export', value: '65535:65281' },
      ],
    }),
  ]);
  const adv = ok(migrateText(fixture('docs-bgp-advertisements.yaml')));
  assert.deepEqual(
    adv.objects.filter((x) => x.kind === 'BGPAdvertisement').map((x) => x.spec),
    [
      { aggregationLength: 32, communities: ['no-advertise'], ipAddressPools: ['default'], localPref: 100 },
      { aggregationLength: 24, ipAddressPools: ['default'] },
    ],
  );
});

test('pools: a bgp pool without advertisements gets an empty one, each layer2 pool an L2Advertisement; auto-assign kept, avoid-buggy-ips when true', () => {
  const r = ok(migrateText(fixture('docs-pools.yaml')));
  assert.deepEqual(
    r.objects.map((x) => [x.kind, x.spec]),
    [
      ['IPAddressPool', { addresses: ['42.176.25.64/30'] }],
      ['IPAddressPool', { addresses: ['42.176.25.128/28'], autoAssign: false }],
      ['IPAddressPool', { addresses: ['192.168.0.0/24'], avoidBuggyIPs: true }],
      ['IPAddressPool', { addresses: ['2001:db8:1::/120'] }],
      ['L2Advertisement', { ipAddressPools: ['production'] }],
      ['L2Advertisement', { ipAddressPools: ['expensive'] }],
      ['L2Advertisement', { ipAddressPools: ['old-network'] }],
      ['L2Advertisement', { ipAddressPools: ['ipv6'] }],
    ],
  );
  const bgp = ok(migrateText(fixture('docs-bgp.yaml')));
  assert.deepEqual(bgp.objects[2], o('v1beta1', 'BGPAdvertisement', 'bgpadvertisement1', { ipAddressPools: ['default'] }));
});

test("the ConfigMap's namespace is the objects' namespace unless one is given", () => {
  const r = ok(migrateText(fixture('namespace-lb-system.yaml')));
  assert.equal(r.namespace, 'lb-system');
  assert.ok(r.objects.every((x) => (x.metadata as { namespace: string }).namespace === 'lb-system'));
  assert.equal(ok(migrateText(fixture('namespace-lb-system.yaml'), 'other')).namespace, 'other');
});

test('node selectors: match-labels and match-expressions per selector, in order', () => {
  const r = ok(migrateText(fixture('docs-node-selectors.yaml')));
  assert.deepEqual((r.objects[0]?.spec as { nodeSelectors: unknown }).nodeSelectors, [
    { matchExpressions: [{ key: 'network-speed', operator: 'NotIn', values: ['slow'] }], matchLabels: { rack: 'frontend' } },
    { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['hostA', 'hostB'] }] },
  ]);
});

test('every example converts to objects that parseConfig (mooringctl validate) accepts, and renders back to the same objects', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 14, files.join(' '));
  for (const f of files) {
    const r = ok(migrateText(fixture(f)));
    const checked = parseConfig({ objects: r.objects, namespace: r.namespace });
    assert.ok(checked.ok, `${f}: ${JSON.stringify(!checked.ok && checked.errors)}`);
    const text = renderObjects(r.objects, `from ${f}`);
    assert.ok(text.startsWith(`# from ${f}\n`));
    assert.deepEqual(
      parseAllDocuments(text).map((d) => d.toJS() as unknown),
      r.objects,
      f,
    );
  }
});

test('YAML 1.1 readers (kubectl) see communities as strings: 64512:1 is quoted, it would be a base-60 number', () => {
  const text = renderObjects(FULL, 'x');
  assert.match(text, /- "64512:1"\n/);
  assert.match(text, /value: 65535:65281\n/);
});

test('bad input: one problem per field with its value, nothing converted', () => {
  const peer = { 'my-asn': 64500, 'peer-asn': 64501, 'peer-address': '10.0.0.1' };
  const pool = { name: 'p', protocol: 'bgp', addresses: ['198.51.100.0/24'] };
  const cases: Array<{ desc: string; input: unknown; want: string[] }> = [
    {
      desc: 'MetalLB testdata config-data-full.yaml: protocol "l2" (MetalLB converter silently drops the L2Advertisement)',
      input: { 'address-pools': [{ ...pool, protocol: 'l2' }] },
      want: ['address-pools[0].protocol: "l2": unknown protocol: expected "layer2" or "bgp"'],
    },
    {
      desc: 'missing and mistyped peer fields',
      input: { peers: [{ 'peer-asn': 'x', 'peer-address': 10, 'hold-time': '1s', 'peer-port': 70000 }] },
      want: [
        'peers[0].hold-time: "1s": invalid hold time: must be 0 or >=3s',
        'peers[0].my-asn: Required value',
        'peers[0].peer-asn: "x": must be an integer 1-4294967295',
        'peers[0].peer-address: 10: must be a string, got number',
        'peers[0].peer-port: 70000: must be an integer 0-65535',
      ],
    },
    {
      desc: 'a hold time that is not a duration, a number for a duration',
      input: { peers: [{ ...peer, 'hold-time': '90 seconds', 'keepalive-time': 30 }] },
      want: [
        'peers[0].hold-time: "90 seconds": invalid duration: want a Go duration such as "90s" or "1m30s"',
        'peers[0].keepalive-time: 30: must be a string, got number',
      ],
    },
    {
      desc: 'unknown fields (a typo, the v0.2 cidr) are not dropped silently',
      input: { 'address-pools': [{ ...pool, cidr: ['10.0.0.0/8'] }], peer: [] },
      want: [
        'peer: []: unknown field: expected one of peers, bgp-communities, address-pools, bfd-profiles',
        'address-pools[0].cidr: ["10.0.0.0/8"]: unknown field: expected one of protocol, name, addresses, auto-assign, avoid-buggy-ips, bgp-advertisements',
      ],
    },
    {
      desc: 'bgp-advertisements on a layer2 pool (MetalLB ≤ 0.12 refuses them)',
      input: { 'address-pools': [{ ...pool, protocol: 'layer2', 'bgp-advertisements': [{ 'aggregation-length': 24 }] }] },
      want: ['address-pools[0].bgp-advertisements: a layer2 address pool cannot have bgp-advertisements (MetalLB refuses them too)'],
    },
    {
      desc: 'an undefined community alias, an aggregation length out of range, a bad selector operator, an undefined BFD profile',
      input: {
        peers: [
          { ...peer, 'bfd-profile': 'nope', 'node-selectors': [{ 'match-expressions': [{ key: 'k', operator: 'in', values: ['v'] }] }] },
        ],
        'address-pools': [{ ...pool, 'bgp-advertisements': [{ 'aggregation-length': 33, communities: ['no-export'] }] }],
      },
      want: [
        'peers[0].bfd-profile: "nope": no bfd-profiles entry with that name',
        'peers[0].node-selectors[0].match-expressions[0].operator: "in": invalid operator: expected In, NotIn, Exists or DoesNotExist',
        'address-pools[0].bgp-advertisements[0].communities[0]: "no-export": neither a community value (AA:NN) nor a name defined in bgp-communities',
        'address-pools[0].bgp-advertisements[0].aggregation-length: 33: must be an integer 0-32',
      ],
    },
    {
      desc: 'two names that become one, a name that cannot become one',
      input: { 'address-pools': [pool, { ...pool, name: 'P', addresses: ['203.0.113.0/24'] }, { ...pool, name: '42' }] },
      want: [
        'address-pools[1].name: "P": IPAddressPool name "p" is already used by address-pools[0].name',
        'address-pools[2].name: "42": cannot be made a Kubernetes IPAddressPool name (lower case letters, digits, \'-\')',
      ],
    },
    {
      desc: 'a config that converts but is not valid (overlapping pools): parseConfig errors',
      input: { 'address-pools': [pool, { ...pool, name: 'q', addresses: ['198.51.100.128/25'] }] },
      want: [
        '(converted): IPAddressPool/q: spec.addresses[0]: CIDR "198.51.100.128/25" in pool "q" overlaps with already defined CIDR "198.51.100.0/24" in pool "p"',
      ],
    },
    {
      desc: 'empty',
      input: {},
      want: [': nothing to convert: the legacy config has none of peers, bgp-communities, address-pools, bfd-profiles'],
    },
    {
      desc: 'not a mapping',
      input: ['x'],
      want: [': ["x"]: the legacy config must be a mapping with peers, bgp-communities, address-pools, bfd-profiles'],
    },
    {
      desc: 'a huge value is shortened',
      input: { 'address-pools': [{ ...pool, protocol: 'z'.repeat(100_000) }] },
      want: [`address-pools[0].protocol: "${'z'.repeat(80)}…" (100000 chars): unknown protocol: expected "layer2" or "bgp"`],
    },
  ];
  for (const c of cases) assert.deepEqual(problems(migrateLegacyConfig(c.input)), c.want, c.desc);
});

test('bad files: malformed YAML, an alias bomb, no ConfigMap, an empty config key, two ConfigMaps', () => {
  const cm = (config: string, name = 'config') =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: metallb-system\ndata:\n  config: ${JSON.stringify(config)}\n`;
  const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
    .concat(Array.from({ length: 10 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`))
    .join('\n');
  const cases: Array<[string, string, RegExp]> = [
    ['malformed', 'peers: [\n', /^: document 1: malformed YAML: /],
    ['alias bomb', bomb, /^: cannot read the YAML: .*alias/i],
    [
      'other manifests only',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n',
      /^: no MetalLB configuration found: expected a ConfigMap/,
    ],
    ['empty config key', cm(''), /^data\.config: bad ConfigMap: the "config" key must hold the legacy configuration/],
    ['malformed config key', cm('peers: [\n'), /^data\.config: document 1: malformed YAML/],
    ['two ConfigMaps', `${cm('peers: []')}---\n${cm('peers: []', 'other')}`, /^: 2 ConfigMaps with a "config" key in the file/],
    ['typo in the only key', 'address-pool: []\n', /^address-pool: \[\]: unknown field/],
  ];
  for (const [desc, text, want] of cases) {
    const got = problems(migrateText(text));
    assert.equal(got.length, 1, `${desc}: ${got.join(' | ')}`);
    assert.match(got[0] ?? '', want, desc);
  }
  // The ConfigMap among other manifests (as in MetalLB's release manifest) is found.
  const mixed = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: metallb-system\n---\n${cm('address-pools: [{name: a, protocol: layer2, addresses: [198.51.100.0/29]}]')}`;
  assert.equal(ok(migrateText(mixed)).objects.length, 2);
});
