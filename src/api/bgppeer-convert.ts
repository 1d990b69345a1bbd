// BGPPeer conversion between v1beta1 (served, deprecated) and v1beta2 (stored). Unlike MetalLB's
// conversion, unset timers stay unset (MetalLB turns them into "0s", which then means "hold time
// 0 = no keepalives"). Fields that exist only in v1beta2 survive a round trip through v1beta1 in
// an annotation, as Kubernetes conversions do.
import type { BGPPeer, BGPPeerV1beta1, BGPPeerSpec, BGPPeerSpecV1beta1 } from './metallb.js';

export const V1BETA2_FIELDS_ANNOTATION = 'mooring.io/v1beta2-fields';
const COMMON = [
  'myASN',
  'peerASN',
  'peerAddress',
  'sourceAddress',
  'peerPort',
  'holdTime',
  'keepaliveTime',
  'routerID',
  'password',
  'bfdProfile',
  'ebgpMultiHop',
  'nodeSelectors',
] as const;

function pick(spec: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (spec[k] !== undefined) out[k] = structuredClone(spec[k]);
  return out;
}

export function bgpPeerToV1beta2(p: BGPPeerV1beta1): BGPPeer {
  const spec = (p.spec ?? {}) as Record<string, unknown>;
  const annotations = { ...(p.metadata.annotations ?? {}) };
  const extra = annotations[V1BETA2_FIELDS_ANNOTATION];
  delete annotations[V1BETA2_FIELDS_ANNOTATION];
  let restored: Record<string, unknown> = {};
  if (extra) {
    try {
      restored = JSON.parse(extra) as Record<string, unknown>;
    } catch {
      restored = {};
    }
  }
  const metadata = { ...p.metadata, annotations };
  if (Object.keys(annotations).length === 0) delete (metadata as { annotations?: unknown }).annotations;
  return {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata,
    spec: { ...pick(spec, COMMON), ...restored } as BGPPeerSpec,
  };
}

export function bgpPeerToV1beta1(p: BGPPeer): BGPPeerV1beta1 {
  const spec = (p.spec ?? {}) as Record<string, unknown>;
  const common = pick(spec, COMMON);
  const rest = pick(
    spec,
    Object.keys(spec).filter((k) => !(COMMON as readonly string[]).includes(k)),
  );
  const annotations = { ...(p.metadata.annotations ?? {}) };
  if (Object.keys(rest).length > 0) annotations[V1BETA2_FIELDS_ANNOTATION] = JSON.stringify(rest);
  const metadata = { ...p.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) };
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BGPPeer', metadata, spec: common as BGPPeerSpecV1beta1 };
}
