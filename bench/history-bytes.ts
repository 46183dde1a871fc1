/**
 * Benchmark of the history bytes a conversation turn adds: Vigil against a baseline, side by side.
 *
 * Vigil's conversation workflow keeps the transcript in the content store as a chain of records
 * (src/store/transcript-chain.ts): a model call's activity input carries the chain head, where the context
 * window starts and only the turn's new entries, so the bytes a turn adds to history stay the same however long
 * the conversation is. The baseline (bench/workflows.ts `transcriptAsInput`) is what other Temporal agent
 * integrations do: the transcript lives in the workflow and every model call gets the WHOLE transcript as its
 * activity input, so each turn adds the transcript so far (bytes per turn grow linearly, the history
 * quadratically).
 *
 * One process: the offline Temporal (or TEMPORAL_TEST_ADDRESS), a scripted OpenAI-compatible model answering a
 * fixed ~200-character text, a real Vigil worker with a FileContentStore in a temporary folder
 * (test/helpers/conversation.ts) and, on its own task queue, a worker for the baseline with Temporal's default
 * data converter (so its inputs are inline in history, as they are for the integrations it stands for). One
 * Vigil conversation and one baseline conversation get the same N messages of ~200 characters, one at a time
 * (send, wait for the reply). At each checkpoint both histories are fetched and encoded (History.encode, the
 * bytes the server stores and sends), before and after the next W turns: bytes per turn = the difference / W.
 * Vigil's agent has a 200,000-token context window, large enough to hold the whole transcript, and no
 * continue-as-new, so neither a summary, a short window nor a new run is why its line stays flat: entries travel
 * by reference. Figures are printed, never asserted (test/conversation/long-lived.test.ts asserts the bound).
 *
 * Knobs (environment): BENCH_HISTORY_TURNS (messages per conversation, 1000), BENCH_HISTORY_AT (checkpoints,
 * comma-separated, "10,100,500"; N is always one: its window is the last W turns), BENCH_HISTORY_WINDOW (W,
 * turns per measurement, 10), BENCH_HISTORY_MESSAGE_CHARS (each message's length, 200; e.g. 20 for one-line
 * chat, 2048 for pasted documents).
 */
import '../test/helpers/quiet-runtime';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { defineAgent } from '../src/agents/define-agent';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../src/workers/workflow-bundle';
import * as benchActivities from './activities';
import { BENCH_ANSWER } from './activities';
import { format, intEnv, machineLine, printTable, Row, runBench } from './report';
import { baselineMessageUpdate, transcriptAsInput } from './workflows';

const N = Math.max(2, intEnv('BENCH_HISTORY_TURNS', 1000));
const W = Math.max(1, Math.min(intEnv('BENCH_HISTORY_WINDOW', 10), N - 1));
/** Checkpoint -> the first turn of its window (the window is turns from+1 .. from+W). */
const CHECKPOINTS: { at: number; from: number }[] = (() => {
  const asked = (process.env.BENCH_HISTORY_AT ?? '10,100,500')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0 && n < N);
  const points = [...new Set([...asked, N])].sort((a, b) => a - b);
  const seen = new Set<number>();
  return points.flatMap((at) => {
    const from = Math.min(at, N - W);
    if (seen.has(from)) return [];
    seen.add(from);
    return [{ at, from }];
  });
})();

const AGENT = 'history-bench';
/**
 * A window that holds the whole transcript (N turns of ~100 tokens fit in 200,000) and no continue-as-new: the
 * highest limits an agent may set, and Temporal's suggestion ignored.
 */
const agent = defineAgent({
  name: AGENT,
  instructions: 'Be brief.',
  model: 'bench-model',
  memory: { maxContextTokens: 200_000 },
  limits: {
    continueAsNewAfterEvents: 40_000,
    continueAsNewAfterBytes: 32 * 1024 * 1024,
    continueAsNewWhenSuggested: false,
  },
});

/** Temporal's default limits on a run's history (a real server warns at the first, terminates at the second). */
const HISTORY_WARN_BYTES = 10 * 1024 * 1024;
const HISTORY_LIMIT_BYTES = 50 * 1024 * 1024;

const MESSAGE_CHARS = Math.max(8, intEnv('BENCH_HISTORY_MESSAGE_CHARS', 200));
const FILLER = ' the quick brown fox jumps over the lazy dog, and the dog does not seem to mind it at all;';
/** The i-th message (1-based), MESSAGE_CHARS characters, different every turn. */
const message = (i: number) =>
  `m${i}:${FILLER.repeat(Math.ceil(MESSAGE_CHARS / FILLER.length))}`.slice(0, MESSAGE_CHARS);
/** What a turn adds to history beyond its message and its reply. */
const overheadOf = (bytesPerTurn: number) => bytesPerTurn - MESSAGE_CHARS - BENCH_ANSWER.length;

const quietBundler = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

type History = temporal.api.history.v1.IHistory;
const encodedSize = (history: History) => temporal.api.history.v1.History.encode(history).finish().length;
const varintSize = (n: number) => {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
};
/** An event's share of its history's encoding (field tag, length, the event). */
const eventSize = (event: temporal.api.history.v1.IHistoryEvent) => {
  const n = temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
  return 1 + varintSize(n) + n;
};
const inputBytes = (event: temporal.api.history.v1.IHistoryEvent) =>
  (event.activityTaskScheduledEventAttributes?.input?.payloads ?? []).reduce(
    (sum, p) => sum + (p.data?.length ?? 0),
    0,
  );

/** Bytes of the files under `dir`: their lengths, and what the file system allocated for them. */
function sizeOnDisk(dir: string): { files: number; bytes: number; allocated: number } {
  const total = { files: 0, bytes: 0, allocated: 0 };
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) walk(join(path, name));
    } else if (stat.isFile()) {
      total.files++;
      total.bytes += stat.size;
      total.allocated += stat.blocks * 512;
    }
  };
  walk(dir);
  return total;
}

interface Sample {
  /** The history's encoded size and length after the turn. */
  bytes: number;
  events: number;
  /** The largest activity input of the W turns before (NaN when not measured). */
  largestInput: number;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0];
  const [vigilBundle, baselineBundle] = await Promise.all([
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLER_OPTIONS, logger: quietBundler }),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietBundler }),
  ]);
  const bundleDir = mkdtempSync(join(tmpdir(), 'vigil-bench-history-'));
  const vigilBundlePath = join(bundleDir, 'workflows.js');
  writeFileSync(vigilBundlePath, vigilBundle.code);
  // The harness's worker reads its bundle from VIGIL_WORKFLOW_BUNDLE, as the tests' workers do.
  process.env.VIGIL_WORKFLOW_BUNDLE = vigilBundlePath;
  const { startConversationHarness } = await import('../test/helpers/conversation.js');

  const h = await startConversationHarness([agent]);
  const { env, model } = h;
  model.respondWith(() => ({ content: BENCH_ANSWER }));
  // Where the harness's FileContentStore keeps its entries: <dataDir>/content/<2 hex>/<62 hex>.
  const dataDir = dirname(dirname(dirname(h.store.pathOf('sha256:' + '0'.repeat(64)))));

  // The baseline: Temporal's default data converter on both sides, so the transcript is inline in history.
  const baselineQueue = `bench-history-baseline-${randomUUID()}`;
  const baselineWorker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue: baselineQueue,
    workflowBundle: { code: baselineBundle.code },
    activities: benchActivities,
  });
  const baselineRunning = baselineWorker.run();
  const plainClient = new Client({ connection: env.connection, namespace: env.namespace });
  // Histories are fetched over a connection of their own: a page of the baseline's is tens of MB, more than
  // grpc-js receives by default (4 MB; the SDK's 128 MB default is set under a key grpc-js ignores).
  const historyConnection = await Connection.connect({
    address: env.address,
    channelArgs: { 'grpc.max_receive_message_length': 1024 * 1024 * 1024 },
  });
  const historyClient = new Client({ connection: historyConnection, namespace: env.namespace });

  const prefix = `bench-history-${process.pid}-${Date.now()}`;
  const conversationId = `${prefix}-vigil`;
  const vigilHandle = () => historyClient.workflow.getHandle(h.client.handle(AGENT, conversationId).workflowId);
  const baseline = await plainClient.workflow.start(transcriptAsInput, {
    taskQueue: baselineQueue,
    workflowId: `${prefix}-baseline`,
  });

  const notes: string[] = [];
  const samples = { vigil: new Map<number, Sample>(), baseline: new Map<number, Sample>() };
  let vigilHistory: History | undefined;
  let baselineHistory: History | undefined;
  /** Set when the baseline stopped answering (a real server terminates it at its history limit). */
  let baselineEnded: { turn: number; error: string } | undefined;
  const spent = { vigil: 0, baseline: 0, fetch: 0 };
  /** Each turn's latency (send -> reply), per run. */
  const latency = { vigil: [] as number[], baseline: [] as number[] };
  let lastRequestMessages = 0;
  let lastRequestFirstUser: string | undefined;

  const measure = async (turn: number) => {
    const t0 = performance.now();
    // The largest activity input of the window that ends here (the model call's, in both runs).
    const largest = (history: History, since: Sample | undefined) =>
      since ? Math.max(0, ...(history.events ?? []).slice(since.events).map(inputBytes)) : NaN;
    vigilHistory = await vigilHandle().fetchHistory();
    samples.vigil.set(turn, {
      bytes: encodedSize(vigilHistory),
      events: vigilHistory.events?.length ?? 0,
      largestInput: largest(vigilHistory, samples.vigil.get(turn - W)),
    });
    if (!baselineEnded) {
      baselineHistory = await historyClient.workflow.getHandle(baseline.workflowId).fetchHistory();
      samples.baseline.set(turn, {
        bytes: encodedSize(baselineHistory),
        events: baselineHistory.events?.length ?? 0,
        largestInput: largest(baselineHistory, samples.baseline.get(turn - W)),
      });
    }
    spent.fetch += performance.now() - t0;
  };
  const measureAt = new Set(CHECKPOINTS.flatMap(({ from }) => [from, from + W]));

  const tStart = performance.now();
  try {
    for (let i = 1; i <= N; i++) {
      const content = message(i);
      let t0 = performance.now();
      const reply = await h.client.send(AGENT, conversationId, content);
      spent.vigil += performance.now() - t0;
      latency.vigil.push(performance.now() - t0);
      if (reply.status !== 'completed' || reply.content !== BENCH_ANSWER || reply.turn !== i) {
        throw new Error(`Vigil, turn ${i}: unexpected reply ${JSON.stringify(reply)}`);
      }
      // The scripted model records every request (each carries the whole window): keep only the last.
      const last = model.requests.at(-1)!;
      lastRequestMessages = last.body.messages.length;
      const firstUser = last.body.messages.find((m) => m.role === 'user')?.content;
      lastRequestFirstUser = typeof firstUser === 'string' ? firstUser : JSON.stringify(firstUser);
      model.requests.splice(0, model.requests.length);

      if (!baselineEnded) {
        t0 = performance.now();
        try {
          const answer = await baseline.executeUpdate(baselineMessageUpdate, { args: [content] });
          if (answer !== BENCH_ANSWER) throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
        } catch (err) {
          baselineEnded = { turn: i, error: err instanceof Error ? err.message : String(err) };
        }
        spent.baseline += performance.now() - t0;
        latency.baseline.push(performance.now() - t0);
      }
      if (measureAt.has(i)) await measure(i);
      if (i % 100 === 0)
        process.stderr.write(`history-bytes: ${i}/${N} turns, ${((performance.now() - tStart) / 1000).toFixed(0)} s\n`);
    }

    // ---- the figures ----
    const perTurn = (side: Map<number, Sample>, from: number) => {
      const a = side.get(from);
      const b = side.get(from + W);
      return a && b ? (b.bytes - a.bytes) / W : NaN;
    };
    const lines = CHECKPOINTS.map(({ at, from }) => {
      const vigil = perTurn(samples.vigil, from);
      const base = perTurn(samples.baseline, from);
      const mean = (xs: number[]) => (xs.length === W ? xs.reduce((a, b) => a + b, 0) / W : NaN);
      return {
        turns: `${from + 1}-${from + W}${at !== from ? ` (at ${at})` : ''}`,
        vigil,
        base,
        vigilInput: samples.vigil.get(from + W)?.largestInput ?? NaN,
        baseInput: samples.baseline.get(from + W)?.largestInput ?? NaN,
        vigilMs: mean(latency.vigil.slice(from, from + W)),
        baseMs: mean(latency.baseline.slice(from, from + W)),
        vigilTotal: samples.vigil.get(from + W)?.bytes ?? NaN,
        baseTotal: samples.baseline.get(from + W)?.bytes ?? NaN,
      };
    });

    const vigilFinal = samples.vigil.get(N)!;
    const baselineFinal = samples.baseline.get(N);
    const store = sizeOnDisk(dataDir);

    // Where the baseline's run passes Temporal's limits, and how large the inputs of the last turns were.
    const crossing = (
      history: History | undefined,
      isTurnEnd: (e: temporal.api.history.v1.IHistoryEvent) => boolean,
    ) => {
      const at: { warn?: number; limit?: number } = {};
      let bytes = 0;
      let turns = 0;
      for (const event of history?.events ?? []) {
        bytes += eventSize(event);
        if (isTurnEnd(event)) turns++;
        if (at.warn === undefined && bytes >= HISTORY_WARN_BYTES) at.warn = turns + 1;
        if (at.limit === undefined && bytes >= HISTORY_LIMIT_BYTES) at.limit = turns + 1;
      }
      return at;
    };
    const baselineCrossing = crossing(baselineHistory, (e) => !!e.activityTaskCompletedEventAttributes);
    const vigilContinued =
      !!vigilHistory?.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;

    const wholeWindow = lastRequestMessages >= 2 * N && lastRequestFirstUser === message(1);
    notes.push(
      `Vigil's last model call had ${lastRequestMessages} messages (instructions + all ${2 * N - 1} transcript entries: ` +
        `${wholeWindow ? 'the window held the whole transcript, no summary' : 'NOT the whole transcript'}); ` +
        `its entries travel by reference (the content store chain's head and the turn's new entries), the baseline's by value`,
    );
    if (baselineCrossing.warn !== undefined || baselineCrossing.limit !== undefined) {
      notes.push(
        `the baseline's history passed 10 MB (a real server's warning) at turn ${baselineCrossing.warn ?? 'n/a'}` +
          ` and 50 MB (a real server terminates the run there) at turn ${baselineCrossing.limit ?? 'n/a'}` +
          (env.backend === 'in-process' ? '; the in-process test server enforces no limit, so it ran on' : ''),
      );
    }
    const vigilLate = lines.at(-1)!.vigil;
    if (Number.isFinite(vigilLate) && vigilLate > 0) {
      notes.push(
        `at ${vigilLate.toFixed(0)} bytes per turn Vigil's one run would reach 50 MB after about ` +
          `${Math.round(HISTORY_LIMIT_BYTES / vigilLate).toLocaleString('en-US')} turns (it continues as new long before, every ` +
          `10,000 events by default; disabled here)`,
      );
    }
    if (baselineEnded) notes.push(`the baseline stopped at turn ${baselineEnded.turn}: ${baselineEnded.error}`);
    if (vigilContinued)
      notes.push('Vigil continued as new during the run (the server suggested it): its figures are of its last run');
    notes.push(
      `time: Vigil turns ${(spent.vigil / 1000).toFixed(1)} s, baseline turns ${(spent.baseline / 1000).toFixed(1)} s, ` +
        `history fetches ${(spent.fetch / 1000).toFixed(1)} s`,
    );

    console.log('');
    console.log(
      `backend:  ${env.backend === 'external' ? `external server at ${env.address} (TEMPORAL_TEST_ADDRESS)` : `in-process test server at ${env.address}`}`,
    );
    console.log(`machine:  ${machineLine()}`);
    console.log(`load:     1-minute load average ${loadBefore.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`);
    console.log(
      `runs:     one Vigil conversation (FileContentStore, context window 200,000 tokens, no continue-as-new) and one ` +
        `baseline (bench/workflows.ts transcriptAsInput: the whole transcript as the model activity's input), ` +
        `the same ${N} messages of ${message(1).length} characters, answers of ${BENCH_ANSWER.length} characters`,
    );
    console.log(
      `sizes:    BENCH_HISTORY_TURNS=${N} BENCH_HISTORY_AT=${CHECKPOINTS.map((c) => c.at).join(',')} BENCH_HISTORY_WINDOW=${W} ` +
        `BENCH_HISTORY_MESSAGE_CHARS=${MESSAGE_CHARS}`,
    );
    console.log(
      `overhead: a turn's bytes beyond its message and reply (${MESSAGE_CHARS} + ${BENCH_ANSWER.length} characters); the aim is 1,536 or less`,
    );
    for (const n of notes) console.log(`note:     ${n}`);
    console.log('');

    // Side by side: bytes a turn adds to history, then each history's size after the window.
    // The model call's input (the largest activity input of the window) and a turn's mean latency explain them.
    const header = [
      'turns',
      'Vigil B/turn',
      'Vigil overhead',
      'baseline B/turn',
      'baseline/Vigil',
      'Vigil history',
      'baseline history',
      'Vigil input',
      'baseline input',
      'Vigil ms/turn',
      'baseline ms/turn',
    ];
    const kb = (bytes: number) =>
      Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB` : 'n/a';
    const cells = lines.map((l) => [
      l.turns,
      format(l.vigil, 'B'),
      format(overheadOf(l.vigil), 'B'),
      format(l.base, 'B'),
      Number.isFinite(l.base / l.vigil) ? `${(l.base / l.vigil).toFixed(1)}x` : 'n/a',
      kb(l.vigilTotal),
      kb(l.baseTotal),
      kb(l.vigilInput),
      kb(l.baseInput),
      format(l.vigilMs, 'ms'),
      format(l.baseMs, 'ms'),
    ]);
    const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i].length)));
    const render = (row: string[]) =>
      row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    console.log(render(header));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const c of cells) console.log(render(c));
    console.log('');

    const first = lines[0];
    const rows: Row[] = [
      {
        name: `Vigil bytes per turn, turns ${lines.at(-1)!.turns} (vs its own first window)`,
        value: lines.at(-1)!.vigil,
        unit: 'B',
        baseline: { name: `turns ${first.turns}`, value: first.vigil },
      },
      {
        name: `baseline bytes per turn, turns ${lines.at(-1)!.turns} (vs its own first window)`,
        value: lines.at(-1)!.base,
        unit: 'B',
        baseline: { name: `turns ${first.turns}`, value: first.base },
      },
      {
        name: `Vigil history after ${N} turns (${vigilFinal.events} events)`,
        value: vigilFinal.bytes / 1024,
        unit: 'KB',
        ...(baselineFinal
          ? { baseline: { name: `baseline (${baselineFinal.events} events)`, value: baselineFinal.bytes / 1024 } }
          : {}),
      },
      {
        name: `Vigil content store on disk (${store.files} files, ${Math.round(store.allocated / 1024)} KB allocated)`,
        value: store.bytes / 1024,
        unit: 'KB',
      },
      {
        name: 'Vigil history + content store',
        value: (vigilFinal.bytes + store.bytes) / 1024,
        unit: 'KB',
        ...(baselineFinal ? { baseline: { name: 'baseline history', value: baselineFinal.bytes / 1024 } } : {}),
      },
    ];
    printTable(rows);
  } finally {
    await baseline.terminate('benchmark done').catch(() => undefined);
    await vigilHandle()
      .terminate('benchmark done')
      .catch(() => undefined);
    baselineWorker.shutdown();
    await baselineRunning;
    await historyConnection.close();
    await h.close();
    rmSync(bundleDir, { recursive: true, force: true });
  }
}

runBench(main);
