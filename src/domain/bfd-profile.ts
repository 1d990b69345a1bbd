// BFDProfile (metallb.io/v1beta1) → bfdSession machine settings. MetalLB's ranges and defaults:
// receive/transmit interval 10–60000 ms (default 300), detectMultiplier 2–255 (default 3),
// minimumTtl 1–254 (default 254), echoInterval default 50. Echo mode is not implemented (the
// session advertises Required Min Echo RX 0); it is accepted with a warning. `domain/config.ts`
// already validates CRs through the schema; this function re-checks so a hand-written JSON
// config (bfd-probe) gets the same rules.

/** The BFDProfile fields a session uses (structurally satisfied by config.ts `BfdProfile` and by the CR spec in ms). */
export interface BfdProfileSettings {
  readonly receiveIntervalMs?: number;
  readonly transmitIntervalMs?: number;
  readonly detectMultiplier?: number;
  readonly passiveMode?: boolean;
  readonly minimumTtl?: number;
  readonly echoMode?: boolean;
  readonly echoIntervalMs?: number;
}

/** What the session machine (and transport) take. Intervals in µs as on the wire. */
export interface BfdSessionSettings {
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly detectMult: number;
  readonly passive: boolean;
  /** Multi-hop only in MetalLB; single-hop sessions require TTL 255 regardless (RFC 5881 §5). */
  readonly minimumTtl: number;
}

export const BFD_PROFILE_DEFAULTS = {
  receiveIntervalMs: 300,
  transmitIntervalMs: 300,
  detectMultiplier: 3,
  minimumTtl: 254,
  echoIntervalMs: 50,
} as const;

const RANGES = {
  receiveIntervalMs: [10, 60000],
  transmitIntervalMs: [10, 60000],
  detectMultiplier: [2, 255],
  minimumTtl: [1, 254],
  echoIntervalMs: [10, 60000],
} as const satisfies Record<string, readonly [number, number]>;

export interface BfdProfileIssue {
  readonly field: string;
  readonly message: string;
}

export type BfdSettingsResult =
  { ok: true; value: BfdSessionSettings; warnings: BfdProfileIssue[] } | { ok: false; errors: BfdProfileIssue[] };

export function bfdSessionSettings(p: BfdProfileSettings = {}): BfdSettingsResult {
  const errors: BfdProfileIssue[] = [];
  const warnings: BfdProfileIssue[] = [];
  for (const [field, [min, max]] of Object.entries(RANGES)) {
    const v = p[field as keyof typeof RANGES];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < min || v > max)
      errors.push({ field, message: `must be an integer in ${min}..${max}, got ${String(v)}` });
  }
  if (p.echoMode)
    warnings.push({
      field: 'echoMode',
      message: 'echo mode is not supported by the native BFD; the session runs in asynchronous mode only',
    });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    warnings,
    value: {
      desiredMinTxUs: (p.transmitIntervalMs ?? BFD_PROFILE_DEFAULTS.transmitIntervalMs) * 1000,
      requiredMinRxUs: (p.receiveIntervalMs ?? BFD_PROFILE_DEFAULTS.receiveIntervalMs) * 1000,
      detectMult: p.detectMultiplier ?? BFD_PROFILE_DEFAULTS.detectMultiplier,
      passive: p.passiveMode ?? false,
      minimumTtl: p.minimumTtl ?? BFD_PROFILE_DEFAULTS.minimumTtl,
    },
  };
}
