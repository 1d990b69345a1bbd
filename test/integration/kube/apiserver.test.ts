// The test control plane itself (test/kube, test/lib/kube.ts): a real kube-apiserver + etcd runs in
// one namespace, a @kubernetes/client-node client in another (over a bridge, as speakers in node
// namespaces will), and we check what later tests rely on: admin access, ServiceAccount tokens
// through TokenRequest, RBAC, dual-stack cluster IPs, and a restart on the same etcd data.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import { Lab, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { ensureKubeBinary, runTs, startKube, type Kube } from '../../lib/kube.js';

const CLIENT = new URL('./apiserver.client.ts', import.meta.url).pathname;

function inCidr(ip: string, cidr: string): boolean {
  const addr = ipaddr.parse(ip);
  const [net, bits] = ipaddr.parseCIDR(cidr);
  return addr.kind() === net.kind() && addr.match([net, bits]);
}

async function client(ns: Netns, kube: Kube, step: string, k8sNs: string): Promise<Record<string, unknown>> {
  const r = await runTs(ns, CLIENT, [step, k8sNs], kube.env);
  assert.equal(r.code, 0, `client ${step} failed:\n${r.stderr}\n${r.stdout}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Record<string, unknown>;
}

// The timeout covers a cold build of the apiserver (tens of minutes on a busy 2-core machine).
describe('test control plane: real kube-apiserver in a namespace', { timeout: 75 * 60_000 }, () => {
  const lab = new Lab('kb');
  let kube: Kube | undefined;
  let cl: Netns;
  const k8sNs = `kb-${lab.id}`;

  before(async () => {
    requireRoot();
    requireTools('ip');
    await ensureKubeBinary();
    const sw = lab.netns('sw');
    const api = lab.netns('api');
    cl = lab.netns('cl');
    const br = lab.bridge(sw, 'br0');
    lab.link(api, 'eth0', sw, br, ['198.51.100.193/27']);
    lab.link(cl, 'eth0', sw, br, ['198.51.100.194/27']);
    kube = await startKube({ netns: api, host: '198.51.100.193' });
  });

  after(async () => {
    try {
      await kube?.destroy();
    } finally {
      await lab.cleanup();
    }
  });

  let first: Record<string, unknown>;

  it('serves admin, ServiceAccount tokens, RBAC and dual-stack Services to a client in another namespace', async () => {
    assert.ok(kube);
    assert.match(kube.url, /^https:\/\/198\.51\.100\.193:\d+$/);
    first = await client(cl, kube, 'setup', k8sNs);
    assert.equal(typeof first.namespaceUid, 'string');
    // TokenRequest tokens authenticate as their ServiceAccount...
    assert.equal(first.unboundUser, `system:serviceaccount:${k8sNs}:unbound`);
    assert.equal(first.boundUser, `system:serviceaccount:${k8sNs}:bound`);
    // ...RBAC denies what is not bound (403, not 401) and allows what is bound;
    assert.equal(first.unboundList, 403);
    assert.equal(first.unboundReadNamespace, 403);
    assert.equal(first.boundList, 200);
    // an unknown token is not authenticated at all.
    assert.equal(first.badTokenList, 401);

    const svc = first.service as { type: string; clusterIPs: string[]; ipFamilies: string[]; nodePort?: number };
    assert.equal(svc.type, 'LoadBalancer');
    assert.deepEqual(svc.ipFamilies, ['IPv4', 'IPv6']);
    assert.equal(svc.clusterIPs.length, 2);
    const [v4, v6] = svc.clusterIPs as [string, string];
    assert.ok(inCidr(v4, '198.18.0.0/16'), `IPv4 cluster IP ${v4} not in 198.18.0.0/16`);
    assert.ok(inCidr(v6, '2001:db8:ffff::/108'), `IPv6 cluster IP ${v6} not in 2001:db8:ffff::/108`);
    assert.equal(typeof svc.nodePort, 'number');
  });

  let crds: Record<string, unknown>;

  it('installs every deploy/crds CRD and stores a schema-checked IPAddressPool', async () => {
    assert.ok(kube);
    crds = await client(cl, kube, 'crds', k8sNs);
    assert.ok((crds.files as number) >= 1, 'deploy/crds has no CRD files');
    assert.equal((crds.established as string[]).length, crds.files, `not all CRDs Established: ${JSON.stringify(crds.established)}`);
    assert.ok((crds.established as string[]).includes('ipaddresspools.metallb.io'));
    assert.equal(crds.createStatus, 200);
    // The structural schema defaults what was left out (MetalLB: avoidBuggyIPs false).
    assert.deepEqual(crds.spec, { addresses: ['198.51.100.224/28', '2001:db8:1::/120'], autoAssign: false, avoidBuggyIPs: false });
    assert.equal(crds.invalidStatus, 422);
  });

  it('keeps its data across a stop and a start on the same data directory', async () => {
    assert.ok(kube && first && crds);
    const pidBefore = kube.pid;
    await kube.restart();
    assert.notEqual(kube.pid, pidBefore);
    const again = await client(cl, kube, 'check', k8sNs);
    assert.equal(again.namespaceUid, first.namespaceUid);
    assert.equal(again.phase, 'Active');
    assert.deepEqual((again.service as { clusterIPs: string[] }).clusterIPs, (first.service as { clusterIPs: string[] }).clusterIPs);
    assert.deepEqual(again.poolSpec, crds.spec);
  });
});
