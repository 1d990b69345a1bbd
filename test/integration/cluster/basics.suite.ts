// The real test cluster itself (test/lib/real-cluster.ts, docs/real-cluster.md), a suite of the
// shared cluster (cluster.test.ts): real kubelets register their Nodes; kube-controller-manager and
// kube-scheduler create and bind a DaemonSet's and a Deployment's Pods; containerd + runc run them;
// hostNetwork Pods live in the node's namespace, other Pods get a CNI address; kube-proxy serves a
// ClusterIP Service; CoreDNS resolves Service names through the kube-dns ClusterIP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NET } from '../../lib/cluster.js';
import { IMAGES, KUBE_VERSION, REAL, type ClusterSuite, type PodObject } from '../../lib/real-cluster.js';

const NS = 'rc-test';

const manifests = `
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: hostnet, namespace: ${NS} }
spec:
  selector: { matchLabels: { app: hostnet } }
  template:
    metadata: { labels: { app: hostnet } }
    spec:
      hostNetwork: true
      terminationGracePeriodSeconds: 1
      containers:
        - name: c
          image: ${IMAGES.busybox}
          imagePullPolicy: Never
          command: [sleep, '3600']
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${NS} }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: httpd
          image: ${IMAGES.busybox}
          imagePullPolicy: Never
          command: [sh, -c, 'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www']
          ports: [{ containerPort: 8080 }]
          readinessProbe:
            httpGet: { path: /, port: 8080 }
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${NS} }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: ${NS}, labels: { app: client } }
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
    - name: c
      image: ${IMAGES.busybox}
      imagePullPolicy: Never
      command: [sleep, '3600']
`;

/** Is `ip` inside the IPv4 prefix `cidr`? */
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const n = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
}

const suite: ClusterSuite = (rc) =>
  describe('real cluster: kubelets, containerd, CNI, kube-proxy, CoreDNS', { timeout: 120_000 }, () => {
    before(async () => {
      await rc().ensureNamespace(NS);
      await rc().kubectlOk(['apply', '-f', '-'], { input: manifests });
    });

    after(async () => {
      await rc().kubectl(['delete', 'namespace', NS, '--wait=false']);
    });

    it('registers 3 Nodes Ready, each with its own address and the built version', async () => {
      const c = rc();
      const nodes = JSON.parse(await c.kubectlOk(['get', 'nodes', '-o', 'json'])) as {
        items: Array<{
          metadata: { name: string };
          status: {
            addresses: Array<{ type: string; address: string }>;
            nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
          };
        }>;
      };
      assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), ['n1', 'n2', 'n3']);
      for (const n of nodes.items) {
        const want = NET.nodes.find((x) => x.name === n.metadata.name)?.v4;
        assert.ok(
          n.status.addresses.some((a) => a.type === 'InternalIP' && a.address === want),
          `${n.metadata.name}: ${JSON.stringify(n.status.addresses)}`,
        );
        assert.equal(n.status.nodeInfo.kubeletVersion, KUBE_VERSION);
        assert.match(n.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
      }
    });

    it("runs a hostNetwork DaemonSet on every node, in the node's namespace", async () => {
      const c = rc();
      const pods = await c.waitPodsReady(NS, 'app=hostnet', 3);
      assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['n1', 'n2', 'n3']);
      for (const p of pods) {
        const node = NET.nodes.find((x) => x.name === p.spec.nodeName);
        const addrs = await c.kubectlOk(['exec', '-n', NS, p.metadata.name, '--', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
        assert.match(addrs, new RegExp(`inet ${node?.v4.replaceAll('.', '\\.')}/26`), `${p.metadata.name} on ${p.spec.nodeName}: ${addrs}`);
      }
    });

    it("gives other Pods an address from their node's CNI subnet", async () => {
      const c = rc();
      const pods: PodObject[] = [...(await c.waitPodsReady(NS, 'app=web', 2)), ...(await c.waitPodsReady(NS, 'app=client', 1))];
      for (const p of pods) {
        const i = NET.nodes.findIndex((x) => x.name === p.spec.nodeName);
        const ip = p.status?.podIP ?? '';
        assert.ok(inCidr(ip, REAL.podCidrs[i] as string), `${p.metadata.name} on ${p.spec.nodeName} has ${ip}, not in ${REAL.podCidrs[i]}`);
      }
    });

    it('serves a ClusterIP Service through kube-proxy, from a node and from a Pod', async () => {
      const c = rc();
      const web = await c.waitPodsReady(NS, 'app=web', 2);
      const names = web.map((p) => p.metadata.name);
      const svc = JSON.parse(await c.kubectlOk(['get', 'service', '-n', NS, 'web', '-o', 'json'])) as { spec: { clusterIP: string } };
      assert.ok(inCidr(svc.spec.clusterIP, REAL.serviceCidrs[0]), svc.spec.clusterIP);
      // kube-proxy programs the rules shortly after the endpoints appear: wait for an answer.
      const fromNode = await c.lab.waitFor(
        'web answers at its ClusterIP from n3',
        () => c.lab.nodes[2]?.exec('curl', ['-s', '-m', '2', `http://${svc.spec.clusterIP}/`], { allowFail: true }).trim(),
        30_000,
        200,
      );
      assert.ok(names.includes(fromNode), `${fromNode} is not one of ${names.join(', ')}`);
      const fromPod = await c.kubectlOk([
        'exec',
        '-n',
        NS,
        'client',
        '--',
        'sh',
        '-c',
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${svc.spec.clusterIP} 80`,
      ]);
      assert.ok(
        names.some((n) => fromPod.includes(n)),
        `the Pod's answer names no backend: ${fromPod}`,
      );
    });

    it("resolves a Service's name through the cluster DNS (CoreDNS behind kube-dns)", async () => {
      const c = rc();
      const svc = JSON.parse(await c.kubectlOk(['get', 'service', '-n', NS, 'web', '-o', 'json'])) as { spec: { clusterIP: string } };
      const resolv = await c.kubectlOk(['exec', '-n', NS, 'client', '--', 'cat', '/etc/resolv.conf']);
      assert.match(resolv, new RegExp(`nameserver ${REAL.dnsService.replaceAll('.', '\\.')}`));
      assert.match(resolv, new RegExp(`search ${NS}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local`));
      const full = await c.kubectlOk(['exec', '-n', NS, 'client', '--', 'nslookup', `web.${NS}.svc.${REAL.clusterDomain}`]);
      assert.match(full, new RegExp(`Address:\\s*${svc.spec.clusterIP.replaceAll('.', '\\.')}`), full);
      // The short name, through the search path, and used to connect.
      const viaName = await c.kubectlOk([
        'exec',
        '-n',
        NS,
        'client',
        '--',
        'sh',
        '-c',
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 80`,
      ]);
      assert.match(viaName, /^HTTP\/1\.[01] 200/);
    });
  });
export default suite;
