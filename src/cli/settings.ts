/**
 * Configuration for the CLI's commands: the environment as loadConfig reads it (src/config.ts), with the
 * global options `--address`, `--namespace` and `--task-queue` taking precedence over TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE and VIGIL_TASK_QUEUE. The options go through loadConfig's own checks, so a bad value is
 * reported the same way whichever way it came, under the name the user typed.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config';
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
  try {
    return loadConfig(applyGlobalOptions(options, env));
  } catch (error) {
    throw renamed(error, options);
  }
}

/**
 * Only the Temporal settings, for commands that talk to conversations as a client (send, inspect, replay):
 * they need no model, so the model settings are filled in for loadConfig rather than reported missing.
 *
 * @throws ConfigError for a bad address, namespace or task queue.
 */
export function temporalSettings(options: GlobalOptions, env: Env = process.env): Config['temporal'] {
  const temporalOnly: Env = {};
  for (const { variable } of OVERRIDES) temporalOnly[variable] = env[variable];
  // A placeholder for a server that needs no key: it is never called. Nothing else is read from env.
  temporalOnly.OPENAI_BASE_URL = 'http://model.invalid/v1';
  return workerConfig(options, temporalOnly).temporal;
}

/** loadConfig names the variable; when the value came from an option, the option is what the user can fix. */
function renamed(error: unknown, options: GlobalOptions): unknown {
  if (!(error instanceof ConfigError)) return error;
  let problems = error.problems;
  for (const { option, flag, variable } of OVERRIDES) {
    if (options[option] === undefined) continue;
    problems = problems.map((problem) => (problem.startsWith(`${variable} `) ? flag + problem.slice(variable.length) : problem));
  }
  return new ConfigError(problems);
}
