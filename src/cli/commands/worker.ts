/** `vigil worker`: a Vigil worker for the app's agents (its vigil.config) or the shipped ones, as `npm run worker` runs it. */
import type { Command } from 'commander';
import { loadAppConfig } from '../../app-config';
import { DEMO_MODEL_NAME, modelUnconfigured, startDemoModel, withDemoModel } from '../../demo-model';
import { createLogger } from '../../logger';
import { installRuntimeLogger } from '../../workers/worker';
import { runWorker } from '../run-worker';
import { globalOptions, workerConfig } from '../settings';
import { stopOnSignals } from '../shutdown';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a Vigil worker against Temporal until Ctrl-C (what `npm run worker` runs)')
    .option(
      '--config <file>',
      "the app's config (default: vigil.config.ts, .mts, .js or .mjs here, else the shipped assistant)",
    )
    .option(
      '--demo-without-key',
      'with neither OPENAI_API_KEY nor OPENAI_BASE_URL set, answer with the offline demo model (as vigil dev does) instead of refusing to start',
    )
    .addHelpText(
      'after',
      `
Agents: those of the app's config, \`export default defineConfig({ agents: [...] })\` (TypeScript loads without a
build step), from --config or vigil.config.{ts,mts,js,mjs} in the current directory; with none, the shipped
assistant. A config that fails to load or defines no agent is exit code 2.
Settings come from the environment (TEMPORAL_*, OPENAI_*, VIGIL_*; see docs/07-operating.md),
with the global options over them. It waits for Temporal to answer, logs to stdout (VIGIL_LOG_FORMAT), and on
SIGINT or SIGTERM lets running activities finish before it exits (a second signal exits at once).
Exit codes: 0 after a clean shutdown, 1 when the worker fails, 2 for a bad setting (all problems listed).

Examples:
  $ OPENAI_API_KEY=sk-... vigil worker
  $ OPENAI_BASE_URL=http://localhost:11434/v1 VIGIL_MODEL=llama3.2 vigil worker --address 127.0.0.1:7233
  $ vigil worker --namespace prod --task-queue vigil-prod
  $ vigil worker --config src/vigil.config.ts
  $ vigil worker --demo-without-key                  # docker-compose.yml's worker: a whole stack with no key`,
    )
    .action(async (options: { config?: string; demoWithoutKey?: boolean }, command: Command) => {
      const globals = globalOptions(command);
      const demo = options.demoWithoutKey && modelUnconfigured(process.env) ? await startDemoModel() : undefined;
      try {
        const config = workerConfig(globals, demo ? withDemoModel(process.env, demo.baseURL) : process.env);
        const app = loadAppConfig({ cwd: process.cwd(), file: options.config });
        const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'vigil-worker' });
        // Before the first connection, which would install the SDK's default runtime; the signals are ours.
        installRuntimeLogger(logger, { shutdownSignals: [] });
        if (demo) {
          logger.warn(
            { model: DEMO_MODEL_NAME },
            'no OPENAI_API_KEY or OPENAI_BASE_URL: replies come from the offline demo model, which only does arithmetic and tells the time; set either variable for a real model',
          );
        }
        const shutdown = stopOnSignals((message) => logger.info(message));
        try {
          if (app) logger.info({ file: app.file }, 'agents from the app config');
          await runWorker({ config, logger, stop: shutdown.signal, ...(app ? { agents: app.agents } : {}) });
        } finally {
          shutdown.dispose();
        }
      } finally {
        await demo?.close();
      }
    });
}
