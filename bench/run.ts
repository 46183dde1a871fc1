/**
 * Benchmark of the Temporal backend the tests run against (the in-process test server, or a real server when
 * TEMPORAL_TEST_ADDRESS is set), driven by the real @temporalio/worker and @temporalio/client.
 *
 * Measures, in one run, with baselines from the same run beside them:
 *   - start -> one activity -> result round trip, sequential (p50/p90/p99), against a bare gRPC call;
 *   - workflows per second for start -> one activity -> complete at several concurrencies, against the rate of
 *     starts alone (on a task queue no worker polls);
 *   - signal -> activity -> query round trip on one long-running workflow (p50/p99), against a bare query.
 * Figures are printed, never asserted.
 *
 * Knobs (environment): BENCH_N (sequential round trips, 200), BENCH_WARMUP (20), BENCH_THROUGHPUT_N (500),
 * BENCH_CONCURRENCY (comma list, "50,200"), BENCH_SIGNAL_N (200), BENCH_BASELINE_N (300),
 * BENCH_WFT_SLOTS (20), BENCH_ACTIVITY_SLOTS (50), BENCH_CACHE (max cached workflows, SDK default when unset),
 * BENCH_GRPC_COMPRESSION ("none" gives the worker its own connection without Core's default gzip requests).
 */
import { WorkflowClient } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createTemporalTestEnv } from '../src/testing/temporal-env';
import * as activities from './activities';
import { intEnv, machineLine, mb, percentile, pool, printTable, Row, timeEach, runBench } from './report';
import { lastQuery, oneActivity, signalActivityQuery, stepSignal, stopSignal } from './workflows';

const N = intEnv('BENCH_N', 200);
const WARMUP = intEnv('BENCH_WARMUP', 20);
const THROUGHPUT_N = intEnv('BENCH_THROUGHPUT_N', 500);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY || '50,200')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((c) => Number.isInteger(c) && c > 0);
const SIGNAL_N = intEnv('BENCH_SIGNAL_N', 200);
const BASELINE_N = intEnv('BENCH_BASELINE_N', 300);
const WFT_SLOTS = intEnv('BENCH_WFT_SLOTS', 20);
const ACTIVITY_SLOTS = intEnv('BENCH_ACTIVITY_SLOTS', 50);
const CACHE = process.env.BENCH_CACHE ? intEnv('BENCH_CACHE', 0) : undefined;
const NO_COMPRESSION = process.env.BENCH_GRPC_COMPRESSION === 'none';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

  const tBundle = performance.now();
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quiet });
  const bundleMs = performance.now() - tBundle;

  const memBefore = process.memoryUsage();
  const env = await createTemporalTestEnv();
  const memStarted = process.memoryUsage();
  const client = env.client.workflow as WorkflowClient;
  const service = env.client.connection.workflowService;
  const taskQueue = `bench-${randomUUID()}`;
  const idleQueue = `bench-idle-${randomUUID()}`;
  const prefix = `bench-${process.pid}-${Date.now()}`;

  const workerConnection = NO_COMPRESSION
    ? await NativeConnection.connect({ address: env.address, grpcCompression: { codec: 'none' } })
    : env.nativeConnection;
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: { code },
    activities,
    maxConcurrentWorkflowTaskExecutions: WFT_SLOTS,
    maxConcurrentActivityTaskExecutions: ACTIVITY_SLOTS,
    ...(CACHE !== undefined ? { maxCachedWorkflows: CACHE } : {}),
  });
  const running = worker.run();

  const rows: Row[] = [];
  /** Process CPU time (user + system, every thread: server, client, worker, Core) per unit of work. */
  const cpuRows: Row[] = [];
  const notes: string[] = [];
  let lastCompletedId = '';
  const runOne = async (id: string, n: number) => {
    const result = await client.execute(oneActivity, {
      taskQueue,
      workflowId: id,
      args: [n],
      workflowExecutionTimeout: '5 minutes',
    });
    lastCompletedId = id;
    return result;
  };

  try {
    // ---- baselines: raw gRPC on the same server ----
    const sysInfo = await timeEach(BASELINE_N, () => service.getSystemInfo({}));
    const sysP50 = percentile(sysInfo, 50);
    rows.push({ name: 'gRPC GetSystemInfo p50 (baseline)', value: sysP50, unit: 'ms' });

    // ---- warm-up ----
    for (let i = 0; i < WARMUP; i++) await runOne(`${prefix}-warm-${i}`, i);
    if (WARMUP > 0) await pool(WARMUP * 2, Math.min(20, WARMUP * 2), (i) => runOne(`${prefix}-warmc-${i}`, i));

    // ---- (a) sequential round trips ----
    const rt = await timeEach(N, async (i) => {
      const r = await runOne(`${prefix}-seq-${i}`, i);
      if (r !== i) throw new Error(`oneActivity returned ${r}, expected ${i}`);
    });
    const describeId = lastCompletedId || (await runOne(`${prefix}-describe`, 0), lastCompletedId);
    const describe = await timeEach(BASELINE_N, () =>
      service.describeWorkflowExecution({ namespace: env.namespace, execution: { workflowId: describeId } }),
    );
    const describeP50 = percentile(describe, 50);
    rows.push({ name: 'gRPC DescribeWorkflowExecution p50 (baseline)', value: describeP50, unit: 'ms' });
    const sys = { name: 'GetSystemInfo p50', value: sysP50 };
    rows.push({
      name: `start->activity->result p50 (sequential, n=${N})`,
      value: percentile(rt, 50),
      unit: 'ms',
      baseline: sys,
    });
    rows.push({ name: `start->activity->result p90`, value: percentile(rt, 90), unit: 'ms', baseline: sys });
    rows.push({ name: `start->activity->result p99`, value: percentile(rt, 99), unit: 'ms', baseline: sys });
    rows.push({ name: `start->activity->result max`, value: Math.max(...rt), unit: 'ms', baseline: sys });

    // ---- (b) throughput ----
    for (const c of CONCURRENCY) {
      const startOnlyMs = await pool(THROUGHPUT_N, c, (i) =>
        client.start(oneActivity, { taskQueue: idleQueue, workflowId: `${prefix}-idle-${c}-${i}`, args: [i] }),
      );
      const startRate = (THROUGHPUT_N / startOnlyMs) * 1000;
      rows.push({
        name: `start only, no worker (c=${c}, n=${THROUGHPUT_N}) (baseline)`,
        value: startRate,
        unit: 'wf/s',
      });
      const cpu0 = process.cpuUsage();
      const ms = await pool(THROUGHPUT_N, c, async (i) => {
        const r = await runOne(`${prefix}-tp-${c}-${i}`, i);
        if (r !== i) throw new Error(`oneActivity returned ${r}, expected ${i}`);
      });
      const cpu = process.cpuUsage(cpu0);
      cpuRows.push({
        name: `CPU per workflow, all threads (c=${c})`,
        value: (cpu.user + cpu.system) / 1000 / THROUGHPUT_N,
        unit: 'ms',
      });
      rows.push({
        name: `start->activity->complete (c=${c}, n=${THROUGHPUT_N})`,
        value: (THROUGHPUT_N / ms) * 1000,
        unit: 'wf/s',
        baseline: { name: 'start only', value: startRate },
      });
      // Tidy up the idle starts (untimed) so they do not linger on a shared server.
      await pool(THROUGHPUT_N, 50, (i) =>
        client
          .getHandle(`${prefix}-idle-${c}-${i}`)
          .terminate('benchmark cleanup')
          .catch(() => undefined),
      );
    }

    // ---- (c) signal -> activity -> query ----
    if (SIGNAL_N > 0) {
      const handle = await client.start(signalActivityQuery, {
        taskQueue,
        workflowId: `${prefix}-saq`,
        workflowExecutionTimeout: '10 minutes',
      });
      const queryFresh = await timeEach(Math.min(BASELINE_N, 100), () => handle.query(lastQuery));
      const queryFreshP50 = percentile(queryFresh, 50);
      rows.push({ name: 'query only, fresh workflow p50 (baseline)', value: queryFreshP50, unit: 'ms' });
      let queries = 0;
      const cpu0 = process.cpuUsage();
      const saq = await timeEach(SIGNAL_N, async (i) => {
        const n = i + 1;
        await handle.signal(stepSignal, n);
        for (;;) {
          queries++;
          if ((await handle.query(lastQuery)) === n) return;
        }
      });
      const cpu = process.cpuUsage(cpu0);
      cpuRows.push({
        name: 'CPU per signal->activity->query round trip',
        value: (cpu.user + cpu.system) / 1000 / SIGNAL_N,
        unit: 'ms',
      });
      const historyLength = (await handle.describe()).historyLength;
      const queryLong = await timeEach(Math.min(BASELINE_N, 100), () => handle.query(lastQuery));
      const queryLongP50 = percentile(queryLong, 50);
      const q = { name: 'query only p50 (fresh)', value: queryFreshP50 };
      rows.push({
        name: `signal->activity->query p50 (n=${SIGNAL_N})`,
        value: percentile(saq, 50),
        unit: 'ms',
        baseline: q,
      });
      rows.push({ name: 'signal->activity->query p99', value: percentile(saq, 99), unit: 'ms', baseline: q });
      rows.push({
        name: `query only, after (history ${historyLength} events) p50`,
        value: queryLongP50,
        unit: 'ms',
        baseline: q,
      });
      notes.push(`signal->activity->query: ${(queries / SIGNAL_N).toFixed(1)} queries per round trip on average`);
      await handle.signal(stopSignal);
      const last = await handle.result();
      if (last !== SIGNAL_N) throw new Error(`signalActivityQuery returned ${last}, expected ${SIGNAL_N}`);
    }
  } finally {
    const memAfter = process.memoryUsage();
    worker.shutdown();
    await running;
    if (workerConnection !== env.nativeConnection) await workerConnection.close();
    await env.teardown();

    console.log('');
    console.log(
      `backend:  ${env.backend === 'external' ? `external server at ${env.address} (TEMPORAL_TEST_ADDRESS)` : `in-process test server at ${env.address}`}`,
    );
    console.log(`machine:  ${machineLine()}`);
    console.log(
      `worker:   maxConcurrentWorkflowTaskExecutions=${WFT_SLOTS}, maxConcurrentActivityTaskExecutions=${ACTIVITY_SLOTS}, ` +
        `maxCachedWorkflows=${CACHE ?? 'default'}, gRPC compression ${NO_COMPRESSION ? 'none' : 'default (gzip requests)'}`,
    );
    console.log(
      `sizes:    BENCH_N=${N} BENCH_WARMUP=${WARMUP} BENCH_THROUGHPUT_N=${THROUGHPUT_N} BENCH_CONCURRENCY=${CONCURRENCY.join(',')} BENCH_SIGNAL_N=${SIGNAL_N} BENCH_BASELINE_N=${BASELINE_N}`,
    );
    console.log(`bundle:   ${bundleMs.toFixed(0)} ms (once)`);
    const who =
      env.backend === 'external' ? 'bench process (server is external)' : 'process (server + client + worker)';
    const mem = (m: NodeJS.MemoryUsage) => `${mb(m.rss)} MB (JS heap ${mb(m.heapUsed)} MB)`;
    console.log(
      `RSS:      ${who}: ${mem(memBefore)} before start, ${mem(memStarted)} after start, ${mem(memAfter)} after benchmarks`,
    );
    for (const n of notes) console.log(`note:     ${n}`);
    console.log('');
    printTable([...rows, ...cpuRows]);
  }
}

runBench(main);
