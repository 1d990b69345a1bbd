// Table tests for parseConfig in the style of MetalLB's TestParse: each case is a snapshot of
// objects and either the exact errors (kind, name, field, message, class) or assertions on the
// parsed value with defaults applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseConfig,
  formatConfigError,
  type Config,
  type ConfigSnapshot,
  type RawObject,
  type SecretInfo,
  type NodeInfo,
  type NamespaceInfo,
} from './config.js';

const NS = 'metallb-system';
const obj =
  (apiVersion: string, kind: string) =>
  (name: string, spec: Record<string, unknown>, labels?: Record<string, string>): RawObject => ({
    apiVersion,
    kind,
    metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
    spec,
  });
const pool = obj('metallb.io/v1beta1', 'IPAddressPool');
const l2 = obj('metallb.io/v1beta1', 'L2Advertisement');
const bgpAdv = obj('metallb.io/v1beta1', 'BGPAdvertisement');
const peer = obj('metallb.io/v1beta2', 'BGPPeer');
const peerV1 = obj('metallb.io/v1beta1', 'BGPPeer');
const bfd = obj('metallb.io/v1beta1', 'BFDProfile');
const community = obj('metallb.io/v1beta1', 'Community');
const P = { myASN: 64512, peerASN: 64500, peerAddress: '198.51.100.1' };
const v4pool = pool('p', { addresses: ['198.51.100.0/24'] });
const basicAuth = (name: string, password?: string, type = 'kubernetes.io/basic-auth'): SecretInfo => ({
  name,
  namespace: NS,
  type,
  ...(password !== undefined ? { data: { password: Buffer.from(password).toString('base64') } } : { data: {} }),
});

type Err = [kind: string, name: string, field: string, message: string, cls?: 'config' | 'transient'];
interface Case {
  desc: string;
  objects: RawObject[];
  nodes?: NodeInfo[];
  namespaces?: NamespaceInfo[];
  secrets?: SecretInfo[];
  wantErr?: Err[];
  want?: (c: Config) => void;
}

const cases: Case[] = [
  // ---- envelope ---------------------------------------------------------------------------
  {
    desc: 'empty snapshot is a valid empty config',
    objects: [],
    want: (c) =>
      assert.deepEqual(c, { pools: [], l2Advertisements: [], bgpAdvertisements: [], peers: [], bfdProfiles: [], communities: {} }),
  },
  {
    desc: 'unknown kind',
    objects: [{ apiVersion: 'metallb.io/v1beta1', kind: 'Gadget', metadata: { name: 'g' } }],
    wantErr: [
      [
        'Gadget',
        'g',
        'kind',
        'unknown kind "Gadget": expected one of IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community',
      ],
    ],
  },
  {
    desc: 'wrong apiVersion',
    objects: [
      { apiVersion: 'metallb.io/v1alpha1', kind: 'IPAddressPool', metadata: { name: 'x' }, spec: { addresses: ['198.51.100.0/24'] } },
    ],
    wantErr: [
      ['IPAddressPool', 'x', 'apiVersion', 'unsupported apiVersion "metallb.io/v1alpha1" for IPAddressPool: expected metallb.io/v1beta1'],
    ],
  },
  {
    desc: 'BGPPeer v1beta3 does not exist',
    objects: [{ apiVersion: 'metallb.io/v1beta3', kind: 'BGPPeer', metadata: { name: 'x' }, spec: P }],
    wantErr: [
      [
        'BGPPeer',
        'x',
        'apiVersion',
        'unsupported apiVersion "metallb.io/v1beta3" for BGPPeer: expected metallb.io/v1beta1 or metallb.io/v1beta2',
      ],
    ],
  },
  {
    desc: 'missing name',
    objects: [{ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: {}, spec: { addresses: ['198.51.100.0/24'] } }],
    wantErr: [['IPAddressPool', '', 'metadata.name', 'Required value: every object needs a name']],
  },
  {
    desc: 'object in another namespace',
    objects: [{ ...v4pool, metadata: { name: 'p', namespace: 'default' } }],
    wantErr: [['IPAddressPool', 'p', 'metadata.namespace', 'config objects must be in namespace "metallb-system", found "default"']],
  },
  {
    desc: 'object without namespace is taken as the config namespace',
    objects: [{ ...v4pool, metadata: { name: 'p' } }],
    want: (c) => assert.equal(c.pools[0]?.name, 'p'),
  },
  {
    desc: 'unknown spec field',
    objects: [pool('p', { addresses: ['198.51.100.0/24'], autoassign: false })],
    wantErr: [['IPAddressPool', 'p', 'spec.autoassign', 'unknown field "autoassign"']],
  },
  {
    desc: 'wrong field type',
    objects: [pool('p', { addresses: '198.51.100.0/24' })],
    wantErr: [['IPAddressPool', 'p', 'spec.addresses', 'must be of type array, got string "198.51.100.0/24"']],
  },
  { desc: 'required field missing', objects: [pool('p', {})], wantErr: [['IPAddressPool', 'p', 'spec.addresses', 'Required value']] },
  {
    desc: 'duplicate names of one kind',
    objects: [v4pool, pool('p', { addresses: ['203.0.113.0/24'] })],
    wantErr: [['IPAddressPool', 'p', 'metadata.name', 'duplicate definition of IPAddressPool "p"']],
  },

  // ---- IPAddressPool ------------------------------------------------------------------------
  {
    desc: 'pool defaults',
    objects: [v4pool],
    want: (c) => {
      const p = c.pools[0];
      assert.equal(p?.autoAssign, true);
      assert.equal(p?.avoidBuggyIPs, false);
      assert.equal(p?.serviceAllocation, undefined);
      assert.deepEqual(
        p?.ranges.map((r) => [r.family, r.first, r.last, r.minPrefixLen]),
        [[4, 0xc6336400n, 0xc63364ffn, 24]],
      );
    },
  },
  {
    desc: 'pool flags as given',
    objects: [pool('p', { addresses: ['198.51.100.0/24'], autoAssign: false, avoidBuggyIPs: true })],
    want: (c) => {
      assert.equal(c.pools[0]?.autoAssign, false);
      assert.equal(c.pools[0]?.avoidBuggyIPs, true);
    },
  },
  {
    desc: 'empty addresses',
    objects: [pool('p', { addresses: [] })],
    wantErr: [['IPAddressPool', 'p', 'spec.addresses', 'pool has no prefixes defined']],
  },
  {
    desc: 'invalid CIDR',
    objects: [pool('p', { addresses: ['198.51.100.0/33'] })],
    wantErr: [['IPAddressPool', 'p', 'spec.addresses[0]', 'invalid CIDR "198.51.100.0/33"']],
  },
  {
    desc: 'garbage address',
    objects: [pool('p', { addresses: ['not-an-ip'] })],
    wantErr: [['IPAddressPool', 'p', 'spec.addresses[0]', 'invalid IP range "not-an-ip": invalid start IP "not"']],
  },
  {
    desc: 'IPv4 shorthand is refused',
    objects: [pool('p', { addresses: ['10.1/16'] })],
    wantErr: [['IPAddressPool', 'p', 'spec.addresses[0]', 'invalid CIDR "10.1/16"']],
  },
  {
    desc: 'range with bad end',
    objects: [pool('p', { addresses: ['198.51.100.1-198.51.100.300'] })],
    wantErr: [
      ['IPAddressPool', 'p', 'spec.addresses[0]', 'invalid IP range "198.51.100.1-198.51.100.300": invalid end IP "198.51.100.300"'],
    ],
  },
  {
    desc: 'range start after end',
    objects: [pool('p', { addresses: ['198.51.100.20-198.51.100.10'] })],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.addresses[0]',
        'invalid IP range "198.51.100.20-198.51.100.10": start IP "198.51.100.20" is after the end IP "198.51.100.10"',
      ],
    ],
  },
  {
    desc: 'range mixing families',
    objects: [pool('p', { addresses: ['198.51.100.1-2001:db8::1'] })],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.addresses[0]',
        'invalid IP range "198.51.100.1-2001:db8::1": start and end IPs are of different families',
      ],
    ],
  },
  {
    desc: 'range parsed with its smallest covering prefix',
    objects: [pool('p', { addresses: ['198.51.100.10-198.51.100.20'] })],
    want: (c) =>
      assert.deepEqual(
        c.pools[0]?.ranges.map((r) => [r.first & 0xffn, r.last & 0xffn, r.minPrefixLen]),
        [[10n, 20n, 30]] /* 10/31, 12/30, 16/30, 20/32 */,
      ),
  },
  {
    desc: 'IPv6 /64 pool',
    objects: [pool('p', { addresses: ['2001:db8:1::/64'] })],
    want: (c) => {
      const r = c.pools[0]?.ranges[0];
      assert.equal(r?.family, 6);
      assert.equal((r?.last ?? 0n) - (r?.first ?? 0n), (1n << 64n) - 1n);
    },
  },
  {
    desc: 'CIDR with host bits is normalised',
    objects: [pool('p', { addresses: ['198.51.100.77/24'] })],
    want: (c) => assert.equal(c.pools[0]?.ranges[0]?.first, 0xc6336400n),
  },
  {
    desc: 'overlap inside one pool',
    objects: [pool('p', { addresses: ['198.51.100.0/24', '198.51.100.10-198.51.100.12'] })],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.addresses[1]',
        'CIDR "198.51.100.10-198.51.100.12" overlaps with CIDR "198.51.100.0/24" in the same pool',
      ],
    ],
  },
  {
    desc: 'overlap across pools is reported on the later pool by name',
    objects: [pool('b', { addresses: ['198.51.100.0/24'] }), pool('a', { addresses: ['198.51.100.128/25'] })],
    wantErr: [
      [
        'IPAddressPool',
        'b',
        'spec.addresses[0]',
        'CIDR "198.51.100.0/24" in pool "b" overlaps with already defined CIDR "198.51.100.128/25" in pool "a"',
      ],
    ],
  },
  {
    desc: 'IPv6 overlap across pools',
    objects: [pool('a', { addresses: ['2001:db8::/64'] }), pool('b', { addresses: ['2001:db8::5-2001:db8::9'] })],
    wantErr: [
      [
        'IPAddressPool',
        'b',
        'spec.addresses[0]',
        'CIDR "2001:db8::5-2001:db8::9" in pool "b" overlaps with already defined CIDR "2001:db8::/64" in pool "a"',
      ],
    ],
  },
  {
    desc: 'adjacent ranges do not overlap',
    objects: [pool('a', { addresses: ['198.51.100.0/25'] }), pool('b', { addresses: ['198.51.100.128/25'] })],
    want: (c) => assert.equal(c.pools.length, 2),
  },
  {
    desc: 'serviceAllocation duplicate namespace',
    objects: [pool('p', { addresses: ['198.51.100.0/24'], serviceAllocation: { namespaces: ['a', 'a'] } })],
    wantErr: [['IPAddressPool', 'p', 'spec.serviceAllocation.namespaces[1]', 'duplicate definition of namespace "a"']],
  },
  {
    desc: 'serviceAllocation duplicate service selectors',
    objects: [
      pool('p', {
        addresses: ['198.51.100.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchLabels: { a: '1' } }, { matchLabels: { a: '1' } }] },
      }),
    ],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.serviceAllocation.serviceSelectors[1]',
        'duplicate definition of serviceSelectors {"matchLabels":{"a":"1"}}',
      ],
    ],
  },
  {
    desc: 'selectors equal up to value order are duplicates',
    objects: [
      pool('p', {
        addresses: ['198.51.100.0/24'],
        serviceAllocation: {
          namespaceSelectors: [
            { matchExpressions: [{ key: 'k', operator: 'In', values: ['a', 'b'] }] },
            { matchExpressions: [{ key: 'k', operator: 'In', values: ['b', 'a'] }] },
          ],
        },
      }),
    ],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.serviceAllocation.namespaceSelectors[1]',
        'duplicate definition of namespaceSelectors {"matchExpressions":[{"key":"k","operator":"In","values":["b","a"]}]}',
      ],
    ],
  },
  {
    desc: 'selector In without values',
    objects: [
      pool('p', {
        addresses: ['198.51.100.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'In' }] }] },
      }),
    ],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].values',
        'must be specified when operator is In',
      ],
    ],
  },
  {
    desc: 'selector with a bad operator',
    objects: [
      pool('p', {
        addresses: ['198.51.100.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Equals', values: ['x'] }] }] },
      }),
    ],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator',
        'not a valid selector operator: "Equals"',
      ],
    ],
  },
  {
    desc: 'selector with duplicate values',
    objects: [
      pool('p', {
        addresses: ['198.51.100.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['x', 'x'] }] }] },
      }),
    ],
    wantErr: [
      [
        'IPAddressPool',
        'p',
        'spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].values[1]',
        'duplicate definition of match expression value in label selector "x"',
      ],
    ],
  },
  {
    desc: 'serviceAllocation resolves namespace selectors against namespaces',
    namespaces: [
      { name: 'web', labels: { team: 'a' } },
      { name: 'db', labels: { team: 'b' } },
    ],
    objects: [
      pool('p', {
        addresses: ['198.51.100.0/24'],
        serviceAllocation: { priority: 5, namespaces: ['ops'], namespaceSelectors: [{ matchLabels: { team: 'a' } }] },
      }),
    ],
    want: (c) =>
      assert.deepEqual(c.pools[0]?.serviceAllocation, {
        priority: 5,
        namespaces: ['ops', 'web'],
        namespaceSelectors: [{ matchLabels: { team: 'a' } }],
        serviceSelectors: [],
      }),
  },

  // ---- L2Advertisement -------------------------------------------------------------------------
  {
    desc: 'L2 advertisement without pools applies to every pool',
    objects: [v4pool, pool('q', { addresses: ['203.0.113.0/24'] }), l2('all', {})],
    want: (c) => {
      assert.deepEqual(c.l2Advertisements[0]?.pools, ['p', 'q']);
      assert.equal(c.l2Advertisements[0]?.allInterfaces, true);
      assert.deepEqual(
        c.pools.map((p) => p.l2Advertisements),
        [['all'], ['all']],
      );
    },
  },
  {
    desc: 'L2 advertisement by pool name',
    objects: [v4pool, pool('q', { addresses: ['203.0.113.0/24'] }), l2('a', { ipAddressPools: ['q'] })],
    want: (c) => {
      assert.deepEqual(c.l2Advertisements[0]?.pools, ['q']);
      assert.deepEqual(c.pools[0]?.l2Advertisements, []);
    },
  },
  {
    desc: 'L2 advertisement by pool selector',
    objects: [
      pool('p', { addresses: ['198.51.100.0/24'] }, { zone: 'a' }),
      pool('q', { addresses: ['203.0.113.0/24'] }, { zone: 'b' }),
      l2('a', { ipAddressPoolSelectors: [{ matchLabels: { zone: 'b' } }] }),
    ],
    want: (c) => assert.deepEqual(c.l2Advertisements[0]?.pools, ['q']),
  },
  {
    desc: 'L2 advertisement referencing a missing pool ignores it (MetalLB), so deleting a pool keeps the config valid',
    objects: [v4pool, l2('a', { ipAddressPools: ['p', 'gone'] })],
    want: (c) => {
      assert.deepEqual(c.l2Advertisements[0]?.pools, ['p']);
      assert.deepEqual(c.pools[0]?.l2Advertisements, ['a']);
    },
  },
  {
    desc: 'L2 advertisement duplicate pools',
    objects: [v4pool, l2('a', { ipAddressPools: ['p', 'p'] })],
    wantErr: [['L2Advertisement', 'a', 'spec.ipAddressPools[1]', 'duplicate definition of ipAddressPools "p"']],
  },
  {
    desc: 'L2 advertisement duplicate node selectors',
    objects: [l2('a', { nodeSelectors: [{ matchLabels: { r: 'x' } }, { matchLabels: { r: 'x' } }] })],
    wantErr: [['L2Advertisement', 'a', 'spec.nodeSelectors[1]', 'duplicate definition of nodeSelectors {"matchLabels":{"r":"x"}}']],
  },
  {
    desc: 'L2 advertisement invalid interface name',
    objects: [l2('a', { interfaces: ['this-name-is-too-long'] })],
    wantErr: [
      [
        'L2Advertisement',
        'a',
        'spec.interfaces[0]',
        `invalid interface name "this-name-is-too-long": 1-15 characters, no '/', ':' or whitespace`,
      ],
    ],
  },
  {
    desc: 'L2 advertisement duplicate interfaces',
    objects: [l2('a', { interfaces: ['eth0', 'eth0'] })],
    wantErr: [['L2Advertisement', 'a', 'spec.interfaces[1]', 'duplicate definition of interfaces "eth0"']],
  },
  {
    desc: 'L2 advertisement resolves node selectors',
    nodes: [
      { name: 'n1', labels: { role: 'edge' } },
      { name: 'n2', labels: {} },
    ],
    objects: [l2('a', { nodeSelectors: [{ matchLabels: { role: 'edge' } }], interfaces: ['eth1'] })],
    want: (c) => {
      assert.deepEqual(c.l2Advertisements[0]?.nodes, ['n1']);
      assert.deepEqual(c.l2Advertisements[0]?.interfaces, ['eth1']);
      assert.equal(c.l2Advertisements[0]?.allInterfaces, false);
    },
  },
  {
    desc: 'L2 advertisement without node selectors selects every node',
    nodes: [{ name: 'n2' }, { name: 'n1' }],
    objects: [l2('a', {})],
    want: (c) => assert.deepEqual(c.l2Advertisements[0]?.nodes, ['n1', 'n2']),
  },
  {
    desc: 'preferred node selector weight out of range',
    objects: [l2('a', { preferredNodeSelectors: [{ weight: 101, preference: { matchLabels: { a: 'b' } } }] })],
    wantErr: [['L2Advertisement', 'a', 'spec.preferredNodeSelectors[0].weight', 'must be less than or equal to 100, got 101']],
  },

  // ---- BGPAdvertisement ------------------------------------------------------------------------
  {
    desc: 'BGP advertisement defaults',
    objects: [v4pool, bgpAdv('a', {})],
    want: (c) =>
      assert.deepEqual(c.bgpAdvertisements[0], {
        name: 'a',
        pools: ['p'],
        aggregationLength: 32,
        aggregationLengthV6: 128,
        communities: [],
        peers: [],
        nodeSelectors: [],
        nodes: [],
        serviceSelectors: [],
      }),
  },
  {
    desc: 'aggregation length over 32',
    objects: [bgpAdv('a', { aggregationLength: 33 })],
    wantErr: [['BGPAdvertisement', 'a', 'spec.aggregationLength', 'invalid aggregation length 33 for IPv4: must be 0-32']],
  },
  {
    desc: 'IPv6 aggregation length over 128',
    objects: [bgpAdv('a', { aggregationLengthV6: 129 })],
    wantErr: [['BGPAdvertisement', 'a', 'spec.aggregationLengthV6', 'invalid aggregation length 129 for IPv6: must be 0-128']],
  },
  {
    desc: 'negative aggregation length',
    objects: [bgpAdv('a', { aggregationLength: -1 })],
    wantErr: [['BGPAdvertisement', 'a', 'spec.aggregationLength', 'must be greater than or equal to 1, got -1']],
  },
  {
    desc: 'aggregation less specific than the pool',
    objects: [v4pool, bgpAdv('a', { aggregationLength: 16 })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.aggregationLength',
        'invalid aggregation length 16: prefix /24 of "198.51.100.0/24" in pool "p" is more specific than the aggregation length',
      ],
    ],
  },
  {
    desc: 'aggregation checked against a range as its summarised CIDRs',
    objects: [pool('p', { addresses: ['198.51.100.10-198.51.100.20'] }), bgpAdv('a', { aggregationLength: 29 })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.aggregationLength',
        'invalid aggregation length 29: prefix /30 of "198.51.100.10-198.51.100.20" in pool "p" is more specific than the aggregation length',
      ],
    ],
  },
  {
    desc: 'aggregation equal to the pool prefix is fine',
    objects: [v4pool, bgpAdv('a', { aggregationLength: 24 })],
    want: (c) => assert.equal(c.bgpAdvertisements[0]?.aggregationLength, 24),
  },
  {
    desc: 'IPv6 aggregation less specific than the pool',
    objects: [pool('p', { addresses: ['2001:db8::/64'] }), bgpAdv('a', { aggregationLengthV6: 48 })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.aggregationLengthV6',
        'invalid aggregation length 48: prefix /64 of "2001:db8::/64" in pool "p" is more specific than the aggregation length',
      ],
    ],
  },
  {
    desc: 'communities: standard, large and alias',
    objects: [
      v4pool,
      community('c', { communities: [{ name: 'gold', value: '64512:7' }] }),
      bgpAdv('a', { communities: ['gold', '65535:65281', 'large:4200000000:1:2'] }),
    ],
    want: (c) =>
      assert.deepEqual(c.bgpAdvertisements[0]?.communities, [
        { kind: 'standard', value: 64512 * 65536 + 7, text: '64512:7' },
        { kind: 'standard', value: 0xffffff01, text: '65535:65281' },
        { kind: 'large', globalAdmin: 4200000000, localData1: 1, localData2: 2, text: 'large:4200000000:1:2' },
      ]),
  },
  {
    desc: 'community half over 16 bits',
    objects: [bgpAdv('a', { communities: ['65536:1'] })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.communities[0]',
        'invalid community value "65536:1": both halves must be 16-bit unsigned numbers (0-65535)',
      ],
    ],
  },
  {
    desc: 'community with letters',
    objects: [bgpAdv('a', { communities: ['abc:1'] })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.communities[0]',
        'invalid community value "abc:1": both halves must be 16-bit unsigned numbers (0-65535)',
      ],
    ],
  },
  {
    desc: 'large community part over 32 bits',
    objects: [bgpAdv('a', { communities: ['large:4294967296:1:1'] })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.communities[0]',
        'invalid large community value "large:4294967296:1:1": each part must be a 32-bit unsigned number',
      ],
    ],
  },
  {
    desc: 'large community with too few parts',
    objects: [bgpAdv('a', { communities: ['large:1:2'] })],
    wantErr: [['BGPAdvertisement', 'a', 'spec.communities[0]', 'invalid large community format "large:1:2": want large:GA:LD1:LD2']],
  },
  {
    desc: 'unknown community alias is transient',
    objects: [bgpAdv('a', { communities: ['silver'] })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.communities[0]',
        'invalid community "silver": not a community value and no Community alias with that name exists (yet)',
        'transient',
      ],
    ],
  },
  {
    desc: 'duplicate communities',
    objects: [bgpAdv('a', { communities: ['1:1', '1:1'] })],
    wantErr: [['BGPAdvertisement', 'a', 'spec.communities[1]', 'duplicate definition of community "1:1"']],
  },
  {
    desc: 'duplicate peers',
    objects: [peer('r', P), bgpAdv('a', { peers: ['r', 'r'] })],
    wantErr: [['BGPAdvertisement', 'a', 'spec.peers[1]', 'duplicate definition of peers "r"']],
  },
  {
    desc: 'advertisement to a missing peer is transient',
    objects: [bgpAdv('a', { peers: ['later'] })],
    wantErr: [['BGPAdvertisement', 'a', 'spec.peers[0]', 'BGPPeer "later" does not exist (yet)', 'transient']],
  },
  {
    desc: 'serviceSelectors exclude aggregationLength',
    objects: [bgpAdv('a', { aggregationLength: 24, serviceSelectors: [{ matchLabels: { a: 'b' } }] })],
    wantErr: [
      [
        'BGPAdvertisement',
        'a',
        'spec.aggregationLength',
        'serviceSelectors and aggregationLength are mutually exclusive, both cannot be set',
      ],
    ],
  },
  {
    desc: 'identical advertisements',
    objects: [bgpAdv('a', { localPref: 100 }), bgpAdv('b', { localPref: 100 })],
    wantErr: [['BGPAdvertisement', 'b', 'spec', 'duplicate definition of bgpadvertisements: "b" is equal to "a"']],
  },
  {
    desc: 'conflicting localPref for the same pool',
    objects: [v4pool, bgpAdv('a', { localPref: 100 }), bgpAdv('b', { localPref: 200, communities: ['1:1'] })],
    wantErr: [
      [
        'BGPAdvertisement',
        'b',
        'spec.localPref',
        'invalid local preference 200: BGPAdvertisement "a" sets local preference 100 for the same pool "p", peers, nodes and aggregation length',
      ],
    ],
  },
  {
    desc: 'different localPref to disjoint peers is fine',
    objects: [
      v4pool,
      peer('r1', P),
      peer('r2', { ...P, peerAddress: '198.51.100.2' }),
      bgpAdv('a', { localPref: 100, peers: ['r1'] }),
      bgpAdv('b', { localPref: 200, peers: ['r2'] }),
    ],
    want: (c) => assert.equal(c.bgpAdvertisements.length, 2),
  },
  {
    desc: 'different localPref with different aggregation is fine',
    objects: [v4pool, bgpAdv('a', { localPref: 100 }), bgpAdv('b', { localPref: 200, aggregationLength: 24 })],
    want: (c) => assert.equal(c.bgpAdvertisements.length, 2),
  },
  {
    desc: 'different localPref on disjoint nodes is fine',
    nodes: [
      { name: 'n1', labels: { r: 'a' } },
      { name: 'n2', labels: { r: 'b' } },
    ],
    objects: [
      v4pool,
      bgpAdv('a', { localPref: 100, nodeSelectors: [{ matchLabels: { r: 'a' } }] }),
      bgpAdv('b', { localPref: 200, nodeSelectors: [{ matchLabels: { r: 'b' } }] }),
    ],
    want: (c) =>
      assert.deepEqual(
        c.bgpAdvertisements.map((a) => a.nodes),
        [['n1'], ['n2']],
      ),
  },

  // ---- Community -------------------------------------------------------------------------------
  {
    desc: 'community alias with an invalid value',
    objects: [community('c', { communities: [{ name: 'bad', value: '1:99999' }] })],
    wantErr: [
      [
        'Community',
        'c',
        'spec.communities[0].value',
        'parsing community "bad": invalid community value "1:99999": both halves must be 16-bit unsigned numbers (0-65535)',
      ],
    ],
  },
  {
    desc: 'community alias defined twice across objects',
    objects: [
      community('c1', { communities: [{ name: 'x', value: '1:1' }] }),
      community('c2', { communities: [{ name: 'x', value: '1:2' }] }),
    ],
    wantErr: [['Community', 'c2', 'spec.communities[0].name', 'duplicate definition of community "x" (also in Community "c1")']],
  },
  {
    desc: 'community alias without a name',
    objects: [community('c', { communities: [{ value: '1:1' }] })],
    wantErr: [['Community', 'c', 'spec.communities[0].name', 'Required value: an alias needs a name']],
  },
  {
    desc: 'community alias name with a colon',
    objects: [community('c', { communities: [{ name: 'a:b', value: '1:1' }] })],
    wantErr: [['Community', 'c', 'spec.communities[0].name', `invalid alias "a:b": an alias must not contain ':'`]],
  },

  // ---- BGPPeer ---------------------------------------------------------------------------------
  {
    desc: 'peer defaults',
    objects: [peer('r', P)],
    want: (c) =>
      assert.deepEqual(c.peers[0], {
        name: 'r',
        myASN: 64512,
        peerASN: 64500,
        address: '198.51.100.1',
        port: 179,
        holdTimeMs: 90000,
        keepaliveTimeMs: 30000,
        nodeSelectors: [],
        passwordSource: 'none',
        enableGracefulRestart: false,
        ebgpMultiHop: false,
        vrf: '',
        disableMP: false,
        dualStackAddressFamily: false,
      }),
  },
  {
    desc: 'hold time only: keepalive is a third',
    objects: [peer('r', { ...P, holdTime: '9s' })],
    want: (c) => {
      assert.equal(c.peers[0]?.holdTimeMs, 9000);
      assert.equal(c.peers[0]?.keepaliveTimeMs, 3000);
    },
  },
  {
    desc: 'keepalive only: hold is three times',
    objects: [peer('r', { ...P, keepaliveTime: '10s' })],
    want: (c) => {
      assert.equal(c.peers[0]?.holdTimeMs, 30000);
      assert.equal(c.peers[0]?.keepaliveTimeMs, 10000);
    },
  },
  {
    desc: 'hold time 0 disables keepalives',
    objects: [peer('r', { ...P, holdTime: '0s' })],
    want: (c) => {
      assert.equal(c.peers[0]?.holdTimeMs, 0);
      assert.equal(c.peers[0]?.keepaliveTimeMs, 0);
    },
  },
  {
    desc: 'compound durations',
    objects: [peer('r', { ...P, holdTime: '1m30s', keepaliveTime: '1.5s' })],
    want: (c) => {
      assert.equal(c.peers[0]?.holdTimeMs, 90000);
      assert.equal(c.peers[0]?.keepaliveTimeMs, 1500);
    },
  },
  {
    desc: 'hold time under 3s',
    objects: [peer('r', { ...P, holdTime: '2s' })],
    wantErr: [['BGPPeer', 'r', 'spec.holdTime', 'invalid hold time "2s": must be 0 or >=3s']],
  },
  {
    desc: 'keepalive above hold time',
    objects: [peer('r', { ...P, holdTime: '9s', keepaliveTime: '10s' })],
    wantErr: [['BGPPeer', 'r', 'spec.keepaliveTime', 'invalid keepaliveTime "10s", must be lower than holdTime "9s"']],
  },
  {
    desc: 'not a duration',
    objects: [peer('r', { ...P, holdTime: '90' })],
    wantErr: [['BGPPeer', 'r', 'spec.holdTime', 'invalid duration "90": want a Go duration such as "90s" or "1m30s"']],
  },
  {
    desc: 'connect time out of range',
    objects: [peer('r', { ...P, connectTime: '0.5s' })],
    wantErr: [['BGPPeer', 'r', 'spec.connectTime', 'connect time should be between 1 seconds to 65535']],
  },
  {
    desc: 'connect time not whole seconds',
    objects: [peer('r', { ...P, connectTime: '1500ms' })],
    wantErr: [['BGPPeer', 'r', 'spec.connectTime', 'connect time should contain a whole number of seconds']],
  },
  {
    desc: 'connect time accepted',
    objects: [peer('r', { ...P, connectTime: '5s' })],
    want: (c) => assert.equal(c.peers[0]?.connectTimeMs, 5000),
  },
  {
    desc: 'missing local ASN',
    objects: [peer('r', { peerASN: 1, peerAddress: '198.51.100.1' })],
    wantErr: [['BGPPeer', 'r', 'spec.myASN', 'Required value']],
  },
  { desc: 'local ASN 0', objects: [peer('r', { ...P, myASN: 0 })], wantErr: [['BGPPeer', 'r', 'spec.myASN', 'missing local ASN']] },
  {
    desc: 'ASN over 32 bits',
    objects: [peer('r', { ...P, peerASN: 4294967296 })],
    wantErr: [['BGPPeer', 'r', 'spec.peerASN', 'must be less than or equal to 4294967295, got 4294967296']],
  },
  {
    desc: 'neither peer ASN nor dynamic ASN',
    objects: [peer('r', { myASN: 1, peerAddress: '198.51.100.1' })],
    wantErr: [['BGPPeer', 'r', 'spec.peerASN', 'missing peer ASN and dynamicASN: set exactly one']],
  },
  {
    desc: 'both peer ASN and dynamic ASN',
    objects: [peer('r', { ...P, dynamicASN: 'external' })],
    wantErr: [['BGPPeer', 'r', 'spec.dynamicASN', 'both peer ASN and dynamicASN specified: set exactly one']],
  },
  {
    desc: 'invalid dynamic ASN',
    objects: [peer('r', { myASN: 1, dynamicASN: 'sideways', peerAddress: '198.51.100.1' })],
    wantErr: [['BGPPeer', 'r', 'spec.dynamicASN', 'unsupported value "sideways": supported values: "internal", "external"']],
  },
  {
    desc: 'dynamic ASN accepted',
    objects: [peer('r', { myASN: 1, dynamicASN: 'internal', peerAddress: '198.51.100.1' })],
    want: (c) => {
      assert.equal(c.peers[0]?.dynamicASN, 'internal');
      assert.equal(c.peers[0]?.peerASN, undefined);
    },
  },
  {
    desc: 'multihop on iBGP',
    objects: [peer('r', { ...P, peerASN: 64512, ebgpMultiHop: true })],
    wantErr: [['BGPPeer', 'r', 'spec.ebgpMultiHop', 'invalid ebgp-multihop parameter set for an ibgp peer']],
  },
  {
    desc: 'no address nor interface',
    objects: [peer('r', { myASN: 1, peerASN: 2 })],
    wantErr: [['BGPPeer', 'r', 'spec.peerAddress', 'peer has no Address or Interface specified']],
  },
  {
    desc: 'address and interface',
    objects: [peer('r', { ...P, interface: 'eth0' })],
    wantErr: [['BGPPeer', 'r', 'spec.interface', 'peer has both Address and Interface specified']],
  },
  {
    desc: 'unnumbered peer by interface',
    objects: [peer('r', { myASN: 1, peerASN: 2, interface: 'eth1' })],
    want: (c) => assert.equal(c.peers[0]?.interface, 'eth1'),
  },
  {
    desc: 'invalid peer address',
    objects: [peer('r', { ...P, peerAddress: '198.51.100.300' })],
    wantErr: [['BGPPeer', 'r', 'spec.peerAddress', 'invalid BGPPeer address "198.51.100.300"']],
  },
  {
    desc: 'invalid source address',
    objects: [peer('r', { ...P, sourceAddress: 'eth0' })],
    wantErr: [['BGPPeer', 'r', 'spec.sourceAddress', 'invalid source IP "eth0"']],
  },
  {
    desc: 'router ID must be IPv4',
    objects: [peer('r', { ...P, routerID: '2001:db8::1' })],
    wantErr: [['BGPPeer', 'r', 'spec.routerID', 'invalid router ID "2001:db8::1": must be an IPv4 address']],
  },
  {
    desc: 'peer port above 16384',
    objects: [peer('r', { ...P, peerPort: 20000 })],
    wantErr: [['BGPPeer', 'r', 'spec.peerPort', 'must be less than or equal to 16384, got 20000']],
  },
  {
    desc: 'password and passwordSecret',
    objects: [peer('r', { ...P, password: 'a', passwordSecret: { name: 's' } })],
    secrets: [basicAuth('s', 'b')],
    wantErr: [['BGPPeer', 'r', 'spec.passwordSecret', 'can not have both password and secret ref set in peer config "metallb-system/r"']],
  },
  {
    desc: 'password with a newline',
    objects: [peer('r', { ...P, password: 'a\nb' })],
    wantErr: [['BGPPeer', 'r', 'spec.password', 'password for peer "r" contains invalid characters (newline)']],
  },
  {
    desc: 'password from a basic-auth secret',
    objects: [peer('r', { ...P, passwordSecret: { name: 's', namespace: NS } })],
    secrets: [basicAuth('s', 's3cret')],
    want: (c) => {
      assert.equal(c.peers[0]?.password, 's3cret');
      assert.equal(c.peers[0]?.passwordSource, 'secret');
    },
  },
  {
    desc: 'missing secret is transient',
    objects: [peer('r', { ...P, passwordSecret: { name: 's' } })],
    wantErr: [
      [
        'BGPPeer',
        'r',
        'spec.passwordSecret.name',
        'secret ref not found for peer config: Secret "metallb-system/s" does not exist (yet)',
        'transient',
      ],
    ],
  },
  {
    desc: 'secret of the wrong type',
    objects: [peer('r', { ...P, passwordSecret: { name: 's' } })],
    secrets: [basicAuth('s', 'x', 'Opaque')],
    wantErr: [
      [
        'BGPPeer',
        'r',
        'spec.passwordSecret.name',
        'secret type mismatch on "metallb-system/s": type "kubernetes.io/basic-auth" is expected, found "Opaque"',
      ],
    ],
  },
  {
    desc: 'secret without a password key',
    objects: [peer('r', { ...P, passwordSecret: { name: 's' } })],
    secrets: [basicAuth('s')],
    wantErr: [
      ['BGPPeer', 'r', 'spec.passwordSecret.name', 'password not specified in the secret "metallb-system/s": key "password" is missing'],
    ],
  },
  {
    desc: 'secret in another namespace',
    objects: [peer('r', { ...P, passwordSecret: { name: 's', namespace: 'kube-system' } })],
    wantErr: [
      ['BGPPeer', 'r', 'spec.passwordSecret.namespace', 'the password secret must be in namespace "metallb-system", found "kube-system"'],
    ],
  },
  {
    desc: 'missing BFD profile is transient',
    objects: [peer('r', { ...P, bfdProfile: 'fast' })],
    wantErr: [['BGPPeer', 'r', 'spec.bfdProfile', 'peer r referencing non existing bfd profile fast', 'transient']],
  },
  {
    desc: 'BFD profile reference resolves',
    objects: [peer('r', { ...P, bfdProfile: 'fast' }), bfd('fast', {})],
    want: (c) => assert.equal(c.peers[0]?.bfdProfile, 'fast'),
  },
  {
    desc: 'two peers for the same session',
    objects: [peer('r1', P), peer('r2', P)],
    wantErr: [['BGPPeer', 'r2', 'spec', 'peer r2 already exists: identical to BGPPeer "r1"']],
  },
  {
    desc: 'same address in another VRF is another session',
    objects: [peer('r1', P), peer('r2', { ...P, vrf: 'red' })],
    want: (c) => assert.equal(c.peers.length, 2),
  },
  {
    desc: 'peer node selector validated',
    objects: [peer('r', { ...P, nodeSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['v'] }] }] })],
    wantErr: [['BGPPeer', 'r', 'spec.nodeSelectors[0].matchExpressions[0].values', 'may not be specified when operator is Exists']],
  },
  {
    desc: 'v1beta1 peer converts, unset timers stay default (not 0s)',
    objects: [peerV1('r', P)],
    want: (c) => {
      assert.equal(c.peers[0]?.holdTimeMs, 90000);
      assert.equal(c.peers[0]?.keepaliveTimeMs, 30000);
    },
  },
  {
    desc: 'v1beta1 peer requires peerASN',
    objects: [peerV1('r', { myASN: 1, peerAddress: '198.51.100.1' })],
    wantErr: [['BGPPeer', 'r', 'spec.peerASN', 'Required value']],
  },
  {
    desc: 'v1beta1 peer has no dynamicASN field',
    objects: [peerV1('r', { ...P, dynamicASN: 'internal' })],
    wantErr: [['BGPPeer', 'r', 'spec.dynamicASN', 'unknown field "dynamicASN"']],
  },

  // ---- BFDProfile ------------------------------------------------------------------------------
  {
    desc: 'BFD profile defaults',
    objects: [bfd('b', {})],
    want: (c) =>
      assert.deepEqual(c.bfdProfiles[0], {
        name: 'b',
        receiveIntervalMs: 300,
        transmitIntervalMs: 300,
        detectMultiplier: 3,
        echoIntervalMs: 50,
        echoMode: false,
        passiveMode: false,
        minimumTtl: 254,
      }),
  },
  {
    desc: 'BFD receive interval under 10ms',
    objects: [bfd('b', { receiveInterval: 5 })],
    wantErr: [['BFDProfile', 'b', 'spec.receiveInterval', 'must be greater than or equal to 10, got 5']],
  },
  {
    desc: 'BFD transmit interval over 60000ms',
    objects: [bfd('b', { transmitInterval: 60001 })],
    wantErr: [['BFDProfile', 'b', 'spec.transmitInterval', 'must be less than or equal to 60000, got 60001']],
  },
  {
    desc: 'BFD multiplier under 2',
    objects: [bfd('b', { detectMultiplier: 1 })],
    wantErr: [['BFDProfile', 'b', 'spec.detectMultiplier', 'must be greater than or equal to 2, got 1']],
  },
  {
    desc: 'BFD minimum TTL over 254',
    objects: [bfd('b', { minimumTtl: 255 })],
    wantErr: [['BFDProfile', 'b', 'spec.minimumTtl', 'must be less than or equal to 254, got 255']],
  },
  {
    desc: 'BFD echo interval under 10ms',
    objects: [bfd('b', { echoInterval: 9 })],
    wantErr: [['BFDProfile', 'b', 'spec.echoInterval', 'must be greater than or equal to 10, got 9']],
  },
  {
    desc: 'BFD profile values as given',
    objects: [bfd('b', { receiveInterval: 100, transmitInterval: 50, detectMultiplier: 5, passiveMode: true, minimumTtl: 250 })],
    want: (c) =>
      assert.deepEqual(
        [
          c.bfdProfiles[0]?.receiveIntervalMs,
          c.bfdProfiles[0]?.transmitIntervalMs,
          c.bfdProfiles[0]?.detectMultiplier,
          c.bfdProfiles[0]?.passiveMode,
          c.bfdProfiles[0]?.minimumTtl,
        ],
        [100, 50, 5, true, 250],
      ),
  },
  {
    desc: 'several errors are all reported, sorted',
    objects: [
      pool('b', { addresses: ['198.51.100.0/24'] }),
      pool('a', { addresses: ['198.51.100.0/25'] }),
      bfd('x', { detectMultiplier: 0 }),
      peer('r', { ...P, holdTime: '1s' }),
    ],
    wantErr: [
      ['BFDProfile', 'x', 'spec.detectMultiplier', 'must be greater than or equal to 2, got 0'],
      ['BGPPeer', 'r', 'spec.holdTime', 'invalid hold time "1s": must be 0 or >=3s'],
      [
        'IPAddressPool',
        'b',
        'spec.addresses[0]',
        'CIDR "198.51.100.0/24" in pool "b" overlaps with already defined CIDR "198.51.100.0/25" in pool "a"',
      ],
    ],
  },
];

for (const c of cases) {
  test(`parseConfig: ${c.desc}`, () => {
    const snap: ConfigSnapshot = { objects: c.objects, nodes: c.nodes ?? [], namespaces: c.namespaces ?? [], secrets: c.secrets ?? [] };
    const frozen = structuredClone(snap);
    const r = parseConfig(snap);
    assert.deepEqual(snap, frozen, 'parseConfig must not mutate its input');
    if (c.wantErr) {
      assert.equal(r.ok, false, 'expected errors');
      if (r.ok) return;
      assert.deepEqual(
        r.errors.map((e) => [e.kind, e.name, e.field, e.message, e.class]),
        c.wantErr.map(([k, n, f, m, cls]) => [k, n, f, m, cls ?? 'config']),
      );
    } else {
      assert.equal(r.ok, true, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
      if (r.ok) c.want?.(r.config);
    }
  });
}

test('parseConfig: echoMode is accepted with a warning (unsupported by native BFD)', () => {
  const r = parseConfig({ objects: [bfd('b', { echoMode: true })] });
  assert.equal(r.ok, true);
  assert.deepEqual(
    r.warnings.map((w) => [w.kind, w.name, w.field]),
    [['BFDProfile', 'b', 'spec.echoMode']],
  );
});

test('parseConfig: a multi-hop peer with a bfdProfile is valid, without warnings (multi-hop BFD, RFC 5883)', () => {
  const r = parseConfig({ objects: [bfd('b', {}), peer('r', { ...P, ebgpMultiHop: true, bfdProfile: 'b' })] });
  assert.equal(r.ok, true, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  assert.deepEqual(r.warnings, []);
  if (r.ok) assert.deepEqual([r.config.peers[0]!.ebgpMultiHop, r.config.peers[0]!.bfdProfile], [true, 'b']);
});

test('parseConfig: an advertisement naming a missing pool is valid, with a warning naming it', () => {
  const r = parseConfig({
    objects: [
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'L2Advertisement',
        metadata: { name: 'l', namespace: 'metallb-system' },
        spec: { ipAddressPools: ['gone'] },
      },
    ],
  });
  assert.equal(r.ok, true);
  assert.deepEqual(
    r.warnings.map((w) => [w.kind, w.name, w.field, w.message]),
    [['L2Advertisement', 'l', 'spec.ipAddressPools[0]', 'IPAddressPool "gone" does not exist: ignored']],
  );
});

test('parseConfig: BGPPeer fields the native backend cannot honour are valid config, each with a warning (table)', () => {
  const { peerAddress: _a, ...noAddr } = P;
  void _a;
  const cases: Array<[string, Record<string, unknown>, Array<[string, RegExp]>]> = [
    ['plain', P, []],
    [
      'vrf',
      { ...P, vrf: 'red' },
      [['spec.vrf', /^"red": peering inside a VRF is not supported by the native BGP backend.*CONFIG_NET_VRF.*FRR mode/]],
    ],
    // BGP unnumbered is implemented by the native backend (RFC 8950 over the router's fe80::): no warning.
    ['unnumbered', { ...noAddr, interface: 'eth1' }, []],
    ['both', { ...noAddr, interface: 'eth1', vrf: 'red' }, [['spec.vrf', /VRF/]]],
    [
      'disableMP',
      { ...P, disableMP: true },
      [['spec.disableMP', /^disable mp is deprecated and has no effect since it's the default behavior now/]],
    ],
    ['disableMP false', { ...P, disableMP: false }, []],
    // Implemented by the native backend (local-as … replace-as): no warning.
    ['localASN', { ...P, localASN: 64999 }, []],
  ];
  for (const [name, spec, want] of cases) {
    const r = parseConfig({ objects: [peer(name, spec)] });
    assert.equal(r.ok, true, `${name}: ${r.ok ? '' : r.errors.map(formatConfigError).join('\n')}`);
    assert.deepEqual(
      r.warnings.map((w) => [w.kind, w.name, w.field]),
      want.map(([f]) => ['BGPPeer', name, f]),
      name,
    );
    want.forEach(([, re], i) => assert.match(r.warnings[i]?.message ?? '', re, name));
  }
});

test('parseConfig: BGPAdvertisement asPathPrepend 1-10 by the schema, carried to the advertisement (native backend prepends) (table)', () => {
  const cases: Array<[string, unknown, Array<[string, RegExp]> | undefined]> = [
    ['unset', undefined, undefined],
    ['one', 1, undefined],
    ['ten', 10, undefined],
    ['eleven', 11, [['spec.asPathPrepend', /10|maximum/]]],
    ['zero', 0, [['spec.asPathPrepend', /1|minimum/]]],
  ];
  for (const [name, n, wantErr] of cases) {
    const r = parseConfig({
      objects: [v4pool, bgpAdv(name, n === undefined ? { ipAddressPools: ['p'] } : { ipAddressPools: ['p'], asPathPrepend: n })],
    });
    if (!wantErr) {
      assert.equal(r.ok, true, `${name}: ${r.ok ? '' : r.errors.map(formatConfigError).join('\n')}`);
      if (r.ok) assert.equal(r.config.bgpAdvertisements[0]?.asPathPrepend, n, name);
      continue;
    }
    assert.equal(r.ok, false, name);
    if (r.ok) continue;
    assert.deepEqual(
      r.errors.map((e) => [e.kind, e.name, e.field]),
      wantErr.map(([f]) => ['BGPAdvertisement', name, f]),
      name,
    );
    wantErr.forEach(([, re], i) => assert.match(r.errors[i]?.message ?? '', re, name));
  }
});

test('parseConfig: two advertisements of one pool to the same peers must agree on asPathPrepend (MetalLB BGPAdvertisementsHaveCompatibleAsPathPrepend)', () => {
  const clash = parseConfig({
    objects: [v4pool, bgpAdv('a', { ipAddressPools: ['p'], asPathPrepend: 2 }), bgpAdv('b', { ipAddressPools: ['p'], asPathPrepend: 3 })],
  });
  assert.equal(clash.ok, false);
  if (!clash.ok)
    assert.deepEqual(
      clash.errors.map((e) => [e.name, e.field, e.message]),
      [
        [
          'b',
          'spec.asPathPrepend',
          'invalid as path prepend 3: BGPAdvertisement "a" sets as path prepend 2 for the same pool "p", peers, nodes and aggregation length',
        ],
      ],
    );
  // Disjoint peers: no common UPDATE, no clash.
  const disjoint = parseConfig({
    objects: [
      v4pool,
      peer('r1', P),
      peer('r2', { ...P, peerAddress: '198.51.100.2' }),
      bgpAdv('a', { ipAddressPools: ['p'], asPathPrepend: 2, peers: ['r1'] }),
      bgpAdv('b', { ipAddressPools: ['p'], asPathPrepend: 3, peers: ['r2'] }),
    ],
  });
  assert.equal(disjoint.ok, true, disjoint.ok ? '' : disjoint.errors.map(formatConfigError).join('\n'));
});

test('parseConfig: BGPAdvertisement localPref outside 0..2^32-1 (the schema says int32 as MetalLB does) is refused by the parser', () => {
  for (const [v, ok] of [
    [0, true],
    [4294967295, true],
    [-1, false],
    [4294967296, false],
  ] as const) {
    const r = parseConfig({ objects: [v4pool, bgpAdv('a', { ipAddressPools: ['p'], localPref: v })] });
    assert.equal(r.ok, ok, String(v));
    if (!r.ok)
      assert.deepEqual(
        r.errors.map((e) => e.field),
        ['spec.localPref'],
        String(v),
      );
  }
});

test('parseConfig: BGPPeer v1beta2 localASN 1..2^32-1 by the schema; kept on the peer (table)', () => {
  for (const [n, ok] of [
    [1, true],
    [4294967295, true],
    [0, false],
    [4294967296, false],
  ] as const) {
    const r = parseConfig({ objects: [peer(`p${n}`, { ...P, localASN: n })] });
    assert.equal(r.ok, ok, `${n}: ${r.ok ? '' : r.errors.map(formatConfigError).join('\n')}`);
    if (r.ok) assert.equal(r.config.peers[0]?.localASN, n);
    else
      assert.deepEqual(
        r.errors.map((e) => e.field),
        ['spec.localASN'],
      );
  }
});

test('formatConfigError marks transient errors', () => {
  assert.equal(
    formatConfigError({ kind: 'BGPPeer', name: 'r', field: 'spec.bfdProfile', message: 'm', class: 'transient' }),
    'BGPPeer/r: spec.bfdProfile: m (transient: waiting for the referenced object)',
  );
});

// Output is the same whatever the order of the input objects (valid and invalid snapshots).
const mixed: RawObject[] = [
  pool('a', { addresses: ['198.51.100.0/25'] }, { t: 'x' }),
  pool('b', { addresses: ['198.51.100.128/25', '2001:db8::/64'] }),
  pool('c', { addresses: ['198.51.100.64/26'] }),
  l2('l', { ipAddressPoolSelectors: [{ matchLabels: { t: 'x' } }] }),
  l2('m', {}),
  bgpAdv('g', { communities: ['gold'], peers: ['r1'] }),
  community('cs', {
    communities: [
      { name: 'gold', value: '1:1' },
      { name: 'gold', value: '1:2' },
    ],
  }),
  peer('r1', P),
  peer('r2', P),
  bfd('f', {}),
  bfd('f', { detectMultiplier: 4 }),
  peer('r3', { ...P, peerAddress: '198.51.100.9', bfdProfile: 'f' }),
];
test('parseConfig: independent of input order (property)', () => {
  const reference = JSON.stringify(parseConfig({ objects: mixed }), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  fc.assert(
    fc.property(fc.shuffledSubarray(mixed, { minLength: mixed.length, maxLength: mixed.length }), (objs) => {
      const got = JSON.stringify(parseConfig({ objects: objs }), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      assert.equal(got, reference);
    }),
    { numRuns: 200 },
  );
});

test('parseConfig: never throws on arbitrary input', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          apiVersion: fc.constantFrom('metallb.io/v1beta1', 'metallb.io/v1beta2', 'x'),
          kind: fc.constantFrom('IPAddressPool', 'BGPPeer', 'L2Advertisement', 'BGPAdvertisement', 'BFDProfile', 'Community', 'Nope'),
          metadata: fc.record({ name: fc.string() }),
          spec: fc.anything(),
        }),
        { maxLength: 6 },
      ),
      (objs) => {
        parseConfig({ objects: objs as RawObject[] });
      },
    ),
    { numRuns: 300 },
  );
});
