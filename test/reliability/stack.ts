/**
 * One deployment of Vigil as a team runs it, for one Temporal server: `vigil worker` serving the suite's app
 * (fixture/vigil.config.ts) and `vigil gateway`, each a process of its own; the content store in PostgreSQL; the
 * model a scripted OpenAI-compatible server and the webhook a receiver that applies each idempotency key once
 * (both at the edge of the machine, in this process). Every secret is set, random for the run, so the secrets
 * part can look for each of them in everything the run produced.
 */
import { Connection, type Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AgentClient, createContentStore, createVigilClient, type ContentStore } from '../../src/client';
import { startScriptedModel, type ScriptedModel } from '../../src/testing/scripted-model';
import { freePort } from '../../src/testing/temporal-cli';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { startWebhookReceiver } from '../helpers/webhook-receiver';
import { VigilProcess } from './processes';
import type { Backend } from './temporal-backends';

export const AGENT = 'storm';
const WORKER_READY = /"msg":"worker running"/;
const GATEWAY_READY = /"msg":"gateway listening"/;

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

export interface Stack {
  backend: Backend;
  runDir: string;
  model: ScriptedModel;
  receiver: WebhookReceiver;
  worker: VigilProcess;
  gateway: VigilProcess;
  gatewayURL: string;
  /** The secrets every process was given: none may appear in a history, a log or an answer. */
  secrets: Record<string, string>;
  /** Settings a process of the deployment takes (the CLI's, for one). */
  env: NodeJS.ProcessEnv;
  store: ContentStore;
  connection: Connection;
  /** A Temporal client as the deployment's (payloads through the store). */
  client: Client;
  agents: AgentClient;
  /** Headers every gateway request sends. */
  auth: Record<string, string>;
  /** Starts the worker (again) and resolves once it polls. */
  startWorker(): Promise<void>;
  startGateway(): Promise<void>;
  close(): Promise<void>;
}

/** A secret of the run: random, so no figure can pass by a value that happens to be absent. */
function secret(prefix: string): string {
  return `${prefix}${randomBytes(18).toString('base64url')}`;
}

export async function startStack(backend: Backend, runDir: string): Promise<Stack> {
  mkdirSync(runDir, { recursive: true });
  const postgres: TestPostgres = await startPostgres();
  const storeURL = await postgres.createDatabase('vigil_reliability');
  const model = await startScriptedModel();
  const webhookSecret = secret('whsec_');
  const receiver = await startWebhookReceiver(webhookSecret);
  const gatewayPort = await freePort();
  const secrets = {
    OPENAI_API_KEY: secret('sk-rel-'),
    VIGIL_WEBHOOK_SECRET: webhookSecret,
    VIGIL_GATEWAY_TOKEN: secret('gw-'),
    VIGIL_WEBHOOK_IN_SECRET: secret('whin-'),
    VIGIL_STORE_POSTGRES_URL: storeURL,
    // The URL's password on its own: a log that took the URL apart would still give it away.
    postgresPassword: postgres.password,
  };
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TEMPORAL_|OPENAI_|VIGIL_)/.test(key))),
    TEMPORAL_ADDRESS: backend.address,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: secrets.OPENAI_API_KEY,
    VIGIL_WEBHOOK_SECRET: secrets.VIGIL_WEBHOOK_SECRET,
    VIGIL_GATEWAY_TOKEN: secrets.VIGIL_GATEWAY_TOKEN,
    VIGIL_GATEWAY_PORT: String(gatewayPort),
    VIGIL_WEBHOOK_IN_SECRET: secrets.VIGIL_WEBHOOK_IN_SECRET,
    VIGIL_WEBHOOK_IN_AGENTS: AGENT,
    VIGIL_STORE: 'postgres',
    VIGIL_STORE_POSTGRES_URL: storeURL,
    VIGIL_LOG_FORMAT: 'json',
    VIGIL_LOG_LEVEL: 'info',
    // The load part reads the worker's memory from its log.
    VIGIL_MEMORY_LOG_SECONDS: '10',
  };
  const worker = new VigilProcess(
    'worker',
    ['worker', '--config', join(__dirname, 'fixture', 'vigil.config.ts')],
    env,
    join(runDir, 'worker.log'),
  );
  const gateway = new VigilProcess('gateway', ['gateway'], env, join(runDir, 'gateway.log'));
  const store = createContentStore({ kind: 'postgres', url: storeURL, payloadThresholdBytes: 64 * 1024 });
  const connection = await Connection.connect({ address: backend.address });
  const client = createVigilClient({ connection, store });
  const agents = new AgentClient({ client, store });

  const stack: Stack = {
    backend,
    runDir,
    model,
    receiver,
    worker,
    gateway,
    gatewayURL: `http://127.0.0.1:${gatewayPort}/v1`,
    secrets,
    env,
    store,
    connection,
    client,
    agents,
    auth: { authorization: `Bearer ${secrets.VIGIL_GATEWAY_TOKEN}` },
    startWorker: async () => {
      await worker.start(WORKER_READY);
    },
    startGateway: async () => {
      await gateway.start(GATEWAY_READY);
    },
    close: async () => {
      await Promise.all([worker.stop(), gateway.stop()]);
      await connection.close();
      await store.close?.();
      await Promise.all([model.close(), receiver.close(), postgres.stop()]);
    },
  };
  await Promise.all([stack.startWorker(), stack.startGateway()]);
  return stack;
}
