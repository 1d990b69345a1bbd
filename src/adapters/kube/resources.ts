// Informer specs for everything Mooring watches: core objects cluster-wide, metallb.io config
// kinds and Secrets in Mooring's namespace. One place for watch paths and list calls.
// Lists are plain JSON GETs through rest.ts (what the watches already use); client-node's
// generated API classes only for a cluster behind a proxy, loaded then (`fullClient`).
import type {
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  V1EndpointSlice,
  V1Namespace,
  V1Node,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { GROUP, KINDS } from '../../api/metallb.js';
import type { InformerSpec } from './informer.js';
import { fullClient, kubeRest, restSupported } from './rest.js';

type Client = Awaited<ReturnType<typeof fullClient>>;

/** GET `path` (a list), or the same list through client-node's API classes behind a proxy. */
function lister<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  viaClient: (k: Client) => Promise<unknown>,
): () => Promise<KubernetesListObject<T>> {
  if (restSupported(kc)) {
    const rest = kubeRest(kc);
    return () => rest.request<KubernetesListObject<T>>('GET', path);
  }
  return async () => (await viaClient(await fullClient())) as KubernetesListObject<T>;
}

export function coreSpecs(kc: KubeConfig, namespace: string) {
  const core = (k: Client) => kc.makeApiClient(k.CoreV1Api);
  const spec = <T extends KubernetesObject>(name: string, path: string, viaClient: (k: Client) => Promise<unknown>): InformerSpec<T> => ({
    name,
    path,
    list: lister<T>(kc, path, viaClient),
  });
  return {
    services: spec<V1Service>('services', '/api/v1/services', (k) => core(k).listServiceForAllNamespaces({})),
    endpointSlices: spec<V1EndpointSlice>('endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', (k) =>
      kc.makeApiClient(k.DiscoveryV1Api).listEndpointSliceForAllNamespaces({}),
    ),
    nodes: spec<V1Node>('nodes', '/api/v1/nodes', (k) => core(k).listNode({})),
    namespaces: spec<V1Namespace>('namespaces', '/api/v1/namespaces', (k) => core(k).listNamespace({})),
    secrets: spec<V1Secret>('secrets', `/api/v1/namespaces/${namespace}/secrets`, (k) => core(k).listNamespacedSecret({ namespace })),
  };
}

/** The storage (preferred) version of each metallb.io kind. */
export function storageVersion(kind: string): string {
  const k = KINDS.find((x) => x.kind === kind);
  const v = k?.versions.find((x) => x.storage);
  if (!k || !v) throw new Error(`unknown metallb.io kind ${kind}`);
  return v.name;
}

/** An informer spec for a namespaced metallb.io kind, at its storage version. */
export function metallbSpec(kc: KubeConfig, namespace: string, kind: string): InformerSpec<KubernetesObject> {
  const k = KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`unknown metallb.io kind ${kind}`);
  const version = storageVersion(kind);
  const path = `/apis/${GROUP}/${version}/namespaces/${namespace}/${k.plural}`;
  return {
    name: k.plural,
    path,
    list: lister(kc, path, (c) =>
      kc.makeApiClient(c.CustomObjectsApi).listNamespacedCustomObject({ group: GROUP, version, namespace, plural: k.plural }),
    ),
  };
}
