/**
 * `vigil dev`: everything needed to talk to an agent on one machine, in one process. Temporal is the one at
 * TEMPORAL_ADDRESS, or one that dev starts (see ../dev/dev-temporal.ts); the model is the one configured, or
 * the offline demo model when none is; then the HTTP gateway and a worker for the shipped agents run until
 * Ctrl-C. On Ctrl-C the gateway stops taking requests and finishes those in flight (the worker still answers
 * them), the worker lets running activities finish, and what dev started is stopped in reverse order.
 *
 * The content store is the configured one (files under .vigil/data by default), not a temporary folder, although
 * the in-process Temporal forgets its histories: `vigil send`, `inspect` and `credits` run from another terminal
 * read that same store, and a Temporal at TEMPORAL_ADDRESS keeps histories whose claims must stay readable. Entries
 * are content-addressed and never rewritten, so nothing in it goes stale; runs only leave unreferenced entries.
 */
import { type Command, Option } from 'commander';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ASSISTANT_NAME } from '../../agents/assistant';
import { defaultAgents } from '../../agents/registry';
import { loadAppConfig } from '../../app-config';
import { OPENAI_DEFAULT_BASE_URL, type Config } from '../../config';
import { DEMO_MODEL_NAME, modelUnconfigured, startDemoModel, withDemoModel } from '../../demo-model';
import { createLogger, type Logger } from '../../logger';
import { DEFAULT_TASK_QUEUE } from '../../conversation/protocol';
import { VIGIL_SEARCH_ATTRIBUTES, type VigilSearchAttributeName } from '../../search-attributes';
import { installRuntimeLogger } from '../../workers/worker';
import { startDevGateway, type DevGateway } from '../dev/dev-gateway';
import { missingSearchAttributes, StartCancelled, startDevTemporal, type DevTemporal } from '../dev/dev-temporal';
import { parsePort } from '../parse';
import { runWorker } from '../run-worker';
import { applyGlobalOptions, gatewayConfig, globalOptions, workerConfig } from '../settings';
import { stopOnSignals } from '../shutdown';

interface DevOptions {
  port: number;
  uiPort?: number;
  gateway: boolean;
  gatewayPort?: number;
  config?: string;
}

const DEFAULT_TEMPORAL_PORT = 7233;

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run Temporal, the gateway, a worker and (without a model configured) a demo model, until Ctrl-C')
    .addOption(
      new Option(
        '-p, --port <port>',
        'port for the Temporal that dev starts (0 picks a free one; the default moves to a free one when taken)',
      )
        .env('VIGIL_DEV_TEMPORAL_PORT')
        .default(DEFAULT_TEMPORAL_PORT)
        .argParser(parsePort),
    )
    .addOption(
      new Option('--ui-port <port>', "Web UI port of the Temporal CLI's dev server (default: port + 1000)").argParser(
        parsePort,
      ),
    )
    .addOption(
      new Option(
        '--gateway-port <port>',
        'HTTP gateway port (overrides VIGIL_GATEWAY_PORT; default 8787, or a free port when 8787 is taken)',
      ).argParser(parsePort),
    )
    .option('--no-gateway', 'run without the HTTP gateway')
    .option(
      '--config <file>',
      "the app's config (default: vigil.config.ts, .mts, .js or .mjs here, else the shipped assistant)",
    )
    .addHelpText(
      'after',
      `
Temporal: the server at TEMPORAL_ADDRESS (or --address) when set. Otherwise \`temporal server start-dev\`
when the Temporal CLI is on PATH (with its Web UI), else Vigil's in-process server, whose state is in memory
only. Either way on 127.0.0.1:--port, with Vigil's search attributes registered.
Model: OPENAI_API_KEY / OPENAI_BASE_URL as for \`vigil worker\`. With neither set, an offline demo model
("${DEMO_MODEL_NAME}") answers: it calls the calculator for arithmetic and current_time for the time, and
otherwise says that it is the demo.
Agents: those of the app's config (--config, or vigil.config.{ts,mts,js,mjs} here), else the shipped assistant.
Gateway: the HTTP gateway of \`npm run gateway\`, with its VIGIL_GATEWAY_* settings.
Store: the content store of VIGIL_STORE and VIGIL_DATA_DIR, by default files under .vigil/data in the current
directory: the one \`vigil send\`, \`inspect\` and \`credits\` read when run from the same directory.
Ctrl-C stops it all, letting requests and activities in flight finish; a second Ctrl-C exits at once.
Exit codes: 0 after Ctrl-C, 1 when something fails, 2 for a bad command line or setting.

Examples:
  $ vigil dev
  $ vigil dev --port 0 --gateway-port 0              # any free ports; the addresses are printed
  $ OPENAI_API_KEY=sk-... VIGIL_MODEL=gpt-4o vigil dev
  $ TEMPORAL_ADDRESS=127.0.0.1:7233 vigil dev --no-gateway`,
    )
    .action(async (options: DevOptions, command: Command) => {
      await runDev(options, command);
    });
}

async function runDev(options: DevOptions, command: Command): Promise<void> {
  const say = (message: string) => process.stderr.write(`vigil dev: ${message}\n`);
  const globals = globalOptions(command);
  const env = applyGlobalOptions(globals);
  const gatewayPortIsExplicit = options.gatewayPort !== undefined || Boolean(env.VIGIL_GATEWAY_PORT);
  if (options.gatewayPort !== undefined) env.VIGIL_GATEWAY_PORT = String(options.gatewayPort);
  const useDemo = modelUnconfigured(env);
  const externalAddress = env.TEMPORAL_ADDRESS || undefined;

  // Before anything starts: a config that does not load is exit code 2 at once.
  const app = loadAppConfig({ cwd: process.cwd(), file: options.config });
  if (app)
    say(
      `agents ${app.agents
        .list()
        .map((a) => a.name)
        .join(', ')} from ${app.file}`,
    );
  const shutdown = stopOnSignals(say);
  const started: { close(): Promise<void> }[] = [];
  try {
    // The demo model first: its address is part of the configuration, checked before anything else starts.
    const demo = useDemo ? await startDemoModel() : undefined;
    if (demo) started.push(demo);
    const devEnv = demo ? withDemoModel(env, demo.baseURL) : env;
    let config = workerConfig(globals, devEnv);
    // The gateway's own refusals (no token beyond loopback) stop dev before anything starts.
    if (options.gateway) gatewayConfig(globals, devEnv);
    const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'vigil-dev' });
    installRuntimeLogger(logger, { shutdownSignals: [] });
    if (demo) {
      say(
        `no OPENAI_API_KEY or OPENAI_BASE_URL: replies come from the offline demo model "${DEMO_MODEL_NAME}" ` +
          `(${demo.baseURL}). It only does arithmetic and tells the time; set either variable for a real model.`,
      );
    }

    let temporal: DevTemporal | undefined;
    if (externalAddress === undefined) {
      temporal = await startDevTemporal({
        port: options.port,
        portIsExplicit: command.getOptionValueSource('port') !== 'default',
        uiPort: options.uiPort,
        namespace: config.temporal.namespace,
        dbFile: temporalDbFile(config),
        stop: shutdown.signal,
        say,
      });
      started.push(temporal);
      // loadConfig's default address stood in until now.
      config = { ...config, temporal: { ...config.temporal, address: temporal.address } };
    } else {
      say(`using Temporal at ${externalAddress}`);
      const missing = await missingSearchAttributes(externalAddress, config.temporal.namespace);
      if (missing.length > 0) {
        const names = missing.map(
          (name) => `--name ${name} --type ${VIGIL_SEARCH_ATTRIBUTES[name as VigilSearchAttributeName]}`,
        );
        say(
          `warning: namespace ${config.temporal.namespace} lacks Vigil's search attributes ${missing.join(', ')}; ` +
            'conversations cannot run until they are registered:\n' +
            `  temporal operator search-attribute create --address ${externalAddress} ` +
            `--namespace ${config.temporal.namespace} ${names.join(' ')}`,
        );
      }
    }

    // One registry for the worker, the gateway (which refuses other agents) and the banner's examples.
    const agents = app?.agents ?? defaultAgents(config);
    let gateway: DevGateway | undefined;
    if (options.gateway && !shutdown.signal.aborted) {
      gateway = await startDevGateway(config, logger, {
        agents: agents.list().map((agent) => agent.name),
        portIsExplicit: gatewayPortIsExplicit,
        say,
      });
      started.push(gateway);
    }

    // Stop on Ctrl-C, or when the Temporal that dev started goes away: the gateway first, while the worker
    // still answers the requests in flight, then the worker.
    const stopWorker = new AbortController();
    let temporalFailure: Error | undefined;
    const stop = () => void stopInOrder(gateway, stopWorker, logger);
    shutdown.signal.addEventListener('abort', stop, { once: true });
    temporal?.exited.catch((error: unknown) => {
      temporalFailure = error instanceof Error ? error : new Error(String(error));
      stop();
    });
    if (shutdown.signal.aborted) stop();

    await runWorker({
      config,
      logger,
      agents,
      stop: stopWorker.signal,
      onRunning: () => process.stderr.write(banner(config, useDemo, temporal, gateway, agents.list()[0].name)),
    });
    if (temporalFailure !== undefined) throw temporalFailure;
  } catch (error) {
    // Ctrl-C while Temporal was starting: a stop the user asked for, not a failure.
    if (!(error instanceof StartCancelled)) throw error;
  } finally {
    for (const resource of started.reverse()) await resource.close();
    shutdown.dispose();
  }
  say('stopped');
}

async function stopInOrder(gateway: DevGateway | undefined, stopWorker: AbortController, logger: Logger) {
  if (stopWorker.signal.aborted) return;
  try {
    await gateway?.close();
  } catch (error) {
    logger.error({ err: error }, 'the gateway did not close cleanly');
  }
  stopWorker.abort();
}

function banner(
  config: Config,
  demo: boolean,
  temporal: DevTemporal | undefined,
  gateway: DevGateway | undefined,
  /** The agent the examples talk to: the app's first, else the shipped assistant. */
  agent: string,
): string {
  const { address, namespace, taskQueue } = config.temporal;
  // Only the host: a base URL may carry credentials (https://user:pass@host/).
  const provider = new URL(config.openai.baseURL ?? OPENAI_DEFAULT_BASE_URL).host;
  const model = demo ? `${DEMO_MODEL_NAME} (offline demo model)` : `${config.model} at ${provider}`;
  const target = [
    `--address ${address}`,
    ...(namespace !== 'default' ? [`--namespace ${namespace}`] : []),
    ...(taskQueue !== DEFAULT_TASK_QUEUE ? [`--task-queue ${taskQueue}`] : []),
  ].join(' ');
  const agentOption = agent === ASSISTANT_NAME ? '' : ` --agent ${agent}`;
  const lines = [
    '',
    'vigil dev: ready',
    `  Temporal  ${temporal?.description ?? address}`,
    ...(temporal?.uiURL ? [`  Web UI    ${temporal.uiURL}`] : []),
    `  Model     ${model}`,
    `  Worker    namespace ${namespace}, task queue ${taskQueue}`,
    `  Store     ${describeStore(config)}`,
    ...(gateway ? [`  Gateway   ${gateway.url}`] : []),
    '',
    'Send a message from another terminal:',
    `  npx vigil send ${target}${agentOption} user-1 "what is 17*23"`,
    ...(gateway ? [`  ${curlExample(gateway.url, agent, config.gateway.token !== undefined)}`] : []),
    'and read the conversation:',
    `  npx vigil inspect ${target}${agentOption} user-1`,
    'Ctrl-C stops.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** Beside the content store, whose entries the histories refer to: the two are kept, or removed, together. */
function temporalDbFile(config: Config): string {
  const dir = config.store.kind === 'file' ? resolve(config.store.dataDir) : resolve('.vigil');
  mkdirSync(dir, { recursive: true });
  return join(dir, 'temporal-dev.db');
}

/** Where large payloads and credits live; a PostgreSQL URL holds a password, so only the kind is said. */
function describeStore(config: Config): string {
  return config.store.kind === 'file'
    ? `files under ${resolve(config.store.dataDir)}`
    : 'PostgreSQL (VIGIL_STORE_POSTGRES_URL)';
}

function curlExample(url: string, agent: string, needsToken: boolean): string {
  // The token is named, never printed.
  const auth = needsToken ? ` -H "authorization: Bearer $VIGIL_GATEWAY_TOKEN"` : '';
  return (
    `curl -s ${url}/v1/agents/${agent}/conversations/user-1/messages${auth} ` +
    `-H 'content-type: application/json' -d '{"content":"what is 17*23"}'`
  );
}
