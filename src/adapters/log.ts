// JSON logs, one object per line on stderr, with the same stable keys everywhere
// (component, node, service, ip, pool, peer, machine, from, to, event, reason, err). Values under
// keys that look secret are never written.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Partial<
  Record<
    'component' | 'node' | 'service' | 'ip' | 'pool' | 'peer' | 'machine' | 'from' | 'to' | 'event' | 'reason' | 'err' | 'bug',
    unknown
  >
> &
  Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET = /pass(word)?|secret|token|key$/i;

function clean(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (SECRET.test(k)) {
      out[k] = '[redacted]';
      continue;
    }
    out[k] =
      v instanceof Error
        ? { name: v.name, message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) }
        : typeof v === 'bigint'
          ? v.toString()
          : v;
  }
  return out;
}

export function createLogger(
  base: LogFields = {},
  opts: { level?: LogLevel; write?: (line: string) => void; now?: () => Date } = {},
): Logger {
  const min = ORDER[opts.level ?? (process.env.MOORING_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? ORDER.info;
  const write =
    opts.write ??
    ((l: string) => {
      process.stderr.write(l + '\n');
    });
  const now = opts.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    write(JSON.stringify({ ts: now().toISOString(), level, msg, ...clean({ ...base, ...(fields ?? {}) }) }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger({ ...base, ...f }, opts),
  };
}
