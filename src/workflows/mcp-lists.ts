/**
 * A turn's start, for an agent with MCP servers: the lists that are missing or older than their TTL are fetched
 * (each by an activity, so history records them and replay never asks a server again), and the turn gets the agent
 * with the recorded lists' tools. A list changes only between turns: within one, an agent's servers are listed
 * only when it first answers (at the turn's start, or right after a handoff to it).
 */
import { ActivityFailure, isCancellation, log } from '@temporalio/workflow';
import type { AgentSpec } from '../conversation/agent-spec';
import { mcpListsDue, recordMcpListing, recordMcpListingFailure, withMcpTools } from '../conversation/mcp-tools';
import { mcpListActivity } from './activities';
import { type ConversationRun, now } from './conversation-run';

export async function withMcpLists(run: ConversationRun, agent: AgentSpec): Promise<AgentSpec> {
  const { state } = run;
  const due = mcpListsDue(state, agent, now());
  if (due.length === 0) return withMcpTools(agent, state);
  const listings = await Promise.allSettled(
    due.map((server) =>
      mcpListActivity(server).listMcpTools({
        // The agent whose servers they are: after a handoff, not the conversation's own.
        agent: agent.name,
        conversationId: state.conversationId,
        server: server.name,
      }),
    ),
  );
  for (const [index, listing] of listings.entries()) {
    const server = due[index].name;
    if (listing.status === 'fulfilled') {
      recordMcpListing(state, agent.name, server, listing.value.tools, now());
      if (listing.value.skipped.length > 0) {
        log.warn('MCP tools left out: the model could not call them by name', {
          server,
          skipped: listing.value.skipped,
        });
      }
      continue;
    }
    if (isCancellation(listing.reason)) throw listing.reason;
    const notice = recordMcpListingFailure(state, agent.name, server, reasonOf(listing.reason), now());
    log.warn(notice, { server });
  }
  run.events.syncTranscript(state);
  return withMcpTools(agent, state);
}

/** The cause's message: the worker's error, whose text holds no secret (src/tools/mcp-connections.ts). */
function reasonOf(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
