/**
 * The MCP server the tests talk to, written with the official SDK's server: the same tools over stdio (a child
 * process, stdio-server.ts) and streamable HTTP (http-server.ts). Its behaviour is what the tests need to see:
 * whether a secret arrived (without showing it), a tool that fails, a process that dies during a call, a slow
 * listing, and a list that changes when a file does.
 */
import { readFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export interface TestServerOptions {
  /** The secret the server was given (an env variable or a header): `secret_check` compares against `expected`. */
  secret?: string;
  /** What `secret_check` expects the secret to be, as a digest-free stand-in: its length. */
  expectedSecretLength?: number;
  /** Milliseconds each `tools/list` takes. */
  listDelayMs?: number;
  /** A file whose lines name extra tools, read at every listing. */
  extraToolsFile?: string;
}

const OBJECT = { type: 'object', properties: {} } as const;

export function testServer(options: TestServerOptions): Server {
  const server = new Server({ name: 'vigil-test', version: '1.0.0' }, { capabilities: { tools: {} } });
  let calls = 0;
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    if (options.listDelayMs) await new Promise((resolve) => setTimeout(resolve, options.listDelayMs));
    const extra = options.extraToolsFile ? readFileSync(options.extraToolsFile, 'utf8').split('\n') : [];
    return {
      tools: [
        {
          name: 'echo',
          description: 'Echoes the text',
          inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        },
        { name: 'secret_check', description: 'Whether the server got its secret', inputSchema: OBJECT },
        { name: 'whoami', description: 'The process id and how many calls it served', inputSchema: OBJECT },
        { name: 'fail', description: 'Always fails', inputSchema: OBJECT },
        { name: 'crash', description: 'Exits the process during the call', inputSchema: OBJECT },
        // Not callable by the model: `<server>__` and this are more than 64 characters.
        { name: 'x'.repeat(70), description: 'A name too long for the model', inputSchema: OBJECT },
        ...extra
          .filter((name) => name.trim() !== '')
          .map((name) => ({ name: name.trim(), description: `Extra tool ${name.trim()}`, inputSchema: OBJECT })),
      ],
    };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    calls++;
    const { name, arguments: args = {} } = request.params;
    const text = (value: string, isError = false) => ({ content: [{ type: 'text', text: value }], isError });
    switch (name) {
      case 'echo':
        return text(`echo: ${String(args.text)}`);
      case 'secret_check':
        return text(
          options.secret !== undefined && options.secret.length === options.expectedSecretLength
            ? 'the secret arrived'
            : 'no secret',
        );
      case 'whoami':
        return text(`pid ${process.pid}, call ${calls}`);
      case 'fail':
        return text('the tool failed on purpose', true);
      case 'crash':
        // A server that dies holding a call: the client sees its stdout close with no answer.
        process.exit(3);
      // falls through (never reached)
      default:
        return text(`called ${name}`);
    }
  });
  return server;
}
