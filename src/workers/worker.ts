/**
 * A Vigil worker: the conversation workflow and its activities on one task queue, built from the config.
 * `npm run worker` (`vigil worker`) runs one; apps and tests build their own with different agents or activities.
 */
import { IllegalStateError } from '@temporalio/common';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from './workflow-bundle';
import {
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleOption,
} from '@temporalio/worker';
// Internal to the SDK: a connection of this class is owned by its worker, which closes it on shutdown.
import { InternalNativeConnection } from '@temporalio/worker/lib/connection';
import { createActivities } from '../activities';
import { McpConnections } from '../tools/mcp-connections';
import { createOpenAIClient } from '../activities/model';
import type { ConversationActivities } from '../conversation/activity-contract';
import { defaultAgents, type AgentRegistry } from '../agents/registry';
import { createLogChannel } from '../channels/log';
import type { OutputChannel } from '../channels/output-channel';
import { createWebhookChannel } from '../channels/webhook';
import { OPENAI_DEFAULT_BASE_URL, type Config, type LogLevel } from '../config';
import { createLogger, temporalLogger, type Logger } from '../logger';
import { createPaymentVerifiers, type PaymentVerifier } from '../payments';
import type { ContentStore } from '../store/content-store';
import { createContentStore } from '../store/create-content-store';
import { vigilDataConverter } from '../store/data-converter';
import { workerIdentity } from './worker-identity';
import { priceTable } from '../pricing/price-table';

export interface VigilWorkerOptions {
  config: Config;
  /** Default: `defaultAgents(config)`, the shipped assistant. */
  agents?: AgentRegistry;
  /**
   * Default: a connection to `config.temporal.address` that the worker owns and closes when it shuts down.
   * A connection passed in stays the caller's to close, after the worker has stopped.
   */
  connection?: NativeConnection;
  /** Replaces single activities, e.g. a scripted `callModel` in a test. */
  activities?: Partial<ConversationActivities>;
  /** A bundle from `bundleWorkflowCode`; default: bundle src/workflows at startup. */
  workflowBundle?: WorkflowBundleOption;
  /** Default: a pino logger at `config.logLevel`. */
  logger?: Logger;
  /**
   * Where contents and large payloads go. Default: `createContentStore(config.store)`, closed when `run()` has
   * returned. A store passed in stays the caller's to close.
   */
  store?: ContentStore;
  /**
   * What agents' `pricing.verifier` may name. Default: `createPaymentVerifiers(config)` (credits, and the webhook
   * when configured), closed when `run()` has returned. Verifiers passed in stay the caller's.
   */
  paymentVerifiers?: PaymentVerifier[];
  /**
   * Connections to agents' MCP servers. Default: connections whose secrets are the worker's environment variables,
   * closed when `run()` has returned. Connections passed in (say, with secrets from a vault) stay the caller's.
   */
  mcpConnections?: McpConnections;
}

/** A Temporal worker with the resources Vigil opened for it, released once it has stopped. */
export interface VigilWorker {
  readonly worker: Worker;
  /** The content store its payloads go to: every client of its conversations needs one over the same data. */
  readonly store: ContentStore;
  /** Polls until `shutdown()`; then closes the store and verifiers this worker opened, and resolves. */
  run(): Promise<void>;
  /** Stops polling and lets running activities finish; `run()` resolves after. Safe to call at any time. */
  shutdown(): void;
}

/**
 * @example
 * const worker = await createVigilWorker({ config: loadConfig() });
 * await worker.run(); // until worker.shutdown()
 */
export async function createVigilWorker(options: VigilWorkerOptions): Promise<VigilWorker> {
  const { config } = options;
  const logger =
    options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat, name: 'vigil-worker' });
  installRuntimeLogger(logger);
  for (const warning of config.warnings) logger.warn(warning);

  // What this function opens, it closes: after the worker stops, or at once if it cannot be created.
  const owned: { close(): Promise<void> }[] = [];
  const release = async () => {
    for (const resource of owned.splice(0).reverse()) {
      await resource
        .close()
        .catch((error: unknown) => logger.error({ err: error }, 'closing a worker resource failed'));
    }
  };
  try {
    const store = options.store ?? createContentStore(config.store);
    if (!options.store) owned.push(store);
    let paymentVerifiers = options.paymentVerifiers;
    if (!paymentVerifiers) {
      const payments = createPaymentVerifiers(config);
      owned.push(payments);
      paymentVerifiers = payments.verifiers;
    }

    const agents = options.agents ?? defaultAgents(config);
    // Agents' MCP servers: their secrets are the worker's environment variables of the names the agents give.
    let mcpConnections = options.mcpConnections;
    if (!mcpConnections) {
      mcpConnections = new McpConnections({ logger: logger.child({ component: 'mcp' }) });
      owned.push(mcpConnections);
    }
    const activities = {
      ...createActivities({
        agents,
        openai: modelClient(config),
        channels: outputChannels(config, logger),
        logger,
        prices: priceTable(config.prices),
        paymentVerifiers,
        store,
        mcpConnections,
      }),
      ...options.activities,
    };
    // An InternalNativeConnection is the SDK's mark for "the worker closes it at shutdown"; until the worker
    // exists, it is ours to close.
    const ownConnection = options.connection
      ? null
      : await InternalNativeConnection.connect({ address: config.temporal.address });
    if (ownConnection) owned.push(ownConnection);

    const worker = await Worker.create({
      connection: ownConnection ?? options.connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      identity: workerIdentity(agents.list().map((agent) => agent.name)),
      ...(options.workflowBundle
        ? { workflowBundle: options.workflowBundle }
        : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: WORKFLOW_BUNDLER_OPTIONS }),
      activities,
      dataConverter: vigilDataConverter(store, config.store),
      ...WORKER_TUNING,
      ...(config.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: config.maxCachedWorkflows } : {}),
    });
    if (ownConnection) owned.splice(owned.indexOf(ownConnection), 1);
    return {
      worker,
      store,
      run: async () => {
        try {
          await worker.run();
        } finally {
          await release();
        }
      },
      shutdown: () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * How long one workflow activation may run, for workers and replay alike. A real server hands a worker every
 * signal buffered since the last workflow task in one activation (2,001 in one, under a burst, in our tests;
 * replay takes 4,500 in one), and each costs about 0.5 ms of sandbox time, mostly the SDK's promise stack
 * tracking. Past this bound Node's vm timeout does not fail the task: it crashes the whole worker process ("async
 * hook stack has become corrupted": nodejs/node#38503, sdk-typescript#939). The SDK's default of 5 s was reached
 * on a loaded 2-core machine. A run takes at most 10,000 signals (the server's limit), about 5 s on an idle 2-core
 * machine; 60 s leaves room for a slow one. The workflow code is Vigil's own, so the bound's other use, catching a
 * user's infinite loop, does not apply.
 */
export const ACTIVATION_TIMEOUT = { isolateExecutionTimeout: '60s' } as const;

/** Worker options every Vigil worker sets, tests' workers included. */
export const WORKER_TUNING = {
  // The worker forwards heartbeats at most this often. Cancelling a turn reaches its running model or tool
  // activity only in a heartbeat's answer, so the SDK's default (up to 30 s) would let a cancelled call run on.
  maxHeartbeatThrottleInterval: '1s',
  defaultHeartbeatThrottleInterval: '1s',
  ...ACTIVATION_TIMEOUT,
} as const;

function modelClient(config: Config) {
  return createOpenAIClient({
    baseURL: config.openai.baseURL ?? OPENAI_DEFAULT_BASE_URL,
    // The SDK refuses to build a client without a key; servers that need none (loadConfig allows that only
    // for a base URL other than OpenAI's) ignore the header.
    apiKey: config.openai.apiKey ?? 'no-key',
  });
}

/** The log channel always; the webhook channel when there is a secret to sign with. */
function outputChannels(config: Config, logger: Logger): OutputChannel[] {
  const channels = [createLogChannel(logger.child({ channel: 'log' }))];
  if (config.webhookSecret) {
    channels.push(
      createWebhookChannel({
        secret: config.webhookSecret,
        timeoutMs: 10_000,
        ...(config.webhookAllowHosts.length > 0 ? { allowHosts: config.webhookAllowHosts } : {}),
      }),
    );
  }
  return channels;
}

let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's own logs (worker, activities, workflows, and the Rust core) to the pino logger.
 * The SDK's Runtime is a process-wide singleton that can be installed once, and only before the first
 * connection or worker; later calls, and calls after someone else installed it (a test setup), change nothing.
 *
 * @param shutdownSignals Signals on which the SDK shuts every worker down itself; `[]` when the caller
 *   handles them (the CLI's stopOnSignals does). Default: the SDK's (SIGINT, SIGTERM, SIGQUIT, SIGUSR2).
 * @returns whether this call installed it.
 */
export function installRuntimeLogger(logger: Logger, options: { shutdownSignals?: NodeJS.Signals[] } = {}): boolean {
  if (runtimeInstalled) return false;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: temporalLogger(logger),
      ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
      telemetryOptions: {
        logging: {
          forward: {},
          filter: makeTelemetryFilterString({ core: CORE_LEVELS[logger.level as LogLevel] ?? 'WARN' }),
        },
      },
    });
    return true;
  } catch (error) {
    if (!(error instanceof IllegalStateError)) throw error;
    logger.debug('the Temporal runtime was installed before Vigil could route its logs; keeping it as it is');
    return false;
  }
}

const CORE_LEVELS = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
} as const satisfies Record<LogLevel, string>;
