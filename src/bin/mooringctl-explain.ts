// `mooringctl explain svc NAMESPACE/NAME`: why a Service's IP is (not) reachable. Reads the
// apiserver (src/adapters/kube/explain-read.ts) and asks the live speakers for their snapshots over
// NATS with the visualizer's read-only credentials (src/adapters/nats-snapshots.ts); the report is
// built by src/domain/explain.ts.
import { parseArgs } from 'node:util';
import { DEFAULT_NAMESPACE } from '../api/metallb.js';
import { explainService, formatExplain, type ExplainInput } from '../domain/explain.js';
import { natsAuthFromFlags } from './nats-flags.js';

export const EXPLAIN_USAGE = `  explain svc NAMESPACE/NAME [-o text|json] [-n NAMESPACE] [--kubeconfig FILE]
        [--servers URL[,URL…] --user U --pass-file F | --nkey-file F] [--tls-ca F] [--cluster NAME]
        [--lb-class CLASS] [--timeout SECONDS]
      Why the Service's IP is (not) reachable: its allocation (pool and why, or why none), per node
      L2 eligibility or the reason not, the election order, the owner, each node's serviceIp
      machine and its reason, BGP peers with session state, BFD state and the prefixes planned for
      them with their attributes, and the Service's recent Events. The apiserver part is always
      shown; the speakers' part needs NATS (the viewer user of \`mooring viz\` is enough: env
      MOORING_NATS_URL, MOORING_NATS_USER, MOORING_NATS_PASS_FILE). Exit 0 shown, 1 apiserver
      unreachable, 2 usage.
`;

export async function explainCommand(argv: string[]): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o', default: 'text' },
        namespace: { type: 'string', short: 'n', default: DEFAULT_NAMESPACE },
        kubeconfig: { type: 'string' },
        servers: { type: 'string' },
        cluster: { type: 'string', default: process.env.MOORING_CLUSTER ?? 'mooring' },
        user: { type: 'string' },
        'pass-file': { type: 'string' },
        'nkey-file': { type: 'string' },
        'tls-ca': { type: 'string' },
        'lb-class': { type: 'string' },
        timeout: { type: 'string', default: '3' },
      },
    });
  } catch (e) {
    console.error(`mooringctl explain: ${(e as Error).message}\n\nusage:\n${EXPLAIN_USAGE}`);
    return 2;
  }
  const { values: o, positionals } = a;
  const [what, target] = positionals;
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(target ?? '');
  if ((what !== 'svc' && what !== 'service') || !m || positionals.length !== 2 || (o.output !== 'text' && o.output !== 'json')) {
    console.error(`mooringctl explain: expected \`explain svc NAMESPACE/NAME [-o text|json]\`\n\nusage:\n${EXPLAIN_USAGE}`);
    return 2;
  }
  const timeoutMs = Number(o.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    console.error('mooringctl explain: --timeout must be a positive number of seconds');
    return 2;
  }
  const service = { namespace: m[1] as string, name: m[2] as string };
  const { loadKubeConfig } = await import('../adapters/kube/informer.js');
  const { readExplainObjects } = await import('../adapters/kube/explain-read.js');
  let read: Awaited<ReturnType<typeof readExplainObjects>>;
  try {
    read = await readExplainObjects(loadKubeConfig(o.kubeconfig ?? process.env.KUBECONFIG), o.namespace, service);
  } catch (e) {
    console.error(`mooringctl explain: ${(e as Error).message}`);
    return 1;
  }
  for (const p of read.problems) console.error(`mooringctl explain: cannot list ${p}`);
  if (read.problems.some((p) => p.startsWith('services:'))) return 1;
  const live = await askSpeakers(
    o,
    read.objects.nodes.map((n) => n.metadata?.name ?? '').filter((n) => n !== ''),
    timeoutMs,
  );
  const report = explainService({
    service: `${service.namespace}/${service.name}`,
    ...read.objects,
    namespace: o.namespace,
    live,
    ...(o['lb-class'] ? { loadBalancerClass: o['lb-class'] } : {}),
  });
  process.stdout.write(o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatExplain(report));
  return 0;
}

async function askSpeakers(
  o: { servers?: string; cluster: string; user?: string; 'pass-file'?: string; 'nkey-file'?: string; 'tls-ca'?: string },
  nodes: string[],
  timeoutMs: number,
): Promise<ExplainInput['live']> {
  const servers = o.servers ?? process.env.MOORING_NATS_URL;
  if (!servers) return { error: 'no NATS servers given (--servers or MOORING_NATS_URL)' };
  const creds = natsAuthFromFlags(o);
  if (!creds.ok) return { error: `cannot read NATS credentials: ${creds.error}` };
  const auth = creds.auth;
  const { NatsBus } = await import('../adapters/nats.js');
  const { askSnapshots } = await import('../adapters/nats-snapshots.js');
  let bus;
  try {
    bus = await NatsBus.connect({
      servers: servers.split(','),
      name: 'mooringctl-explain',
      mirror: false,
      ...(auth ? { auth } : {}),
      ...(o['tls-ca'] ? { tls: { caFile: o['tls-ca'] } } : {}),
    });
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] ?? 'NATS unreachable' };
  }
  try {
    return { snapshots: await askSnapshots(bus, o.cluster, nodes, timeoutMs) };
  } catch (e) {
    return { error: `snapshot request failed: ${(e as Error).message}` };
  } finally {
    await bus.close().catch(() => undefined);
  }
}
