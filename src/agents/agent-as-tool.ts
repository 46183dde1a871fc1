/**
 * An agent as a tool of another: the model calls it with `{ input }`, and the call runs as a conversation of that
 * agent of its own (a child workflow, with its own transcript and approvals), whose reply is the tool's result.
 */
import { z } from 'zod';
import { ConfigError } from '../errors';
import { AgentName } from '../conversation/protocol';
import type { Agent } from './define-agent';

export interface AgentAsTool {
  readonly kind: 'agent-as-tool';
  /** The agent that answers the call. */
  readonly agent: string;
  /** The tool's name, as the model calls it. */
  readonly name: string;
  readonly description: string;
}

export interface AgentAsToolOptions {
  /** Default: the agent's name, in tool-name letters (`a-z A-Z 0-9 _ -`). */
  name?: string;
  /** Tells the model when to ask the agent. Default: that it asks that agent and gets its answer. */
  description?: string;
}

const Options = z
  .object({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'use letters, digits, _ and - only, at most 64 (the OpenAI function-name rule)')
      .optional(),
    description: z.string().trim().min(1, 'must not be empty').max(1_000).optional(),
  })
  .strict();

/**
 * Offers `agent` to another agent's model as a tool (put it in that agent's `tools`, alone or as
 * `{ tool, approval }`). Each call is a conversation of `agent` of its own: one message (the model's `input`), its
 * reply the tool's result; its usage and cost count in the calling conversation too. The worker must serve `agent`.
 *
 * @example
 * const researcher = defineAgent({ name: 'researcher', instructions: 'Find facts.', model: 'gpt-4o', tools: [httpFetch] });
 * const writer = defineAgent({
 *   name: 'writer',
 *   instructions: 'Write the answer; ask the researcher for facts.',
 *   model: 'gpt-4o-mini',
 *   tools: [agentAsTool(researcher, { description: 'Finds facts on the web.' })],
 * });
 *
 * @throws ConfigError for a bad agent, name or description.
 */
export function agentAsTool(agent: Agent | string, options: AgentAsToolOptions = {}): AgentAsTool {
  const name = typeof agent === 'string' ? agent : agent?.name;
  const parsedName = AgentName.safeParse(name);
  const parsed = Options.safeParse(options);
  const problems = [
    ...(parsedName.success ? [] : ['agentAsTool: must be given an agent from defineAgent(), or an agent name']),
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => `agentAsTool: ${issue.path.join('.') || 'options'}: ${issue.message}`)),
  ];
  if (!parsedName.success || !parsed.success) throw new ConfigError(problems);
  const target = parsedName.data;
  return {
    kind: 'agent-as-tool',
    agent: target,
    name: parsed.data.name ?? target.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64),
    description:
      parsed.data.description ?? `Asks the agent "${target}" and returns its answer. Give it a whole message as input.`,
  };
}

export function isAgentAsTool(value: unknown): value is AgentAsTool {
  return typeof value === 'object' && value !== null && (value as AgentAsTool).kind === 'agent-as-tool';
}
