/**
 * A stdio MCP server, spawned by the worker as a real child process (`node --import tsx stdio-server.ts`). It
 * prints its secret to stderr on purpose: the worker must log that line with the secret taken out.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { testServer } from './test-server';

const secret = process.env.API_KEY;
process.stderr.write(`test server starting with API_KEY=${secret ?? '(none)'}\n`);
void testServer({
  secret,
  expectedSecretLength: Number(process.env.EXPECTED_SECRET_LENGTH ?? -1),
  listDelayMs: Number(process.env.LIST_DELAY_MS ?? 0),
  extraToolsFile: process.env.EXTRA_TOOLS_FILE,
}).connect(new StdioServerTransport());
// Its client gone, the server goes too, even in the middle of a slow listing (as real stdio servers do).
process.stdin.on('end', () => process.exit(0));
