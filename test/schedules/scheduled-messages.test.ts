/**
 * Scheduled messages end to end: a real worker, the real gateway over HTTP, the `vigil` CLI as a process, and
 * Temporal Schedules (the in-process server, or a real one with TEMPORAL_TEST_ADDRESS).
 */
import type { FastifyInstance } from 'fastify';
import { defineAgent } from '../../src/agents/define-agent';
import { createGateway } from '../../src/gateway';
import { SCHEDULED_MESSAGE_WORKFLOW_TYPE, type ScheduledMessageInput } from '../../src/conversation/protocol';
import { ScheduleClient, type ScheduledMessage } from '../../src/schedules';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { cleanEnv, runCli } from '../cli/cli-process';
import { conversationPath, request } from '../gateway/gateway-fixture';

const AGENT = 'herald';
const fx = useConversations([defineAgent({ name: AGENT, instructions: 'Answer briefly.', model: 'test-model' })]);
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  app = createGateway({
    agents: fx.client,
    schedules: new ScheduleClient({ client: fx.env.client, taskQueue: fx.taskQueue }),
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  fx.model.respondWith((req) => {
    const last = req.body.messages.at(-1)?.content;
    return { content: `re: ${typeof last === 'string' ? last : JSON.stringify(last)}` };
  });
});
afterAll(async () => {
  await app?.close();
});

const userEntries = async (conversationId: string) =>
  (await fx.client.transcript(AGENT, conversationId, { limit: 500 })).entries.filter((e) => e.role === 'user');

test('a schedule created through the gateway fires; each firing is one turn, answered on the webhook only', async () => {
  const conversationId = newId('sched');
  const created = await request<ScheduledMessage>(url, 'POST', `${conversationPath(AGENT, conversationId)}/schedules`, {
    body: { content: 'time for a check-in', every: '1s', channel: { type: 'webhook', url: fx.hook.url }, name: 'tick' },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    id: `vigil-schedule:${AGENT}:${conversationId}:tick`,
    agent: AGENT,
    conversationId,
    every: '1s',
    paused: false,
    channel: { type: 'webhook', url: fx.hook.url },
  });
  const id = created.body.id;

  const delivered = () => [...fx.hook.applied.values()].filter((d) => d.body.conversationId === conversationId);
  await eventually(async () => (delivered().length >= 2 ? true : undefined));
  const deleted = await request(url, 'DELETE', `/v1/schedules/${encodeURIComponent(id)}`);
  expect(deleted.status).toBe(204);

  const users = await userEntries(conversationId);
  expect(users.length).toBeGreaterThanOrEqual(2);
  const ids = users.map((u) => (u.role === 'user' ? u.messageId : ''));
  expect(new Set(ids).size).toBe(ids.length);
  for (const messageId of ids)
    expect(messageId).toMatch(new RegExp(`^${id}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
  for (const d of delivered()) expect(d.body.reply.content).toBe('re: time for a check-in');
  // The schedule's channel is the webhook: nothing of this conversation went to the log channel.
  expect(JSON.stringify(fx.logged)).not.toContain(conversationId);
  expect((await request(url, 'DELETE', `/v1/schedules/${encodeURIComponent(id)}`)).status).toBe(404);
});

test('a firing that runs again (same workflow id) does not make a second turn', async () => {
  const conversationId = newId('rerun');
  const input: ScheduledMessageInput = { agent: AGENT, conversationId, content: 'once only' };
  const workflowId = `vigil-schedule:${AGENT}:${conversationId}:default-2030-01-01T09:00:00Z`;
  const run = () =>
    fx.env.client.workflow.execute(SCHEDULED_MESSAGE_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: fx.taskQueue,
      args: [input],
    });
  expect(await run()).toEqual({ messageId: workflowId });
  expect(await run()).toEqual({ messageId: workflowId });
  // Messages are taken in arrival order: once this reply is back, both posts have been seen.
  await fx.client.send(AGENT, conversationId, { id: 'after', content: 'anything else?' });
  const users = await userEntries(conversationId);
  expect(users.map((u) => (u.role === 'user' ? u.messageId : ''))).toEqual([workflowId, 'after']);
});

test('gateway: list by conversation and by agent, conflicts, bad specs and unknown ids', async () => {
  const conversationId = newId('gw');
  const path = `${conversationPath(AGENT, conversationId)}/schedules`;
  const created = await request<ScheduledMessage>(url, 'POST', path, {
    body: { content: 'standup', cron: '0 9 * * 1-5' },
  });
  expect(created.status).toBe(201);
  expect(created.body.nextRunAt).toMatch(/T09:00:00\.000Z$/);

  const again = await request(url, 'POST', path, { body: { content: 'standup', cron: '0 9 * * 1-5' } });
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ error: { code: 'conflict' } });

  const byConversation = await eventually(async () => {
    const r = await request<{ schedules: ScheduledMessage[] }>(url, 'GET', path);
    return r.body.schedules.length === 1 ? r.body.schedules : undefined;
  });
  expect(byConversation[0]).toMatchObject({ id: created.body.id, cron: '0 9 * * 1-5', content: 'standup' });
  const byAgent = await request<{ schedules: ScheduledMessage[] }>(url, 'GET', `/v1/schedules?agent=${AGENT}`);
  expect(byAgent.body.schedules.map((s) => s.id)).toContain(created.body.id);
  expect((await request<{ schedules: unknown[] }>(url, 'GET', '/v1/schedules?agent=nobody')).body.schedules).toEqual(
    [],
  );

  const badCron = await request(url, 'POST', path, { body: { content: 'x', cron: '0 99 * * *', name: 'bad' } });
  expect(badCron.status).toBe(400);
  expect(JSON.stringify(badCron.body)).toMatch(/cron.*0 99 \* \* \*/);
  const both = await request(url, 'POST', path, { body: { content: 'x', cron: '@daily', every: '1h', name: 'both' } });
  expect(both.status).toBe(400);
  expect(JSON.stringify(both.body)).toContain('exactly one of every and cron');
  const badEvery = await request(url, 'POST', path, { body: { content: 'x', every: 'soon', name: 'soon' } });
  expect(badEvery.status).toBe(400);

  expect(
    (await request(url, 'DELETE', `/v1/schedules/${encodeURIComponent(`vigil-schedule:${AGENT}:nope:default`)}`))
      .status,
  ).toBe(404);
  expect((await request(url, 'DELETE', `/v1/schedules/${encodeURIComponent(created.body.id)}`)).status).toBe(204);
});

describe('vigil schedule (the CLI as a process)', () => {
  const cli = (args: string[]) =>
    runCli(
      [...args, '--address', fx.env.address, '--namespace', fx.env.namespace, '--task-queue', fx.taskQueue],
      cleanEnv(),
    );

  test('create, list and delete', async () => {
    const conversationId = newId('cli');
    const id = `vigil-schedule:${AGENT}:${conversationId}:morning`;
    const created = await cli([
      'schedule',
      'create',
      conversationId,
      '--agent',
      AGENT,
      '--cron',
      '0 9 * * 1-5',
      '--message',
      'good morning',
      '--name',
      'morning',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`created ${id}`);

    const listed = await eventually(async () => {
      const r = await cli(['schedule', 'list', '--agent', AGENT, '--conversation', conversationId, '--json']);
      const schedules = JSON.parse(r.stdout) as ScheduledMessage[];
      return schedules.length === 1 ? schedules : undefined;
    });
    expect(listed[0]).toMatchObject({ id, content: 'good morning', cron: '0 9 * * 1-5' });

    expect(await cli(['schedule', 'delete', id])).toMatchObject({ code: 0, stdout: `deleted ${id}\n` });
    const missing = await cli(['schedule', 'delete', id]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`schedule ${id} was not found`);
  });

  test('a bad cron expression is a usage error (exit 2) with a clear message', async () => {
    const r = await runCli(['schedule', 'create', 'c1', '--cron', 'every monday', '--message', 'x'], cleanEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cron: "every monday" must have 5 fields');
  });
});
