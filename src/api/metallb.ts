// The metallb.io API, defined once: every kind Mooring accepts, with MetalLB's fields, defaults,
// ranges, printer columns and CEL rules (MetalLB v0.16.2 `api/v1beta1`, `api/v1beta2`;
// scripts/metallb-crd-diff.ts lists what differs from MetalLB's own CRDs).
// TypeScript types are inferred from the same definitions the CRDs are generated from.
import { t, type Infer, type JsonSchema, type S } from './schema.js';

export const GROUP = 'metallb.io';
export const DEFAULT_NAMESPACE = 'metallb-system';

// ---- shared pieces -------------------------------------------------------------------------
const labelSelectorRequirement = t.object({
  key: t.required(t.string({ description: 'key is the label key that the selector applies to.' })),
  // A plain string in MetalLB's schema too: the config parser (src/domain/label-selector.ts) refuses other values.
  operator: t.required(
    t.stringAs<'In' | 'NotIn' | 'Exists' | 'DoesNotExist'>({
      description: "operator represents a key's relationship to a set of values. Valid operators are In, NotIn, Exists and DoesNotExist.",
    }),
  ),
  values: t.array(t.string(), {
    listType: 'atomic',
    description: 'values is an array of string values. Required for In and NotIn, empty for Exists and DoesNotExist.',
  }),
});
export const labelSelector = t.object(
  {
    matchExpressions: t.array(labelSelectorRequirement, { listType: 'atomic' }),
    matchLabels: t.map(t.string()),
  },
  {
    atomic: true,
    description: 'A label selector (metav1.LabelSelector): matchLabels and matchExpressions are ANDed; empty matches everything.',
  },
);
const selectors = (description: string) => t.array(labelSelector, { description });

// ---- IPAddressPool (v1beta1) ---------------------------------------------------------------
export const ipAddressPoolSpec = t.object(
  {
    addresses: t.required(
      t.array(t.string(), {
        description:
          'A list of IP address ranges over which Mooring has authority. Each range is a CIDR prefix or an explicit start-end range of IPs.',
      }),
    ),
    autoAssign: t.bool({ default: true, description: 'AutoAssign flag used to prevent MetalLB from automatic allocation for a pool.' }),
    avoidBuggyIPs: t.bool({
      default: false,
      description: 'AvoidBuggyIPs prevents addresses ending with .0 and .255 to be used by a pool.',
    }),
    serviceAllocation: t.object(
      {
        priority: t.int({
          description:
            'Priority of this pool for the selected namespaces/services; lower numbers come first. Pools without priority come last.',
        }),
        namespaces: t.array(t.string(), { description: 'Namespaces list of namespace(s) on which ip pool can be attached.' }),
        namespaceSelectors: selectors(
          'NamespaceSelectors list of label selectors to select namespace(s) for ip pool, an alternative to using namespace list.',
        ),
        serviceSelectors: selectors(
          'ServiceSelectors list of label selector to select service(s) for which ip pool can be used for ip allocation.',
        ),
      },
      {
        description:
          'AllocateTo makes ip pool allocation to specific namespace and/or service. The controller will use the pool with lowest value of priority in case of multiple matches.',
      },
    ),
  },
  { description: 'IPAddressPoolSpec defines the desired state of IPAddressPool.' },
);
export const ipAddressPoolStatus = t.object({
  assignedIPv4: t.required(t.int64({ description: 'Number of assigned IPv4 addresses.' })),
  assignedIPv6: t.required(t.int64({ description: 'Number of assigned IPv6 addresses.' })),
  availableIPv4: t.required(t.int64({ description: 'Number of available IPv4 addresses.' })),
  availableIPv6: t.required(t.int64({ description: 'Number of available IPv6 addresses (saturates at int64 max).' })),
});

// ---- L2Advertisement (v1beta1) -------------------------------------------------------------
export const l2AdvertisementSpec = t.object({
  ipAddressPools: t.array(t.string(), { description: 'The list of IPAddressPools to advertise via this advertisement, selected by name.' }),
  ipAddressPoolSelectors: selectors(
    'A selector for the IPAddressPools which would get advertised via this advertisement. If no IPAddressPool is selected by this or by the list, the advertisement is applied to all the IPAddressPools.',
  ),
  nodeSelectors: selectors(
    'NodeSelectors allows to limit the nodes to announce as next hops for the LoadBalancer IP. When empty, all the nodes are announced as next hops.',
  ),
  interfaces: t.array(t.string(), {
    description:
      'A list of interfaces to announce from. The LB IP will be announced only from these interfaces. If the field is not set, we advertise from all the interfaces on the host.',
  }),
  serviceSelectors: selectors(
    'A selector for the services this advertisement applies to. When empty, the advertisement applies to all the services.',
  ),
  preferredNodeSelectors: t.array(
    t.object({
      weight: t.required(
        t.int32({
          minimum: 1,
          maximum: 100,
          description: 'Weight associated with matching the corresponding preference, in the range 1-100.',
        }),
      ),
      preference: t.required(labelSelector),
    }),
    {
      description:
        'Nodes matching these selectors are preferred as the announcing node: the eligible node with the highest summed weight wins, then the usual hash order.',
    },
  ),
});

// ---- BGPAdvertisement (v1beta1) ------------------------------------------------------------
export const bgpAdvertisementSpec = t.cel(
  t.object({
    aggregationLength: t.int32({
      default: 32,
      minimum: 1,
      description:
        'The aggregation-length advertisement option lets you “roll up” the /32s into a larger prefix. Defaults to 32. Works for IPv4 addresses.',
    }),
    aggregationLengthV6: t.int32({
      default: 128,
      description:
        'The aggregation-length advertisement option lets you “roll up” the /128s into a larger prefix. Defaults to 128. Works for IPv6 addresses.',
    }),
    // format int32 as in MetalLB's CRD (a Go uint32); the config parser refuses values outside 0..2^32-1.
    localPref: t.int32({
      description:
        'The BGP LOCAL_PREF attribute which is used by BGP best path algorithm, Path with higher localpref is preferred over one with lower localpref.',
    }),
    asPathPrepend: t.int({
      minimum: 1,
      maximum: 10,
      description:
        'Specifies the number of times to prepend the ASN to the AS-path on outgoing BGP updates, artificially lengthening the path for traffic engineering. Mooring prepends myASN (or localASN) on the native backend too.',
    }),
    communities: t.array(t.string(), {
      description:
        'The BGP communities to be associated with the announcement. Each item can be a standard community of the form 1234:1234, a large community of the form large:1234:1234:1234 or the name of an alias defined in the Community CRD.',
    }),
    ipAddressPools: t.array(t.string(), {
      description: 'The list of IPAddressPools to advertise via this advertisement, selected by name.',
    }),
    ipAddressPoolSelectors: selectors(
      'A selector for the IPAddressPools which would get advertised via this advertisement. If no IPAddressPool is selected by this or by the list, the advertisement is applied to all the IPAddressPools.',
    ),
    nodeSelectors: selectors(
      'NodeSelectors allows to limit the nodes to announce as next hops for the LoadBalancer IP. When empty, all the nodes are announced as next hops.',
    ),
    serviceSelectors: selectors(
      'A selector for the services this advertisement applies to. When empty, the advertisement applies to all the services. Mutually exclusive with a non-default aggregationLength.',
    ),
    peers: t.array(t.string(), {
      description:
        'Peers limits the bgppeer to advertise the ips of the selected pools to. When empty, the loadbalancer IP is announced to all the BGPPeers configured.',
    }),
  }),
  [
    {
      rule: '!has(self.serviceSelectors) || self.serviceSelectors.size() == 0 || ((!has(self.aggregationLength) || self.aggregationLength == 32) && (!has(self.aggregationLengthV6) || self.aggregationLengthV6 == 128))',
      message:
        'serviceSelectors and aggregationLength are mutually exclusive, can only be used together with default aggregationLength (32) and aggregationLengthV6 (128)',
    },
  ],
);

// ---- BGPPeer (v1beta1 served, v1beta2 stored) ----------------------------------------------
const asn = (description: string) => t.int64({ minimum: 0, maximum: 4294967295, description });
const commonPeer = {
  myASN: t.required(asn('AS number to use for the local end of the session.')),
  peerAddress: t.string({ description: 'Address to dial when establishing the session.' }),
  sourceAddress: t.string({ description: 'Source address to use when establishing the session.' }),
  holdTime: t.duration({ description: 'Requested BGP hold time, per RFC4271. Defaults to 90s.' }),
  keepaliveTime: t.duration({ description: 'Requested BGP keepalive time, per RFC4271. Defaults to holdTime / 3.' }),
  routerID: t.string({ description: 'BGP router ID to advertise to the peer.' }),
  password: t.string({ description: 'Authentication password for routers enforcing TCP MD5 authenticated sessions.' }),
  bfdProfile: t.string({
    description:
      "The name of the BFD Profile to be used for the BFD session associated to the BGP session. If not set, the BFD session won't be set up.",
  }),
  ebgpMultiHop: t.bool({ description: 'To set if the BGPPeer is multi-hops away. Needed for FRR mode only.' }),
};
export const bgpPeerSpecV1beta1 = t.object({
  ...commonPeer,
  peerASN: t.required(asn('AS number to expect from the remote end of the session.')),
  peerAddress: t.required(t.string({ description: 'Address to dial when establishing the session.' })),
  // No default in v1beta1 (as in MetalLB); the config parser dials 179 when unset.
  peerPort: t.int({ minimum: 0, maximum: 16384, description: 'Port to dial when establishing the session.' }),
  nodeSelectors: t.array(
    t.object({
      matchLabels: t.map(t.string()),
      matchExpressions: t.array(
        t.object({
          key: t.required(t.string()),
          operator: t.required(t.stringAs<'In' | 'NotIn' | 'Exists' | 'DoesNotExist'>()),
          values: t.required(t.array(t.string(), { minItems: 1 })),
        }),
      ),
    }),
    { description: 'Only connect to this peer on nodes that match one of these selectors.' },
  ),
});
export const bgpPeerSpecV1beta2 = t.object({
  ...commonPeer,
  peerASN: asn(
    'AS number to expect from the remote end of the session. ASN and DynamicASN are mutually exclusive and one of them must be specified.',
  ),
  peerPort: t.int({ default: 179, minimum: 1, maximum: 16384, description: 'Port to dial when establishing the session.' }),
  localASN: t.int64({
    minimum: 1,
    maximum: 4294967295,
    description:
      'LocalASN allows advertising a different AS number to the peer using BGP\'s local-as feature. When set, MetalLB will advertise this ASN to the peer via "neighbor <peer> local-as <ASN> no-prepend replace-as", overriding the router-level MyASN for this specific session. Mooring\'s native backend sends it in OPEN and prepends it, never myASN, to the AS_PATH.',
  }),
  dynamicASN: t.enumOf(['internal', 'external'] as const, {
    description:
      "DynamicASN detects the AS number to use for the remote end of the session without explicitly setting it via the ASN field. Limited to: internal - if the neighbor's ASN is different than MyASN connection is denied. external - if the neighbor's ASN is the same as MyASN the connection is denied. ASN and DynamicASN are mutually exclusive and one of them must be specified.",
  }),
  interface: t.string({
    description:
      'Interface name to use when establishing an unnumbered BGP session. PeerAddress and Interface are mutually exclusive and one of them must be specified.',
  }),
  connectTime: t.cel(
    t.duration({ description: 'Requested BGP connect time, controls how long BGP waits between connection attempts to a neighbor.' }),
    [
      {
        rule: 'duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535',
        message: 'connect time should be between 1 seconds to 65535',
      },
      { rule: 'duration(self).getMilliseconds() % 1000 == 0', message: 'connect time should contain a whole number of seconds' },
    ],
  ),
  nodeSelectors: selectors('Only connect to this peer on nodes that match one of these selectors.'),
  passwordSecret: t.object(
    {
      name: t.string({ description: 'name is unique within a namespace to reference a secret resource.' }),
      namespace: t.string({ description: 'namespace defines the space within which the secret name must be unique.' }),
    },
    {
      atomic: true,
      description:
        'passwordSecret is name of the authentication secret for BGP Peer. the secret must be of type "kubernetes.io/basic-auth", and created in the same namespace as the MetalLB deployment. The password is stored in the secret as the key "password".',
    },
  ),
  enableGracefulRestart: t.cel(
    t.bool({
      description:
        'EnableGracefulRestart allows BGP peer to continue to forward data packets along known routes while the routing protocol information is being restored.',
    }),
    [{ rule: 'self == oldSelf', message: 'EnableGracefulRestart cannot be changed after creation' }],
  ),
  vrf: t.string({ description: 'To set if we want to peer with the BGPPeer using an interface belonging to a host vrf.' }),
  disableMP: t.bool({
    default: false,
    description:
      'To set if we want to disable MP BGP that will separate IPv4 and IPv6 route exchanges into distinct BGP sessions. Deprecated: use dualStackAddressFamily.',
  }),
  dualStackAddressFamily: t.bool({
    default: false,
    description: 'To set if we want to enable the neighbor not only for the ipfamily related to its session, but also the other one.',
  }),
});

// ---- BFDProfile (v1beta1) ------------------------------------------------------------------
const ms = (description: string) => t.int32({ minimum: 10, maximum: 60000, description });
export const bfdProfileSpec = t.object({
  receiveInterval: ms('The minimum interval that this system is capable of receiving control packets in milliseconds. Defaults to 300ms.'),
  transmitInterval: ms(
    'The minimum transmission interval (less jitter) that this system wants to use to send BFD control packets in milliseconds. Defaults to 300ms.',
  ),
  detectMultiplier: t.int32({
    minimum: 2,
    maximum: 255,
    description:
      'Configures the detection multiplier to determine packet loss. The remote transmission interval will be multiplied by this value to determine the connection loss detection timer.',
  }),
  echoInterval: ms(
    "Configures the minimal echo receive transmission interval that this system is capable of handling in milliseconds. Defaults to 50ms. Echo mode is not supported by Mooring's native BFD (accepted, ignored, reported).",
  ),
  echoMode: t.bool({ description: "Enables or disables the echo transmission mode. Not supported by Mooring's native BFD." }),
  passiveMode: t.bool({
    description:
      'Mark session as passive: a passive session will not attempt to start the connection and will wait for control packets from peer before it begins replying.',
  }),
  minimumTtl: t.int32({
    minimum: 1,
    maximum: 254,
    description: 'For multi hop sessions only: configure the minimum expected TTL for an incoming BFD control packet.',
  }),
});

// ---- Community (v1beta1) -------------------------------------------------------------------
export const communitySpec = t.object({
  communities: t.array(
    t.object({
      name: t.string({ description: 'The name of the alias for the community.' }),
      value: t.string({
        description:
          'The BGP community value corresponding to the given name. Can be a standard community of the form 1234:1234 or a large community of the form large:1234:1234:1234.',
      }),
    }),
  ),
});

// ---- status kinds --------------------------------------------------------------------------
// The identity of a per-service status object never changes once written (MetalLB's CEL rules).
const immutable = <T>(s: S<T>): S<T> => t.cel(s, [{ rule: 'self == oldSelf', message: 'Value is immutable' }]);
export const serviceL2StatusStatus = t.object({
  node: immutable(t.string({ description: 'Node indicates the node that receives the directed traffic.' })),
  serviceName: immutable(t.string({ description: 'ServiceName indicates the service this status represents.' })),
  serviceNamespace: immutable(t.string({ description: 'ServiceNamespace indicates the namespace of the service.' })),
  interfaces: t.array(t.object({ name: t.string() }), {
    description: 'Interfaces indicates the interfaces that receive the directed traffic.',
  }),
});
export const serviceBGPStatusStatus = t.object({
  node: immutable(t.string({ description: 'Node indicates the node announcing the service.' })),
  serviceName: immutable(t.string({ description: 'ServiceName indicates the service this status represents.' })),
  serviceNamespace: immutable(t.string({ description: 'ServiceNamespace indicates the namespace of the service.' })),
  peers: t.array(t.string(), {
    description:
      'Peers indicate the BGP peers for which the service is configured to be advertised to. The service being actually advertised to a given peer depends on the session state and is not indicated here.',
  }),
});
const condition = t.object({
  type: t.required(
    t.string({
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
  ),
  status: t.required(t.enumOf(['True', 'False', 'Unknown'] as const)),
  observedGeneration: t.int64({ minimum: 0 }),
  lastTransitionTime: t.required(t.string({ format: 'date-time' })),
  reason: t.required(t.string({ maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' })),
  message: t.required(t.string({ maxLength: 32768 })),
});
export const configurationStateStatus = t.object({
  result: t.enumOf(['Valid', 'Invalid', 'Unknown'] as const, { description: 'Result of the last configuration load.' }),
  errorSummary: t.string({ description: 'A summary of the errors of the last configuration load, empty when valid.' }),
  conditions: t.array(condition, {
    listType: 'map',
    listMapKeys: ['type'],
    description:
      'Conditions as MetalLB writes them: poolReconcilerValid (controller) or configReconcilerValid (speakers), reason Reconciled, ConfigurationError or UnknownError.',
  }),
});

// ---- the kinds -----------------------------------------------------------------------------
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  priority?: number;
}
export interface VersionDef {
  name: 'v1alpha1' | 'v1beta1' | 'v1beta2';
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  spec?: JsonSchema;
  /** `spec` listed in the root's `required` (IPAddressPool, as in MetalLB). */
  specRequired?: boolean;
  status?: JsonSchema;
  columns: PrinterColumn[];
}
/** MetalLB's config kinds carry an empty status subresource (`status: {type: object}`). */
const emptyStatus = t.object({}).schema;
export interface KindDef {
  /** API group; metallb.io (GROUP) when absent. */
  group?: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  description: string;
  versions: VersionDef[];
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const advColumns = (withPeers: boolean): PrinterColumn[] => [
  { name: 'IPAddressPools', type: 'string', jsonPath: '.spec.ipAddressPools' },
  { name: 'IPAddressPool Selectors', type: 'string', jsonPath: '.spec.ipAddressPoolSelectors' },
  ...(withPeers
    ? [{ name: 'Peers', type: 'string' as const, jsonPath: '.spec.peers' }]
    : [{ name: 'Interfaces', type: 'string' as const, jsonPath: '.spec.interfaces' }]),
  { name: 'Node Selectors', type: 'string', jsonPath: '.spec.nodeSelectors', priority: 10 },
  age,
];
const peerColumns: PrinterColumn[] = [
  { name: 'Address', type: 'string', jsonPath: '.spec.peerAddress' },
  { name: 'ASN', type: 'string', jsonPath: '.spec.peerASN' },
  { name: 'BFD Profile', type: 'string', jsonPath: '.spec.bfdProfile' },
  { name: 'Multi Hops', type: 'string', jsonPath: '.spec.ebgpMultiHop' },
  age,
];

/** The two per-service status kinds: empty spec, status written by the speakers. */
function serviceStatusKind(
  kind: string,
  plural: string,
  singular: string,
  nodeColumn: string,
  description: string,
  status: JsonSchema,
): KindDef {
  return {
    kind,
    plural,
    singular,
    description,
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        spec: t.object({}).schema,
        status,
        columns: [
          { name: nodeColumn, type: 'string', jsonPath: '.status.node' },
          { name: 'Service Name', type: 'string', jsonPath: '.status.serviceName' },
          { name: 'Service Namespace', type: 'string', jsonPath: '.status.serviceNamespace' },
          age,
        ],
      },
    ],
  };
}

export const KINDS: readonly KindDef[] = [
  {
    kind: 'IPAddressPool',
    plural: 'ipaddresspools',
    singular: 'ipaddresspool',
    description: 'IPAddressPool represents a pool of IP addresses that can be allocated to LoadBalancer services.',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        spec: ipAddressPoolSpec.schema,
        specRequired: true,
        status: ipAddressPoolStatus.schema,
        columns: [
          { name: 'Auto Assign', type: 'boolean', jsonPath: '.spec.autoAssign' },
          { name: 'Avoid Buggy IPs', type: 'boolean', jsonPath: '.spec.avoidBuggyIPs' },
          { name: 'Addresses', type: 'string', jsonPath: '.spec.addresses' },
          { name: 'Assigned IPv4', type: 'integer', jsonPath: '.status.assignedIPv4', priority: 10 },
          { name: 'Available IPv4', type: 'integer', jsonPath: '.status.availableIPv4', priority: 10 },
          age,
        ],
      },
    ],
  },
  {
    kind: 'L2Advertisement',
    plural: 'l2advertisements',
    singular: 'l2advertisement',
    description: 'L2Advertisement allows to advertise the LoadBalancer IPs provided by the selected pools via L2.',
    versions: [
      { name: 'v1beta1', served: true, storage: true, spec: l2AdvertisementSpec.schema, status: emptyStatus, columns: advColumns(false) },
    ],
  },
  {
    kind: 'BGPAdvertisement',
    plural: 'bgpadvertisements',
    singular: 'bgpadvertisement',
    description:
      'BGPAdvertisement allows to advertise the IPs coming from the selected IPAddressPools via BGP, setting the parameters of the BGP Advertisement.',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        spec: bgpAdvertisementSpec.schema,
        status: emptyStatus,
        columns: [
          { name: 'IPAddressPools', type: 'string', jsonPath: '.spec.ipAddressPools' },
          { name: 'IPAddressPool Selectors', type: 'string', jsonPath: '.spec.ipAddressPoolSelectors' },
          { name: 'Peers', type: 'string', jsonPath: '.spec.peers' },
          { name: 'Node Selectors', type: 'string', jsonPath: '.spec.nodeSelectors', priority: 10 },
          age,
        ],
      },
    ],
  },
  {
    kind: 'BGPPeer',
    plural: 'bgppeers',
    singular: 'bgppeer',
    description: 'BGPPeer is the Schema for the peers API.',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: false,
        deprecated: true,
        spec: bgpPeerSpecV1beta1.schema,
        status: emptyStatus,
        columns: peerColumns,
      },
      { name: 'v1beta2', served: true, storage: true, spec: bgpPeerSpecV1beta2.schema, status: emptyStatus, columns: peerColumns },
    ],
  },
  {
    kind: 'BFDProfile',
    plural: 'bfdprofiles',
    singular: 'bfdprofile',
    description: 'BFDProfile represents the settings of the bfd session that can be optionally associated with a BGP session.',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        spec: bfdProfileSpec.schema,
        status: emptyStatus,
        columns: [
          { name: 'Passive Mode', type: 'boolean', jsonPath: '.spec.passiveMode' },
          { name: 'Transmit Interval', type: 'integer', jsonPath: '.spec.transmitInterval' },
          { name: 'Receive Interval', type: 'integer', jsonPath: '.spec.receiveInterval' },
          { name: 'Multiplier', type: 'integer', jsonPath: '.spec.detectMultiplier' },
          age,
        ],
      },
    ],
  },
  {
    kind: 'Community',
    plural: 'communities',
    singular: 'community',
    description: 'Community is a collection of aliases for communities. Users can define named aliases to be used in the BGPPeer CRD.',
    versions: [{ name: 'v1beta1', served: true, storage: true, spec: communitySpec.schema, status: emptyStatus, columns: [age] }],
  },
  serviceStatusKind(
    'ServiceL2Status',
    'servicel2statuses',
    'servicel2status',
    'Allocated Node',
    'ServiceL2Status reveals the actual traffic status of loadbalancer services in layer2 mode.',
    serviceL2StatusStatus.schema,
  ),
  serviceStatusKind(
    'ServiceBGPStatus',
    'servicebgpstatuses',
    'servicebgpstatus',
    'Node',
    'ServiceBGPStatus exposes the BGP peers a service is configured to be advertised to, per relevant node.',
    serviceBGPStatusStatus.schema,
  ),
  {
    kind: 'ConfigurationState',
    plural: 'configurationstates',
    singular: 'configurationstate',
    description:
      'ConfigurationState reports whether the configuration a component loaded is valid (one object per component: controller, speaker-<node>).',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        status: configurationStateStatus.schema,
        columns: [
          { name: 'Result', type: 'string', jsonPath: '.status.result' },
          { name: 'ErrorSummary', type: 'string', jsonPath: '.status.errorSummary' },
          age,
        ],
      },
    ],
  },
];

export const CONFIG_KINDS = ['IPAddressPool', 'L2Advertisement', 'BGPAdvertisement', 'BGPPeer', 'BFDProfile', 'Community'] as const;
export type ConfigKind = (typeof CONFIG_KINDS)[number];

// ---- TypeScript types ----------------------------------------------------------------------
export type LabelSelectorSpec = Infer<typeof labelSelector>;
export type IPAddressPoolSpec = Infer<typeof ipAddressPoolSpec>;
export type IPAddressPoolStatus = Infer<typeof ipAddressPoolStatus>;
export type L2AdvertisementSpec = Infer<typeof l2AdvertisementSpec>;
export type BGPAdvertisementSpec = Infer<typeof bgpAdvertisementSpec>;
export type BGPPeerSpecV1beta1 = Infer<typeof bgpPeerSpecV1beta1>;
export type BGPPeerSpec = Infer<typeof bgpPeerSpecV1beta2>;
export type BFDProfileSpec = Infer<typeof bfdProfileSpec>;
export type CommunitySpec = Infer<typeof communitySpec>;
export type ServiceL2StatusStatus = Infer<typeof serviceL2StatusStatus>;
export type ServiceBGPStatusStatus = Infer<typeof serviceBGPStatusStatus>;
export type ConfigurationStateStatus = Infer<typeof configurationStateStatus>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
}
export interface Resource<K extends string, Spec, Status = never> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}
export type IPAddressPool = Resource<'IPAddressPool', IPAddressPoolSpec, IPAddressPoolStatus>;
export type L2Advertisement = Resource<'L2Advertisement', L2AdvertisementSpec>;
export type BGPAdvertisement = Resource<'BGPAdvertisement', BGPAdvertisementSpec>;
export type BGPPeerV1beta1 = Resource<'BGPPeer', BGPPeerSpecV1beta1>;
export type BGPPeer = Resource<'BGPPeer', BGPPeerSpec>;
export type BFDProfile = Resource<'BFDProfile', BFDProfileSpec>;
export type Community = Resource<'Community', CommunitySpec>;
export type ServiceL2Status = Resource<'ServiceL2Status', Record<string, never>, ServiceL2StatusStatus>;
export type ServiceBGPStatus = Resource<'ServiceBGPStatus', Record<string, never>, ServiceBGPStatusStatus>;
export type ConfigurationState = Resource<'ConfigurationState', Record<string, never>, ConfigurationStateStatus>;
