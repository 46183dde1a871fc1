/**
 * Vigil's logs: pino on stdout, one JSON object per line, or readable lines (pino-pretty) when stdout is a
 * terminal (VIGIL_LOG_FORMAT). Keys that hold secrets are censored wherever they
 * appear in the first few levels of a logged object, as a backstop: code should not log secrets to begin with.
 */
import type { LogLevel as TemporalLogLevel, Logger as TemporalLogger, LogMetadata } from '@temporalio/common';
import pino from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config';

export type Logger = pino.Logger;

/** Keys whose values never reach a log line. */
export const SECRET_KEYS = [
  'apiKey',
  'api_key',
  'secret',
  'webhookSecret',
  'password',
  'authorization',
  'OPENAI_API_KEY',
  'VIGIL_WEBHOOK_SECRET',
  'connectionString',
  'VIGIL_STORE_POSTGRES_URL',
];

// pino's redaction takes explicit paths; three levels cover `{ apiKey }`, `{ openai: { apiKey } }` and
// `{ req: { headers: { authorization } } }`.
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  level?: LogLevel;
  /** Shown as `name` on every line, e.g. `vigil-worker`. */
  name?: string;
  /** Default: stdout. Tests pass a stream to read the lines back. */
  destination?: pino.DestinationStream;
  /** On stdout: `auto` (the default) is readable lines on a terminal, JSON otherwise. */
  format?: LogFormat;
}

/**
 * @example
 * const logger = createLogger({ level: config.logLevel, name: 'vigil-worker' });
 * logger.info({ taskQueue }, 'worker started');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The Temporal SDK passes errors as `error`; pino serializes only `err` by default, and an Error
      // object otherwise logs as {}.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    options.destination ?? stdout(options.format ?? 'auto'),
  );
}

function stdout(format: LogFormat): pino.DestinationStream {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!pretty) return pino.destination(1);
  // In this thread, not as a transport: a line written before an exit is on the terminal when the process ends.
  return pinoPretty({ destination: 1, sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
}

const TEMPORAL_TO_PINO = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
} as const satisfies Record<TemporalLogLevel, pino.Level>;

/** The Temporal SDK's logger interface over pino, so the worker's own logs share Vigil's format and redaction. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: TemporalLogLevel, message: string, meta?: LogMetadata) =>
    logger[TEMPORAL_TO_PINO[level]]({ ...meta }, message);
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
