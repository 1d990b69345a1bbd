// MetalLB's own controller (go.universe.tf/metallb/controller), built from the Go module proxy by
// the module in test/metallb/ (its go.mod pins the version) into the cache the test control plane
// uses (~/.cache/mooring), keyed by go.mod and go.sum: the anchor bench:controller measures
// Mooring's controller against. The build holds /tmp/mooring-go.lock (Go builds share 2 cores).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GO_CACHE_DIR, ensureGoBuild, hashFiles } from './kube.js';

const METALLB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'metallb');
const PKG = 'go.universe.tf/metallb/controller';

/** The MetalLB version test/metallb/go.mod requires (e.g. v0.16.2). */
export function metallbVersion(): string {
  const m = /^require go\.universe\.tf\/metallb (v\S+)/m.exec(readFileSync(join(METALLB_DIR, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error('test/metallb/go.mod: no go.universe.tf/metallb requirement');
  return m[1];
}

/** Builds MetalLB's controller unless the cache has it; resolves with the binary's path. */
export function ensureMetallbController(log?: (s: string) => void): Promise<string> {
  const version = metallbVersion();
  return ensureGoBuild(
    {
      label: `MetalLB's controller ${version} (test/metallb)`,
      moduleDir: METALLB_DIR,
      pkg: PKG,
      out: join(GO_CACHE_DIR, `metallb-controller-${version}-${hashFiles(METALLB_DIR, ['go.mod', 'go.sum'])}`),
    },
    log,
  );
}

/**
 * Its flags for the bench (v0.15.2's set: v0.16 adds --health-probe-port and lets --port=0 turn
 * metrics off): the config namespace, the validating webhook and the certificate rotation off
 * (Mooring's bench runs no webhook either), metrics on `metricsPort` (nothing scrapes them), logs
 * at `logLevel`.
 */
export function metallbControllerArgs(o: { namespace: string; metricsPort: number; logLevel: string }): string[] {
  return [
    `--namespace=${o.namespace}`,
    '--webhook-mode=disabled',
    '--disable-cert-rotation',
    `--port=${o.metricsPort}`,
    `--log-level=${o.logLevel}`,
  ];
}
