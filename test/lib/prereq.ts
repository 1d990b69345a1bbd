// Test prerequisites: a real component that is missing fails the test with one clear line that
// says what to install, never a stack trace from deep inside a spawn.
import { spawnSync } from 'node:child_process';

/** Debian package that provides each tool the integration tests use. */
export const TOOL_PACKAGES = {
  ip: 'iproute2',
  'nats-server': 'nats-server',
  arping: 'iputils-arping',
  ndisc6: 'ndisc6',
  ping: 'iputils-ping',
  tcpdump: 'tcpdump',
  gobgpd: 'gobgpd',
  gobgp: 'gobgpd',
  bird: 'bird2',
  birdc: 'bird2',
  vtysh: 'frr',
  nft: 'nftables',
  openssl: 'openssl',
  socat: 'socat',
  go: 'golang (https://go.dev/dl)',
  mmdebstrap: 'mmdebstrap',
  umoci: 'umoci',
  containerd: 'containerd',
  ctr: 'containerd',
  runc: 'runc',
} as const;
export type Tool = keyof typeof TOOL_PACKAGES;

const FRR_DAEMONS = '/usr/lib/frr';

export function which(tool: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/** Throws one readable error listing every missing tool and the package that brings it. */
export function requireTools(...tools: Tool[]): void {
  const missing = tools.filter((t) => !which(t));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => TOOL_PACKAGES[t]))];
    throw new Error(
      `missing test prerequisites: ${missing.join(', ')}; install with: apt-get install -y ${pkgs.join(' ')} (or run npm test as root: scripts/install-deps.sh)`,
    );
  }
}

/** FRR daemons live outside PATH. */
export function frrDaemon(name: 'bgpd' | 'bfdd' | 'zebra' | 'staticd' | 'mgmtd'): string {
  const p = `${FRR_DAEMONS}/${name}`;
  const r = spawnSync('test', ['-x', p]);
  if (r.status !== 0) throw new Error(`missing test prerequisite: ${p}; install with: apt-get install -y frr`);
  return p;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('integration tests need root (network namespaces, raw sockets): run npm test as root');
  }
}
