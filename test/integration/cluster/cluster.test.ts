// The shared real cluster (test/lib/real-cluster.ts, docs/real-cluster.md): ONE cluster started
// here runs every test/integration/cluster/*.suite.ts in file order (each suite works in its own
// Kubernetes namespace and removes it), then this file checks that stop() leaves no process,
// cgroup, namespace, mount or file behind. MOORING_CLUSTER_SUITES=basics,install runs only those.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGES, alive, reapStale, useRealCluster, type ClusterSuite } from '../../lib/real-cluster.js';
import { REPO } from '../../lib/cluster.js';
import { sh } from '../../lib/netns.js';

const only = process.env.MOORING_CLUSTER_SUITES?.split(',').filter(Boolean);
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.suite.ts'))
  .filter((f) => !only || only.includes(f.replace(/\.suite\.ts$/, '')))
  .sort();
const suites = await Promise.all(files.map(async (f) => (await import(join(import.meta.dirname, f))) as { default: ClusterSuite }));

describe('real cluster (one cluster for every *.suite.ts)', { timeout: 30 * 60_000 }, () => {
  const rc = useRealCluster();
  // The host's /run before the cluster: containerd and the kubelet may write only to their private one.
  // Except /run/mount: util-linux's libmount makes it (for its utab) the first time `mount` runs on
  // a freshly booted host — here the image build's mmdebstrap, mounting /proc and /dev in its
  // chroot — and it stays for the life of the boot. A bare cluster start and stop makes none.
  const runEntries = () =>
    readdirSync('/run')
      .filter((e) => e !== 'mount')
      .sort();
  const hostRun = runEntries();

  for (const s of suites) s.default(rc);

  it('stop() leaves no process, cgroup, namespace, mount or file behind', async () => {
    const c = rc();
    // Containers to clean up: a DaemonSet, Running on every node.
    await c.ensureNamespace('rc-stop');
    await c.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'stay', namespace: 'rc-stop' },
        spec: {
          selector: { matchLabels: { app: 'stay' } },
          template: {
            metadata: { labels: { app: 'stay' } },
            spec: { containers: [{ name: 'c', image: IMAGES.busybox, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
          },
        },
      }),
    });
    await c.waitPodsReady('rc-stop', 'app=stay', c.nodes.length);
    const pids = c.nodes
      .flatMap((n) => [n.containerd?.pid, n.kubelet?.pid, n.kubeProxy?.pid])
      .filter((p): p is number => typeof p === 'number');
    // Every process in the node cgroups (containers, pause), recursively, before the stop.
    const containerPids = c.nodes
      .flatMap((n) =>
        sh('find', [`/sys/fs/cgroup/pids/${n.cgroup}`, '-name', 'cgroup.procs'])
          .split('\n')
          .filter(Boolean),
      )
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number));
    assert.ok(containerPids.length >= 2 * c.nodes.length, `processes in the node cgroups: ${containerPids.length}`);
    const id = c.lab.lab.id;
    const dir = c.dir;
    await c.stop();

    const left = [...pids, ...containerPids].filter(alive);
    assert.deepEqual(left, [], `processes still alive: ${left.join(' ')}`);
    const cgroups = readdirSync('/sys/fs/cgroup').flatMap((h) => {
      try {
        return readdirSync(`/sys/fs/cgroup/${h}`)
          .filter((d) => d.startsWith(`kp-${id}`))
          .map((d) => `${h}/${d}`);
      } catch {
        return [];
      }
    });
    assert.deepEqual(cgroups, []);
    assert.deepEqual(
      sh('ip', ['netns', 'list'])
        .split('\n')
        .filter((l) => l.startsWith(id)),
      [],
    );
    assert.equal(existsSync(dir), false, `${dir} still exists`);
    assert.deepEqual(runEntries(), hostRun, "the host's /run changed");
    assert.deepEqual(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(dir) || l.includes(`kp-${id}`)),
      [],
    );
  });

  it('removes, at the next start, a cluster whose test process was SIGKILLed (reapStale)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/kube/cluster.ts'), '--nodes', '1', '--no-frr'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    const lab = await new Promise<string>((ok, fail) => {
      createInterface({ input: child.stdout }).on('line', (l) => {
        const m = /^real cluster ready .*\(lab (\w+)\)/.exec(l);
        if (m?.[1]) ok(m[1]);
      });
      child.once('exit', (code) => fail(new Error(`test/kube/cluster exited (${code}) before ready: ${err}`)));
    });
    child.kill('SIGKILL');
    await exited;
    // Left behind: its namespaces, the node cgroup with containerd and the kubelet in it.
    const labNs = () =>
      sh('ip', ['netns', 'list'])
        .split('\n')
        .filter((l) => l.startsWith(`${lab}-`));
    assert.ok(labNs().length > 0, 'the killed cluster left no namespace: nothing to test');
    assert.ok(existsSync(`/sys/fs/cgroup/pids/kp-${lab}-n1`));
    assert.ok((await reapStale()).includes(lab), `${lab} not reaped`);
    assert.deepEqual(labNs(), []);
    assert.deepEqual(
      readdirSync('/sys/fs/cgroup').filter((h) => existsSync(`/sys/fs/cgroup/${h}/kp-${lab}-n1`)),
      [],
    );
  });
});
