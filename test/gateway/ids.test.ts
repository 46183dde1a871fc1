/**
 * The id grammar at the boundaries (src/conversation/protocol.ts): no two (agent, conversation) pairs share a workflow id, every
 * message id can travel in an HTTP header, every valid id is served, and hostile metadata is refused with a 400.
 * Each case was a finding of the security review (issue 16): a collision read another conversation, an emoji id
 * answered 500 after its turn was recorded, a 150-character id answered 414, deep metadata answered 502.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { ConfigError, ValidationError } from '../../src/errors';
import { conversationWorkflowId, sendUpdate } from '../../src/conversation/protocol';
import { ScheduleClient } from '../../src/schedules';
import { conversationStarted, newId, useConversations } from '../helpers/conversation';
import { conversationPath, request, useGateway } from './gateway-fixture';

const agent = defineAgent({ name: 'assistant', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);
const gateway = useGateway(fx);

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}
const post = (conversationId: string, body: unknown, agentName = 'assistant') =>
  request<ErrorBody & { reply?: { content: string } }>(
    gateway.url,
    'POST',
    `${conversationPath(agentName, conversationId)}/messages`,
    { body },
  );

const exists = (agentName: string, conversationId: string) => conversationStarted(fx, agentName, conversationId);

beforeEach(() => fx.model.reset());

describe('agent names and conversation ids cannot collide in a workflow id', () => {
  test("an agent name with ':' is refused where agents are defined", () => {
    expect(() => defineAgent({ name: 'assistant:x', instructions: 'Be brief.', model: 'test-model' })).toThrow(
      ConfigError,
    );
    expect(() => defineAgent({ name: 'assistant:x', instructions: 'Be brief.', model: 'test-model' })).toThrow(
      /':' would make ids ambiguous/,
    );
  });

  test("assistant's conversation acct:inv cannot be reached as agent assistant:acct, conversation inv", async () => {
    const id = `acct:${newId()}`;
    fx.model.script({ content: 'the invoice' });
    expect((await post(id, { id: 'm1', content: 'hi' })).status).toBe(200);
    const [, rest] = id.split(':');
    const read = await request<ErrorBody>(gateway.url, 'GET', conversationPath('assistant:acct', rest));
    expect(read.status).toBe(400);
    expect(read.body.error.issues).toEqual([expect.objectContaining({ path: 'params.agent' })]);
    await expect(fx.client.state('assistant:acct', rest)).rejects.toBeInstanceOf(ValidationError);
    await expect(fx.client.send('assistant:acct', rest, { id: 'm2', content: 'hi' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  test("a schedule's name cannot hold ':', so a schedule id names its agent, conversation and name unambiguously", async () => {
    const schedules = new ScheduleClient({ client: fx.env.client, taskQueue: fx.taskQueue });
    const base = { agent: 'assistant', content: 'ping', every: '1h' };
    await expect(schedules.create({ ...base, conversationId: 'acct', name: 'inv:daily' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('every message id can travel in an HTTP header', () => {
  test.each([
    ['an emoji', 'order-\u{1F600}'],
    ['CR/LF', 'a\r\nx-injected: 1'],
    ['NUL', 'a\u0000b'],
    ['a lone surrogate', 'a\uD800b'],
    ['a space', 'a b'],
  ])('%s in a message id is refused with a 400 before anything reaches Temporal', async (_, messageId) => {
    const id = newId();
    const answer = await post(id, { id: messageId, content: 'hi' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.issues).toEqual([
      expect.objectContaining({ path: 'body.id', message: expect.stringMatching(/visible ASCII/) }),
    ]);
    expect(await exists('assistant', id)).toBe(false);
    await expect(fx.client.post('assistant', id, { id: messageId, content: 'hi' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  test('a raw send update with such an id, or with a second argument, is refused by the conversation and leaves no trace', async () => {
    const id = newId();
    fx.model.script({ content: 'first' });
    await fx.client.send('assistant', id, { id: 'm1', content: 'hi' });
    const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('assistant', id));
    const before = (await handle.fetchHistory()).events!.length;
    // The validator's words are the update failure's cause.
    await expect(
      handle.executeUpdate(sendUpdate, { args: [{ id: 'x\u{1F600}', content: 'hi' }] }),
    ).rejects.toHaveProperty('cause.message', expect.stringMatching(/visible ASCII/));
    await expect(
      handle.executeUpdate('send', { args: [{ id: 'm2', content: 'hi' }, { ignored: true }] as never }),
    ).rejects.toHaveProperty('cause.message', 'send takes exactly one message, got 2 arguments');
    expect((await handle.fetchHistory()).events!.length).toBe(before);
  });
});

describe('the gateway serves every valid id, and refuses the others with a 400', () => {
  test('ids of 101 to 200 characters are served; 201 is too long', async () => {
    for (const length of [101, 150, 200]) {
      const id = `c${'x'.repeat(length - 1)}`;
      fx.model.script({ content: `ok ${length}` });
      const answer = await post(id, { id: 'm'.repeat(length), content: 'hi' });
      expect([answer.status, answer.body.reply?.content]).toEqual([200, `ok ${length}`]);
    }
    const tooLong = await post('c'.repeat(201), { id: 'm1', content: 'hi' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.issues).toEqual([expect.objectContaining({ path: 'params.conversationId' })]);
  });
});

describe('metadata has a depth and a size limit', () => {
  test('metadata nested 4,100 levels deep is a 400, not a 5xx, and nothing reaches Temporal', async () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 4_100; i++) deep = { d: deep };
    const id = newId();
    const answer = await post(id, { id: 'm1', content: 'hi', metadata: deep });
    expect(answer.status).toBe(400);
    expect(answer.body.error.issues).toEqual([
      expect.objectContaining({ path: 'body.metadata', message: 'nested deeper than 16 levels' }),
    ]);
    expect(await exists('assistant', id)).toBe(false);
  });

  test('metadata over 16 KiB as JSON is a 400; 16 levels and 16 KiB are taken', async () => {
    const id = newId();
    const big = await post(id, { id: 'm1', content: 'hi', metadata: { blob: 'x'.repeat(17_000) } });
    expect(big.status).toBe(400);
    expect(big.body.error.issues?.[0].message).toMatch(/bytes as JSON, more than 16384/);

    let deepest: Record<string, unknown> = { leaf: 'x'.repeat(16_000) };
    for (let i = 0; i < 15; i++) deepest = { d: deepest };
    fx.model.script({ content: 'taken' });
    expect((await post(id, { id: 'm2', content: 'hi', metadata: deepest })).body.reply?.content).toBe('taken');
  });
});
