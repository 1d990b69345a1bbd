// The validating admission webhook's decision (pure): an AdmissionReview v1 request for one of the
// metallb.io config kinds, plus the objects the informers currently hold, becomes the
// AdmissionReview response. The would-be snapshot (current objects with the incoming one added,
// replaced or removed) goes through the same `parseConfig` as the controller and
// `mooringctl validate`, so what the webhook admits is exactly what the controller can load.
//
// What is refused (MetalLB internal/k8s/webhooks, plus what our one config function knows):
//   CREATE outside the controller's namespace: "resource must be created in <ns> namespace";
//   CREATE/UPDATE: every `config` error the change introduces, and every `config` error about the
//     object itself. Errors that already existed about other objects do not block an unrelated
//     change. `transient` errors (a reference to an object that does not exist yet) are admitted,
//     with a warning, so `kubectl apply` of several files works in any order;
//   DELETE: a BFDProfile a BGPPeer still uses ("failed to delete BFDProfile X, used by BGPPeer Y",
//     as MetalLB); other deletions are admitted (MetalLB admits them; references become transient).
import { CONFIG_KIND_NAMES, formatConfigError, parseConfig, type ConfigError, type NamespaceInfo, type RawObject } from './config.js';

/** Where the controller serves the webhook; deploy/controller/webhook.yaml points here. */
export const WEBHOOK_PATH = '/validate-metallb-io';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  name?: string;
  namespace?: string;
  object?: RawObject | null;
  oldObject?: RawObject | null;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export interface AdmissionContext {
  /** Every config object the informers hold (any kind of CONFIG_KIND_NAMES), with apiVersion and kind set. */
  objects: readonly RawObject[];
  namespaces?: readonly NamespaceInfo[];
  /** The namespace config objects must live in. */
  namespace: string;
}

/** A request body that is not an AdmissionReview v1 with a request: HTTP 400, no review to answer. */
export type DecodeResult = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeAdmissionReview(body: unknown): DecodeResult {
  if (!isObj(body) || body.kind !== 'AdmissionReview') return { ok: false, error: 'not an AdmissionReview' };
  if (body.apiVersion !== 'admission.k8s.io/v1')
    return { ok: false, error: `unsupported AdmissionReview version ${JSON.stringify(body.apiVersion)} (v1 only)` };
  const r = body.request;
  if (!isObj(r) || typeof r.uid !== 'string' || !isObj(r.kind) || typeof r.operation !== 'string')
    return { ok: false, error: 'AdmissionReview without a valid request' };
  const k = r.kind;
  if (typeof k.kind !== 'string' || typeof k.group !== 'string' || typeof k.version !== 'string')
    return { ok: false, error: 'request.kind is not a GroupVersionKind' };
  if (!['CREATE', 'UPDATE', 'DELETE', 'CONNECT'].includes(r.operation))
    return { ok: false, error: `unknown operation ${JSON.stringify(r.operation)}` };
  return {
    ok: true,
    request: {
      uid: r.uid,
      kind: { group: k.group, version: k.version, kind: k.kind },
      operation: r.operation as AdmissionRequest['operation'],
      ...(typeof r.name === 'string' ? { name: r.name } : {}),
      ...(typeof r.namespace === 'string' ? { namespace: r.namespace } : {}),
      object: isObj(r.object) ? r.object : null,
      oldObject: isObj(r.oldObject) ? r.oldObject : null,
    },
  };
}

const nameOf = (o: RawObject): string => (isObj(o.metadata) && typeof o.metadata.name === 'string' ? o.metadata.name : '');
const kindOf = (o: RawObject): string => (typeof o.kind === 'string' ? o.kind : '');
const key = (e: ConfigError): string => formatConfigError(e);

/** The decision for one request; `review()` wraps it into the AdmissionReview to send back. */
export function admit(req: AdmissionRequest, ctx: AdmissionContext): AdmissionResponse {
  const allow = (warnings: string[] = []): AdmissionResponse => ({ uid: req.uid, allowed: true, ...(warnings.length ? { warnings } : {}) });
  const deny = (message: string): AdmissionResponse => ({
    uid: req.uid,
    allowed: false,
    status: { code: 403, reason: 'Forbidden', message },
  });
  const kind = req.kind.kind;
  if (req.kind.group !== 'metallb.io' || !CONFIG_KIND_NAMES.includes(kind) || req.operation === 'CONNECT') return allow();
  const incoming = req.operation === 'DELETE' ? req.oldObject : req.object;
  const name = req.name ?? (incoming ? nameOf(incoming) : '');

  if (req.operation === 'CREATE' && (req.namespace ?? '') !== ctx.namespace)
    return deny(`resource must be created in ${ctx.namespace} namespace`);
  // Objects outside our namespace are not part of the config: nothing to check beyond the above.
  if ((req.namespace ?? '') !== ctx.namespace) return allow();

  if (req.operation === 'DELETE') {
    if (kind === 'BFDProfile') {
      const user = ctx.objects
        .filter((o) => kindOf(o) === 'BGPPeer' && isObj(o.spec) && o.spec.bfdProfile === name)
        .map(nameOf)
        .sort()[0];
      if (user !== undefined) return deny(`failed to delete BFDProfile ${name}, used by BGPPeer ${user}`);
    }
    return allow();
  }
  if (!incoming) return deny(`${req.operation} ${kind}/${name}: the request carries no object`);

  const others = ctx.objects.filter((o) => !(kindOf(o) === kind && nameOf(o) === name));
  const before = parseConfig({ objects: ctx.objects, namespaces: ctx.namespaces ?? [], namespace: ctx.namespace });
  const after = parseConfig({ objects: [...others, { ...incoming, kind }], namespaces: ctx.namespaces ?? [], namespace: ctx.namespace });
  const existing = new Set(before.ok ? [] : before.errors.map(key));
  const errors = after.ok ? [] : after.errors;
  const concerns = (e: ConfigError) => e.class === 'config' && ((e.kind === kind && e.name === name) || !existing.has(key(e)));
  const refused = errors.filter(concerns);
  const warnings = [
    ...errors.filter((e) => e.class === 'transient' && e.kind === kind && e.name === name).map(formatConfigError),
    ...after.warnings.filter((w) => w.kind === kind && w.name === name).map((w) => `${w.kind}/${w.name}: ${w.field}: ${w.message}`),
  ];
  if (refused.length > 0) return deny(refused.map(formatConfigError).join('; '));
  return allow(warnings);
}

export function review(req: AdmissionRequest, ctx: AdmissionContext): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: admit(req, ctx) };
}
