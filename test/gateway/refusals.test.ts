/**
 * Refusals made before any route of Vigil's runs (the SSE plugin's Accept gate, Node's HTTP parser) come in
 * Vigil's error format like every other: a client reads one shape whatever refused it. No Temporal is needed:
 * nothing here gets that far.
 */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { connect } from 'node:net';
import { AgentClient } from '../../src/client';
import { createGateway } from '../../src/gateway';

let app: FastifyInstance;
let base: string;
let connection: Connection;

beforeAll(async () => {
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  app = createGateway({ agents: new AgentClient({ client: new Client({ connection }) }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await connection.close();
});

/** Sends raw bytes and returns the raw answer, once the server has closed the connection or answered in full. */
async function raw(request: string): Promise<string> {
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
  socket.end(request);
  await new Promise((resolve) => socket.on('close', resolve));
  return answer;
}

test("an event stream asked for as JSON is a 406 in Vigil's format", async () => {
  const response = await fetch(`${base}/v1/agents/assistant/conversations/c1/events`, {
    headers: { accept: 'application/json' },
  });
  expect(response.status).toBe(406);
  expect(await response.json()).toEqual({
    error: {
      code: 'invalid_request',
      message: 'this route answers only text/event-stream; send Accept: text/event-stream (or */*)',
    },
  });
});

test("headers past the parser's limit are a 431 in Vigil's format", async () => {
  const answer = await raw(
    `GET /v1/agents/assistant/conversations/c1/transcript?x=${'a'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
  );
  expect(answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  expect(JSON.parse(answer.split('\r\n\r\n')[1])).toEqual({
    error: {
      code: 'invalid_request',
      message: 'the request headers are too large (at most 16 KiB in all, URL included)',
    },
  });
});

test("bytes that are not HTTP are a 400 in Vigil's format, and the gateway serves on", async () => {
  const answer = await raw('GARBAGE\r\n\r\n');
  expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  expect(JSON.parse(answer.split('\r\n\r\n')[1])).toEqual({
    error: { code: 'invalid_request', message: 'the request is not valid HTTP' },
  });
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
});

test("a gateway that does not know the agents says so on /v1/models, in OpenAI's format, rather than list none", async () => {
  const response = await fetch(`${base}/v1/models`);
  expect(response.status).toBe(404);
  expect(await response.json()).toEqual({
    error: {
      message:
        'which agents the workers serve is not known (no worker polls the task queue, or one does not say), so they cannot be listed',
      type: 'not_found_error',
      code: 'not_found',
      param: null,
    },
  });
});
