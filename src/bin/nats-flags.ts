// The NATS credential flags every mooringctl command that talks to NATS takes (drain, undrain,
// explain): `--nkey-file`, or `--user` with `--pass-file`, each falling back to its MOORING_NATS_*
// variable. A file that cannot be read is an error value naming it, never a throw.
import { readFileSync } from 'node:fs';

export interface NatsAuthFlags {
  readonly user?: string;
  readonly 'pass-file'?: string;
  readonly 'nkey-file'?: string;
}

export type NatsFlagAuth = { nkeySeed: string } | { user: string; pass: string | undefined } | undefined;

export function natsAuthFromFlags(
  o: NatsAuthFlags,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; auth: NatsFlagAuth } | { ok: false; error: string } {
  const user = o.user ?? env.MOORING_NATS_USER;
  const passFile = o['pass-file'] ?? env.MOORING_NATS_PASS_FILE;
  try {
    if (o['nkey-file']) return { ok: true, auth: { nkeySeed: readFileSync(o['nkey-file'], 'utf8').trim() } };
    if (user) return { ok: true, auth: { user, pass: passFile ? readFileSync(passFile, 'utf8').trim() : undefined } };
    return { ok: true, auth: undefined };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
