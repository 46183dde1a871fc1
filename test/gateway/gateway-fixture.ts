/**
 * The real gateway on 127.0.0.1 (a free port) over a conversation harness's AgentClient, and a small JSON
 * client over global fetch for the tests.
 */
import type { FastifyInstance } from 'fastify';
import { AgentClient } from '../../src/client';
import { createGateway, type GatewayOptions } from '../../src/gateway';
import type { ConversationFixture } from '../helpers/conversation';

export interface GatewayFixture {
  /** e.g. `http://127.0.0.1:PORT`. */
  url: string;
  app: FastifyInstance;
}

export interface HttpAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Starts a gateway for the test file once the harness is up; closes it after the file's tests. */
export interface GatewayFixtureOptions extends Omit<GatewayOptions, 'agents'> {
  /** The agents the workers serve, told to the gateway as `vigil dev` tells its own; unknown otherwise. */
  servedAgents?: string[];
}

export function useGateway(fx: ConversationFixture, fixtureOptions: GatewayFixtureOptions = {}): GatewayFixture {
  const gateway = {} as GatewayFixture;
  beforeAll(async () => {
    // Read here, not when called: options may be getters of what the harness starts (hostile-input.test.ts).
    const { servedAgents, ...options } = fixtureOptions;
    const agents = servedAgents
      ? new AgentClient({ client: fx.env.client, taskQueue: fx.taskQueue, store: fx.store, agents: servedAgents })
      : fx.client;
    gateway.app = createGateway({ agents, ...options });
    const address = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    gateway.url = address;
  });
  afterAll(async () => {
    await gateway.app?.close();
  });
  return gateway;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is, for bodies that are not JSON. */
  rawBody?: string;
  headers?: Record<string, string>;
  token?: string;
}

/** One HTTP request; the answer's body parsed as JSON when it is JSON. */
export async function request<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${url}${path}`, { method, headers, body });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('application/json');
  return { status: response.status, headers: response.headers, body: (json ? JSON.parse(text) : text) as T };
}

/** The conversation routes' base path. */
export const conversationPath = (agent: string, conversationId: string) =>
  `/v1/agents/${encodeURIComponent(agent)}/conversations/${encodeURIComponent(conversationId)}`;
