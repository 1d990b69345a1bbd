// The in-memory API store: resourceVersions and generations as an apiserver keeps them, sources
// that see every change, merge patches through the ServiceWriter, injected failures and pauses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiStore, NotFoundError, pluralOf } from './api-store.js';

const svc = (name: string, port = 80) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'apps' },
  spec: { type: 'LoadBalancer', ports: [{ port }] },
});

describe('ApiStore', () => {
  it('keeps objects by kind/namespace/name with one resourceVersion counter; generation follows the spec', () => {
    const s = new ApiStore();
    const seen: string[] = [];
    const src = s.source('Service');
    assert.equal(src.name, 'services');
    assert.ok(src.isSynced());
    src.onChange((ev) =>
      seen.push(`${ev.type} ${ev.obj.metadata?.name} rv${ev.obj.metadata?.resourceVersion} g${ev.obj.metadata?.generation}`),
    );
    s.apply(svc('a'));
    s.apply({ kind: 'Namespace', metadata: { name: 'apps' } });
    s.apply(svc('a'));
    s.apply(svc('a', 81));
    s.patch('Service', 'a', 'apps', { annotations: { x: '1' }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } } });
    s.apply({ ...svc('a', 81), metadata: { name: 'a', namespace: 'apps', annotations: { x: '1' } } });
    assert.deepEqual(
      src.get('a', 'apps')?.status,
      { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } },
      'a replace without status keeps it',
    );
    s.patch('Service', 'a', 'apps', { annotations: { x: '1' } });
    assert.equal(s.resourceVersion(), 4, 'no-op update and patch: no new resourceVersion');
    assert.ok(s.delete('Service', 'a', 'apps'));
    assert.equal(s.delete('Service', 'a', 'apps'), false);
    assert.deepEqual(seen, ['add a rv1 g1', 'update a rv3 g2', 'update a rv4 g2', 'delete a rv4 g2']);
    assert.deepEqual(src.list(), []);
    assert.equal(s.list('Namespace').length, 1);
  });

  it('the ServiceWriter merge-patches on a microtask, removes null annotations, rejects unknown objects, honours fail and pause', async () => {
    const s = new ApiStore();
    s.apply({ ...svc('a'), metadata: { name: 'a', namespace: 'apps', annotations: { keep: 'k', drop: 'd' } } });
    const w = s.serviceWriter();
    const p = w.patchServiceStatus('apps', 'a', [{ ip: '198.51.100.7', ipMode: 'VIP' }], { drop: null, pool: 'p' });
    assert.equal(s.get('Service', 'a', 'apps')?.status, undefined, 'not applied synchronously');
    await p;
    const a = s.get('Service', 'a', 'apps');
    assert.deepEqual(a?.metadata?.annotations, { keep: 'k', pool: 'p' });
    assert.deepEqual(a?.status, { loadBalancer: { ingress: [{ ip: '198.51.100.7', ipMode: 'VIP' }] } });
    await assert.rejects(w.patchServiceAnnotations('apps', 'nope', { x: '1' }), NotFoundError);
    w.fail = (op) => (op.op === 'serviceAnnotations' ? new Error('boom') : undefined);
    await assert.rejects(w.patchServiceAnnotations('apps', 'a', { x: '1' }), /boom/);
    w.fail = undefined;
    w.pause();
    let done = false;
    const q = w.patchServiceAnnotations('apps', 'a', { x: '1' }).then(() => {
      done = true;
    });
    for (let i = 0; i < 5; i++) await new Promise(setImmediate);
    assert.equal(done, false, 'held while paused');
    w.resume();
    await q;
    assert.equal(s.get('Service', 'a', 'apps')?.metadata?.annotations?.x, '1');
    assert.deepEqual(
      w.ops.map((o) => `${o.op} ${o.name} ${o.ok}`),
      ['serviceStatus a true', 'serviceAnnotations nope false', 'serviceAnnotations a false', 'serviceAnnotations a true'],
    );
  });

  it('names sources as informers do', () => {
    assert.deepEqual(['Service', 'IPAddressPool', 'Community', 'BGPPeer', 'Namespace'].map(pluralOf), [
      'services',
      'ipaddresspools',
      'communities',
      'bgppeers',
      'namespaces',
    ]);
  });
});
