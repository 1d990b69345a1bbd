// What `mooringctl explain svc` reads from the apiserver: every Service (the allocation is replayed
// against the others), the Service's EndpointSlices and Events, Nodes, Namespaces, the metallb.io
// configuration kinds and the ServiceL2Status/ServiceBGPStatus objects of Mooring's namespace. A
// list that cannot be read is a problem line; the rest is still used.
import type { KubeConfig } from '@kubernetes/client-node';
import { CONFIG_KIND_NAMES } from '../../domain/config.js';
import { KINDS } from '../../api/metallb.js';
import type { ExplainInput } from '../../domain/explain.js';
import { kubeRest, restSupported } from './rest.js';

type Obj = ExplainInput['services'][number];
export type ExplainObjects = Omit<ExplainInput, 'service' | 'live' | 'namespace' | 'loadBalancerClass'>;

export async function readExplainObjects(
  kc: KubeConfig,
  namespace: string,
  service: { namespace: string; name: string },
  timeoutMs = 10_000,
): Promise<{ objects: ExplainObjects; problems: string[] }> {
  if (!restSupported(kc))
    throw new Error('the current kubeconfig cluster is reached through a proxy-url, which mooringctl does not support');
  const rest = kubeRest(kc);
  const problems: string[] = [];
  const list = async (what: string, path: string): Promise<Obj[]> => {
    try {
      const r = await rest.request<{ items?: Obj[] }>('GET', path, { timeoutMs });
      return r.items ?? [];
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message.split('\n')[0]?.slice(0, 300)}`);
      return [];
    }
  };
  const ns = encodeURIComponent(namespace);
  const sns = encodeURIComponent(service.namespace);
  const mlb = (version: string, plural: string) => `/apis/metallb.io/${version}/namespaces/${ns}/${plural}`;
  const configKinds = KINDS.filter((k) => CONFIG_KIND_NAMES.includes(k.kind));
  const configLists = Promise.all(
    configKinds.map(async (k) => {
      const version = k.versions.find((v) => v.storage)?.name ?? 'v1beta1';
      const items = await list(k.plural, mlb(version, k.plural));
      return items.map((o) => ({ ...o, apiVersion: `metallb.io/${version}`, kind: k.kind }));
    }),
  );
  const sel = encodeURIComponent(`kubernetes.io/service-name=${service.name}`);
  const fields = encodeURIComponent(`involvedObject.kind=Service,involvedObject.name=${service.name}`);
  const [services, endpointSlices, nodes, namespaces, l2Statuses, bgpStatuses, events, config] = await Promise.all([
    list('services', '/api/v1/services'),
    list('endpointslices', `/apis/discovery.k8s.io/v1/namespaces/${sns}/endpointslices?labelSelector=${sel}`),
    list('nodes', '/api/v1/nodes'),
    list('namespaces', '/api/v1/namespaces'),
    list('servicel2statuses', mlb('v1beta1', 'servicel2statuses')),
    list('servicebgpstatuses', mlb('v1beta1', 'servicebgpstatuses')),
    list('events', `/api/v1/namespaces/${sns}/events?fieldSelector=${fields}`),
    configLists,
  ]);
  return {
    objects: { services, endpointSlices, nodes, namespaces, l2Statuses, bgpStatuses, events, config: config.flat() },
    problems,
  };
}
