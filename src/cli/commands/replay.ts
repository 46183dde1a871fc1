/**
 * `vigil replay`: replays workflow histories against the current workflow code (src/workflows), the check that
 * a change will not break conversations already running. Histories come from JSON files, or from a Temporal
 * server by a visibility query.
 */
import { type Client, ServiceError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../workers/workflow-bundle';
import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { createLogger } from '../../logger';
import { loadStoreSettings, type StoreSettings } from '../../config';
import { createContentStore } from '../../store/create-content-store';
import { vigilDataConverter } from '../../store/data-converter';
import { ACTIVATION_TIMEOUT, installRuntimeLogger } from '../../workers/worker';
import { CommandFailed, UsageError } from '../exit-codes';
import { HistoryFileError, readHistoryFile } from '../history-file';
import { globalOptions, temporalSettings } from '../settings';
import { temporalSaid, withTemporalClient } from '../temporal-client';

interface ReplayOptions {
  query?: string;
}

/** A history to replay, or the reason it could not be had. */
type Source = { label: string; history: temporal.api.history.v1.IHistory } | { label: string; problem: string };

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('replay workflow histories against the current workflow code, to catch incompatible changes')
    .argument('[files...]', 'history JSON files, or directories of them (*.json); - reads one from standard input')
    .option('-q, --query <visibility query>', 'also replay the histories of the workflows this query lists')
    .addHelpText(
      'after',
      `
Files may be in either JSON form of a history:
  - proto3 JSON, as written by \`temporal workflow show --output json\`, the Web UI's download, and the
    SDK's historyToJSON;
  - protobufjs object form, as Vigil stores them in test/replay/histories (npm run capture-histories).
With --query, the workflows the visibility query lists are fetched from Temporal (--address, --namespace).
Payloads a history holds as claims (large messages and tool outputs) are read from the content store the
environment configures (VIGIL_STORE, VIGIL_DATA_DIR, ...), as the worker that wrote them did.

Each history is reported PASS or FAIL with the reason. Exit codes: 0 when every history replays, 1 when any
fails (or cannot be read or fetched), 2 for a bad command line or setting.

Examples:
  $ vigil replay test/replay/histories/*.json
  $ vigil replay test/replay/histories
  $ temporal workflow show -w conversation:assistant:user-42 --output json | vigil replay -
  $ vigil replay --query "WorkflowType = 'conversation' AND ExecutionStatus = 'Running'"
  $ vigil replay --address temporal.internal:7233 --namespace prod --query "WorkflowType = 'conversation'"`,
    )
    .action(async (files: string[], options: ReplayOptions, command: Command) => {
      if (files.length === 0 && options.query === undefined) {
        throw new UsageError('nothing to replay: give history files, or --query to fetch histories from Temporal');
      }
      // Settings are checked before the slow bundling, so a typo in --address fails at once.
      const settings = options.query === undefined ? undefined : temporalSettings(globalOptions(command));
      const store = loadStoreSettings();
      const sources: Source[] = [];
      for (const path of await expandPaths(files)) sources.push(await fromFile(path));
      if (settings && options.query !== undefined) {
        const { query } = options;
        await withTemporalClient(settings, async ({ client }) => sources.push(...(await fromServer(client, query))), {
          store,
        });
      }
      if (sources.length === 0) throw new CommandFailed('no histories found to replay');

      const failures = await replayAll(sources, store);
      const total = sources.length;
      process.stdout.write(
        failures === 0
          ? `${total} ${plural(total)} replayed: all passed\n`
          : `${failures} of ${total} ${plural(total)} failed to replay\n`,
      );
      if (failures > 0) process.exitCode = 1;
    });
}

function plural(count: number): string {
  return count === 1 ? 'history' : 'histories';
}

/** Directories become their *.json files, sorted; files stay as given. */
async function expandPaths(paths: string[]): Promise<string[]> {
  const result: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) {
      result.push(path); // A missing file is reported as a failure with the others.
      continue;
    }
    const names = (await readdir(path)).filter((name) => name.endsWith('.json')).sort();
    result.push(...names.map((name) => join(path, name)));
  }
  return result;
}

async function fromFile(path: string): Promise<Source> {
  const label = path === '-' ? 'standard input' : path;
  try {
    return { label, history: (await readHistoryFile(path)).history };
  } catch (error) {
    if (error instanceof HistoryFileError) return { label, problem: error.message };
    throw error;
  }
}

async function fromServer(client: Client, query: string): Promise<Source[]> {
  const sources: Source[] = [];
  for await (const execution of listed(client, query)) {
    const label = `workflow ${execution.workflowId} (run ${execution.runId})`;
    try {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      sources.push({ label, history });
    } catch (error) {
      sources.push({
        label,
        problem: `cannot fetch its history: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }
  if (sources.length === 0) process.stderr.write(`the query matched no workflows: ${query}\n`);
  return sources;
}

/** The workflows the query matches; a query the server refuses is a failure that says why, and how to mend it. */
async function* listed(client: Client, query: string) {
  try {
    yield* client.workflow.list({ query });
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    const details = temporalSaid(error);
    const hint = /order by/i.test(details) ? ' (the order does not matter to a replay: leave out ORDER BY)' : '';
    throw new CommandFailed(`Temporal refused the query "${query}": ${details}${hint}`, { cause: error });
  }
}

/** Replays every readable history in one replay worker, printing each result in order; returns how many failed. */
async function replayAll(sources: Source[], storeConfig: StoreSettings): Promise<number> {
  let failures = 0;
  let reported = 0;
  const report = (label: string, problem?: string) => {
    reported++;
    if (problem === undefined) {
      process.stdout.write(`PASS ${label}\n`);
    } else {
      failures++;
      process.stdout.write(`FAIL ${label}\n  ${problem.replace(/\n/g, '\n  ')}\n`);
    }
  };
  /** Reports the sources that could not be read, up to the one at `index`. */
  const reportUnreadableBefore = (index: number) => {
    while (reported < index) {
      const source = sources[reported];
      if (!('problem' in source)) throw new Error(`replay results out of order at ${source.label}`);
      report(source.label, source.problem);
    }
  };

  // The replay worker logs a warning for each failed workflow task, repeating the FAIL lines; errors still show.
  // No signal handlers: Ctrl-C just ends the command.
  installRuntimeLogger(createLogger({ level: 'error', name: 'vigil-replay', destination: pino.destination(2) }), {
    shutdownSignals: [],
  });
  const readable = sources.flatMap((source, index) =>
    'problem' in source ? [] : [{ index, history: source.history }],
  );
  if (readable.length > 0) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      ...WORKFLOW_BUNDLER_OPTIONS,
      logger: quietBundler,
    });
    // Results come back one per history, in order, under the id given: the source's index stands in for it.
    const histories = readable.map(({ index, history }) => ({ workflowId: String(index), history }));
    // The workflow code must see the values the claims in history stand for, as the worker that ran it did.
    const store = createContentStore(storeConfig);
    try {
      const dataConverter = vigilDataConverter(store, storeConfig);
      for await (const result of Worker.runReplayHistories(
        { workflowBundle: { code }, dataConverter, ...ACTIVATION_TIMEOUT },
        histories,
      )) {
        const index = Number(result.workflowId);
        reportUnreadableBefore(index);
        report(sources[index].label, result.error ? describeReplayError(result.error) : undefined);
      }
    } finally {
      await store.close();
    }
  }
  reportUnreadableBefore(sources.length);
  return failures;
}

/**
 * The SDK's message wraps the reason in a dump of Core's failure struct; the reason itself (e.g. "[TMPRL1100]
 * Nondeterminism error: Activity type of scheduled event 'x' does not match ...") is what a reader needs.
 */
function describeReplayError(error: Error): string {
  const reason = /message: "((?:[^"\\]|\\.)*)"/.exec(error.message)?.[1];
  const kind = error.name === 'DeterminismViolationError' ? 'incompatible with the current workflow code' : error.name;
  return reason === undefined ? `${kind}: ${error.message}` : `${kind}: ${reason.replace(/\\"/g, '"')}`;
}

/** webpack's progress and warnings would bury the report; errors still show. */
const quietBundler = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error: (message: string) => process.stderr.write(`bundling the workflows: ${message}\n`),
};
