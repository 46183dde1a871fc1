/**
 * Agents as tools, end to end on the real worker: the writer's model calls the researcher as a tool; the call is
 * a conversation of the researcher of its own (a child workflow, with its own transcript and approvals), whose
 * reply is the tool's result, whose usage counts in the writer's conversation, and which a cancelled turn of the
 * writer cancels.
 */
import { z } from 'zod';
import { agentAsTool } from '../../src/agents/agent-as-tool';
import { defineAgent } from '../../src/agents/define-agent';
import { type ConversationEvent, conversationWorkflowId, type TranscriptEntry } from '../../src/conversation/protocol';
import { childConversationId } from '../../src/conversation/sub-agent';
import type { RecordedRequest, ScriptStep } from '../../src/testing/scripted-model';
import { defineTool } from '../../src/tools';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';

const archive = defineTool({
  name: 'archive',
  description: 'Searches the archive. Needs approval.',
  parameters: z.object({ q: z.string() }),
  approval: 'ask',
  execute: ({ q }) => `the archive says: ${q} is Paris`,
});
const researcher = defineAgent({
  name: 'researcher',
  instructions: 'You find facts.',
  model: 'researcher-model',
  tools: [archive],
});
const writer = defineAgent({
  name: 'writer',
  instructions: 'You write answers; ask the researcher for facts.',
  model: 'writer-model',
  tools: [agentAsTool(researcher, { name: 'ask_researcher', description: 'Finds facts.' })],
});
const fx = useConversations([writer, researcher]);

afterEach(() => fx.model.reset());

const lastMessage = (req: RecordedRequest) => req.body.messages[req.body.messages.length - 1];

/** The writer asks the researcher once, then writes what the tool returned; the researcher answers by `research`. */
function script(research: (req: RecordedRequest) => ScriptStep) {
  fx.model.respondWith((req) => {
    if (req.body.model === 'researcher-model') return research(req);
    const last = lastMessage(req);
    if (last.role === 'tool')
      return { content: `Writer: ${typeof last.content === 'string' ? last.content : JSON.stringify(last.content)}` };
    return {
      toolCalls: [{ name: 'ask_researcher', arguments: JSON.stringify({ input: 'What is the capital of France?' }) }],
    };
  });
}

async function childOf(id: string): Promise<string> {
  const { entries } = await fx.client.transcript('writer', id);
  const asked = entries.find(
    (e): e is Extract<TranscriptEntry, { role: 'assistant' }> => e.role === 'assistant' && e.toolCalls.length > 0,
  );
  return childConversationId({ agent: 'writer', conversationId: id, turn: 1 }, asked!.toolCalls[0].id);
}

test('the sub-agent answers in a conversation of its own; the parent replies with its answer and counts its usage', async () => {
  script(() => ({ content: 'Paris.', usage: { prompt_tokens: 100, completion_tokens: 7 } }));
  const id = newId();
  const reply = await fx.client.send('writer', id, { id: 'm1', content: 'Tell me the capital of France.' });
  expect(reply).toMatchObject({ status: 'completed', content: 'Writer: Paris.' });

  // The researcher's conversation: its own transcript (in the store), and it says whose call it answered.
  const child = await childOf(id);
  const { entries } = await fx.client.transcript('researcher', child);
  expect(entries.map((e) => [e.role, 'content' in e ? e.content : ''])).toEqual([
    ['user', 'What is the capital of France?'],
    ['assistant', 'Paris.'],
  ]);
  const childView = await fx.client.state('researcher', child);
  expect(childView).toMatchObject({
    status: 'ended',
    turns: 1,
    childOf: { agent: 'writer', conversationId: id, turn: 1 },
  });
  expect(fx.model.requests.find((r) => r.body.model === 'researcher-model')?.body.messages[0].content).toBe(
    'You find facts.',
  );

  // The parent's usage has the researcher's call: three model calls in all, by model.
  const view = await fx.client.state('writer', id);
  expect(view.usage.modelCalls).toBe(3);
  expect(view.usage.byModel['researcher-model']).toMatchObject({ inputTokens: 100, outputTokens: 7, modelCalls: 1 });
  expect(view.usage.inputTokens).toBe(view.usage.byModel['writer-model'].inputTokens + 100);
  expect(reply.usage.inputTokens).toBe(view.usage.inputTokens);
  expect(view).not.toHaveProperty('subConversations');
}, 60_000);

test("cancelling the parent's turn cancels the sub-agent's turn, whose conversation ends with a cancelled reply", async () => {
  script(() => ({ hang: true }));
  const id = newId();
  const start = fx.model.requests.length;
  const replied = fx.client.send('writer', id, { id: 'm1', content: 'Tell me the capital of France.' });
  const held = await eventually(async () =>
    fx.model.requests.slice(start).find((r) => r.body.model === 'researcher-model'),
  );
  const child = await childOf(id);
  expect((await fx.client.state('writer', id)).subConversations).toEqual([
    expect.objectContaining({ agent: 'researcher', conversationId: child, status: 'running' }),
  ]);

  expect(await fx.client.cancelTurn('writer', id, { reason: 'changed my mind' })).toMatchObject({ cancelled: true });
  expect(await replied).toMatchObject({ status: 'cancelled' });
  expect(await held.ended).toBe('aborted');
  const description = await fx.env.client.workflow.getHandle(conversationWorkflowId('researcher', child)).describe();
  expect(description.status.name).toBe('COMPLETED');
  const { entries } = await fx.client.transcript('researcher', child);
  expect(entries.at(-1)).toMatchObject({
    role: 'notice',
    content: 'The turn was cancelled: the turn that asked this agent was cancelled',
  });
}, 60_000);

test("a sub-agent's approval is answered on its own conversation, which the parent's view names meanwhile", async () => {
  script((req) =>
    lastMessage(req).role === 'tool'
      ? { content: 'Paris, says the archive.' }
      : { toolCalls: [{ name: 'archive', arguments: '{"q":"the capital of France"}' }] },
  );
  const id = newId();
  const replied = fx.client.send('writer', id, { id: 'm1', content: 'Tell me the capital of France.' });
  const waiting = await eventually(async () => {
    // The send that starts the conversation may not have reached the server yet.
    const view = await fx.client.state('writer', id).catch(() => undefined);
    const sub = view?.subConversations?.[0];
    return sub?.status === 'awaiting_approval' ? sub : undefined;
  });
  expect(waiting).toMatchObject({ agent: 'researcher', pendingApprovals: [{ tool: 'archive' }] });
  await fx.client.decide(waiting.agent, waiting.conversationId, {
    toolCallId: waiting.pendingApprovals[0].toolCallId,
    decision: 'approve',
  });
  expect(await replied).toMatchObject({ status: 'completed', content: 'Writer: Paris, says the archive.' });

  // The parent's event stream named the sub-agent's conversation while it waited.
  const events: ConversationEvent[] = [];
  const abort = new AbortController();
  for await (const { event } of fx.client.events('writer', id, { fromOffset: 0, signal: abort.signal })) {
    events.push(event);
    if (event.type === 'reply') abort.abort();
  }
  expect(events.filter((e) => e.type === 'sub_conversation')).toEqual([
    expect.objectContaining({ subConversation: expect.objectContaining({ status: 'running', pendingApprovals: [] }) }),
    expect.objectContaining({
      turn: 1,
      subConversation: expect.objectContaining({
        agent: 'researcher',
        conversationId: waiting.conversationId,
        status: 'awaiting_approval',
        pendingApprovals: [expect.objectContaining({ tool: 'archive' })],
      }),
    }),
    expect.objectContaining({ subConversation: expect.objectContaining({ status: 'running', pendingApprovals: [] }) }),
  ]);
}, 60_000);
