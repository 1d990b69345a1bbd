import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEPRECATED_POOL_ANNOTATION,
  POOL_ANNOTATION,
  annotationPatch,
  clearedByConfigEvent,
  clearedNotOursEvent,
  deprecatedAnnotationEvents,
  hasWrites,
  ingressIps,
  isManaged,
  poolStatus,
  refusalEvent,
  toServiceRequest,
  writesFor,
  type ServiceLike,
} from './lb-service.js';

const lb = (
  extra: Partial<NonNullable<ServiceLike['spec']>> = {},
  status: string[] = [],
  ann: Record<string, string> = {},
): ServiceLike => ({
  metadata: { name: 'web', namespace: 'team', labels: { app: 'web' }, annotations: ann },
  spec: { type: 'LoadBalancer', ipFamilies: ['IPv4'], ports: [{ port: 80 }], ...extra },
  status: { loadBalancer: { ingress: status.map((ip) => ({ ip })) } },
});

describe('lb-service: isManaged', () => {
  const cases: Array<{ desc: string; svc: ServiceLike; lbClass?: string; want: boolean }> = [
    { desc: 'LoadBalancer, no class, none configured', svc: lb(), want: true },
    { desc: 'ClusterIP', svc: lb({ type: 'ClusterIP' }), want: false },
    { desc: 'another class, none configured', svc: lb({ loadBalancerClass: 'other.io/lb' }), want: false },
    { desc: 'our class configured, service has none', svc: lb(), lbClass: 'mooring.io/lb', want: false },
    { desc: 'our class on both', svc: lb({ loadBalancerClass: 'mooring.io/lb' }), lbClass: 'mooring.io/lb', want: true },
    { desc: 'empty --lb-class means none', svc: lb(), lbClass: '', want: true },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(isManaged(c.svc, c.lbClass), c.want));
});

describe('lb-service: toServiceRequest', () => {
  it('maps the fields the allocator reads', () => {
    const r = toServiceRequest(
      lb(
        {
          ipFamilyPolicy: 'RequireDualStack',
          ipFamilies: ['IPv6', 'IPv4'],
          externalTrafficPolicy: 'Local',
          selector: { app: 'web' },
          loadBalancerIP: '198.51.100.7',
        },
        [],
        { 'metallb.io/address-pool': 'p' },
      ),
    );
    assert.deepEqual(r, {
      key: 'team/web',
      namespace: 'team',
      labels: { app: 'web' },
      annotations: { 'metallb.io/address-pool': 'p' },
      ports: [{ protocol: 'TCP', port: 80 }],
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: [6, 4],
      loadBalancerIP: '198.51.100.7',
      externalTrafficPolicy: 'Local',
      selector: { app: 'web' },
    });
  });
  it('defaults: IPv4 when the apiserver has not set families yet, unknown policy dropped', () => {
    const r = toServiceRequest({ metadata: { name: 'a', namespace: 'b' }, spec: { type: 'LoadBalancer', ipFamilyPolicy: 'Bogus' } });
    assert.deepEqual(r.ipFamilies, [4]);
    assert.equal(r.ipFamilyPolicy, undefined);
  });
});

describe('lb-service: writesFor', () => {
  const cases: Array<{ desc: string; svc: ServiceLike; ips: string[]; pool?: string; want: object }> = [
    {
      desc: 'fresh allocation: ingress and annotation',
      svc: lb(),
      ips: ['198.51.100.1'],
      pool: 'p',
      want: { ingress: ['198.51.100.1'], poolAnnotation: 'p' },
    },
    {
      desc: 'already converged: nothing',
      svc: lb({}, ['198.51.100.1'], { [POOL_ANNOTATION]: 'p' }),
      ips: ['198.51.100.1'],
      pool: 'p',
      want: {},
    },
    {
      desc: 'pool renamed: annotation only',
      svc: lb({}, ['198.51.100.1'], { [POOL_ANNOTATION]: 'old' }),
      ips: ['198.51.100.1'],
      pool: 'p',
      want: { poolAnnotation: 'p' },
    },
    {
      desc: 'released: clear both',
      svc: lb({}, ['198.51.100.1'], { [POOL_ANNOTATION]: 'p' }),
      ips: [],
      want: { ingress: [], poolAnnotation: null },
    },
    { desc: 'released, nothing shown: nothing', svc: lb(), ips: [], want: {} },
    {
      desc: 'order matters (primary family first)',
      svc: lb({}, ['2001:db8::1', '198.51.100.1'], { [POOL_ANNOTATION]: 'p' }),
      ips: ['198.51.100.1', '2001:db8::1'],
      pool: 'p',
      want: { ingress: ['198.51.100.1', '2001:db8::1'] },
    },
    {
      desc: 'deprecated pool annotation of an older MetalLB on a converged service: dropped alone',
      svc: lb({}, ['198.51.100.1'], { [POOL_ANNOTATION]: 'p', [DEPRECATED_POOL_ANNOTATION]: 'p' }),
      ips: ['198.51.100.1'],
      pool: 'p',
      want: { dropDeprecatedPool: true },
    },
    {
      desc: 'deprecated pool annotation only (upgrade from MetalLB < 0.14): migrated to metallb.io',
      svc: lb({}, ['198.51.100.1'], { [DEPRECATED_POOL_ANNOTATION]: 'p' }),
      ips: ['198.51.100.1'],
      pool: 'p',
      want: { poolAnnotation: 'p', dropDeprecatedPool: true },
    },
    {
      desc: 'released: the deprecated one goes too',
      svc: lb({}, ['198.51.100.1'], { [DEPRECATED_POOL_ANNOTATION]: 'p' }),
      ips: [],
      want: { ingress: [], dropDeprecatedPool: true },
    },
  ];
  for (const c of cases) it(c.desc, () => assert.deepEqual(writesFor(c.svc, c.ips, c.pool), c.want));
  it('annotationPatch: the merge patch of the annotations, null removes; hasWrites', () => {
    assert.deepEqual(annotationPatch({ poolAnnotation: 'p', dropDeprecatedPool: true }), {
      [POOL_ANNOTATION]: 'p',
      [DEPRECATED_POOL_ANNOTATION]: null,
    });
    assert.deepEqual(annotationPatch({ dropDeprecatedPool: true }), { [DEPRECATED_POOL_ANNOTATION]: null });
    assert.deepEqual(annotationPatch({ poolAnnotation: null }), { [POOL_ANNOTATION]: null });
    assert.equal(annotationPatch({ ingress: [] }), undefined);
    assert.equal(hasWrites({}), false);
    assert.equal(hasWrites({ dropDeprecatedPool: true }), true);
  });
  it('ingressIps ignores hostname-only entries', () => {
    assert.deepEqual(ingressIps({ status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }, {}] } } }), ['198.51.100.1']);
  });
});

describe('lb-service: events with MetalLB reasons', () => {
  it('deprecatedAnnotation per metallb.universe.tf/* key, sorted', () => {
    assert.deepEqual(
      deprecatedAnnotationEvents(
        lb({}, [], {
          'metallb.universe.tf/loadBalancerIPs': '198.51.100.7',
          'metallb.io/address-pool': 'p',
          'metallb.universe.tf/address-pool': 'p',
        }),
      ),
      [
        { type: 'Warning', reason: 'deprecatedAnnotation', message: 'Service uses deprecated annotation metallb.universe.tf/address-pool' },
        {
          type: 'Warning',
          reason: 'deprecatedAnnotation',
          message: 'Service uses deprecated annotation metallb.universe.tf/loadBalancerIPs',
        },
      ],
    );
    assert.deepEqual(deprecatedAnnotationEvents(lb()), []);
  });
  it('ClearAssignment when a service stops being ours, only if it held an IP', () => {
    assert.deepEqual(clearedNotOursEvent(lb({ type: 'ClusterIP' }), ['198.51.100.7']), {
      type: 'Normal',
      reason: 'ClearAssignment',
      message: 'cleared IP ["198.51.100.7"] for "team/web": not a LoadBalancer (type ClusterIP)',
    });
    assert.deepEqual(clearedNotOursEvent(lb({ loadBalancerClass: 'other.io/lb' }), ['198.51.100.7']), {
      type: 'Normal',
      reason: 'ClearAssignment',
      message: 'cleared IP ["198.51.100.7"] for "team/web": loadBalancerClass "other.io/lb" is not unset',
    });
    assert.equal(clearedNotOursEvent(lb({ type: 'ClusterIP' }), []), undefined);
    assert.match(
      clearedByConfigEvent('team/web', ['198.51.100.7']).message,
      /^current IP for "team\/web" not allowed by config, will attempt for new IP assignment: /,
    );
  });
  it('a refusal that keeps the IPs is LoadBalancerFailed, otherwise AllocationFailed', () => {
    assert.deepEqual(refusalEvent('team/web', 'invalidRequest', 'bad', ['198.51.100.7']), {
      type: 'Warning',
      reason: 'LoadBalancerFailed',
      message: 'invalid requested loadbalancer IPs: bad',
    });
    assert.deepEqual(refusalEvent('team/web', 'exhausted', 'no IPs', []), {
      type: 'Warning',
      reason: 'AllocationFailed',
      message: 'Failed to allocate IP for "team/web": no IPs',
    });
  });
  it('pool status counts, IPv6 available saturating at 2^53-1', () => {
    assert.deepEqual(poolStatus({ ipv4: { assigned: 2, available: 6n }, ipv6: { assigned: 1, available: 2n ** 64n } }), {
      assignedIPv4: 2,
      assignedIPv6: 1,
      availableIPv4: 6,
      availableIPv6: Number.MAX_SAFE_INTEGER,
    });
  });
});
