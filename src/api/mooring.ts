// Mooring's own API (group mooring.io): what MetalLB v0.16 has no kind for. BGPSessionState: one
// object per node and BGPPeer, written by that node's speaker, in the spirit of frr-k8s's
// BGPSessionState/FRRNodeState (frrk8s.metallb.io): its node, peer, vrf, bgpStatus and bfdStatus
// fields, plus since when, why the session last went down, and the prefixes sent and received.
import { t, type Infer } from './schema.js';
import type { KindDef, Resource } from './metallb.js';

export const MOORING_GROUP = 'mooring.io';
export const MOORING_VERSION = 'v1alpha1';

export const bgpSessionStateStatus = t.object({
  node: t.string({ description: 'The node whose speaker holds the session.' }),
  peer: t.string({ description: 'The BGPPeer (metallb.io) this session is for.' }),
  peerAddress: t.string({ description: 'The address and port dialled.' }),
  vrf: t.string({ description: 'The VRF of the session (empty: the default one).' }),
  bgpStatus: t.string({ description: 'The BGP FSM state (RFC 4271): Idle, Connect, Active, OpenSent, OpenConfirm or Established.' }),
  since: t.string({ format: 'date-time', description: 'When the session entered bgpStatus.' }),
  lastDownReason: t.string({
    description: 'Why the session last left Established (holdTimerExpired, notificationReceived, connectFailed, peerClosed, ...).',
  }),
  lastDownDetail: t.string({ description: 'The detail of the last down: the NOTIFICATION code and text, the socket error.' }),
  lastDownTime: t.string({ format: 'date-time', description: 'When the session last left Established.' }),
  prefixesSent: t.int64({ minimum: 0, description: 'Prefixes this node currently advertises to the peer.' }),
  prefixesReceived: t.int64({ minimum: 0, description: 'Prefixes the peer currently advertises to this node.' }),
  bfdStatus: t.string({ description: 'The BFD session state (up, down, init, adminDown); empty without a BFD profile.' }),
});
export type BGPSessionStateStatus = Infer<typeof bgpSessionStateStatus>;
export type BGPSessionState = Resource<'BGPSessionState', Record<string, never>, BGPSessionStateStatus>;

export const MOORING_KINDS: readonly KindDef[] = [
  {
    group: MOORING_GROUP,
    kind: 'BGPSessionState',
    plural: 'bgpsessionstates',
    singular: 'bgpsessionstate',
    description:
      "BGPSessionState exposes one BGP session of one node's speaker: its state, since when, the last down reason, the prefixes sent and received and the BFD state.",
    versions: [
      {
        name: MOORING_VERSION,
        served: true,
        storage: true,
        spec: t.object({}).schema,
        status: bgpSessionStateStatus.schema,
        columns: [
          { name: 'Node', type: 'string', jsonPath: '.status.node' },
          { name: 'Peer', type: 'string', jsonPath: '.status.peer' },
          { name: 'VRF', type: 'string', jsonPath: '.status.vrf' },
          { name: 'BGP', type: 'string', jsonPath: '.status.bgpStatus' },
          { name: 'BFD', type: 'string', jsonPath: '.status.bfdStatus' },
          { name: 'Since', type: 'date', jsonPath: '.status.since' },
          { name: 'Sent', type: 'integer', jsonPath: '.status.prefixesSent' },
          { name: 'Received', type: 'integer', jsonPath: '.status.prefixesReceived' },
          { name: 'Last Down', type: 'string', jsonPath: '.status.lastDownReason' },
        ],
      },
    ],
  },
];
