// What `mooringctl status` reads from the apiserver: Nodes, Services, the controller's Lease and the metallb.io
// status kinds (ConfigurationState, IPAddressPool, ServiceL2Status, ServiceBGPStatus) of one
// namespace, as plain JSON lists. A list that cannot be read (RBAC, a CRD not installed) is a
// problem line, not a failure: the rest is still shown.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterObjects } from '../../domain/cluster-status.js';
import { kubeRest, restSupported } from './rest.js';

export interface ClusterRead {
  readonly objects: ClusterObjects;
  /** One line per list that could not be read. */
  readonly problems: string[];
}

export async function readClusterObjects(
  kc: KubeConfig,
  namespace: string,
  leaseName = 'mooring-controller',
  timeoutMs = 10_000,
): Promise<ClusterRead> {
  if (!restSupported(kc))
    throw new Error('the current kubeconfig cluster is reached through a proxy-url, which mooringctl does not support');
  const rest = kubeRest(kc);
  const ns = encodeURIComponent(namespace);
  const problems: string[] = [];
  const list = async (what: string, path: string): Promise<ClusterObjects['nodes']> => {
    try {
      const r = await rest.request<{ items?: ClusterObjects['nodes'] }>('GET', path, { timeoutMs });
      return r.items ?? [];
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message.split('\n')[0]?.slice(0, 300)}`);
      return [];
    }
  };
  const mlb = (plural: string) => `/apis/metallb.io/v1beta1/namespaces/${ns}/${plural}`;
  const lease = async (): Promise<ClusterObjects['controllerLease']> => {
    try {
      return await rest.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${encodeURIComponent(leaseName)}`, {
        timeoutMs,
      });
    } catch (e) {
      problems.push(`lease ${leaseName}: ${(e as Error).message.split('\n')[0]?.slice(0, 300)}`);
      return undefined;
    }
  };
  const [controllerLease, nodes, configurationStates, pools, services, l2Statuses, bgpStatuses] = await Promise.all([
    lease(),
    list('nodes', '/api/v1/nodes'),
    list('configurationstates', mlb('configurationstates')),
    list('ipaddresspools', mlb('ipaddresspools')),
    list('services', '/api/v1/services'),
    list('servicel2statuses', mlb('servicel2statuses')),
    list('servicebgpstatuses', mlb('servicebgpstatuses')),
  ]);
  return {
    objects: { nodes, configurationStates, pools, services, l2Statuses, bgpStatuses, ...(controllerLease ? { controllerLease } : {}) },
    problems,
  };
}

/**
 * The BGPSessionState objects (mooring.io/v1alpha1) of one namespace, one per node and peer, as
 * each speaker writes them; not readable (RBAC, CRD not installed): a problem line and none.
 */
export async function readBgpSessionStates(
  kc: KubeConfig,
  namespace: string,
  timeoutMs = 10_000,
): Promise<{ items: unknown[]; problem?: string }> {
  try {
    const r = await kubeRest(kc).request<{ items?: unknown[] }>(
      'GET',
      `/apis/mooring.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/bgpsessionstates`,
      { timeoutMs },
    );
    return { items: r.items ?? [] };
  } catch (e) {
    return { items: [], problem: `bgpsessionstates: ${(e as Error).message.split('\n')[0]?.slice(0, 300)}` };
  }
}
