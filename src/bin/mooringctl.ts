// mooringctl: the operator's CLI. `validate` checks manifests offline with the same pure config
// function the controller, speakers and admission webhook use. `drain`/`undrain` hand a node's L2
// IPs over (planned handover) through NATS (src/bin/mooringctl-drain.ts). `migrate` converts
// MetalLB's legacy ConfigMap (src/bin/mooringctl-migrate.ts); `status` reads the cluster
// (src/bin/mooringctl-status.ts); `explain svc` says why a Service's IP is (not) reachable
// (src/bin/mooringctl-explain.ts); `routes` what a node's speaker sends its BGP peers (mooringctl-routes.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, formatConfigError, originKey, shortenValues, shortText } from '../domain/config.js';
import { loadManifests } from '../domain/manifests.js';
import { MIGRATE_USAGE, migrateCommand } from './mooringctl-migrate.js';
import { STATUS_USAGE, statusCommand } from './mooringctl-status.js';
import { EXPLAIN_USAGE, explainCommand } from './mooringctl-explain.js';
import { ROUTES_USAGE, routesCommand } from './mooringctl-routes.js';

const DRAIN_USAGE = `  drain <node> --servers URL[,URL…] [--cluster NAME (default mooring, as the speaker)]
        [--user U --pass-file F | --nkey-file F]
        [--tls-ca F] [--timeout SECONDS] [--no-wait]
      Planned handover: the node's L2 IPs move to the next node in election order, new owner
      first, then the node stops answering (make-before-break). Needs an admin NATS user (publish
      on mooring.v1.<cluster>.drain.*). Waits until the node acknowledges (its heartbeat says
      draining) and, unless --no-wait, until it announces nothing. Env: MOORING_NATS_URL,
      MOORING_NATS_USER, MOORING_NATS_PASS_FILE, MOORING_CLUSTER.
  undrain <node> [same options]
      The node is eligible again; where it wins the election it takes its IPs back.
`;

const USAGE = `usage: mooringctl <command>

commands:
  validate [-n NAMESPACE] [--bgp-backend native|frr] -f FILE|DIR [-f FILE|DIR ...]
      Validate metallb.io manifests (multi-document YAML; directories are read recursively for
      *.yaml/*.yml). Secrets, Nodes and Namespaces in the files are used to resolve references.
      Warns on BGPPeer fields the speakers' BGP backend (default native) cannot honour.
      Prints one line per problem (file#document: Kind/name: field: message; documents count
      from 1, long values are shortened). Exit 0 valid, 1 problems, 2 usage, 3 internal bug.
${MIGRATE_USAGE}${STATUS_USAGE}${EXPLAIN_USAGE}${ROUTES_USAGE}${DRAIN_USAGE}`;

function collect(path: string): string[] {
  const st = statSync(path);
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((e) => {
      const p = join(path, e);
      return statSync(p).isDirectory() ? collect(p) : /\.ya?ml$/.test(e) ? [p] : [];
    });
}

function validate(args: string[]): number {
  const paths: string[] = [];
  let namespace: string | undefined;
  let bgpBackend: 'native' | 'frr' = 'native';
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--bgp-backend') {
      const v = args[++i];
      if (v !== 'native' && v !== 'frr') {
        console.error('mooringctl validate: --bgp-backend is native or frr');
        return 2;
      }
      bgpBackend = v;
    } else if (a === '-f' || a === '--filename') {
      const v = args[++i];
      if (!v) {
        console.error('mooringctl validate: -f needs a file or directory');
        return 2;
      }
      paths.push(v);
    } else if (a === '-n' || a === '--namespace') {
      namespace = args[++i];
      if (!namespace) {
        console.error('mooringctl validate: -n needs a namespace');
        return 2;
      }
    } else if (a.startsWith('-')) {
      console.error(`mooringctl validate: unknown flag ${a}\n\n${USAGE}`);
      return 2;
    } else paths.push(a);
  }
  if (paths.length === 0) {
    console.error(`mooringctl validate: no files given\n\n${USAGE}`);
    return 2;
  }
  const files: Array<{ file: string; text: string }> = [];
  for (const p of paths) {
    let list: string[];
    try {
      list = collect(p);
    } catch {
      console.error(`${p}: no such file or directory`);
      return 1;
    }
    for (const f of list) {
      try {
        files.push({ file: f, text: readFileSync(f, 'utf8') });
      } catch (e) {
        console.error(`${f}: cannot read: ${(e as Error).message}`);
        return 1;
      }
    }
  }
  const loaded = loadManifests(files, namespace);
  let problems = 0;
  // Lines sorted by file and document, so output follows the files.
  const lines: Array<{ file: string; doc: number; text: string }> = [];
  for (const p of loaded.problems) {
    lines.push({ file: p.file, doc: p.doc, text: p.message });
    problems++;
  }
  const result = parseConfig({ ...loaded.snapshot, bgpBackend });
  const at = (kind: string, name: string) => loaded.origin.get(originKey(kind, name)) ?? { file: '(unknown file)', doc: 0 };
  for (const w of result.warnings)
    lines.push({
      ...at(w.kind, w.name),
      text: shortenValues(`warning: ${shortText(w.kind)}/${shortText(w.name)}: ${w.field}: ${w.message}`),
    });
  if (!result.ok) {
    for (const e of result.errors) {
      lines.push({ ...at(e.kind, e.name), text: formatConfigError(e) });
      problems++;
    }
  }
  lines.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.doc - b.doc));
  for (const l of lines) console.log(`${l.file}#${l.doc}: ${shortenValues(l.text)}`);
  const n = loaded.snapshot.objects.length;
  if (problems > 0) {
    console.error(
      `mooringctl validate: ${problems} problem${problems === 1 ? '' : 's'} in ${files.length} file${files.length === 1 ? '' : 's'}`,
    );
    return 1;
  }
  console.log(`mooringctl validate: ${n} object${n === 1 ? '' : 's'} in ${files.length} file${files.length === 1 ? '' : 's'}: valid`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'validate':
      return validate(rest);
    case 'migrate':
      return migrateCommand(rest);
    case 'status':
      return statusCommand(rest);
    case 'explain':
      return explainCommand(rest);
    case 'routes':
      return routesCommand(rest);
    case 'drain':
    case 'undrain': {
      const { drainCommand } = await import('./mooringctl-drain.js');
      return drainCommand(rest, cmd === 'drain');
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      console.error(`mooringctl: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`mooringctl: internal error (bug): ${(e as Error).message}`);
  process.exitCode = 3;
}
