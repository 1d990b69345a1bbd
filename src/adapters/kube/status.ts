// Writes the status objects a speaker owns: ServiceL2Status (per service it announces by L2),
// ServiceBGPStatus (per service it advertises by BGP) and ConfigurationState/<component>.
// Objects are named deterministically per (node, service) and labelled with the node, so each
// speaker reconciles exactly its own set: create what is missing, patch what changed, delete
// what is no longer true. Reconciles are serialized and coalesced (the last desired set wins).
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { GROUP } from '../../api/metallb.js';
import type { Logger } from '../log.js';
import { configurationStateLabels, configurationStateStatus } from '../../domain/config-state.js';
import { fullClient, kubeRest, restSupported } from './rest.js';

export const NODE_LABEL = 'metallb.io/node';
export const SERVICE_NAME_LABEL = 'metallb.io/service-name';
export const SERVICE_NAMESPACE_LABEL = 'metallb.io/service-namespace';

type Obj = { metadata: { name: string; labels?: Record<string, string> }; status?: Record<string, unknown> };
import type { DesiredStatus, StatusSink } from '../../actors/kube-ports.js';

export type { DesiredStatus };

/** The calls the writer makes on custom objects of one group/version in one namespace (errors carry the HTTP `code`). */
export interface CustomCalls {
  list(plural: string, labelSelector: string): Promise<unknown>;
  get(plural: string, name: string): Promise<unknown>;
  create(plural: string, body: object): Promise<unknown>;
  /** A JSON patch of the status subresource. */
  patchStatus(plural: string, name: string, body: object[]): Promise<unknown>;
  delete(plural: string, name: string): Promise<unknown>;
}

/**
 * Plain JSON through rest.ts; client-node's CustomObjectsApi behind a proxy (loaded then). Default:
 * metallb.io/v1beta1; the speaker's BGPSessionState writer (session-state.ts) uses it for mooring.io.
 */
export function customCalls(kc: KubeConfig, namespace: string, group: string = GROUP, version = 'v1beta1'): CustomCalls {
  if (restSupported(kc)) {
    const rest = kubeRest(kc);
    const base = (plural: string) => `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
    const one = (plural: string, name: string) => `${base(plural)}/${encodeURIComponent(name)}`;
    return {
      list: (plural, labelSelector) => rest.request('GET', `${base(plural)}?labelSelector=${encodeURIComponent(labelSelector)}`),
      get: (plural, name) => rest.request('GET', one(plural, name)),
      create: (plural, body) => rest.request('POST', base(plural), { body, discard: true }),
      patchStatus: (plural, name, body) =>
        rest.request('PATCH', `${one(plural, name)}/status`, { body, contentType: 'application/json-patch+json', discard: true }),
      delete: (plural, name) => rest.request('DELETE', one(plural, name), { discard: true }),
    };
  }
  const api = async () => kc.makeApiClient((await fullClient()).CustomObjectsApi);
  const at = { group, version, namespace };
  return {
    list: async (plural, labelSelector) => (await api()).listNamespacedCustomObject({ ...at, plural, labelSelector }),
    get: async (plural, name) => (await api()).getNamespacedCustomObject({ ...at, plural, name }),
    create: async (plural, body) => (await api()).createNamespacedCustomObject({ ...at, plural, body }),
    patchStatus: async (plural, name, body) => (await api()).patchNamespacedCustomObjectStatus({ ...at, plural, name, body }),
    delete: async (plural, name) => (await api()).deleteNamespacedCustomObject({ ...at, plural, name }),
  };
}

const statusName = (prefix: string, node: string, key: string): string =>
  `${prefix}-${createHash('sha256').update(`${node}/${key}`).digest('hex').slice(0, 16)}`;

export class StatusWriter implements StatusSink {
  private readonly api: CustomCalls;
  private readonly queues = new Map<string, { running: boolean; failures?: number; next?: () => Promise<void> }>();

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {
    this.api = customCalls(kc, namespace);
  }

  /** Runs `job` after the current one for `key`; a newer job replaces a waiting one. */
  private enqueue(key: string, job: () => Promise<void>): Promise<void> {
    const q = this.queues.get(key) ?? { running: false };
    this.queues.set(key, q);
    q.next = job;
    if (q.running) return Promise.resolve();
    q.running = true;
    return (async () => {
      while (q.next) {
        const j = q.next;
        q.next = undefined;
        try {
          await j();
          q.failures = 0;
        } catch (err) {
          q.failures = (q.failures ?? 0) + 1;
          this.log.warn('status write failed, will retry', {
            event: 'status.error',
            kind: key,
            attempt: q.failures,
            err: err instanceof Error ? err.message.split('\n')[0] : String(err),
          });
          // Retry the same job after a backoff unless a newer one arrived meanwhile.
          if (!q.next && q.failures < 20) {
            await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** q.failures!)));
            q.next ??= j;
          }
        }
      }
      q.running = false;
    })();
  }

  private async setStatus(plural: string, name: string, status: Record<string, unknown>): Promise<void> {
    await this.api.patchStatus(plural, name, [{ op: 'add', path: '/status', value: status }]);
  }

  /**
   * What the server holds of our objects, per plural (name → status JSON), as of the last list
   * and our own writes since: a reconcile that changes nothing sends nothing. Cleared on any
   * failure (the next attempt lists again) and re-listed every RESYNC_MS, so objects changed or
   * deleted behind our back are repaired.
   */
  private readonly lastState = new Map<string, { key: string; at: number }>();
  private readonly known = new Map<string, { at: number; objects: Map<string, string> }>();
  static RESYNC_MS = 300_000;

  /** Makes the set of `plural` objects labelled with `node` equal `desired`. */
  reconcile(plural: 'servicel2statuses' | 'servicebgpstatuses', node: string, desired: readonly DesiredStatus[]): Promise<void> {
    const kind = plural === 'servicel2statuses' ? 'ServiceL2Status' : 'ServiceBGPStatus';
    const prefix = plural === 'servicel2statuses' ? 'l2' : 'bgp';
    return this.enqueue(plural, async () => {
      let k = this.known.get(plural);
      if (!k || Date.now() - k.at > StatusWriter.RESYNC_MS) {
        const list = (await this.api.list(plural, `${NODE_LABEL}=${node}`)) as { items: Obj[] };
        k = { at: Date.now(), objects: new Map(list.items.map((o) => [o.metadata.name, JSON.stringify(o.status ?? null)])) };
        this.known.set(plural, k);
      }
      const have = k.objects;
      const want = new Map(desired.map((d) => [statusName(prefix, node, d.serviceKey), d]));
      try {
        for (const [name, d] of want) {
          const cur = have.get(name);
          const json = JSON.stringify(d.status);
          if (cur === undefined) {
            const [ns = '', svc = ''] = d.serviceKey.split('/');
            await this.api.create(plural, {
              apiVersion: `${GROUP}/v1beta1`,
              kind,
              metadata: {
                name,
                namespace: this.namespace,
                labels: {
                  [NODE_LABEL]: node,
                  [SERVICE_NAME_LABEL]: svc.slice(0, 63),
                  [SERVICE_NAMESPACE_LABEL]: ns.slice(0, 63),
                  'app.kubernetes.io/managed-by': 'mooring',
                },
              },
              spec: {},
            });
            have.set(name, 'null');
            await this.setStatus(plural, name, d.status);
            have.set(name, json);
          } else if (cur !== json) {
            await this.setStatus(plural, name, d.status);
            have.set(name, json);
          }
        }
        for (const name of [...have.keys()]) {
          if (want.has(name)) continue;
          await this.api.delete(plural, name).catch((e: unknown) => {
            if ((e as { code?: number }).code !== 404) throw e;
          });
          have.delete(name);
        }
      } catch (err) {
        this.known.delete(plural);
        throw err;
      }
    });
  }

  /** ConfigurationState/<name>: Valid or Invalid with the error summary and a condition. */
  configurationState(name: string, valid: boolean, errorSummary: string): Promise<void> {
    // Unchanged since our last successful write: nothing to send (every reconcile calls this).
    const last = this.lastState.get(name);
    if (last && last.key === `${valid ? 'Valid' : 'Invalid'}\n${errorSummary}` && Date.now() - last.at < StatusWriter.RESYNC_MS)
      return Promise.resolve();
    return this.enqueue(`configurationstate/${name}`, async () => {
      const status = configurationStateStatus(name, valid, errorSummary, new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
      let cur: Obj | undefined;
      try {
        cur = (await this.api.get('configurationstates', name)) as Obj;
      } catch {
        await this.api.create('configurationstates', {
          apiVersion: `${GROUP}/v1beta1`,
          kind: 'ConfigurationState',
          metadata: {
            name,
            namespace: this.namespace,
            labels: { ...configurationStateLabels(name), 'app.kubernetes.io/managed-by': 'mooring' },
          },
        });
      }
      const prev = cur?.status as { result?: string; errorSummary?: string; conditions?: Array<{ type?: string }> } | undefined;
      // Also rewritten when an older writer left another condition type (Mooring's former ConfigurationValid).
      const sameConditions = prev?.conditions?.map((c) => c.type).join() === status.conditions?.map((c) => c.type).join();
      if (prev?.result !== status.result || prev?.errorSummary !== status.errorSummary || !sameConditions)
        await this.setStatus('configurationstates', name, status);
      this.lastState.set(name, { key: `${status.result}\n${errorSummary}`, at: Date.now() });
    });
  }
}
