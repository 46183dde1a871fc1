import './quiet-runtime';
import { workerIdentity } from '../../src/workers/worker-identity';
import { Worker } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities, type ActivityDeps } from '../../src/activities';
import { createOpenAIClient } from '../../src/activities/model';
import type { Agent } from '../../src/agents/define-agent';
import { AgentRegistry } from '../../src/agents/registry';
import { createLogChannel, createWebhookChannel } from '../../src/channels';
import { AgentClient } from '../../src/client';
import { FileContentStore } from '../../src/store';
import { vigilDataConverter } from '../../src/store/data-converter';
import { WORKER_TUNING } from '../../src/workers/worker';
import { createTemporalTestEnv, TemporalTestEnv, type TemporalTestEnvOptions } from '../../src/testing/temporal-env';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { ScriptedModel, startScriptedModel } from '../../src/testing/scripted-model';
import { startWebhookReceiver } from './webhook-receiver';
import { uniqueTaskQueue } from './worker';

export const WEBHOOK_SECRET = 'test-webhook-secret';

export interface ConversationFixture {
  env: TemporalTestEnv;
  model: ScriptedModel;
  hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  client: AgentClient;
  taskQueue: string;
  /** Replies the log channel wrote. */
  logged: Record<string, unknown>[];
  /** The content store of the worker (transcripts, large payloads) and `client` (a temporary folder, removed by `close()`). */
  store: FileContentStore;
  /** The folder of `store` (VIGIL_DATA_DIR), for a CLI command that must read what the worker stored. */
  dataDir: string;
  /**
   * Stops the running worker (as a deploy or crash would) and starts a fresh one on the same task queue, defining
   * `agents` when given (a deploy that changed them), else the same agents as before.
   */
  restartWorker(agents?: Agent[]): Promise<void>;
  /** Stops the worker, leaving the task queue without one until `startWorker()`. */
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
}

export interface ConversationHarnessOptions extends Pick<
  ActivityDeps,
  'prices' | 'paymentVerifiers' | 'streamDeltas' | 'mcpConnections'
> {
  /** Payloads this large or larger go to the content store; default the deployment default (64 KiB). */
  payloadThresholdBytes?: number;
  /** Server settings (limits, continue-as-new advice): the harness then always gets its own in-process server. */
  dynamicConfig?: TemporalTestEnvOptions['dynamicConfig'];
  /** A Temporal the test started itself (host:port), instead of the test run's. */
  temporalAddress?: string;
}

/**
 * One Temporal, one scripted model, one webhook receiver, one content store and one real Vigil worker (the real
 * activities over the real openai client), with `client` and `env.client` using the worker's data converter, as
 * every Vigil client does. `close()` stops it all.
 */
export async function startConversationHarness(
  agents: Agent[],
  options: ConversationHarnessOptions = {},
): Promise<ConversationFixture & { close(): Promise<void> }> {
  const fx = { logged: [] as Record<string, unknown>[] } as ConversationFixture & { close(): Promise<void> };
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let defined = agents;
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-conversations-'));
  fx.store = new FileContentStore({ dataDir });
  fx.dataDir = dataDir;
  const dataConverter = vigilDataConverter(fx.store, { payloadThresholdBytes: options.payloadThresholdBytes });

  const startWorker = async () => {
    const activities = createActivities({
      agents: new AgentRegistry(defined),
      openai: createOpenAIClient({ baseURL: fx.model.baseURL, apiKey: 'sk-test-key' }),
      channels: [
        createWebhookChannel({ secret: WEBHOOK_SECRET, timeoutMs: 5_000 }),
        createLogChannel({ info: (obj) => fx.logged.push(obj) }),
      ],
      prices: options.prices,
      paymentVerifiers: options.paymentVerifiers,
      streamDeltas: options.streamDeltas,
      store: fx.store,
      mcpConnections: options.mcpConnections,
    });
    worker = await Worker.create({
      connection: fx.env.nativeConnection,
      namespace: fx.env.namespace,
      taskQueue: fx.taskQueue,
      // As createVigilWorker's: it names the agents, for clients that ask the workers which they serve.
      identity: workerIdentity(defined.map((agent) => agent.name)),
      workflowBundle: { codePath: process.env.VIGIL_WORKFLOW_BUNDLE! },
      activities,
      dataConverter,
      ...WORKER_TUNING,
    });
    running = worker.run();
  };
  const stopWorker = async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
  };

  fx.env = await createTemporalTestEnv({
    dataConverter,
    ...(options.dynamicConfig ? { dynamicConfig: options.dynamicConfig } : {}),
    ...(options.temporalAddress ? { address: options.temporalAddress } : {}),
  });
  fx.model = await startScriptedModel();
  fx.hook = await startWebhookReceiver(WEBHOOK_SECRET);
  fx.taskQueue = uniqueTaskQueue('conversation');
  fx.client = new AgentClient({ client: fx.env.client, taskQueue: fx.taskQueue, store: fx.store });
  fx.restartWorker = async (changed) => {
    await stopWorker();
    if (changed) defined = changed;
    await startWorker();
  };
  fx.stopWorker = stopWorker;
  fx.startWorker = startWorker;
  fx.close = async () => {
    await stopWorker();
    await fx.model.close();
    await fx.hook.close();
    await fx.env.teardown();
    await fx.store.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  await startWorker();
  return fx;
}

/** The harness for a jest test file: started before its tests, stopped after. */
export function useConversations(agents: Agent[], options: ConversationHarnessOptions = {}): ConversationFixture {
  const fx = {} as ConversationFixture;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const harness = await startConversationHarness(agents, options);
    close = harness.close;
    Object.assign(fx, harness);
  });
  afterAll(async () => {
    await close?.();
  });
  return fx;
}

export const newId = (prefix = 'c') => `${prefix}-${randomUUID()}`;

/**
 * Whether Temporal has any run of the conversation's workflow, asked with describe (consistent, unlike listing,
 * and it starts nothing): a refused message must leave no trace.
 */
export async function conversationStarted(
  fx: ConversationFixture,
  agent: string,
  conversationId: string,
): Promise<boolean> {
  try {
    await fx.env.client.workflow.getHandle(conversationWorkflowId(agent, conversationId)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
