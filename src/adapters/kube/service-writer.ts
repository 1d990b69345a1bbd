// The controller's ServiceWriter port against the apiserver: merge patches on services and
// services/status (plain JSON through rest.ts: client-node's typed path was most of the
// controller's CPU per service in bulk; client-node's typed API behind a proxy), and the
// IPAddressPool status (a JSON patch on the status subresource). A request the apiserver never
// answers (one caught in an apiserver restart) fails after WRITE_TIMEOUT_MS, so it cannot stall
// the reconciler; the writes are idempotent, a late success is harmless.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { GROUP } from '../../api/metallb.js';
import type { LbIngress, ServiceWriter } from '../../actors/service-reconciler.js';
import { kubeRest, restSupported } from './rest.js';

export const WRITE_TIMEOUT_MS = 15_000;

function withTimeout<T>(p: Promise<T>, what: string, ms = WRITE_TIMEOUT_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

type Patch = {
  metadata?: { annotations: Readonly<Record<string, string | null>> };
  status?: { loadBalancer: { ingress: readonly LbIngress[] } };
};

export function createServiceWriter(kc: KubeConfig): ServiceWriter {
  const rest = restSupported(kc) ? kubeRest(kc) : undefined;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const svcPath = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`;
  const patchService = async (ns: string, name: string, body: Patch, subresource: '' | '/status'): Promise<void> => {
    // The answer is not needed: the informer brings the result (and the next converge reacts to it).
    if (rest) {
      await rest.request('PATCH', `${svcPath(ns, name)}${subresource}`, {
        body,
        contentType: 'application/merge-patch+json',
        timeoutMs: WRITE_TIMEOUT_MS,
        discard: true,
      });
      return;
    }
    const what = `patch service${subresource ? ' status' : ''} ${ns}/${name}`;
    await withTimeout(
      subresource
        ? core.patchNamespacedServiceStatus({ name, namespace: ns, body }, mergePatch)
        : core.patchNamespacedService({ name, namespace: ns, body }, mergePatch),
      what,
    );
  };
  return {
    patchServiceStatus: (ns, name, ingress, annotations) =>
      patchService(ns, name, { ...(annotations ? { metadata: { annotations } } : {}), status: { loadBalancer: { ingress } } }, '/status'),
    patchServiceAnnotations: (ns, name, annotations) => patchService(ns, name, { metadata: { annotations } }, ''),
    patchPoolStatus: async (namespace, name, status) => {
      await withTimeout(
        custom.patchNamespacedCustomObjectStatus({
          group: GROUP,
          version: 'v1beta1',
          namespace,
          plural: 'ipaddresspools',
          name,
          body: [{ op: 'add', path: '/status', value: status }],
        }),
        `patch pool status ${name}`,
      );
    },
  };
}
