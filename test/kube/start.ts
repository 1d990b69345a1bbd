// CLI behind test/kube/start (see that file). Runs until SIGINT/SIGTERM, then stops the apiserver
// by PID; the data directory is kept when given with --data-dir, else removed.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { Netns } from '../lib/netns.js';
import { sh } from '../lib/netns.js';
import { ensureKubeBinary, startKube } from '../lib/kube.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'build-only': { type: 'boolean', default: false },
    netns: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    port: { type: 'string' },
  },
});

/** An existing namespace (created by the caller, e.g. `ip netns add`). */
function existing(name: string): Netns {
  return {
    name,
    exec: (cmd, args, opts) => sh('ip', ['netns', 'exec', name, cmd, ...args], opts),
    spawn: (cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', name, cmd, ...args], opts),
  };
}

if (values['build-only']) {
  process.stdout.write(`${await ensureKubeBinary()}\n`);
} else {
  const kube = await startKube({
    ...(values.netns ? { netns: existing(values.netns) } : {}),
    ...(values.host ? { host: values.host } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values.port ? { port: Number(values.port) } : {}),
    extraArgs: positionals,
  });
  process.stdout.write(
    [
      `kube-apiserver ready: ${kube.url} (pid ${kube.pid ?? '?'})`,
      `  export KUBECONFIG=${kube.kubeconfigPath}`,
      `  data: ${kube.dataDir}  log: ${kube.logPath}`,
      '  Ctrl-C stops it.',
    ].join('\n') + '\n',
  );
  const stop = (): void => {
    void (values['data-dir'] ? kube.stop() : kube.destroy()).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
