// The real Kubernetes control plane for integration tests: a kube-apiserver with embedded etcd,
// built from the k8s.io/kubernetes Go module in test/kube/ (docs/test-control-plane.md).
//
//   const kube = await startKube({ netns: lab.netns('api') });   // runs inside the namespace
//   await runTs(ns, 'test/integration/x/client.ts', [], kube.env); // clients run in a namespace too
//   await kube.restart();                                        // same etcd data, same port
//   await kube.stop();
//
// Test traffic never leaves from the root namespace: the Go wrapper polls /readyz itself (from
// inside its namespace) and signals readiness with a file, so this module never connects to it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  openSync,
  closeSync,
  statSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';
import { waitFor } from './netns.js';

const KUBE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'kube');
const GO = process.env.GO ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go');
const CACHE_DIR = process.env.MOORING_CACHE ?? join(homedir(), '.cache', 'mooring');

export interface StartKubeOptions {
  /** Namespace to run the apiserver in (tests: always). Without it, it runs in the caller's namespace. */
  netns?: Netns;
  /** Address of that namespace to bind and advertise (default 127.0.0.1: reachable only from inside it). */
  host?: string;
  /** Data directory (etcd, keys, certs). Default: a fresh temporary directory, removed by `destroy()`. */
  dataDir?: string;
  /** Secure port; default: a free one chosen at first start and reused on restart. */
  port?: number;
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=...']. */
  extraArgs?: string[];
  /** Flags of the test/kube wrapper itself (before `--`), e.g. ['--service-cidrs', '203.0.113.192/26']. */
  wrapperArgs?: string[];
  /** Readiness deadline in ms (default 180 s: a cold 2-core machine is slow). */
  readyTimeoutMs?: number;
}

export interface Kube {
  /** https://host:port */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** kubeconfig for the admin user (static token, system:masters), CA embedded. */
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  readonly caPem: string;
  /** Environment for a client process: { KUBECONFIG }. */
  readonly env: Record<string, string>;
  /** The apiserver log (stdout + stderr of every start, appended). */
  readonly logPath: string;
  readonly pid: number | undefined;
  /** SIGTERM by PID, waits for a graceful exit (SIGKILL after 30 s). Keeps the data directory. */
  stop(): Promise<void>;
  /** stop() then start again on the same data directory, host and port. */
  restart(): Promise<void>;
  /** stop() and remove the data directory if startKube created it. */
  destroy(): Promise<void>;
}

/** Path of the cached binary for the current sources: rebuilt when go.mod, go.sum or main.go change. */
export function kubeBinaryPath(): string {
  return join(CACHE_DIR, `kube-apiserver-${hashFiles(KUBE_DIR, ['go.mod', 'go.sum', 'main.go'])}`);
}

/** Directory of the Go build cache (~/.cache/mooring, or $MOORING_CACHE). */
export const GO_CACHE_DIR = CACHE_DIR;
/** The Go toolchain the builds use ($GO, /usr/local/go/bin/go, or go on PATH). */
export const GO_BIN = GO;
/** Held (flock) by every Go build of the tests, so two builds never fight for the cores. */
export const GO_LOCK = '/tmp/mooring-go.lock';

/** First 16 hex digits of the SHA-256 of `files` (relative to `dir`) and `extra` strings: a cache key. */
export function hashFiles(dir: string, files: string[], extra: string[] = []): string {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(join(dir, f)));
  for (const e of extra) h.update(`\0${e}`);
  return h.digest('hex').slice(0, 16);
}

/**
 * Builds the apiserver binary unless the cache has it. Concurrent callers (several test files,
 * several worktrees) serialise on a lock directory; the binary appears atomically. Progress goes to
 * stderr: one line per 10% of packages compiled, and the total build time.
 */
export function ensureKubeBinary(log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<string> {
  return ensureGoBuild({ label: 'kube-apiserver', moduleDir: KUBE_DIR, pkg: '.', out: kubeBinaryPath() }, log);
}

export interface GoBuild {
  /** Name in progress lines. */
  label: string;
  /** Directory of the Go module to build in. */
  moduleDir: string;
  /** Package to build (e.g. `.` or `k8s.io/kubernetes/cmd/kubelet`). */
  pkg: string;
  /** Cached output path; nothing is built when it exists. */
  out: string;
  ldflags?: string;
  /** Extra environment (e.g. CGO_ENABLED=0). */
  env?: Record<string, string>;
}

/**
 * Builds `b.pkg` into `b.out` unless it exists. Concurrent callers of the same output serialise on
 * a lock directory (the first builds, the others wait); every build also holds `flock GO_LOCK`, so
 * builds of different outputs run one at a time. The output appears atomically (rename).
 */
export async function ensureGoBuild(b: GoBuild, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<string> {
  const bin = b.out;
  if (existsSync(bin)) return bin;
  if (spawnSync(GO, ['version']).status !== 0) {
    throw new Error(`missing test prerequisite: go (${GO}); install Go ≥ 1.26 from https://go.dev/dl (${b.label} is built from source)`);
  }
  mkdirSync(dirname(bin), { recursive: true });
  const lock = `${bin}.lock`;
  // mkdir is atomic: the first caller builds, the others wait for the binary. A lock whose
  // builder process is gone is stale.
  await waitFor(
    `the ${b.label} build lock`,
    () => {
      if (existsSync(bin)) return true;
      try {
        mkdirSync(lock);
        writeFileSync(join(lock, 'pid'), String(process.pid));
        return true;
      } catch {
        if (stale(lock)) rmSync(lock, { recursive: true, force: true });
        return false;
      }
    },
    90 * 60_000,
    1000,
  );
  if (existsSync(bin)) {
    rmSync(lock, { recursive: true, force: true });
    return bin;
  }
  const env = { ...process.env, ...b.env };
  try {
    const t0 = Date.now();
    const total =
      Number(
        spawnSync(GO, ['list', '-deps', b.pkg], { cwd: b.moduleDir, env, encoding: 'utf8', maxBuffer: 64 << 20 })
          .stdout.split('\n')
          .filter(Boolean).length,
      ) || 0;
    log(
      `kube: building ${b.label} in ${relative(process.cwd(), b.moduleDir) || '.'} (${total} packages; a cold build downloads modules and compiles for several minutes)`,
    );
    const tmp = `${bin}.tmp${process.pid}`;
    await new Promise<void>((ok, fail) => {
      const p = spawn('flock', [GO_LOCK, GO, 'build', '-v', ...(b.ldflags ? ['-ldflags', b.ldflags] : []), '-o', tmp, b.pkg], {
        cwd: b.moduleDir,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let built = 0;
      let nextPct = 10;
      let errText = '';
      let buf = '';
      p.stderr.setEncoding('utf8');
      p.stderr.on('data', (chunk: string) => {
        buf += chunk;
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const line of lines) {
          if (/^[\w.-]+(\/[\w.~+-]+)*$/.test(line.trim())) {
            built++;
            const pct = total ? Math.floor((built * 100) / total) : 0;
            if (pct >= nextPct) {
              log(`kube: ${b.label} build ${pct}% (${built}/${total} packages, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
              nextPct = pct - (pct % 10) + 10;
            }
          } else {
            errText += `${line}\n`;
          }
        }
      });
      p.on('error', fail);
      p.on('exit', (code) =>
        code === 0 ? ok() : fail(new Error(`go build ${b.pkg} failed (exit ${code}) in ${b.moduleDir}:\n${errText.slice(-4000)}`)),
      );
    });
    renameSync(tmp, bin);
    log(`kube: built ${bin} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return bin;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

interface Endpoint {
  url: string;
  host: string;
  port: number;
  etcd: string;
  pid: number;
}

/** Builds (if needed) and starts a kube-apiserver; resolves once /readyz answered ok. */
export async function startKube(opts: StartKubeOptions = {}): Promise<Kube> {
  const bin = await ensureKubeBinary();
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'mooring-kube-'));
  mkdirSync(dataDir, { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  const logPath = join(dataDir, 'apiserver.log');
  const timeout = opts.readyTimeoutMs ?? 180_000;
  let proc: ChildProcess | undefined;
  let ep: Endpoint | undefined;

  const launch = async (): Promise<void> => {
    rmSync(join(dataDir, 'ready'), { force: true });
    const args = [
      '--data-dir',
      dataDir,
      '--host',
      host,
      ...((opts.port ?? ep?.port) ? ['--port', String(opts.port ?? ep?.port)] : []),
      ...(opts.wrapperArgs ?? []),
    ];
    if (opts.extraArgs?.length) args.push('--', ...opts.extraArgs);
    const fd = openSync(logPath, 'a');
    try {
      proc = opts.netns ? opts.netns.spawn(bin, args, { stdio: ['ignore', fd, fd] }) : spawn(bin, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const p = proc;
    await waitFor(
      'kube-apiserver /readyz',
      () => {
        if (p.exitCode !== null || p.signalCode !== null) {
          throw new Error(`kube-apiserver exited (${p.exitCode ?? p.signalCode}); last log lines:\n${tail(logPath, 30)}`);
        }
        return existsSync(join(dataDir, 'ready'));
      },
      timeout,
      100,
    ).catch((e: unknown) => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}\n(log: ${logPath})${p.exitCode === null ? `\n${tail(logPath, 30)}` : ''}`,
      );
    });
    ep = JSON.parse(readFileSync(join(dataDir, 'endpoint.json'), 'utf8')) as Endpoint;
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  const endpoint = ep as Endpoint | undefined;
  if (!endpoint) throw new Error('kube-apiserver: no endpoint.json');
  const caPem = readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8');
  const adminToken = (readFileSync(join(dataDir, 'tokens.csv'), 'utf8').split(',')[0] ?? '').trim();
  const kubeconfigPath = join(dataDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig(endpoint.url, caPem, adminToken), { mode: 0o600 });

  return {
    url: endpoint.url,
    host,
    port: endpoint.port,
    dataDir,
    kubeconfigPath,
    adminToken,
    caPem,
    logPath,
    env: { KUBECONFIG: kubeconfigPath },
    get pid() {
      return proc?.pid;
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async destroy() {
      await stop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A kubeconfig (JSON is valid YAML) for `user` with a bearer token against `url`. */
export function kubeconfig(url: string, caPem: string, token: string, user = 'mooring-admin'): string {
  const cfg = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'mooring-test',
    clusters: [{ name: 'mooring-test', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'mooring-test', context: { cluster: 'mooring-test', user } }],
  };
  return `${JSON.stringify(cfg, null, 2)}\n`;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript file with tsx inside a namespace (clients must not run in the root namespace),
 * e.g. a @kubernetes/client-node script against the apiserver. Resolves with its exit code and
 * output; never rejects on a non-zero exit.
 */
export function runTs(
  ns: Netns,
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<RunResult> {
  return new Promise((ok, fail) => {
    const p = ns.spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    p.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', fail);
    p.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

/** A build lock is stale when its builder is gone (or never wrote its pid within a minute). */
function stale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPERM') return false;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        return Date.now() - statSync(lock).mtimeMs > 60_000;
      } catch {
        return false;
      }
    }
    return true;
  }
}

function tail(path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}
