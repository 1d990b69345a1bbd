// Helm for the chart tests, built from the Go module proxy's helm.sh/helm/v3 (the version pinned in
// test/helm/go.mod) with the same cached Go build as the test apiserver (test/lib/kube.ts
// ensureGoBuild: ~/.cache/mooring, `flock /tmp/mooring-go.lock`).
//
//   const helm = await ensureHelm();
//   const r = await runHelm(['template', 'mooring', CHART, '-n', 'metallb-system']);
//   const r = await runHelm(['install', ...], { netns: ns, env: kube.env });   // against a test apiserver
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ensureGoBuild, GO_CACHE_DIR, hashFiles } from './kube.js';
import type { Netns } from './netns.js';

const HELM_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'helm');
export const CHART_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'helm', 'mooring');

/** The helm.sh/helm/v3 version required by test/helm/go.mod (e.g. v3.21.4). */
export function helmVersion(): string {
  const m = /^\s*helm\.sh\/helm\/v3 (v[\d.]+)/m.exec(readFileSync(join(HELM_DIR, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error('test/helm/go.mod does not require helm.sh/helm/v3');
  return m[1];
}

export function helmBinaryPath(): string {
  return join(GO_CACHE_DIR, `helm-${helmVersion()}-${hashFiles(HELM_DIR, ['go.mod', 'go.sum'])}`);
}

/** Builds helm unless the cache has it (a cold build compiles ~600 packages: minutes on 2 cores). */
export function ensureHelm(log?: (s: string) => void): Promise<string> {
  return ensureGoBuild(
    {
      label: `helm ${helmVersion()}`,
      moduleDir: HELM_DIR,
      pkg: 'helm.sh/helm/v3/cmd/helm',
      out: helmBinaryPath(),
      ldflags: `-X helm.sh/helm/v3/internal/version.version=${helmVersion()}`,
    },
    log,
  );
}

export interface HelmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs helm (built by ensureHelm) with its config, cache and data in a fresh temporary directory
 * (removed afterwards). With `netns` it runs inside that namespace (tests never reach an apiserver
 * from the root namespace). Never rejects on a non-zero exit.
 */
export async function runHelm(
  args: string[],
  opts: { netns?: Netns; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HelmResult> {
  const bin = await ensureHelm();
  const home = mkdtempSync(join(tmpdir(), 'mooring-helm-'));
  try {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_DATA_HOME: join(home, 'data'),
      ...opts.env,
    };
    return await new Promise<HelmResult>((ok, fail) => {
      const p = opts.netns
        ? opts.netns.spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
        : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
      let stdout = '';
      let stderr = '';
      p.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
      p.on('error', fail);
      p.on('close', (code) => {
        clearTimeout(timer);
        ok({ code, stdout, stderr });
      });
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** The objects of a multi-document YAML text (helm template output, deploy/mooring.yaml), read as Kubernetes reads YAML (1.1). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function parseObjects(text: string): Array<Record<string, any>> {
  return (
    parseAllDocuments(text, { version: '1.1' })
      .map((d) => {
        if (d.errors.length > 0) throw new Error(`invalid YAML: ${d.errors[0]?.message}`);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        return d.toJS() as Record<string, any> | null;
      })
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      .filter((o): o is Record<string, any> => o !== null)
  );
}
