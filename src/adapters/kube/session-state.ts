// BGPSessionState objects (mooring.io/v1alpha1, src/api/mooring.ts) on the apiserver: the
// SessionStateSink port of src/actors/session-status.ts. Labelled with the node and the peer so
// `kubectl get bgpsessionstates -l mooring.io/node=n1` selects one node's.
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { MOORING_GROUP, MOORING_VERSION, type BGPSessionStateStatus } from '../../api/mooring.js';
import { SessionStatusReporter, type SessionCounters, type SessionStateSink } from '../../actors/session-status.js';
import { realClock } from '../../actors/coord-ports.js';
import type { EventSink } from '../../actors/kube-ports.js';
import type { Logger } from '../log.js';
import { customCalls } from './status.js';

export const SESSION_NODE_LABEL = 'mooring.io/node';
export const SESSION_PEER_LABEL = 'mooring.io/peer';
const PLURAL = 'bgpsessionstates';

export const sessionStateHash = (s: string): string => createHash('sha256').update(s).digest('hex');

const code = (e: unknown): number | undefined => (e as { code?: number }).code;

export function createSessionStateSink(kc: KubeConfig, namespace: string): SessionStateSink {
  // Plain JSON through rest.ts (status.ts's customCalls): the speaker does not load client-node's
  // generated API classes and models (~4 MB of source, ~760 classes) for these few calls.
  const api = customCalls(kc, namespace, MOORING_GROUP, MOORING_VERSION);
  const setStatus = (name: string, status: BGPSessionStateStatus) =>
    api.patchStatus(PLURAL, name, [{ op: 'add', path: '/status', value: status }]);
  return {
    async list(node) {
      const r = (await api.list(PLURAL, `${SESSION_NODE_LABEL}=${node}`)) as {
        items: Array<{ metadata: { name: string } }>;
      };
      return r.items.map((o) => o.metadata.name);
    },
    async write(name, node, peer, status) {
      try {
        await setStatus(name, status);
      } catch (e) {
        if (code(e) !== 404) throw e;
        await api.create(PLURAL, {
          apiVersion: `${MOORING_GROUP}/${MOORING_VERSION}`,
          kind: 'BGPSessionState',
          metadata: {
            name,
            namespace,
            labels: {
              [SESSION_NODE_LABEL]: node,
              [SESSION_PEER_LABEL]: peer.slice(0, 63).replace(/[^A-Za-z0-9]+$/, ''),
              'app.kubernetes.io/managed-by': 'mooring',
            },
          },
          spec: {},
        });
        await setStatus(name, status);
      }
    },
    async remove(name) {
      await api.delete(PLURAL, name).catch((e: unknown) => {
        if (code(e) !== 404) throw e;
      });
    },
  };
}

/** The speaker's reporter wired to the apiserver and the real clock, started. */
export function createSessionStatus(o: {
  kc: KubeConfig;
  node: string;
  namespace: string;
  events: EventSink;
  peers: SessionCounters;
  log: Logger;
}): SessionStatusReporter {
  const r = new SessionStatusReporter({
    node: o.node,
    namespace: o.namespace,
    sink: createSessionStateSink(o.kc, o.namespace),
    events: o.events,
    peers: o.peers,
    clock: realClock,
    wallTime: () => new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    hash: sessionStateHash,
    onError: (err) => o.log.warn('BGPSessionState write failed', { event: 'bgp.sessionStateFailed', err: String(err) }),
  });
  r.start();
  return r;
}
