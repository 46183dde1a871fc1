/**
 * Benchmark of Vigil conversations: the real worker (conversation workflow + real activities), the real
 * AgentClient, the offline Temporal and a scripted OpenAI-compatible model over HTTP (test/helpers).
 *
 * Measures, in one run, with baselines from the same run beside them:
 *   - a turn against the hand-written chat workflow (bench/workflows.ts transcriptAsInput, the same model call),
 *     interleaved, p50/p99, latency with the model call included;
 *   - turn overhead: a turn's latency (AgentClient.send -> reply) minus the scripted model's own latency, on
 *     fresh conversations (the first turn includes the start) and on one long conversation, p50/p99, against a
 *     bare workflow (bench/workflows.ts `oneActivity`, start -> one activity -> result) on the same server;
 *   - throughput: turns per second with C concurrent conversations each sending M messages in sequence, against
 *     the bare workflow's rate with C concurrent executions;
 *   - worker memory: the RSS (and workflow-thread heap, after full GCs) of a worker in a child process, so it
 *     is measured alone, with 0, 10, 100 and 1,000 idle conversations under a bounded workflow cache, against
 *     the same worker setup holding idle bare workflows; then a turn on early conversations the cache evicted,
 *     which resume from history.
 * Figures are printed, never asserted. The aims: a turn within 1.3x of the chat workflow's; turn overhead within
 * 1.3x of the bare workflow, a first turn within 1.5x; throughput at least 0.8x of the bare rate; workflow-thread
 * heap per cached conversation at most 3x a bare workflow's; memory bounded by the cache, not by the number of
 * conversations.
 *
 * Knobs (environment): BENCH_CONV_N (sequential turns per latency series, 200), BENCH_CONV_WARMUP (20),
 * BENCH_CONV_CONCURRENCY (concurrent conversations, 200), BENCH_CONV_MESSAGES (messages each of them sends, 5),
 * BENCH_CONV_MODEL_DELAY_MS (the scripted model's fixed delay, 0), BENCH_CONV_IDLE (idle conversations, 1000),
 * BENCH_CONV_IDLE_FEW (the small count, 10), BENCH_CONV_CACHE (the child worker's maxCachedWorkflows, 100),
 * BENCH_CONV_IDLE_CONCURRENCY (sends in flight while creating idle conversations, 50), BENCH_CONV_RESUME_N
 * (evicted conversations resumed, 5).
 */
import '../test/helpers/quiet-runtime';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { fork, type ChildProcess } from 'node:child_process';
import inspector from 'node:inspector';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createActivities } from '../src/activities';
import { createOpenAIClient } from '../src/activities/model';
import { defineAgent } from '../src/agents/define-agent';
import { AgentRegistry } from '../src/agents/registry';
import { createLogChannel } from '../src/channels';
import { FileContentStore } from '../src/store';
import { vigilDataConverter } from '../src/store/data-converter';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../src/workers/workflow-bundle';
import * as benchActivities from './activities';
import { intEnv, machineLine, mb, percentile, pool, printTable, Row, timeEach, runBench } from './report';
import {
  baselineMessageUpdate,
  lastQuery,
  oneActivity,
  signalActivityQuery,
  stepSignal,
  transcriptAsInput,
} from './workflows';

const N = intEnv('BENCH_CONV_N', 200);
const WARMUP = intEnv('BENCH_CONV_WARMUP', 20);
const CONCURRENCY = Math.max(1, intEnv('BENCH_CONV_CONCURRENCY', 200));
const MESSAGES = Math.max(1, intEnv('BENCH_CONV_MESSAGES', 5));
const MODEL_DELAY_MS = intEnv('BENCH_CONV_MODEL_DELAY_MS', 0);
const IDLE = intEnv('BENCH_CONV_IDLE', 1000);
const IDLE_FEW = Math.min(IDLE, intEnv('BENCH_CONV_IDLE_FEW', 10));
const CACHE = intEnv('BENCH_CONV_CACHE', 100);
const IDLE_CONCURRENCY = Math.max(1, intEnv('BENCH_CONV_IDLE_CONCURRENCY', 50));
const RESUME_N = Math.min(IDLE_FEW, intEnv('BENCH_CONV_RESUME_N', 5));

const AGENT = 'bench';
const API_KEY = 'sk-bench-key';
/** The one agent of the benchmark: no tools, so a turn is load agent -> one model call -> reply. */
const benchAgent = defineAgent({ name: AGENT, instructions: 'Be brief.', model: 'bench-model' });

const quietBundler = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

// ---------------------------------------------------------------------------------------------------------
// The child process: one Vigil worker, alone, reporting its memory over IPC.

type ToChild = { type: 'measure' } | { type: 'stop' };
interface Memory {
  rss: number;
  /** JS heap used after a full collection: the main thread's, and the workflow thread's (workflow state). */
  mainHeap: number;
  workflowHeap: number;
  /** Workflows in the worker's cache. */
  cached: number;
}
type FromChild = { type: 'ready' } | ({ type: 'memory' } & Memory) | { type: 'stopped' };

/**
 * Full garbage collections in every isolate of this process, through the inspector: the main thread's, and
 * each worker thread's (workflows run in a worker thread, which `global.gc` would not reach). Returns the
 * heap used per thread afterwards.
 */
function createCollector() {
  const session = new inspector.Session();
  session.connect();
  const workers = new Map<string, string>(); // inspector session id -> worker url
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  session.on('NodeWorker.attachedToWorker', (m) => void workers.set(m.params.sessionId, m.params.workerInfo.url));
  session.on('NodeWorker.detachedFromWorker', (m) => void workers.delete(m.params.sessionId));
  session.on('NodeWorker.receivedMessageFromWorker', (m) => {
    const reply = JSON.parse(m.params.message) as { id?: number; result?: unknown };
    if (reply.id !== undefined) pending.get(reply.id)?.(reply.result);
    if (reply.id !== undefined) pending.delete(reply.id);
  });
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))),
    );
  const inWorker = <T>(sessionId: string, method: string) =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve as (result: unknown) => void);
      session.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method }) });
    });
  const enabled = post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  type HeapUsage = { usedSize: number };
  return {
    async collect(): Promise<{ mainHeap: number; workerHeaps: { url: string; used: number }[] }> {
      await enabled;
      // Twice: the first pass can leave garbage that finalizers released.
      for (let pass = 0; pass < 2; pass++) {
        await post('HeapProfiler.collectGarbage');
        for (const sessionId of workers.keys()) await inWorker(sessionId, 'HeapProfiler.collectGarbage');
      }
      const mainHeap = (await post<HeapUsage>('Runtime.getHeapUsage')).usedSize;
      const workerHeaps = [];
      for (const [sessionId, url] of workers)
        workerHeaps.push({ url, used: (await inWorker<HeapUsage>(sessionId, 'Runtime.getHeapUsage')).usedSize });
      return { mainHeap, workerHeaps };
    },
    close: () => session.disconnect(),
  };
}

async function workerChild(): Promise<void> {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (the parent benchmark sets it)`);
    return value;
  };
  const send = (message: FromChild) => process.send!(message);
  const collector = createCollector();
  const connection = await NativeConnection.connect({ address: env('BENCH_CONV_ADDRESS') });
  const bare = env('BENCH_CONV_WORKER') === 'bare';
  // Conversations keep their transcripts in a content store; a worker without one answers every turn with an error.
  const store = new FileContentStore({ dataDir: env('BENCH_CONV_DATA_DIR') });
  const worker = await Worker.create({
    connection,
    namespace: env('BENCH_CONV_NAMESPACE'),
    taskQueue: env('BENCH_CONV_TASK_QUEUE'),
    workflowBundle: { codePath: env('BENCH_CONV_BUNDLE') },
    activities: bare
      ? benchActivities
      : createActivities({
          agents: new AgentRegistry([benchAgent]),
          openai: createOpenAIClient({ baseURL: env('BENCH_CONV_MODEL_URL'), apiKey: API_KEY }),
          channels: [createLogChannel({ info() {} })],
          store,
        }),
    dataConverter: vigilDataConverter(store),
    maxCachedWorkflows: Number(env('BENCH_CONV_CACHE')),
  });
  const running = worker.run();
  process.on('message', (message: ToChild) => {
    if (message.type === 'measure') {
      void collector.collect().then(({ mainHeap, workerHeaps }) => {
        const workflowHeap = workerHeaps
          .filter((w) => w.url.includes('workflow-worker-thread'))
          .reduce((sum, w) => sum + w.used, 0);
        const { rss } = process.memoryUsage();
        send({ type: 'memory', rss, mainHeap, workflowHeap, cached: worker.getStatus().numCachedWorkflows });
      });
    } else if (message.type === 'stop') {
      collector.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      void running
        .then(() => connection.close())
        .then(() => store.close())
        .then(() => {
          send({ type: 'stopped' });
          process.disconnect();
        });
    }
  });
  send({ type: 'ready' });
  await running;
}

/** The parent's side of the child worker: start it, ask it for figures, stop it. */
async function startChildWorker(childEnv: Record<string, string>) {
  const child: ChildProcess = fork(__filename, [], {
    env: { ...process.env, ...childEnv, BENCH_CONV_ROLE: 'worker' },
    // tsx's loader flags, inherited: the child runs this file.
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const next = <T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: FromChild) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        resolve(message as Extract<FromChild, { type: T }>);
      };
      child.on('message', onMessage);
      void exited.then((code) => reject(new Error(`the worker child exited (code ${code}) before sending ${type}`)));
    });
  await next('ready');
  return {
    pid: child.pid,
    async measure() {
      const answer = next('memory');
      child.send({ type: 'measure' } satisfies ToChild);
      return answer;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const stopped = next('stopped');
      child.send({ type: 'stop' } satisfies ToChild);
      await stopped;
      await exited;
    },
    kill() {
      if (child.exitCode === null) child.kill();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The parent: the server, the model, the in-process Vigil worker (the test harness) and the bare worker.

async function main(): Promise<void> {
  const loadBefore = loadavg()[0];
  const tBundle = performance.now();
  const [vigilBundle, bareBundle] = await Promise.all([
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLER_OPTIONS, logger: quietBundler }),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietBundler }),
  ]);
  const bundleMs = performance.now() - tBundle;
  const bundleDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  // The harness's worker reads the bundle from VIGIL_WORKFLOW_BUNDLE, as the tests' workers do.
  const vigilBundlePath = join(bundleDir, 'workflows.js');
  writeFileSync(vigilBundlePath, vigilBundle.code);
  process.env.VIGIL_WORKFLOW_BUNDLE = vigilBundlePath;
  const bareBundlePath = join(bundleDir, 'bare-workflows.js');
  writeFileSync(bareBundlePath, bareBundle.code);

  // Loaded here, not at the top, so the worker child does not carry the server and client code.
  const { startConversationHarness } = await import('../test/helpers/conversation.js');
  const { AgentClient } = await import('../src/client/index.js');

  const h = await startConversationHarness([benchAgent]);
  const { env, model } = h;
  model.respondWith(() => ({ content: 'ok', ...(MODEL_DELAY_MS > 0 ? { delayMs: MODEL_DELAY_MS } : {}) }));
  const client = env.client.workflow;
  const bareQueue = `bench-bare-${randomUUID()}`;
  const memQueue = `bench-idle-${randomUUID()}`;
  const bareIdleQueue = `bench-bare-idle-${randomUUID()}`;
  const chatQueue = `bench-chat-${randomUUID()}`;
  const prefix = `bench-${process.pid}-${Date.now()}`;

  // Same options as the harness's Vigil worker (the SDK's defaults), so the floor is measured alike.
  const bareWorker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue: bareQueue,
    workflowBundle: { code: bareBundle.code },
    activities: benchActivities,
  });
  const bareRunning = bareWorker.run();
  // The hand-written chat workflow (bench/workflows.ts transcriptAsInput): an update per message, the whole
  // transcript as the model activity's input, and the same model call as Vigil's (the openai client, streamed,
  // against the same scripted model). Its own worker with the same options.
  const chatOpenAI = createOpenAIClient({ baseURL: model.baseURL, apiKey: API_KEY });
  const chatWorker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue: chatQueue,
    workflowBundle: { code: bareBundle.code },
    activities: {
      ...benchActivities,
      async chatModel(transcript: { role: 'user' | 'assistant'; content: string }[]): Promise<string> {
        const stream = await chatOpenAI.chat.completions.create({
          model: 'bench-model',
          messages: [{ role: 'system', content: 'Be brief.' }, ...transcript],
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        return text;
      },
    },
  });
  const chatRunning = chatWorker.run();
  let child: Awaited<ReturnType<typeof startChildWorker>> | undefined;

  const rows: Row[] = [];
  const cpuRows: Row[] = [];
  const memRows: Row[] = [];
  const notes: string[] = [];

  const bare = async (id: string, n: number) => {
    const r = await client.execute(oneActivity, {
      taskQueue: bareQueue,
      workflowId: id,
      args: [n],
      workflowExecutionTimeout: '5 minutes',
    });
    if (r !== n) throw new Error(`oneActivity returned ${r}, expected ${n}`);
  };
  const turn = async (conversationId: string, content: string, expectTurn?: number) => {
    const reply = await h.client.send(AGENT, conversationId, content);
    if (reply.status !== 'completed' || reply.content !== 'ok')
      throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
    if (expectTurn !== undefined && reply.turn !== expectTurn)
      throw new Error(`reply of turn ${reply.turn}, expected ${expectTurn}`);
    return reply;
  };
  const chatTurn = async (handle: Awaited<ReturnType<typeof startChat>>, content: string) => {
    const answer = await handle.executeUpdate(baselineMessageUpdate, { args: [content] });
    if (answer !== 'ok') throw new Error(`the chat workflow answered ${JSON.stringify(answer)}`);
  };
  const startChat = (id: string) =>
    client.start(transcriptAsInput, { taskQueue: chatQueue, workflowId: id, workflowExecutionTimeout: '30 minutes' });
  // The model's own latency as the model activity sees it: the same client library, the same request shape.
  const openai = createOpenAIClient({ baseURL: model.baseURL, apiKey: API_KEY });
  const modelAlone = () =>
    openai.chat.completions.create({
      model: 'bench-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello' },
      ],
    });

  try {
    // ---- warm-up: every path once cold, then a few times ----
    const warmConversation = `${prefix}-warm`;
    for (let i = 0; i < WARMUP; i++) {
      await bare(`${prefix}-warm-bare-${i}`, i);
      await turn(`${prefix}-warm-fresh-${i}`, `warm ${i}`, 1);
      await turn(warmConversation, `warm ${i}`, i + 1);
      await modelAlone();
    }

    // ---- (a) sequential latency: bare, fresh conversation and model alone interleaved, so drift hits them alike;
    // then the turns of one conversation, apart, as its growing history would weigh on the others ----
    const samples = { bare: [] as number[], fresh: [] as number[], same: [] as number[], model: [] as number[] };
    const time = async (into: number[], fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    };
    for (let i = 0; i < N; i++) {
      await time(samples.bare, () => bare(`${prefix}-seq-${i}`, i));
      await time(samples.fresh, () => turn(`${prefix}-fresh-${i}`, `hello ${i}`, 1));
      await time(samples.model, modelAlone);
    }
    // Vigil's turns on one conversation interleaved with the hand-written chat workflow's on one of its own.
    const longConversation = `${prefix}-long`;
    const chat = await startChat(`${prefix}-chat`);
    for (let i = 0; i < WARMUP; i++) await chatTurn(chat, `warm ${i}`);
    const chatSamples: number[] = [];
    for (let i = 0; i < N; i++) {
      await time(samples.same, () => turn(longConversation, `message ${i}`, i + 1));
      await time(chatSamples, () => chatTurn(chat, `message ${i}`));
    }
    await chat.terminate('benchmark done');
    const modelP50 = percentile(samples.model, 50);
    const overhead = (xs: number[]) => xs.map((x) => x - modelP50);
    const bareP50 = percentile(samples.bare, 50);
    const bareP99 = percentile(samples.bare, 99);
    const b50 = { name: 'bare p50', value: bareP50 };
    const b99 = { name: 'bare p99', value: bareP99 };
    rows.push({ name: `scripted model call alone p50 (n=${N}) (subtracted)`, value: modelP50, unit: 'ms' });
    rows.push({ name: `bare start->activity->result p50 (n=${N}) (baseline)`, value: bareP50, unit: 'ms' });
    rows.push({ name: 'bare start->activity->result p99 (baseline)', value: bareP99, unit: 'ms' });
    rows.push({
      name: `turn on a fresh conversation, overhead p50 (n=${N})`,
      value: percentile(overhead(samples.fresh), 50),
      unit: 'ms',
      baseline: b50,
    });
    rows.push({
      name: 'turn on a fresh conversation, overhead p99',
      value: percentile(overhead(samples.fresh), 99),
      unit: 'ms',
      baseline: b99,
    });
    rows.push({
      name: `turn on one conversation, overhead p50 (n=${N})`,
      value: percentile(overhead(samples.same), 50),
      unit: 'ms',
      baseline: b50,
    });
    rows.push({
      name: 'turn on one conversation, overhead p99',
      value: percentile(overhead(samples.same), 99),
      unit: 'ms',
      baseline: b99,
    });
    const chatP50 = percentile(chatSamples, 50);
    rows.push({
      name: `hand-written chat workflow turn p50, model call included (n=${N}) (baseline)`,
      value: chatP50,
      unit: 'ms',
    });
    rows.push({
      name: `turn on one conversation p50, model call included (n=${N})`,
      value: percentile(samples.same, 50),
      unit: 'ms',
      baseline: { name: 'chat p50', value: chatP50 },
    });
    rows.push({
      name: 'turn on one conversation p99, model call included',
      value: percentile(samples.same, 99),
      unit: 'ms',
      baseline: { name: 'chat p99', value: percentile(chatSamples, 99) },
    });
    const k = Math.min(20, Math.floor(N / 2));
    if (k > 0) {
      rows.push({
        name: `one conversation, turns 1-${k}: overhead p50`,
        value: percentile(overhead(samples.same.slice(0, k)), 50),
        unit: 'ms',
        baseline: b50,
      });
      rows.push({
        name: `one conversation, turns ${N - k + 1}-${N}: overhead p50`,
        value: percentile(overhead(samples.same.slice(-k)), 50),
        unit: 'ms',
        baseline: b50,
      });
    }
    if (N > 0) {
      // What the conversation's history weighs: every model call's input carries the whole transcript.
      const history = await h.client.handle(AGENT, longConversation).fetchHistory();
      const bytes = temporal.api.history.v1.History.encode(history).finish().length;
      const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
      const lastInput = scheduled.at(-1)?.activityTaskScheduledEventAttributes?.input?.payloads ?? [];
      const inputBytes = lastInput.reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
      notes.push(
        `the long conversation after ${N} turns: ${history.events?.length ?? 0} history events, ${mb(bytes)} MB of history; ` +
          `its last model call's input ${(inputBytes / 1024).toFixed(1)} KB`,
      );
    }

    // ---- (b) throughput ----
    const total = CONCURRENCY * MESSAGES;
    // The model's share of a turn's CPU: its client and the scripted server run in this process too.
    let cpu0 = process.cpuUsage();
    await pool(total, CONCURRENCY, modelAlone);
    let cpu = process.cpuUsage(cpu0);
    cpuRows.push({
      name: `CPU per model call alone, client + scripted server (c=${CONCURRENCY})`,
      value: (cpu.user + cpu.system) / 1000 / total,
      unit: 'ms',
    });
    cpu0 = process.cpuUsage();
    const bareMs = await pool(total, CONCURRENCY, (i) => bare(`${prefix}-tp-${i}`, i));
    cpu = process.cpuUsage(cpu0);
    const bareRate = (total / bareMs) * 1000;
    const bareCpu = (cpu.user + cpu.system) / 1000 / total;
    cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, c) => {
        for (let m = 0; m < MESSAGES; m++) await turn(`${prefix}-tp-${c}`, `message ${m}`, m + 1);
      }),
    );
    const convMs = performance.now() - t0;
    cpu = process.cpuUsage(cpu0);
    const convRate = (total / convMs) * 1000;
    rows.push({ name: `bare workflows (c=${CONCURRENCY}, n=${total}) (baseline)`, value: bareRate, unit: 'wf/s' });
    rows.push({
      name: `turns, ${CONCURRENCY} conversations x ${MESSAGES} messages`,
      value: convRate,
      unit: 'turns/s',
      baseline: { name: 'bare', value: bareRate },
    });
    cpuRows.push({ name: `CPU per bare workflow, all threads (c=${CONCURRENCY})`, value: bareCpu, unit: 'ms' });
    cpuRows.push({
      name: `CPU per turn, all threads (c=${CONCURRENCY})`,
      value: (cpu.user + cpu.system) / 1000 / total,
      unit: 'ms',
      baseline: { name: 'bare', value: bareCpu },
    });

    // ---- (c) worker memory with idle conversations, in a child process ----
    if (IDLE > 0) {
      child = await startChildWorker({
        BENCH_CONV_WORKER: 'vigil',
        BENCH_CONV_BUNDLE: vigilBundlePath,
        BENCH_CONV_ADDRESS: env.address,
        BENCH_CONV_NAMESPACE: env.namespace,
        BENCH_CONV_TASK_QUEUE: memQueue,
        BENCH_CONV_MODEL_URL: model.baseURL,
        BENCH_CONV_CACHE: String(CACHE),
        BENCH_CONV_DATA_DIR: join(bundleDir, 'child-store'),
      });
      const idle = new AgentClient({ client: env.client, taskQueue: memQueue });
      const idleId = (i: number) => `${prefix}-idle-${i}`;
      const idleTurn = async (i: number, content: string, expectTurn: number) => {
        const reply = await idle.send(AGENT, idleId(i), content);
        if (reply.status !== 'completed' || reply.turn !== expectTurn)
          throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
      };
      // Checkpoints: none, a few, as many as the cache holds, all of them.
      const checkpoints = [...new Set([0, IDLE_FEW, Math.min(CACHE, IDLE), IDLE])].sort((x, y) => x - y);
      const measured = new Map<number, Memory>();
      let created = 0;
      for (const count of checkpoints) {
        const from = created;
        await pool(count - from, IDLE_CONCURRENCY, (i) => idleTurn(from + i, `hello ${idleId(from + i)}`, 1));
        created = count;
        measured.set(count, await child.measure());
      }

      // A second turn on the most recent conversations (still cached), then on the earliest (evicted: the
      // cache keeps the most recently used). The evicted ones must rebuild their state from history: the
      // model request of their second turn carries the first turn's message and reply.
      const cachedIds = Array.from({ length: RESUME_N }, (_, j) => IDLE - RESUME_N + j);
      const evictedIds = Array.from({ length: RESUME_N }, (_, j) => j);
      const cachedLatency = await timeEach(RESUME_N, (j) => idleTurn(cachedIds[j], 'again', 2));
      const resumedLatency = await timeEach(RESUME_N, (j) => idleTurn(evictedIds[j], 'again', 2));
      const resumedFromHistory = evictedIds.filter((i) => {
        const request = [...model.requests]
          .reverse()
          .find((r) => JSON.stringify(r.body.messages).includes(`hello ${idleId(i)}`));
        const messages = request?.body.messages ?? [];
        return (
          messages.some((m) => m.role === 'user' && m.content === `hello ${idleId(i)}`) &&
          messages.some((m) => m.role === 'assistant' && m.content === 'ok') &&
          messages.at(-1)?.role === 'user' &&
          messages.at(-1)?.content === 'again'
        );
      }).length;

      const few = measured.get(IDLE_FEW)!;
      const all = measured.get(IDLE)!;
      const atCache = measured.get(Math.min(CACHE, IDLE))!;
      for (const [count, m] of measured) {
        const baseline =
          count === IDLE && IDLE !== IDLE_FEW ? { name: `RSS with ${IDLE_FEW}`, value: mb(few.rss) } : undefined;
        memRows.push({
          name: `worker RSS, ${count} idle conversations (${m.cached} cached)`,
          value: mb(m.rss),
          unit: 'MB',
          ...(baseline ? { baseline } : {}),
        });
      }
      if (atCache !== few && atCache !== all) {
        memRows.push({
          name: `worker RSS, ${IDLE} vs ${Math.min(CACHE, IDLE)} idle conversations`,
          value: mb(all.rss),
          unit: 'MB',
          baseline: { name: `RSS with ${Math.min(CACHE, IDLE)}`, value: mb(atCache.rss) },
        });
      }
      for (const [count, m] of measured) {
        memRows.push({
          name: `workflow-thread JS heap after GC, ${count} idle (${m.cached} cached)`,
          value: mb(m.workflowHeap),
          unit: 'MB',
          ...(count === IDLE && IDLE !== IDLE_FEW
            ? { baseline: { name: `with ${IDLE_FEW}`, value: mb(few.workflowHeap) } }
            : {}),
        });
      }
      const none = measured.get(0)!;
      notes.push(
        `main-thread JS heap of the worker child after GC: ${mb(none.mainHeap)} MB with no conversations, ${mb(all.mainHeap)} MB with ${IDLE}`,
      );
      const cachedP50 = percentile(cachedLatency, 50);
      rows.push({ name: `2nd turn on a cached idle conversation p50 (n=${RESUME_N})`, value: cachedP50, unit: 'ms' });
      rows.push({
        name: `2nd turn on an evicted idle conversation p50 (n=${RESUME_N})`,
        value: percentile(resumedLatency, 50),
        unit: 'ms',
        baseline: { name: 'cached', value: cachedP50 },
      });
      notes.push(
        `resume: ${resumedFromHistory} of ${RESUME_N} evicted conversations answered turn 2 with the model seeing turn 1 ` +
          `(state rebuilt from history; the worker cached ${all.cached} of ${IDLE} before them); ` +
          `latencies ${resumedLatency.map((x) => x.toFixed(1)).join(', ')} ms`,
      );
      await child.stop();
      child = undefined;

      // The floor: the same measure for a bare workflow that ran one activity and now waits for a signal.
      const bareCount = Math.min(CACHE, IDLE);
      if (bareCount > 0) {
        child = await startChildWorker({
          BENCH_CONV_WORKER: 'bare',
          BENCH_CONV_BUNDLE: bareBundlePath,
          BENCH_CONV_ADDRESS: env.address,
          BENCH_CONV_NAMESPACE: env.namespace,
          BENCH_CONV_TASK_QUEUE: bareIdleQueue,
          BENCH_CONV_MODEL_URL: model.baseURL,
          BENCH_CONV_CACHE: String(CACHE),
          BENCH_CONV_DATA_DIR: join(bundleDir, 'child-store'),
        });
        const bare0 = await child.measure();
        await pool(bareCount, IDLE_CONCURRENCY, async (i) => {
          const handle = await client.start(signalActivityQuery, {
            taskQueue: bareIdleQueue,
            workflowId: `${prefix}-bare-idle-${i}`,
            workflowExecutionTimeout: '10 minutes',
          });
          await handle.signal(stepSignal, 1);
          while ((await handle.query(lastQuery)) !== 1);
        });
        const bareN = await child.measure();
        await child.stop();
        child = undefined;
        const perBare = (bareN.workflowHeap - bare0.workflowHeap) / Math.max(1, bareN.cached - bare0.cached);
        const perConversation = (atCache.workflowHeap - none.workflowHeap) / Math.max(1, atCache.cached - none.cached);
        memRows.push({
          name: `workflow-thread heap per cached conversation (0 -> ${atCache.cached})`,
          value: perConversation / 1024,
          unit: 'KB',
          baseline: { name: `per cached bare workflow (0 -> ${bareN.cached})`, value: perBare / 1024 },
        });
        memRows.push({
          name: `RSS per cached conversation (0 -> ${atCache.cached})`,
          value: (atCache.rss - none.rss) / Math.max(1, atCache.cached - none.cached) / 1024,
          unit: 'KB',
          baseline: {
            name: 'per cached bare workflow',
            value: (bareN.rss - bare0.rss) / Math.max(1, bareN.cached - bare0.cached) / 1024,
          },
        });
      }
    }
  } finally {
    child?.kill();
    bareWorker.shutdown();
    chatWorker.shutdown();
    await Promise.all([bareRunning, chatRunning]);
    await h.close();
    rmSync(bundleDir, { recursive: true, force: true });

    console.log('');
    console.log(
      `backend:  ${env.backend === 'external' ? `external server at ${env.address} (TEMPORAL_TEST_ADDRESS)` : `in-process test server at ${env.address}`}`,
    );
    console.log(`machine:  ${machineLine()}`);
    // Other work on the machine skews every figure; the load average says whether there was any.
    console.log(`load:     1-minute load average ${loadBefore.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`);
    console.log(
      `workers:  Vigil and bare workers in this process with the SDK's default options; the idle-conversation worker ` +
        `in a child process with maxCachedWorkflows=${CACHE}`,
    );
    console.log(
      `model:    scripted, answers "ok" ${MODEL_DELAY_MS > 0 ? `after ${MODEL_DELAY_MS} ms` : 'at once'}; overhead = turn latency - model call alone p50`,
    );
    console.log(
      `sizes:    BENCH_CONV_N=${N} BENCH_CONV_WARMUP=${WARMUP} BENCH_CONV_CONCURRENCY=${CONCURRENCY} BENCH_CONV_MESSAGES=${MESSAGES} ` +
        `BENCH_CONV_IDLE=${IDLE} BENCH_CONV_IDLE_FEW=${IDLE_FEW} BENCH_CONV_CACHE=${CACHE} BENCH_CONV_RESUME_N=${RESUME_N}`,
    );
    console.log(`bundle:   ${bundleMs.toFixed(0)} ms (both bundles, once)`);
    for (const n of notes) console.log(`note:     ${n}`);
    console.log('');
    printTable([...rows, ...cpuRows, ...memRows]);
  }
}

if (process.env.BENCH_CONV_ROLE === 'worker') {
  workerChild().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  runBench(main);
}
