/**
 * Everything the worker logs in this test process, as text: the Temporal runtime's logs (activities, workflows,
 * the core) at every level, installed before the harness's quiet runtime, and the MCP connections' own lines. A
 * test searches it for secrets. Import this first.
 */
import { inspect } from 'node:util';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Logger } from '../../src/logger';

export const workerLog: string[] = [];

Runtime.install({
  logger: new DefaultLogger('TRACE', (entry) =>
    workerLog.push(`${entry.level} ${entry.message} ${inspect(entry.meta)}`),
  ),
  telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'INFO' }) } },
});

/** A logger for the MCP connections that writes to `workerLog`. */
export const mcpLogger = {
  info: (obj: object, message?: string) => workerLog.push(`info ${message ?? ''} ${inspect(obj)}`),
  warn: (obj: object, message?: string) => workerLog.push(`warn ${message ?? ''} ${inspect(obj)}`),
} as unknown as Pick<Logger, 'info' | 'warn'>;
