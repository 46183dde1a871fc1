/**
 * Configuration for the CLI's commands: the environment as src/config.ts's loaders read it, with the global
 * options `--address`, `--namespace` and `--task-queue` taking precedence over TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE and VIGIL_TASK_QUEUE. The options go through the loaders' own checks, so a bad value is
 * reported the same way whichever way it came, under the name the user typed.
 */
import type { Command } from 'commander';
import {
  loadConfig,
  loadGatewayConfig,
  loadTemporalSettings,
  type Config,
  type GatewayConfig,
  type TemporalSettings,
} from '../config';
import { ConfigError } from '../errors';

export type Env = Record<string, string | undefined>;

export interface GlobalOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

const OVERRIDES = [
  { option: 'address', flag: '--address', variable: 'TEMPORAL_ADDRESS' },
  { option: 'namespace', flag: '--namespace', variable: 'TEMPORAL_NAMESPACE' },
  { option: 'taskQueue', flag: '--task-queue', variable: 'VIGIL_TASK_QUEUE' },
] as const satisfies { option: keyof GlobalOptions; flag: string; variable: string }[];

/** The global options as given to this command, wherever they stood on the command line. */
export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** The environment with the global options written over it. */
export function applyGlobalOptions(options: GlobalOptions, env: Env = process.env): Env {
  const result = { ...env };
  for (const { option, variable } of OVERRIDES) {
    if (options[option] !== undefined) result[variable] = options[option];
  }
  return result;
}

/**
 * A worker's whole configuration.
 *
 * @throws ConfigError listing every problem; a problem with a value from an option names the option.
 */
export function workerConfig(options: GlobalOptions, env: Env = process.env): Config {
  return withOptionNames(options, () => loadConfig(applyGlobalOptions(options, env)));
}

/**
 * The gateway's configuration: Temporal, the store, logging and the listener.
 *
 * @throws ConfigError as workerConfig does.
 */
export function gatewayConfig(options: GlobalOptions, env: Env = process.env): GatewayConfig {
  return withOptionNames(options, () => loadGatewayConfig(applyGlobalOptions(options, env)));
}

/**
 * Only the Temporal settings, for commands that talk to conversations as a client (send, inspect, replay): they
 * need no model, and nothing else is read.
 *
 * @throws ConfigError for a bad address, namespace or task queue.
 */
export function temporalSettings(options: GlobalOptions, env: Env = process.env): TemporalSettings {
  return withOptionNames(options, () => loadTemporalSettings(applyGlobalOptions(options, env)));
}

/** The loaders name the variable; when the value came from an option, the option is what the user can fix. */
function withOptionNames<T>(options: GlobalOptions, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    let problems = error.problems;
    for (const { option, flag, variable } of OVERRIDES) {
      if (options[option] === undefined) continue;
      problems = problems.map((problem) =>
        problem.startsWith(`${variable} `) ? flag + problem.slice(variable.length) : problem,
      );
    }
    throw new ConfigError(problems);
  }
}
