/**
 * An agent's MCP servers as its definition declares them (`defineAgent({ mcp: [...] })`): how the worker reaches
 * each (a command it spawns, or a streamable-HTTP URL), with secrets named, never written, and the tool policy
 * the workflow applies to the server's tools. Validated here; the workflow gets only `McpServerSpec`.
 */
import { z } from 'zod';
import { DEFAULT_TOOL_RETRY } from '../conversation/agent-spec';
import {
  DEFAULT_MCP_LIST_TIMEOUT_MS,
  DEFAULT_MCP_LIST_TTL_MS,
  MCP_SERVER_NAME,
  type McpServerSpec,
  type McpToolPolicy,
} from '../conversation/mcp-tools';
import { DEFAULT_TOOL_TIMEOUT_MS } from '../tools/define-tool';
import { mergedRetryProblem, RetryOverrideSchema } from '../tools/retry-policy';

/**
 * A value of an environment variable or header: written out, or `{ secret: 'NAME' }`, resolved on the worker from
 * its secrets (by default its environment) when it connects, so no secret is part of the agent's definition, its
 * spec, the conversation's history or any log.
 */
export type McpValue = string | { secret: string };

interface McpServerPolicy extends McpToolPolicy {
  /** How the model's tool names begin (`<name>__<tool>`): letters, digits and `-`, at most 32. */
  name: string;
  /** A list is fetched again at the first turn that starts this long after it was fetched; default 5 minutes. */
  ttlMs?: number;
  /** One attempt at listing the tools (connecting included); default 30 s. */
  listTimeoutMs?: number;
  /** Policies of single tools, by the server's own tool name; they override the server's. */
  tools?: Record<string, McpToolPolicy>;
}

/** A server the worker spawns and talks to over stdin/stdout; restarted at the next call when it dies. */
export interface McpStdioServer extends McpServerPolicy {
  command: string;
  args?: string[];
  /** The server's environment, beside the few variables it inherits (PATH, HOME, ...; not the worker's secrets). */
  env?: Record<string, McpValue>;
  cwd?: string;
}

/** A server reached over streamable HTTP. */
export interface McpHttpServer extends McpServerPolicy {
  url: string;
  headers?: Record<string, McpValue>;
}

export type McpServerDefinition = McpStdioServer | McpHttpServer;

export function isStdioServer(server: McpServerDefinition): server is McpStdioServer {
  return 'command' in server;
}

const positiveInt = z.number().int().positive();
const Policy = z
  .object({ approval: z.enum(['auto', 'ask', 'deny']), timeoutMs: positiveInt, retry: RetryOverrideSchema })
  .partial()
  .strict();
const Value = z.union([
  z.string(),
  z.object({ secret: z.string().trim().min(1, 'must name a secret of the worker') }).strict(),
]);
const Common = {
  name: z
    .string()
    .regex(MCP_SERVER_NAME, 'must be 1-32 letters, digits or "-" (no "_": the model sees <server>__<tool>)'),
  ttlMs: z.number().int().nonnegative().optional(),
  listTimeoutMs: positiveInt.optional(),
  ...Policy.shape,
  tools: z.record(z.string(), Policy).optional(),
};
const Stdio = z
  .object({
    ...Common,
    command: z.string().trim().min(1, 'must not be empty'),
    args: z.array(z.string()).optional(),
    env: z.record(z.string().min(1), Value).optional(),
    cwd: z.string().optional(),
  })
  .strict();
const Http = z
  .object({
    ...Common,
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    headers: z.record(z.string().min(1), Value).optional(),
  })
  .strict();

/** The agent's servers checked, or every problem with them (labelled `mcp.<index>...`). */
export function parseMcpServers(entries: unknown): { servers: McpServerDefinition[]; problems: string[] } {
  if (entries === undefined) return { servers: [], problems: [] };
  if (!Array.isArray(entries)) return { servers: [], problems: ['mcp: must be a list of servers'] };
  const servers: McpServerDefinition[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const hasCommand = typeof entry === 'object' && entry !== null && 'command' in entry;
    const hasUrl = typeof entry === 'object' && entry !== null && 'url' in entry;
    if (hasCommand === hasUrl) {
      problems.push(`mcp.${index}: needs either command (a stdio server) or url (a streamable-HTTP server)`);
      continue;
    }
    const parsed = (hasCommand ? Stdio : Http).safeParse(entry);
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((issue) => `mcp.${[index, ...issue.path].join('.')}: ${issue.message}`));
      continue;
    }
    if (names.has(parsed.data.name)) {
      problems.push(`mcp.${index}: server name "${parsed.data.name}" is used twice; it names the server's tools`);
      continue;
    }
    names.add(parsed.data.name);
    const retry = { ...DEFAULT_TOOL_RETRY, ...parsed.data.retry };
    const retryProblems = [
      mergedRetryProblem(`mcp.${index}`, retry),
      ...Object.entries(parsed.data.tools ?? {}).map(([tool, policy]) =>
        mergedRetryProblem(`mcp.${index}.tools.${tool}`, { ...retry, ...policy.retry }),
      ),
    ].filter((problem) => problem !== undefined);
    if (retryProblems.length > 0) {
      problems.push(...retryProblems);
      continue;
    }
    servers.push(Object.freeze(parsed.data) as McpServerDefinition);
  }
  return { servers, problems };
}

/** What the workflow knows of a server: its tool policy, complete, and when its list is fetched. */
export function mcpServerSpec(server: McpServerDefinition): McpServerSpec {
  return {
    name: server.name,
    ttlMs: server.ttlMs ?? DEFAULT_MCP_LIST_TTL_MS,
    listTimeoutMs: server.listTimeoutMs ?? DEFAULT_MCP_LIST_TIMEOUT_MS,
    approval: server.approval ?? 'auto',
    timeoutMs: server.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    retry: { ...DEFAULT_TOOL_RETRY, ...server.retry },
    ...(server.tools && Object.keys(server.tools).length > 0 ? { tools: server.tools } : {}),
  };
}
