// The e2e cluster lab itself (test/lib/cluster.ts, docs/e2e-lab.md): what every e2e test of issue 9
// relies on. The apiserver serves deploy/'s CRDs and RBAC; the ServiceAccount kubeconfigs the lab
// mints carry exactly deploy/rbac's rights (the speaker reads pools but may not write Services);
// the Nodes exist as a kubelet would register them; the 3-server NATS JetStream cluster answers a
// node namespace with that node's credentials; FRR runs in the router; the segment and the routed
// external client reach the nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Cluster, MOORING_NS, NATS_CLUSTER, NET, REPO, parseYaml, type KObject, type KubeClient } from '../../lib/cluster.js';

const CRDS = [
  'bfdprofiles',
  'bgpadvertisements',
  'bgppeers',
  'communities',
  'configurationstates',
  'ipaddresspools',
  'l2advertisements',
  'servicebgpstatuses',
  'servicel2statuses',
].map((p) => `${p}.metallb.io`);

describe('e2e lab: apiserver, deploy/ RBAC, Nodes, NATS cluster, FRR, segment', { timeout: 300_000 }, () => {
  let c: Cluster | undefined;
  let speaker: KubeClient;
  let controller: KubeClient;

  before(async () => {
    c = await Cluster.start();
    speaker = await c.kubeClient(c.nodes[0]!, c.kubeconfigs.speaker, 'speaker');
    controller = await c.kubeClient(c.ctl, c.kubeconfigs.controller, 'controller');
  });

  after(async () => {
    await c?.cleanup();
  });

  it('serves every deploy/crds CRD (Established) and the RBAC objects of deploy/rbac', async () => {
    assert.ok(c);
    const crds = await c.admin.items<KObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
      'apiextensions.k8s.io/v1',
      'CustomResourceDefinition',
    );
    const established = crds
      .filter((x) => x.status?.conditions?.some((k) => k.type === 'Established' && k.status === 'True'))
      .map((x) => x.metadata.name)
      .filter((n) => n.endsWith('.metallb.io'))
      .sort();
    assert.deepEqual(established, CRDS);
    const sas = (await c.admin.items('v1', 'ServiceAccount', { namespace: MOORING_NS })).map((s) => s.metadata.name).sort();
    assert.deepEqual(sas, ['controller', 'speaker']);
    for (const cr of ['mooring:controller', 'mooring:speaker']) {
      assert.ok(
        await c.admin.read({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: cr }),
        `ClusterRole ${cr} missing`,
      );
    }
  });

  it('registers the three Nodes with labels, InternalIPs and Ready', async () => {
    assert.ok(c);
    type Node = KObject & {
      metadata: { labels?: Record<string, string> };
      status?: { addresses?: Array<{ type: string; address: string }>; conditions?: Array<{ type: string; status: string }> };
    };
    const nodes = await c.admin.items<Node>('v1', 'Node');
    assert.deepEqual(
      nodes.map((n) => n.metadata.name).sort(),
      NET.nodes.map((n) => n.name),
    );
    for (const want of NET.nodes) {
      const n = nodes.find((x) => x.metadata.name === want.name);
      assert.equal(n?.metadata.labels?.['kubernetes.io/hostname'], want.name);
      assert.deepEqual(
        n?.status?.addresses?.filter((a) => a.type === 'InternalIP').map((a) => a.address),
        [want.v4, want.v6],
      );
      assert.equal(n?.status?.conditions?.find((k) => k.type === 'Ready')?.status, 'True');
      assert.equal(n?.status?.conditions?.find((k) => k.type === 'NetworkUnavailable')?.status, 'False');
    }
  });

  it("gives the speaker's and controller's ServiceAccounts exactly deploy/rbac's rights", async () => {
    assert.ok(c);
    const who = async (k: KubeClient) =>
      (
        await k.req<{ status?: { userInfo?: { username?: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'SelfSubjectReview',
        })
      ).body.status?.userInfo?.username;
    assert.equal(await who(speaker), `system:serviceaccount:${MOORING_NS}:speaker`);
    assert.equal(await who(controller), `system:serviceaccount:${MOORING_NS}:controller`);

    const pool: KObject = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'lab-pool', namespace: MOORING_NS },
      spec: { addresses: [NET.pools.l2v4] },
    };
    await c.admin.apply([pool]);
    await c.createLbService('lab', 'rbac-probe');
    const svcRef = { apiVersion: 'v1', kind: 'Service', name: 'rbac-probe', namespace: 'lab' };

    // Allowed to the speaker: reading pools (the list holds the admin's pool), Services, Nodes;
    // writing its status kinds. The RBAC authorizer learns fresh bindings from an informer, so the
    // first allowed call is polled for; denials are asserted after that, when they mean something.
    const pools = await c.waitFor('speaker can list ipaddresspools', async () => {
      const a = await speaker.list('metallb.io/v1beta1', 'IPAddressPool', { namespace: MOORING_NS });
      return a.code === 200 ? a.body.items : undefined;
    });
    assert.deepEqual(
      pools.map((p) => p.metadata.name),
      ['lab-pool'],
    );
    const svc = await speaker.get(svcRef);
    assert.equal(svc.code, 200);
    assert.equal((await speaker.list('v1', 'Node')).code, 200);
    assert.equal((await speaker.list('discovery.k8s.io/v1', 'EndpointSlice')).code, 200);
    const l2 = await speaker.create({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'ServiceL2Status',
      metadata: {
        name: 'l2-rbac-probe',
        namespace: MOORING_NS,
        labels: { 'metallb.io/node': 'n1', 'metallb.io/service-name': 'rbac-probe', 'metallb.io/service-namespace': 'lab' },
      },
    });
    assert.equal(l2.code, 201, JSON.stringify(l2.body));

    // Denied to the speaker: any write to Services, pools, and Secrets outside metallb-system.
    const put = await speaker.put(svc.body);
    assert.equal(put.code, 403, `speaker updated a Service: ${JSON.stringify(put.body)}`);
    assert.equal(
      (await speaker.patch(svcRef, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.49' }] } } }, { subresource: 'status' })).code,
      403,
    );
    assert.equal((await speaker.delete(svcRef)).code, 403);
    assert.equal(
      (
        await speaker.patch(
          { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', name: 'lab-pool', namespace: MOORING_NS },
          { spec: { autoAssign: false } },
        )
      ).code,
      403,
    );
    assert.equal((await speaker.list('v1', 'Secret', { namespace: 'lab' })).code, 403);

    // The controller writes Service status (what it exists for) but not the speaker's kinds.
    const st = await controller.patch(
      svcRef,
      { status: { loadBalancer: { ingress: [{ ip: '203.0.113.49' }] } } },
      { subresource: 'status' },
    );
    assert.equal(st.code, 200, JSON.stringify(st.body));
    assert.deepEqual(await c.lbIngress('lab', 'rbac-probe'), ['203.0.113.49']);
    assert.equal(
      (await controller.delete({ apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', name: 'l2-rbac-probe', namespace: MOORING_NS }))
        .code,
      403,
    );
    assert.equal((await c.l2Statuses('lab', 'rbac-probe')).length, 1);
    await c.deleteService('lab', 'rbac-probe');
  });

  it('runs a 3-server NATS JetStream cluster that a node namespace reaches with its own credentials', async () => {
    assert.ok(c);
    const r = await c.run(c.nodes[1]!, 'test/lib/nats-probe.ts', [], c.nodeEnv(1));
    assert.equal(r.code, 0, `nats probe failed:\n${r.stderr}\n${r.stdout}`);
    const o = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    // nodeEnv(1) lists server 2 first (each node prefers its own server).
    assert.deepEqual(o.serverNames, ['s2', 's3', 's1']);
    assert.deepEqual(o.clusterNames, [NATS_CLUSTER, NATS_CLUSTER, NATS_CLUSTER]);
    assert.deepEqual(o.jetstream, [true, true, true]);
    assert.equal(o.routed, true, 'a message published via s1 did not reach a subscriber on s2');
    assert.equal(o.kvReplicas, 3, `KV: ${String(o.kvError)}`);
    assert.equal(o.kvRead, 'x');
  });

  it('runs FRR in the router with the three nodes as BGP neighbours on both families', async () => {
    assert.ok(c);
    type Summary = Record<string, { as?: number; peers?: Record<string, { remoteAs?: number }> }>;
    const s = await c.waitFor('FRR bgpd answering', () => c?.vtyshJson<Summary>('show bgp summary json'));
    assert.equal(s.ipv4Unicast?.as, NET.router.asn);
    assert.deepEqual(
      Object.keys(s.ipv4Unicast?.peers ?? {}).sort(),
      NET.nodes.map((n) => n.v4),
    );
    assert.deepEqual(
      Object.keys(s.ipv6Unicast?.peers ?? {}).sort(),
      NET.nodes.map((n) => n.v6),
    );
    assert.ok(Object.values(s.ipv4Unicast?.peers ?? {}).every((p) => p.remoteAs === NET.nodeAsn));
  });

  it('wires the segment and the routed external client to the nodes', async () => {
    assert.ok(c);
    const cl = c;
    const n1 = NET.nodes[0]!;
    const n2 = NET.nodes[1]!;
    assert.equal(await cl.waitFor('ARP reply from n1', () => cl.arping(n1.v4)), n1.mac);
    assert.equal(await cl.waitFor('NA from n2', () => cl.ndisc6(n2.v6)), n2.mac);
    assert.equal(cl.arping('203.0.113.50', 1), undefined, 'an unannounced segment address answered ARP');
    // External client → router → node (and back through the node's default route).
    for (const dst of [NET.nodes[2]!.v4, NET.nodes[2]!.v6]) {
      const ok = await cl.waitFor(
        `ext pings ${dst}`,
        () => /\b1 received/.test(cl.ext.exec('ping', ['-c', '1', '-W', '2', dst], { allowFail: true })),
        20_000,
      );
      assert.ok(ok);
    }
  });

  it('stands in for kube-proxy (strictARP): nodes serve pool IPs, yet no kernel answers ARP/NDP for them', async () => {
    assert.ok(c);
    const cl = c;
    const [n1, n2, n3] = NET.nodes as unknown as [(typeof NET.nodes)[0], (typeof NET.nodes)[1], (typeof NET.nodes)[2]];
    cl.serveOnNodes();
    assert.equal(await cl.waitFor('backend on n1', () => cl.reach(cl.client, n1.v4)), 'n1');
    // Without a speaker, a pool address is served by every node but announced by none.
    assert.equal(cl.arping('203.0.113.49', 1), undefined, 'a node kernel answered ARP for a pool IP');
    assert.equal(cl.ndisc6('2001:db8:20::101', 1), undefined, 'a node kernel answered NDP for a pool IP');
    // Steered by hand to one node, the segment client reaches it there, on both families...
    for (const [vip, via] of [
      ['203.0.113.49', n2.v4],
      ['2001:db8:20::101', n2.v6],
    ] as const) {
      const v6 = vip.includes(':');
      cl.client.exec('ip', [...(v6 ? ['-6'] : []), 'route', 'add', vip, 'via', via]);
      assert.equal(await cl.waitFor(`client reaches ${vip} on n2`, () => cl.reach(cl.client, vip)), 'n2');
      cl.client.exec('ip', [...(v6 ? ['-6'] : []), 'route', 'del', vip, 'via', via]);
    }
    // ...and so does the external client through the router (the way BGP routes will steer it).
    for (const [vip, via] of [
      ['203.0.113.130', n3.v4],
      ['2001:db8:21::5', n3.v6],
    ] as const) {
      const v6 = vip.includes(':');
      cl.router.exec('ip', [...(v6 ? ['-6'] : []), 'route', 'add', vip, 'via', via]);
      assert.equal(await cl.waitFor(`ext reaches ${vip} on n3`, () => cl.reach(cl.ext, vip)), 'n3');
      cl.router.exec('ip', [...(v6 ? ['-6'] : []), 'route', 'del', vip, 'via', via]);
      assert.equal(cl.reach(cl.ext, vip, 80, 1), undefined, `${vip} still reachable without a route`);
    }
    // A held connection echoes (what the SIGTERM hand-over test will watch).
    const conn = cl.connect(cl.client, n1.v4);
    try {
      await conn.roundTrip('ping-1');
      await conn.roundTrip('ping-2');
      assert.equal(conn.lines[0], 'n1');
    } finally {
      conn.close();
    }
  });

  // Last: the webhook configuration it installs would intercept later metallb.io writes here.
  it('accepts the whole of deploy/ in kustomization order (strict field validation): controller ×2, speaker DaemonSet, NATS ×3, webhook', async () => {
    assert.ok(c);
    const cl = c;
    const deploy = join(REPO, 'deploy');
    const files = (parse(readFileSync(join(deploy, 'kustomization.yaml'), 'utf8')) as { resources: string[] }).resources;
    const objects = files.flatMap((f) => parseYaml(readFileSync(join(deploy, f), 'utf8')));
    const applied = await cl.admin.apply(objects);
    assert.equal(applied.length, objects.length);
    const kinds = new Set(objects.map((o) => o.kind));
    for (const k of ['Deployment', 'DaemonSet', 'StatefulSet', 'ValidatingWebhookConfiguration'])
      assert.ok(kinds.has(k), `deploy/ has no ${k}`);
    type Pod = {
      hostNetwork?: boolean;
      serviceAccountName?: string;
      containers: Array<{
        env?: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }>;
        securityContext?: { capabilities?: { add?: string[] } };
      }>;
    };
    type Workload = KObject & { spec: { replicas?: number; template: { spec: Pod } } };
    const get = async (o: KObject) =>
      await cl.admin.read<Workload>({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });
    const ds = await get(objects.find((o) => o.kind === 'DaemonSet')!);
    const pod = ds?.spec.template.spec;
    assert.equal(pod?.hostNetwork, true);
    assert.equal(pod?.serviceAccountName, 'speaker');
    assert.deepEqual([...(pod?.containers[0]?.securityContext?.capabilities?.add ?? [])].sort(), ['NET_ADMIN', 'NET_RAW']);
    assert.equal(pod?.containers[0]?.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
    const ctl = await get(objects.find((o) => o.kind === 'Deployment')!);
    assert.equal(ctl?.spec.replicas, 2);
    assert.equal(ctl?.spec.template.spec.serviceAccountName, 'controller');
    const nats = await get(objects.find((o) => o.kind === 'StatefulSet')!);
    assert.equal(nats?.spec.replicas, 3);
  });
});
