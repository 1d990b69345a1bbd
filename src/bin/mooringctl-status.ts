// `mooringctl status`: the cluster at a glance from the apiserver (src/domain/cluster-status.ts
// builds the report; src/adapters/kube/cluster-read.ts reads the objects).
import { clusterStatus, formatClusterStatus } from '../domain/cluster-status.js';
import { DEFAULT_NAMESPACE } from '../api/metallb.js';

export const STATUS_USAGE = `  status [-o text|json] [-n NAMESPACE] [--kubeconfig FILE]
      Controller leader, nodes (ready, speaker configuration, services announced), ConfigurationState per component,
      pools with their usage, and each LoadBalancer Service with its IPs, pool, layer2 owner and
      BGP announcers, read from the apiserver (KUBECONFIG, ~/.kube/config or in-cluster). Lists
      that cannot be read are named on stderr. Exit 0 read, 1 apiserver unreachable, 2 usage.
`;

export async function statusCommand(args: string[]): Promise<number> {
  let output = 'text';
  let namespace = DEFAULT_NAMESPACE;
  let kubeconfig = process.env.KUBECONFIG;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const v = args[i + 1];
    if ((a === '-o' || a === '--output') && (v === 'json' || v === 'text')) output = v;
    else if ((a === '-n' || a === '--namespace') && v) namespace = v;
    else if (a === '--kubeconfig' && v) kubeconfig = v;
    else {
      console.error(
        `mooringctl status: unexpected argument ${JSON.stringify(a)}${v === undefined ? '' : ` ${JSON.stringify(v)}`}\n\nusage:\n${STATUS_USAGE}`,
      );
      return 2;
    }
    i++;
  }
  const { loadKubeConfig } = await import('../adapters/kube/informer.js');
  const { readClusterObjects } = await import('../adapters/kube/cluster-read.js');
  let read: Awaited<ReturnType<typeof readClusterObjects>>;
  try {
    read = await readClusterObjects(loadKubeConfig(kubeconfig), namespace);
  } catch (e) {
    console.error(`mooringctl status: ${(e as Error).message}`);
    return 1;
  }
  for (const p of read.problems) console.error(`mooringctl status: cannot list ${p}`);
  if (read.problems.length === 7) return 1; // nothing could be read
  const report = clusterStatus(read.objects);
  process.stdout.write(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatClusterStatus(report));
  return 0;
}
