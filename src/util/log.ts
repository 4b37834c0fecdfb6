/**
 * Structured JSON logging, one object per line (pino behind this one module).
 *
 * Nothing that can carry a secret is ever passed to the logger: request logs record method,
 * path, GUN, role, status, duration and request id, never headers or bodies. The redaction list
 * below is a second line of defence for fields that must never appear.
 */
import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** notary-server's `-logf`: one JSON object per line, or logfmt (`key=value …`). */
export type LogFormat = 'json' | 'logfmt';

export interface Logger {
  debug(fields: Record<string, unknown>, msg?: string): void;
  info(fields: Record<string, unknown>, msg?: string): void;
  warn(fields: Record<string, unknown>, msg?: string): void;
  error(fields: Record<string, unknown>, msg?: string): void;
  child(fields: Record<string, unknown>): Logger;
  /** Whether lines of this level are written (so hot paths can skip building them). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

// Top-level paths only: pino's wildcard redaction costs several microseconds per line, and the
// request path never passes nested objects.
const REDACT = [
  'password',
  'passphrase',
  'token',
  'authorization',
  'privateKey',
  'private',
  'secret',
];

export function createLogger(
  options: { level?: LogLevel; destination?: NodeJS.WritableStream; format?: LogFormat } = {}
): Logger {
  const out = options.destination ?? pino.destination({ dest: 1, sync: false });
  const p: PinoLogger = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'countersign' },

      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.format === 'logfmt' ? logfmtStream(out) : out
  );
  return wrap(p);
}

/** Rewrites pino's JSON lines as logfmt for `-logf logfmt` (each write is whole lines). */
function logfmtStream(out: { write(text: string): unknown }): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      out.write(lines.map((l) => toLogfmt(JSON.parse(l) as Record<string, unknown>)).join(''));
      done();
    },
  });
}

export function toLogfmt(entry: Record<string, unknown>): string {
  const fields = Object.entries(entry).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return `${k}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  });
  return fields.join(' ') + '\n';
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (f, m) => p.debug(f, m),
    info: (f, m) => p.info(f, m),
    warn: (f, m) => p.warn(f, m),
    error: (f, m) => p.error(f, m),
    child: (f) => wrap(p.child(f)),
    enabled: (level) => p.isLevelEnabled(level),
  };
}

/** A logger that drops everything; the default in unit tests. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
  enabled: () => false,
};
