// CLI behind test/kube/cluster (see that file). Without --build-only it starts a real cluster,
// prints how to reach it, and stops it (every process by PID, cgroups, namespaces, files) on
// SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ensureClusterBinaries, IMAGES, RealCluster } from '../lib/real-cluster.js';
import { ensureNatsImage } from '../lib/nats-image.js';

const { values } = parseArgs({
  options: {
    'build-only': { type: 'boolean', default: false },
    nodes: { type: 'string' },
    image: { type: 'string', multiple: true },
    'no-frr': { type: 'boolean', default: false },
    measure: { type: 'string' },
  },
});

if (values['build-only']) {
  const b = await ensureClusterBinaries();
  // The install suite's NATS image (deploy/mooring.yaml's nats:2.10-alpine cannot be pulled here).
  const nats = await ensureNatsImage();
  process.stdout.write(`${[...Object.values(b), nats.path].join('\n')}\n`);
} else {
  const rc = await RealCluster.start({
    ...(values.nodes ? { nodes: Number(values.nodes) } : {}),
    frr: !values['no-frr'],
    images: (values.image ?? []).map((s) => {
      const [path = '', baseName] = s.split('=');
      return baseName ? { path, baseName } : { path };
    }),
  });
  if (values.measure) {
    try {
      await measure(rc, Number(values.measure));
    } finally {
      await rc.stop();
    }
    process.exit(0);
  }
  process.stdout.write(
    [
      `real cluster ready in ${(rc.startupMs / 1000).toFixed(1)} s: ${rc.nodes.map((n) => n.name).join(' ')} (lab ${rc.lab.lab.id})`,
      `  kubectl: ip netns exec ${rc.ctl.name} ${rc.bin.kubectl} --kubeconfig ${rc.kubeconfig} get pods -A`,
      `  node namespaces: ${rc.nodes.map((n) => n.netns.name).join(' ')}; state and logs: ${rc.dir}`,
      '  Ctrl-C stops it.',
    ].join('\n') + '\n',
  );
  const stop = (): void => {
    void rc.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * --measure S: a busybox DaemonSet (a Pod per node) Running, then RSS and CPU (utime + stime over
 * S seconds) of every cluster process, summed by role; prints a table and a JSON line.
 */
async function measure(rc: RealCluster, seconds: number): Promise<void> {
  const t0 = Date.now();
  await rc.ensureNamespace('measure');
  await rc.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'idle', namespace: 'measure' },
      spec: {
        selector: { matchLabels: { app: 'idle' } },
        template: {
          metadata: { labels: { app: 'idle' } },
          spec: { containers: [{ name: 'c', image: IMAGES.busybox, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
        },
      },
    }),
  });
  await rc.waitPodsReady('measure', 'app=idle', rc.nodes.length);
  const dsMs = Date.now() - t0;
  const ticks = (pid: number): number => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0;
    }
  };
  const rss = (pid: number): number => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  const before = new Map(rc.processes().map((p) => [p.pid, ticks(p.pid)]));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const byRole = new Map<string, { n: number; rssMiB: number; cpuPct: number }>();
  for (const p of rc.processes()) {
    const role = p.role.replace(/^n\d+\//, 'node/');
    const r = byRole.get(role) ?? { n: 0, rssMiB: 0, cpuPct: 0 };
    r.n++;
    r.rssMiB += rss(p.pid);
    r.cpuPct += before.has(p.pid) ? ((ticks(p.pid) - (before.get(p.pid) ?? 0)) / 100 / seconds) * 100 : 0;
    byRole.set(role, r);
  }
  const rows = [...byRole.entries()].sort();
  for (const [role, r] of rows)
    process.stdout.write(
      `${role.padEnd(26)} ${String(r.n).padStart(3)} procs ${r.rssMiB.toFixed(0).padStart(6)} MiB ${r.cpuPct.toFixed(2).padStart(6)} % of a core\n`,
    );
  const total = rows.reduce((a, [, r]) => ({ rssMiB: a.rssMiB + r.rssMiB, cpuPct: a.cpuPct + r.cpuPct }), { rssMiB: 0, cpuPct: 0 });
  process.stdout.write(
    `${JSON.stringify({ startupS: rc.startupMs / 1000, daemonSetRunningS: dsMs / 1000, seconds, totalRssMiB: Math.round(total.rssMiB), totalCpuPct: Number(total.cpuPct.toFixed(2)), byRole: Object.fromEntries(rows.map(([k, r]) => [k, { n: r.n, rssMiB: Math.round(r.rssMiB), cpuPct: Number(r.cpuPct.toFixed(2)) }])) })}\n`,
  );
}
