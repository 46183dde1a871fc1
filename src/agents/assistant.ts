/**
 * The assistant Vigil ships: a general helper with the built-in tools. Its model and the hosts it may fetch
 * from come from the worker's config, so it is made by a function rather than being a constant.
 */
import type { Config } from '../config';
import { calculator } from '../tools/builtin/calculator';
import { currentTime } from '../tools/builtin/current-time';
import { createHttpFetchTool } from '../tools/builtin/http-fetch';
import { defineAgent, type Agent, type AgentTool } from './define-agent';

export const ASSISTANT_NAME = 'assistant';

export type AssistantConfig = Pick<Config, 'model' | 'httpAllowHosts'>;

const INSTRUCTIONS = [
  'You are a helpful assistant. Answer concisely and accurately.',
  'Use the calculator for any arithmetic instead of working it out yourself, and current_time whenever the',
  'date or time matters. When http_fetch is available, use it to read pages from the hosts it lists; a person',
  'approves each fetch first. If a tool reports an error, fix the call or explain the problem.',
].join(' ');

/**
 * The assistant's tools: current_time and calculator run at once; http_fetch waits for a person's approval,
 * and is left out when no host is allowed, since a tool that refuses every URL only misleads the model.
 */
export function assistantTools(config: Pick<AssistantConfig, 'httpAllowHosts'>): AgentTool[] {
  const tools: AgentTool[] = [currentTime, calculator];
  if (config.httpAllowHosts.length > 0) {
    tools.push({ tool: createHttpFetchTool({ allowHosts: config.httpAllowHosts }), approval: 'ask' });
  }
  return tools;
}

/** @throws ConfigError for a bad model name or allow-list entry. */
export function createAssistant(config: AssistantConfig): Agent {
  return defineAgent({
    name: ASSISTANT_NAME,
    instructions: INSTRUCTIONS,
    model: config.model,
    tools: assistantTools(config),
  });
}
