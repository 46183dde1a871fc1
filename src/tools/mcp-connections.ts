/**
 * The worker's connections to MCP servers (the official SDK's client), one per agent and server, shared by every
 * conversation the worker serves: opened at the first listing or call, closed when idle, and dropped when the
 * server goes away (a stdio server that exits, an HTTP server that stops answering), so the next call starts it
 * again. Secrets named by the agent's definition are resolved here, at connect time, and every error and log line
 * that leaves this module has their values taken out.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isStdioServer, type McpServerDefinition, type McpValue } from '../agents/mcp-servers';
import { MODEL_TOOL_NAME, mcpToolName, type McpListResult } from '../conversation/mcp-tools';
import { VigilError } from '../errors';
import type { Logger } from '../logger';

/** A server that could not be reached, or that failed or went away during a request; its message holds no secret. */
export class McpServerError extends VigilError {
  constructor(
    message: string,
    readonly server: string,
  ) {
    super(message);
  }
}

export interface McpConnectionsOptions {
  /** A secret's value by its name; default the worker's environment. Undefined for a secret it does not have. */
  secret?: (name: string) => string | undefined;
  /** A connection unused for this long is closed; default 5 minutes. */
  idleMs?: number;
  /** Where the servers' stderr lines and dropped connections are noted (secrets taken out); default nowhere. */
  logger?: Pick<Logger, 'warn' | 'info'>;
}

export interface McpCallOptions {
  signal?: AbortSignal;
  /** The request's own timeout; default the SDK's (60 s). */
  timeoutMs?: number;
}

/** What a call gave: the text for the model, and whether the server reported a failure of the tool. */
export interface McpCallResult {
  content: string;
  isError: boolean;
}

interface Connection {
  ready: Promise<Client>;
  client?: Client;
  inFlight: number;
  idle?: NodeJS.Timeout;
  closed: boolean;
}

const CLIENT_INFO = { name: 'vigil', version: '1' };
const DEFAULT_IDLE_MS = 5 * 60_000;
/** Secrets shorter than this are not searched for in text: a one-letter "secret" would redact every message. */
const MIN_REDACTED_LENGTH = 4;

export class McpConnections {
  private readonly connections = new Map<string, Connection>();
  private readonly secretValues = new Set<string>();
  private readonly secret: (name: string) => string | undefined;
  private readonly idleMs: number;
  private closing = false;

  constructor(private readonly options: McpConnectionsOptions = {}) {
    this.secret = options.secret ?? ((name) => process.env[name]);
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  }

  /** The server's tools, every page of them; those whose name the model could not call are skipped. */
  async listTools(agent: string, server: McpServerDefinition, options: McpCallOptions = {}): Promise<McpListResult> {
    return this.use(agent, server, 'list its tools', async (client) => {
      const result: McpListResult = { tools: [], skipped: [] };
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, requestOptions(options));
        for (const tool of page.tools) {
          const name = mcpToolName(server.name, tool.name);
          if (!MODEL_TOOL_NAME.test(name)) {
            result.skipped.push(`${tool.name}: "${name}" is not 1-64 letters, digits, "_" or "-"`);
            continue;
          }
          result.tools.push({
            name: tool.name,
            description: tool.description ?? tool.title ?? tool.name,
            parameters: tool.inputSchema as Record<string, unknown>,
          });
        }
        cursor = page.nextCursor;
      } while (cursor);
      return result;
    });
  }

  async callTool(
    agent: string,
    server: McpServerDefinition,
    tool: string,
    args: Record<string, unknown>,
    options: McpCallOptions = {},
  ): Promise<McpCallResult> {
    return this.use(agent, server, `run ${tool}`, async (client) => {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, requestOptions(options));
      return { content: this.redact(renderContent(result)), isError: result.isError === true };
    });
  }

  /** Closes every connection (stdio servers are stopped); later requests fail. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((connection) => this.shut(connection)));
  }

  private async use<T>(
    agent: string,
    server: McpServerDefinition,
    what: string,
    request: (client: Client) => Promise<T>,
  ): Promise<T> {
    if (this.closing) throw new McpServerError(`MCP server "${server.name}": the worker is shutting down`, server.name);
    const key = `${agent}\u0000${server.name}`;
    const connection = this.connections.get(key) ?? this.open(key, agent, server);
    connection.inFlight++;
    clearTimeout(connection.idle);
    try {
      const client = await connection.ready;
      return await request(client);
    } catch (error) {
      // A server that answered with an error stays connected; anything else (it died, the connection broke, it
      // did not answer in time) drops the connection, so the next request starts it afresh.
      if (!answeredByServer(error)) this.drop(key, connection);
      throw new McpServerError(this.describe(server, what, error), server.name);
    } finally {
      connection.inFlight--;
      if (connection.inFlight === 0 && !connection.closed) {
        connection.idle = setTimeout(() => this.drop(key, connection), this.idleMs);
        connection.idle.unref();
      }
    }
  }

  private open(key: string, agent: string, server: McpServerDefinition): Connection {
    const connection: Connection = { ready: undefined!, inFlight: 0, closed: false };
    connection.ready = (async () => {
      const transport = this.transport(agent, server);
      const client = new Client(CLIENT_INFO);
      client.onclose = () => {
        // The process exited or the connection was closed: the next request reconnects.
        if (!connection.closed) this.options.logger?.warn({ agent, mcpServer: server.name }, 'MCP server went away');
        this.drop(key, connection);
      };
      connection.client = client;
      await client.connect(transport);
      return client;
    })();
    // A failed connect is reported to the request that waits for it; the connection is dropped there.
    connection.ready.catch(() => undefined);
    this.connections.set(key, connection);
    return connection;
  }

  private transport(agent: string, server: McpServerDefinition): Transport {
    if (isStdioServer(server)) {
      const transport = new StdioClientTransport({
        command: server.command,
        args: server.args ?? [],
        env: this.resolve(server.name, 'env', server.env),
        ...(server.cwd ? { cwd: server.cwd } : {}),
        // Piped, not inherited: a server that prints its environment must not put a secret in the worker's logs.
        stderr: 'pipe',
      });
      const stderr = transport.stderr as Readable | null;
      if (stderr) {
        createInterface({ input: stderr }).on('line', (line) =>
          this.options.logger?.info({ agent, mcpServer: server.name, stderr: this.redact(line) }, 'MCP server stderr'),
        );
      }
      return transport;
    }
    return new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: this.resolve(server.name, 'headers', server.headers) },
    });
  }

  /** The values of `env` or `headers`, secrets resolved; a missing secret is named (never a value) in the error. */
  private resolve(server: string, field: string, values: Record<string, McpValue> = {}): Record<string, string> {
    const resolved: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
      if (typeof value === 'string') {
        resolved[key] = value;
        continue;
      }
      const secret = this.secret(value.secret);
      if (secret === undefined || secret === '') {
        throw new McpServerError(
          `MCP server "${server}": the secret ${value.secret} (for ${field}.${key}) is not set on this worker`,
          server,
        );
      }
      if (secret.length >= MIN_REDACTED_LENGTH) this.secretValues.add(secret);
      resolved[key] = secret;
    }
    return resolved;
  }

  private drop(key: string, connection: Connection): void {
    if (this.connections.get(key) === connection) this.connections.delete(key);
    void this.shut(connection);
  }

  private async shut(connection: Connection): Promise<void> {
    if (connection.closed) return;
    connection.closed = true;
    clearTimeout(connection.idle);
    await connection.client?.close().catch(() => undefined);
  }

  private describe(server: McpServerDefinition, what: string, error: unknown): string {
    if (error instanceof McpServerError) return this.redact(error.message);
    const message = messageOf(error);
    const reason =
      error instanceof McpError && error.code === ErrorCode.ConnectionClosed
        ? `it stopped or closed the connection (${message}); it is started again at the next call`
        : message;
    return this.redact(`MCP server "${server.name}" could not ${what}: ${reason}`);
  }

  /** The text with every secret value this pool resolved replaced. */
  redact(text: string): string {
    let out = text;
    for (const value of this.secretValues) out = out.split(value).join('[secret]');
    return out;
  }
}

function requestOptions(options: McpCallOptions) {
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  };
}

/** An error the server sent as its answer (a JSON-RPC error), as opposed to a broken or timed-out connection. */
function answeredByServer(error: unknown): boolean {
  return (
    error instanceof McpError &&
    error.code !== ErrorCode.ConnectionClosed &&
    error.code !== ErrorCode.RequestTimeout &&
    !(error instanceof McpServerError)
  );
}

function messageOf(error: unknown): string {
  const { message } = (typeof error === 'object' && error !== null ? error : {}) as Partial<Error>;
  return typeof message === 'string' && message !== '' ? message : String(error);
}

/** A tool's result for the model: its text parts joined; other parts (images, resources) as JSON. */
function renderContent(result: Record<string, unknown>): string {
  const content = Array.isArray(result.content) ? (result.content as Record<string, unknown>[]) : [];
  if (content.length === 0) {
    return result.structuredContent !== undefined ? JSON.stringify(result.structuredContent) : '';
  }
  return content
    .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : JSON.stringify(part)))
    .join('\n');
}
