/**
 * The worker's memory in its log, every VIGIL_MEMORY_LOG_SECONDS: what an operator graphs to see whether a
 * worker grows once warm, and what the reliability suite's load part reads. The workflow cache's size is in
 * each line, because cached conversations are most of what a warm worker holds.
 */
import type { Worker } from '@temporalio/worker';
import type { Logger } from '../logger';

export interface MemoryReport {
  rssBytes: number;
  /** The main thread's V8 heap (activities, the SDK's worker); workflow threads' heaps are in the RSS. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  cachedWorkflows: number;
}

export function memoryReport(worker: Worker): MemoryReport {
  const usage = process.memoryUsage();
  return {
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
    cachedWorkflows: worker.getStatus().numCachedWorkflows,
  };
}

/** Logs `worker memory` every `seconds` until the returned function is called; 0 logs nothing. */
export function logMemoryEvery(seconds: number, worker: Worker, logger: Logger): () => void {
  if (seconds <= 0) return () => {};
  const timer = setInterval(() => logger.info({ memory: memoryReport(worker) }, 'worker memory'), seconds * 1000);
  // It never keeps a stopping worker's process alive.
  timer.unref();
  return () => clearInterval(timer);
}
