/**
 * An app's agents, end to end, in a test: a Temporal (the in-process server, or TEMPORAL_TEST_ADDRESS), a scripted
 * OpenAI-compatible model on 127.0.0.1, a content store in a temporary folder, and a real Vigil worker running the
 * agents' turns and tools against that model. What the test sees is what a user would: replies, transcripts,
 * state, and the requests the model received.
 *
 * @example
 * const t = await startAgentTest({ agents: [helper] });
 * t.model.script({ toolCalls: [{ name: 'word_count', arguments: '{"text":"a b"}' }] }, { content: 'Two words.' });
 * const reply = await t.conversation('helper').send('How many words in "a b"?');
 * assert.equal(reply.content, 'Two words.');
 * await t.close();
 */
import type { WorkflowBundleOption } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../agents/define-agent';
import { AgentRegistry } from '../agents/registry';
import { AgentClient, type EventsOptions, type MessageInput, type SendOptions } from '../client';
import { loadConfig, type LogLevel } from '../config';
import { createLogger } from '../logger';
import { McpConnections } from '../tools/mcp-connections';
import { ConfigError } from '../errors';
import type {
  ConversationEventEnvelope,
  ConversationView,
  Decision,
  Reply,
  TranscriptPage,
  TranscriptPageRequest,
} from '../conversation/protocol';
import { FileContentStore } from '../store';
import { createVigilClient } from '../store/data-converter';
import { createVigilWorker, installRuntimeLogger, type VigilWorker } from '../workers/worker';
import { startScriptedModel, type ScriptedModel } from './scripted-model';
import { createTemporalTestEnv, type TemporalTestEnv } from './temporal-env';

export interface AgentTestOptions {
  /** The agents the worker serves, e.g. `config.agents` of the app's vigil.config.ts. */
  agents: readonly Agent[];
  /**
   * More settings, as the environment variables `vigil worker` reads (VIGIL_PRICES, VIGIL_WEBHOOK_SECRET, ...).
   * Those that place the test (Temporal, model, store, task queue) are the test's own and may not be set here.
   */
  settings?: Readonly<Record<string, string>>;
  /** A running Temporal (host:port) instead of the in-process server or TEMPORAL_TEST_ADDRESS. */
  temporalAddress?: string;
  /** The worker's log level; default `error`, so that a test's output shows only what went wrong. */
  logLevel?: LogLevel;
  /** A bundle from `bundleWorkflowCode` shared by several tests; default: the worker bundles Vigil's workflows. */
  workflowBundle?: WorkflowBundleOption;
  /**
   * The secrets agents' MCP servers name (`{ secret: 'NAME' }`), by name; a name not here is read from the
   * environment, as `vigil worker` reads them all.
   */
  mcpSecrets?: Readonly<Record<string, string>>;
}

/** One conversation with one agent, with the client's calls bound to it. */
export interface TestConversation {
  readonly agent: string;
  readonly id: string;
  /** Sends a message (its text, or a whole protocol message) and resolves with the turn's reply. */
  send(message: MessageInput, options?: SendOptions): Promise<Reply>;
  transcript(page?: TranscriptPageRequest): Promise<TranscriptPage>;
  state(): Promise<ConversationView>;
  /** Starts the conversation without a message (idempotent): to watch its `events` from the first one. */
  open(): Promise<void>;
  /** What happens in the conversation as it happens: turns, tool calls, approvals asked for, replies. */
  events(options?: EventsOptions): AsyncGenerator<ConversationEventEnvelope>;
  /** Approves or rejects a tool call that waits for approval. */
  decide(decision: Decision): Promise<void>;
  end(): Promise<void>;
}

export interface AgentTest {
  /** The model the agents talk to: script its answers, read the requests it got. */
  model: ScriptedModel;
  /** A client of the worker's conversations, over its content store. */
  client: AgentClient;
  /** The Temporal the test runs on, with a client (`env.client`) for anything else. */
  env: TemporalTestEnv;
  /** The worker's content store: transcripts and large payloads. */
  store: FileContentStore;
  /** A conversation with `agent`; a new random id when `id` is absent. */
  conversation(agent: string, id?: string): TestConversation;
  /** Stops the worker, the model and the Temporal, and removes the store's folder. */
  close(): Promise<void>;
}

/** Settings that say where the test's parts are; the test chooses them. */
const PLACED_BY_THE_TEST = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'VIGIL_TASK_QUEUE',
  'OPENAI_BASE_URL',
  'OPENAI_API_KEY',
  'VIGIL_STORE',
  'VIGIL_DATA_DIR',
  'VIGIL_STORE_POSTGRES_URL',
];

export async function startAgentTest(options: AgentTestOptions): Promise<AgentTest> {
  const settings = options.settings ?? {};
  const placed = PLACED_BY_THE_TEST.filter((name) => name in settings);
  if (placed.length > 0) {
    throw new ConfigError(placed.map((name) => `${name} is set by startAgentTest itself; leave it out of settings`));
  }
  const agents = new AgentRegistry([...options.agents]);
  const logger = createLogger({ level: options.logLevel ?? 'error', name: 'vigil-test' });
  // Before the first connection, which would install the SDK's default runtime, logging at INFO to the console.
  installRuntimeLogger(logger);

  // Started in order, stopped in reverse, whatever the point of failure.
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-agent-test-'));
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const model = await startScriptedModel();
    stops.push(() => model.close());

    const env = await createTemporalTestEnv({
      ...(options.temporalAddress ? { address: options.temporalAddress } : {}),
    });
    stops.push(() => env.teardown());
    const config = loadConfig({
      ...settings,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: env.namespace,
      // Its own queue, so tests sharing a Temporal never take each other's turns.
      VIGIL_TASK_QUEUE: `vigil-test-${randomUUID()}`,
      OPENAI_BASE_URL: model.baseURL,
      OPENAI_API_KEY: 'sk-vigil-test',
      VIGIL_STORE: 'file',
      VIGIL_DATA_DIR: dataDir,
    });
    const store = new FileContentStore({ dataDir });
    stops.push(() => store.close());

    const secrets = options.mcpSecrets ?? {};
    const mcpConnections = new McpConnections({ secret: (name) => secrets[name] ?? process.env[name], logger });
    stops.push(() => mcpConnections.close());

    const worker: VigilWorker = await createVigilWorker({
      config,
      agents,
      connection: env.nativeConnection,
      store,
      logger,
      mcpConnections,
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });

    // The test's own client reads large payloads and older transcript entries as the worker writes them.
    const client = new AgentClient({
      client: createVigilClient({
        connection: env.connection,
        namespace: env.namespace,
        store,
        payloadThresholdBytes: config.store.payloadThresholdBytes,
      }),
      taskQueue: config.temporal.taskQueue,
      store,
      // A misspelt agent is an UnknownAgentError in the test, not a turn that ends in an error reply.
      agents: agents.list().map((agent) => agent.name),
    });

    return {
      model,
      client,
      env,
      store,
      conversation: (agent, id = `test-${randomUUID()}`) => ({
        agent,
        id,
        send: (message, sendOptions) => client.send(agent, id, message, sendOptions),
        transcript: (page) => client.transcript(agent, id, page),
        state: () => client.state(agent, id),
        open: () => client.open(agent, id),
        events: (eventsOptions) => client.events(agent, id, eventsOptions),
        decide: (decision) => client.decide(agent, id, decision),
        end: () => client.end(agent, id),
      }),
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
