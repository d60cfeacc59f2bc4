import type { LoggerService, LogLevel } from '@nestjs/common';
import { activeTraceIds } from './tracing';

const ORDER: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];
const LEVEL_NAME: Record<LogLevel, string> = { verbose: 'trace', debug: 'debug', log: 'info', warn: 'warn', error: 'error', fatal: 'fatal' };

/**
 * A Nest LoggerService writing one JSON object per line: time, level,
 * service, context, message and, inside a span, trace_id and span_id, so a
 * log search can jump to the trace and back. Errors go to stderr.
 */
export class JsonLogger implements LoggerService {
  private levels = new Set<LogLevel>(['log', 'warn', 'error', 'fatal']);

  constructor(
    private readonly service: string,
    private readonly write: (line: string, level: LogLevel) => void = (line, level) =>
      (level === 'error' || level === 'fatal' ? process.stderr : process.stdout).write(line + '\n'),
  ) {}

  log(message: unknown, ...rest: unknown[]): void { this.emit('log', message, rest); }
  error(message: unknown, ...rest: unknown[]): void { this.emit('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]): void { this.emit('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]): void { this.emit('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]): void { this.emit('verbose', message, rest); }
  fatal(message: unknown, ...rest: unknown[]): void { this.emit('fatal', message, rest); }

  setLogLevels(levels: LogLevel[]): void {
    this.levels = new Set(levels);
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.levels.has(level)) return;
    // Nest passes the context last, and for error() a stack before it.
    const args = [...rest];
    const context = typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const stack = level === 'error' && typeof args[0] === 'string' && /\n\s+at /.test(args[0] as string) ? (args.shift() as string) : undefined;
    const record: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: LEVEL_NAME[level],
      service: this.service,
      ...(context ? { context } : {}),
    };
    if (message instanceof Error) {
      record.message = message.message;
      record.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(record, message);
      record.message ??= '';
    } else {
      record.message = String(message);
    }
    if (stack) record.stack = stack;
    if (args.length) record.details = args;
    const ids = activeTraceIds();
    if (ids) {
      record.trace_id = ids.traceId;
      record.span_id = ids.spanId;
    }
    this.write(safeStringify(record), level);
  }
}

/** Fields whose values are credentials, whatever logged them (a provider's error body, a config dump). */
const SECRET_KEY = /pass(word|phrase)?$|secret|token|api[-_]?key|authori[sz]ation|private[-_]?key|credential|cookie/i;
/** Credentials inside free text: Herald API keys, bearer and basic credentials. */
const SECRET_TEXT: [RegExp, string][] = [
  [/\b(hk_[a-z0-9]{12}_)[A-Za-z0-9_-]{43}\b/g, '$1[redacted]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
];

/** Removes credentials from a log text. */
export function redact(text: string): string {
  return SECRET_TEXT.reduce((t, [re, to]) => t.replace(re, to), text);
}

/** JSON.stringify that survives cycles and BigInts and leaves credentials out: a log line must never throw nor leak. */
function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (key, v) => {
    if (key && SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'boolean') return '[redacted]';
    if (typeof v === 'string') return redact(v);
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  });
}

/** Log levels from least to most severe, for configuration checks. */
export const LOG_LEVELS = ORDER;

/** JSON logs when HERALD_LOG_FORMAT=json, or by default in production (NODE_ENV=production). */
export function jsonLogsRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.HERALD_LOG_FORMAT ? env.HERALD_LOG_FORMAT === 'json' : env.NODE_ENV === 'production';
}
