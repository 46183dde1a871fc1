/**
 * An app's Vigil config: the agents `vigil dev` and `vigil worker` serve, written in the app's own code.
 *
 * @example
 * // vigil.config.ts, in the app's folder
 * import { defineAgent, defineConfig } from 'vigil';
 * import { lookupOrder } from './tools/orders';
 *
 * export default defineConfig({
 *   agents: [defineAgent({ name: 'support', instructions: 'Help with orders.', model: 'gpt-4o-mini', tools: [lookupOrder] })],
 * });
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Agent } from './agents/define-agent';
import { AgentRegistry } from './agents/registry';
import { ConfigError } from './errors';

export interface VigilAppConfig {
  /** The agents the app's workers serve; at least one, each name once. */
  agents: Agent[];
}

/** Types the config file's default export; returns it as it is (the CLI checks it when it loads). */
export function defineConfig(config: VigilAppConfig): VigilAppConfig {
  return config;
}

/** The names looked for in the current folder, in this order, when no `--config` is given. */
export const CONFIG_FILE_NAMES = [
  'vigil.config.ts',
  'vigil.config.mts',
  'vigil.config.js',
  'vigil.config.mjs',
] as const;

export interface LoadedAppConfig {
  /** The file the agents came from, absolute. */
  file: string;
  agents: AgentRegistry;
}

/**
 * Loads the app's config: `file` when given, else the first of CONFIG_FILE_NAMES in `cwd`; undefined when there
 * is none (the CLI then serves the shipped assistant). TypeScript loads without a build step (tsx), and the
 * config may import the app's own modules and dependencies, resolved from its folder.
 *
 * @throws ConfigError naming the file and what is wrong: it is missing, fails to load, or its default export
 *   is not a config with at least one agent and unique agent names.
 */
export function loadAppConfig(options: { cwd: string; file?: string }): LoadedAppConfig | undefined {
  const file = options.file !== undefined ? resolve(options.cwd, options.file) : findConfigFile(options.cwd);
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new ConfigError([`${file}: no such config file`]);
  let loaded: unknown;
  try {
    // Required here, not imported at the top: tsx's loader is only needed when an app has a config. Its CommonJS
    // loader, because the CLI is CommonJS (tsx 4.23's tsImport fails from CommonJS on Node 20): ESM syntax and
    // TypeScript are compiled as they load, so `import` in the config works for any dependency that can be
    // required (on Node 20 not one that is ESM only).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tsx = require('tsx/cjs/api') as typeof import('tsx/cjs/api');
    loaded = tsx.require(file, resolve(options.cwd, 'vigil.config'));
  } catch (error) {
    const reason =
      error instanceof Error ? error.message.split('\n').filter(Boolean).slice(0, 4).join(' ') : String(error);
    throw new ConfigError([`${file} could not be loaded: ${reason}`]);
  }
  return { file, agents: agentsOf(file, defaultExport(loaded)) };
}

function findConfigFile(cwd: string): string | undefined {
  return CONFIG_FILE_NAMES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
}

/**
 * The config a module exports: its default export (ESM syntax, which tsx compiles to CommonJS with `__esModule`),
 * or, for a CommonJS file, `module.exports` itself.
 */
function defaultExport(module: unknown): unknown {
  if (module === null || typeof module !== 'object') return undefined;
  const exported = module as { __esModule?: boolean; default?: unknown };
  return exported.__esModule || 'default' in exported ? exported.default : module;
}

function agentsOf(file: string, config: unknown): AgentRegistry {
  const problem = (text: string) => new ConfigError([`${file}: ${text}`]);
  if (config === undefined)
    throw problem('it has no default export; write `export default defineConfig({ agents: [...] })`');
  const agents = (config as { agents?: unknown } | null)?.agents;
  if (!Array.isArray(agents) || agents.length === 0)
    throw problem('its config defines no agent; `agents` must list at least one (defineAgent)');
  agents.forEach((agent: unknown, i) => {
    const made = agent as Partial<Agent> | null;
    if (typeof made?.name !== 'string' || typeof made.spec !== 'function') {
      throw problem(`agents[${i}] is not an agent made by defineAgent`);
    }
  });
  try {
    return new AgentRegistry(agents as Agent[]);
  } catch (error) {
    throw error instanceof ConfigError ? new ConfigError(error.problems.map((p) => `${file}: ${p}`)) : error;
  }
}
