/**
 * The agents a worker runs, by name. Conversations name their agent; a worker answers only for the agents in
 * its registry (`loadAgent` fails an unknown one for good).
 */
import { ConfigError } from '../errors';
import { createAssistant, type AssistantConfig } from './assistant';
import type { Agent } from './define-agent';

export class AgentRegistry {
  private readonly agents = new Map<string, Agent>();

  constructor(agents: Iterable<Agent> = []) {
    for (const agent of agents) this.add(agent);
  }

  /** @throws ConfigError when an agent of that name is already registered: two agents cannot share conversations. */
  add(agent: Agent): this {
    if (this.agents.has(agent.name)) {
      throw new ConfigError([`agent "${agent.name}" is registered twice; agent names must be unique on a worker`]);
    }
    this.agents.set(agent.name, agent);
    return this;
  }

  get(name: string): Agent | undefined {
    return this.agents.get(name);
  }

  /**
   * Every handoff to, or agent tool of, an agent this registry lacks: a conversation handed to it, or started for
   * it, would find no worker to answer.
   *
   * @throws ConfigError listing each one.
   */
  checkHandoffs(): void {
    const serves = `(serves: ${[...this.agents.keys()].join(', ')})`;
    const problems = this.list().flatMap((agent) => [
      ...(agent.handoffs ?? [])
        .filter((target) => !this.agents.has(target))
        .map(
          (target) =>
            `agent "${agent.name}" hands off to agent "${target}", which this worker does not serve ${serves}`,
        ),
      ...(agent.agentTools ?? [])
        .filter((target) => !this.agents.has(target))
        .map(
          (target) =>
            `agent "${agent.name}" calls agent "${target}" as a tool, which this worker does not serve ${serves}`,
        ),
    ]);
    if (problems.length > 0) throw new ConfigError(problems);
  }

  /** The registered agents, in the order they were added. */
  list(): Agent[] {
    return [...this.agents.values()];
  }
}

/**
 * The agents `npm run worker` serves: the shipped assistant, with its model and fetchable hosts from config.
 *
 * @throws ConfigError when the config makes an invalid agent.
 */
export function defaultAgents(config: AssistantConfig): AgentRegistry {
  return new AgentRegistry([createAssistant(config)]);
}
