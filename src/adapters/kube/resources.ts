// Informer specs for everything Mooring watches: core objects cluster-wide, metallb.io config
// kinds and Secrets in Mooring's namespace. One place for watch paths and list calls.
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Namespace,
  type V1Node,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { GROUP, KINDS } from '../../api/metallb.js';
import type { InformerSpec } from './informer.js';

export function coreSpecs(kc: KubeConfig, namespace: string) {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  return {
    services: {
      name: 'services',
      path: '/api/v1/services',
      list: () => core.listServiceForAllNamespaces({}),
    } satisfies InformerSpec<V1Service>,
    endpointSlices: {
      name: 'endpointslices',
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: () => discovery.listEndpointSliceForAllNamespaces({}),
    } satisfies InformerSpec<V1EndpointSlice>,
    nodes: { name: 'nodes', path: '/api/v1/nodes', list: () => core.listNode({}) } satisfies InformerSpec<V1Node>,
    namespaces: { name: 'namespaces', path: '/api/v1/namespaces', list: () => core.listNamespace({}) } satisfies InformerSpec<V1Namespace>,
    secrets: {
      name: 'secrets',
      path: `/api/v1/namespaces/${namespace}/secrets`,
      list: () => core.listNamespacedSecret({ namespace }),
    } satisfies InformerSpec<V1Secret>,
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
  const custom = kc.makeApiClient(CustomObjectsApi);
  const k = KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`unknown metallb.io kind ${kind}`);
  const version = storageVersion(kind);
  return {
    name: k.plural,
    path: `/apis/${GROUP}/${version}/namespaces/${namespace}/${k.plural}`,
    list: async () =>
      (await custom.listNamespacedCustomObject({
        group: GROUP,
        version,
        namespace,
        plural: k.plural,
      })) as KubernetesListObject<KubernetesObject>,
  };
}
