/**
 * A streamable-HTTP MCP server on a local port, in the test's process: each request gets a fresh stateless
 * server (the SDK's stateless mode), behind a bearer token the worker must send from its secrets.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { testServer, type TestServerOptions } from './test-server';

export interface HttpTestServer {
  url: string;
  /** Requests refused for a missing or wrong token. */
  unauthorized: number;
  close(): Promise<void>;
}

export async function startHttpTestServer(token: string, options: TestServerOptions = {}): Promise<HttpTestServer> {
  const state = { unauthorized: 0 };
  const http: HttpServer = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      state.unauthorized++;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const server = testServer({ ...options, secret: token, expectedSecretLength: token.length });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  });
}
