/**
 * Conversations end to end: the real worker (workflow + activities), the real client, the offline Temporal,
 * a scripted OpenAI-compatible model over HTTP and a webhook receiver.
 */
import { z } from 'zod';
import { defineAgent } from '../../src/agents/define-agent';
import { calculator, defineTool } from '../../src/tools';
import { ConversationEndedError, ConversationNotFoundError, ValidationError } from '../../src/errors';
import { conversationWorkflowId, InboundMessage, sendUpdate } from '../../src/conversation/protocol';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { lookup, lookups } from '../helpers/test-agents';

/** A tool whose calls wait until the test lets them finish; counts how many run at once. */
const gate = { running: 0, maxRunning: 0, waiting: [] as (() => void)[], calls: 0 };
const slow = defineTool({
  name: 'slow',
  description: 'waits',
  parameters: z.object({ label: z.string() }),
  execute: async ({ label }, ctx) => {
    gate.calls++;
    gate.running++;
    gate.maxRunning = Math.max(gate.maxRunning, gate.running);
    try {
      await new Promise<void>((resolve, reject) => {
        gate.waiting.push(resolve);
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
      });
      return `done ${label}`;
    } finally {
      gate.running--;
    }
  },
});
const assistant = defineAgent({
  name: 'tester',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [calculator, slow, lookup],
  limits: { maxSteps: 4, maxParallelTools: 2 },
});
const impatient = defineAgent({
  name: 'impatient',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [lookup],
  limits: { approvalTimeoutMs: 300 },
});
const fx = useConversations([assistant, impatient]);

const message = (content: string, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  id: newId('m'),
  content,
  ...extra,
});
const releaseAll = () => gate.waiting.splice(0).forEach((r) => r());
const lastRequest = () => fx.model.requests[fx.model.requests.length - 1];
/** A chat message's content as text (the SDK's type also allows content parts). */
const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content));

beforeEach(() => {
  Object.assign(gate, { running: 0, maxRunning: 0, waiting: [], calls: 0 });
  fx.model.reset();
});

test('a multi-turn conversation: each turn sees the conversation so far, and usage adds up', async () => {
  const id = newId();
  fx.model.script(
    { content: 'Hello!', usage: { prompt_tokens: 10, completion_tokens: 2 } },
    { content: 'Still here.', usage: { prompt_tokens: 20, completion_tokens: 3 } },
  );
  const first = await fx.client.send('tester', id, message('hi'));
  expect(first).toMatchObject({ status: 'completed', content: 'Hello!', turn: 1, models: ['test-model'] });
  const second = await fx.client.send('tester', id, message('are you there?'));
  expect(second).toMatchObject({ status: 'completed', content: 'Still here.', turn: 2 });
  expect(lastRequest().body.messages.map((m) => [m.role, m.content])).toEqual([
    ['system', 'Be brief.'],
    ['user', 'hi'],
    ['assistant', 'Hello!'],
    ['user', 'are you there?'],
  ]);
  const state = await fx.client.state('tester', id);
  expect(state).toMatchObject({ status: 'idle', turns: 2, usage: { inputTokens: 30, outputTokens: 5, modelCalls: 2 } });
  const transcript = await fx.client.transcript('tester', id);
  expect(transcript.entries.map((e) => e.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
});

test('a message id seen before returns the original reply and never starts a second turn', async () => {
  const id = newId();
  const m = message('once');
  fx.model.script({ content: 'only once' });
  const before = fx.model.requests.length;
  const a = await fx.client.send('tester', id, m);
  const b = await fx.client.send('tester', id, m);
  expect(b).toEqual(a);
  expect(fx.model.requests.length - before).toBe(1);
  // The same id as a fire-and-forget signal is ignored too.
  await fx.client.post('tester', id, m);
  expect((await fx.client.state('tester', id)).turns).toBe(1);
});

test('concurrent messages are answered one turn at a time, in arrival order, each reply to its channel', async () => {
  const id = newId();
  const messages = ['first', 'second', 'third'].map((c) =>
    message(c, { channel: { type: 'webhook', url: fx.hook.url } }),
  );
  fx.model.respondWith((req) => ({ content: `re: ${text(req.body.messages.at(-1)?.content)}`, delayMs: 30 }));
  for (const m of messages) await fx.client.post('tester', id, m);
  const delivered = await Promise.all(messages.map((m) => fx.hook.delivery(m.id)));
  expect(delivered.map((d) => d.body.reply.content)).toEqual(['re: first', 're: second', 're: third']);
  expect(delivered.map((d) => d.body.reply.turn)).toEqual([1, 2, 3]);
  const users = (await fx.client.transcript('tester', id)).entries.filter((e) => e.role === 'user');
  expect(users.map((e) => e.content)).toEqual(['first', 'second', 'third']);
});

test('a tool call runs as an activity and its result goes back to the model', async () => {
  const id = newId();
  fx.model.script({ toolCalls: [{ name: 'calculator', arguments: '{"expression":"6*7"}' }] }, { content: 'It is 42.' });
  const reply = await fx.client.send('tester', id, message('what is 6*7?'));
  expect(reply).toMatchObject({ status: 'completed', content: 'It is 42.' });
  const toolMessage = lastRequest().body.messages.find((m) => m.role === 'tool');
  expect(text(toolMessage?.content)).toContain('42');
  const history = await fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id)).fetchHistory();
  const scheduled = history
    .events!.filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
  expect(scheduled).toEqual(['callModel', 'runTool', 'callModel']);
});

test('parallel tool calls run up to the agent cap at once, results in the order asked', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: ['a', 'b', 'c'].map((label) => ({ name: 'slow', arguments: JSON.stringify({ label }) })) },
    { content: 'all done' },
  );
  const reply = fx.client.send('tester', id, message('go'));
  await eventually(async () => (gate.running === 2 ? true : undefined));
  releaseAll();
  await eventually(async () => (gate.running === 1 ? true : undefined));
  releaseAll();
  expect(await reply).toMatchObject({ content: 'all done' });
  expect(gate.maxRunning).toBe(2);
  const tools = lastRequest()
    .body.messages.filter((m) => m.role === 'tool')
    .map((m) => m.content);
  expect(tools).toEqual(['done a', 'done b', 'done c']);
});

test('a malformed tool-call JSON goes back to the model as an error; the turn goes on', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: [{ name: 'calculator', arguments: '{"expression": "1+' }] },
    { content: 'Sorry, let me fix that.' },
  );
  const reply = await fx.client.send('tester', id, message('compute'));
  expect(reply).toMatchObject({ status: 'completed', content: 'Sorry, let me fix that.' });
  const tool = (await fx.client.transcript('tester', id)).entries.find((e) => e.role === 'tool');
  expect(tool).toMatchObject({ isError: true });
  expect(tool?.role === 'tool' && tool.content).toMatch(/not valid JSON/);
});

test('the step limit ends a turn with a clear reply', async () => {
  const id = newId();
  fx.model.respondWith(() => ({ toolCalls: [{ name: 'calculator', arguments: '{"expression":"1+1"}' }] }));
  const reply = await fx.client.send('tester', id, message('loop forever'));
  expect(reply.status).toBe('step_limit');
  expect(reply.content).toMatch(/limit of 4 model calls/);
});

describe('tool approval', () => {
  async function waitForApproval(agent: string, id: string) {
    return eventually(async () => {
      // The send that starts the conversation may not have reached the server yet.
      const state = await fx.client.state(agent, id).catch((err: unknown) => {
        if (err instanceof ConversationNotFoundError) return undefined;
        throw err;
      });
      return state?.status === 'awaiting_approval' ? state.pendingApprovals[0] : undefined;
    });
  }

  test('an approved call runs and the turn completes', async () => {
    const id = newId();
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"weather"}' }] }, { content: 'Sunny.' });
    const reply = fx.client.send('tester', id, message('weather?'));
    const pending = await waitForApproval('tester', id);
    expect(pending).toMatchObject({ tool: 'lookup', arguments: '{"q":"weather"}' });
    await fx.client.decide('tester', id, { toolCallId: pending.toolCallId, decision: 'approve' });
    expect(await reply).toMatchObject({ content: 'Sunny.' });
    expect(lookups).toContain('weather');
  });

  test('a rejected call goes back to the model with the reason, and does not run', async () => {
    const id = newId();
    const before = lookups.length;
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"secrets"}' }] }, { content: 'Understood.' });
    const reply = fx.client.send('tester', id, message('find secrets'));
    const pending = await waitForApproval('tester', id);
    await fx.client.decide('tester', id, {
      toolCallId: pending.toolCallId,
      decision: 'reject',
      reason: 'not allowed here',
    });
    expect(await reply).toMatchObject({ content: 'Understood.' });
    expect(lookups.length).toBe(before);
    const toolMessage = lastRequest().body.messages.find((m) => m.role === 'tool');
    expect(text(toolMessage?.content)).toContain('not allowed here');
  });

  test('remember approves the tool for the rest of the conversation', async () => {
    const id = newId();
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"one"}' }] }, { content: 'first' });
    const first = fx.client.send('tester', id, message('one'));
    const pending = await waitForApproval('tester', id);
    await fx.client.decide('tester', id, { toolCallId: pending.toolCallId, decision: 'approve', remember: true });
    await first;
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"two"}' }] }, { content: 'second' });
    expect(await fx.client.send('tester', id, message('two'))).toMatchObject({ content: 'second' });
    expect(lookups).toContain('two');
    expect((await fx.client.state('tester', id)).rememberedTools).toEqual(['lookup']);
  });

  test('an approval that nobody answers in time is rejected', async () => {
    const id = newId();
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"late"}' }] }, { content: 'Nobody answered.' });
    const reply = await fx.client.send('impatient', id, message('look up late'));
    expect(reply.content).toBe('Nobody answered.');
    const tool = (await fx.client.transcript('impatient', id)).entries.find((e) => e.role === 'tool');
    expect(tool?.role === 'tool' && tool.content).toMatch(/no decision was made in time/);
  });

  test('a worker restart while a call waits for approval changes nothing', async () => {
    const id = newId();
    fx.model.script(
      { toolCalls: [{ name: 'lookup', arguments: '{"q":"after restart"}' }] },
      { content: 'Done after restart.' },
    );
    const reply = fx.client.send('tester', id, message('look it up'));
    const pending = await waitForApproval('tester', id);
    await fx.restartWorker();
    expect((await fx.client.state('tester', id)).pendingApprovals).toEqual([pending]);
    await fx.client.decide('tester', id, { toolCallId: pending.toolCallId, decision: 'approve' });
    expect(await reply).toMatchObject({ content: 'Done after restart.' });
    expect(lookups).toContain('after restart');
  });

  test('a decision for a call that is not waiting is refused', async () => {
    const id = newId();
    fx.model.script({ content: 'hi' });
    await fx.client.send('tester', id, message('hi'));
    await expect(fx.client.decide('tester', id, { toolCallId: 'nope', decision: 'approve' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

test('cancelling a turn cancels its running model call and records the turn as cancelled', async () => {
  const id = newId();
  fx.model.script({ hang: true });
  const reply = fx.client.send('tester', id, message('take your time'));
  const request = await fx.model.nextRequest();
  expect(await fx.client.cancelTurn('tester', id, { reason: 'user pressed stop' })).toEqual({
    cancelled: true,
    turn: 1,
  });
  expect(await reply).toMatchObject({ status: 'cancelled', content: 'The turn was cancelled: user pressed stop' });
  expect(await request.ended).toBe('aborted');
  expect((await fx.client.state('tester', id)).status).toBe('idle');
  expect(await fx.client.cancelTurn('tester', id)).toEqual({ cancelled: false, turn: null });
});

describe('model faults', () => {
  test('a 429 with retry-after is retried after the delay the provider asked for', async () => {
    const id = newId();
    fx.model.script({ status: 429, retryAfter: 1, message: 'slow down' }, { content: 'ok after waiting' });
    expect(await fx.client.send('tester', id, message('hi'))).toMatchObject({
      status: 'completed',
      content: 'ok after waiting',
    });
  });

  test('a 500 is retried', async () => {
    const id = newId();
    fx.model.script({ status: 500, message: 'boom' }, { content: 'recovered' });
    expect(await fx.client.send('tester', id, message('hi'))).toMatchObject({
      status: 'completed',
      content: 'recovered',
    });
  });

  test('a 400 is not retried and becomes a clear error reply; the conversation goes on', async () => {
    const id = newId();
    const before = fx.model.requests.length;
    fx.model.script({ status: 400, message: 'context length exceeded' });
    const reply = await fx.client.send('tester', id, message('hi'));
    expect(reply.status).toBe('error');
    expect(reply.content).toMatch(/rejected the request.*context length exceeded/);
    expect(fx.model.requests.length - before).toBe(1);
    fx.model.script({ content: 'fine now' });
    expect(await fx.client.send('tester', id, message('again'))).toMatchObject({
      status: 'completed',
      content: 'fine now',
    });
  });

  test('a posted message whose turn fails hears of it on its channel', async () => {
    const id = newId();
    fx.model.script({ status: 400, message: 'context length exceeded' });
    await fx.client.post('tester', id, { id: 'p1', content: 'hi', channel: { type: 'log' } });
    const delivered = await eventually(async () => fx.logged.find((line) => line.conversationId === id), 30_000);
    expect(delivered).toMatchObject({
      messageId: 'p1',
      status: 'error',
      content: expect.stringMatching(/rejected the request.*context length exceeded/),
    });
  });
});

describe('invalid input', () => {
  test('the client refuses an invalid message before anything reaches Temporal', async () => {
    const id = newId();
    await expect(fx.client.send('tester', id, { id: 'x', content: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id)).describe()).rejects.toThrow();
  });

  test('an invalid message sent as a raw update is rejected and leaves no event in history', async () => {
    const id = newId();
    fx.model.script({ content: 'hi' });
    await fx.client.send('tester', id, message('hi'));
    const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id));
    const before = (await handle.fetchHistory()).events!.length;
    const bad = { id: 'bad', content: 'x', unexpected: true } as unknown as InboundMessage;
    await expect(handle.executeUpdate(sendUpdate, { args: [bad] })).rejects.toThrow();
    expect((await handle.fetchHistory()).events!.length).toBe(before);
    expect((await fx.client.state('tester', id)).turns).toBe(1);
  });
});

test('a reply is delivered once even when the worker dies between sending and recording it', async () => {
  const id = newId();
  const m = message('deliver me', { channel: { type: 'webhook', url: fx.hook.url } });
  fx.model.script({ content: 'delivered once' });
  // The receiver applies the first delivery, then stalls its answer while the worker is stopped.
  const stalled = fx.hook.stallNext();
  await fx.client.post('tester', id, m);
  await stalled.arrived;
  await fx.restartWorker();
  stalled.release();
  const delivery = await fx.hook.delivery(m.id);
  expect(delivery.body.reply.content).toBe('delivered once');
  await eventually(async () =>
    fx.hook.requests.filter((r) => r.idempotencyKey === delivery.idempotencyKey).length >= 2 ? true : undefined,
  );
  expect([...fx.hook.applied.values()].filter((d) => d.body.reply.messageId === m.id)).toHaveLength(1);
  expect((await fx.client.state('tester', id)).turns).toBe(1);
});

test('while a reply is being delivered, and while messages wait, the state says running, not idle', async () => {
  const id = newId();
  const m = message('deliver me', { channel: { type: 'webhook', url: fx.hook.url } });
  fx.model.script({ content: 'on its way' });
  const stalled = fx.hook.stallNext();
  await fx.client.post('tester', id, m);
  await stalled.arrived;
  await fx.client.post('tester', id, message('next one'));
  const during = await fx.client.state('tester', id);
  expect(during).toMatchObject({
    status: 'running',
    currentTurn: null,
    delivering: m.id,
    queued: [{ id: expect.any(String) }],
  });
  stalled.release();
  await fx.hook.delivery(m.id);
  const after = await eventually(async () => {
    const view = await fx.client.state('tester', id);
    return view.turns === 2 && view.status === 'idle' ? view : undefined;
  });
  expect(after).toMatchObject({ delivering: null, queued: [] });
});

test('a worker stopped mid-turn: the next worker finishes the turn', async () => {
  const id = newId();
  fx.model.script({ hang: true }, { content: 'finished by the next worker' });
  const reply = fx.client.send('tester', id, message('survive'));
  const first = await fx.model.nextRequest();
  await fx.restartWorker();
  expect(await first.ended).toBe('aborted');
  expect(await reply).toMatchObject({ status: 'completed', content: 'finished by the next worker' });
});

test('end closes the conversation after its turns; state stays readable', async () => {
  const id = newId();
  fx.model.script({ content: 'bye' });
  await fx.client.send('tester', id, message('last words'));
  await fx.client.end('tester', id);
  const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id));
  expect(await handle.result()).toEqual({ turns: 1 });
  expect((await handle.describe()).status.name).toBe('COMPLETED');
  expect((await fx.client.state('tester', id)).turns).toBe(1);
});

test('a turn asks for its patches before the agent loads, so a task the SDK splits after loadAgent still replays', async () => {
  // On the real server under load, SDK 1.23 completed the first task with loadAgent's local-activity marker before
  // the code after it ran; the memory patch asked for there landed in the next task, and that history could never
  // be replayed (a worker restart left the conversation stuck). Patches asked for before loadAgent land before it.
  const id = newId();
  fx.model.script({ content: 'hi' });
  await fx.client.send('tester', id, message('hi'));
  const history = await fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id)).fetchHistory();
  const markers = (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (!marker) return [];
    const patch = marker.details?.['patch-data']?.payloads?.[0]?.data;
    return [
      marker.markerName === 'core_patch' && patch
        ? (JSON.parse(Buffer.from(patch).toString()) as { id: string }).id
        : marker.markerName,
    ];
  });
  const loaded = markers.indexOf('core_local_activity');
  expect(loaded).toBeGreaterThan(-1);
  expect(markers.slice(loaded + 1).filter((m) => m?.startsWith('vigil-'))).toEqual([]);
  expect(markers.slice(0, loaded)).toContain('vigil-memory-1');
});

test('an ended conversation stays ended: send, post and open are refused, and no new run starts', async () => {
  const id = newId();
  fx.model.script({ content: 'bye' });
  await fx.client.send('tester', id, message('last words'));
  await fx.client.end('tester', id);
  const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id));
  await handle.result();
  const { runId } = await handle.describe();
  const modelCalls = fx.model.requests.length;
  for (const attempt of [
    () => fx.client.send('tester', id, message('anyone?')),
    () => fx.client.post('tester', id, message('hello?')),
    () => fx.client.open('tester', id),
  ]) {
    const error = await attempt().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConversationEndedError);
    expect((error as Error).message).toBe(
      `conversation ${id} of agent tester has ended and takes no more messages; use a new conversation id`,
    );
  }
  const after = await handle.describe();
  expect({ runId: after.runId, status: after.status.name }).toEqual({ runId, status: 'COMPLETED' });
  expect(fx.model.requests.length).toBe(modelCalls);
});

test('sends racing `end` are answered or refused, never taken by a new conversation', async () => {
  // Sends one after another across the close: while the run is ending they are refused by its validator, once it
  // has closed the start is refused; one that reaches the run while its closing task is in flight is aborted there
  // and (on a real server) retried as a start, which is refused too. Whatever the timing, the run stays the only one.
  const id = newId();
  fx.model.respondWith(() => ({ content: 'ok' }));
  await fx.client.send('tester', id, message('first'));
  const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id));
  const { runId } = await handle.describe();
  await fx.client.end('tester', id);
  const outcomes: string[] = [];
  for (;;) {
    const outcome = await fx.client.send('tester', id, message('racing')).then(
      () => 'answered',
      (e: unknown) =>
        e instanceof ConversationEndedError
          ? 'ended'
          : e instanceof ValidationError
            ? 'refused while ending'
            : String(e),
    );
    outcomes.push(outcome);
    if (outcome === 'ended') break;
  }
  expect(new Set(outcomes)).toEqual(
    new Set(outcomes.filter((o) => ['answered', 'refused while ending', 'ended'].includes(o))),
  );
  const after = await handle.describe();
  expect({ runId: after.runId, status: after.status.name }).toEqual({ runId, status: 'COMPLETED' });
  expect((await handle.result()).turns).toBe(1 + outcomes.filter((o) => o === 'answered').length);
});

test('a conversation is findable by agent, status and tokens, with a readable memo', async () => {
  const id = newId();
  fx.model.script({ content: 'indexed', usage: { prompt_tokens: 7, completion_tokens: 3 } });
  await fx.client.send('tester', id, message('index me'));
  const workflowId = conversationWorkflowId('tester', id);
  const query = `VigilAgent = 'tester' AND VigilStatus = 'idle' AND VigilTokensUsed = 10 AND WorkflowId = '${workflowId}'`;
  // Visibility on a real server is eventually consistent.
  await eventually(async () => ((await fx.env.client.workflow.count(query)).count === 1 ? true : undefined));
  const described = await fx.env.client.workflow.getHandle(workflowId).describe();
  expect(described.memo).toEqual({ summary: 'tester · 1 turn · idle', lastMessage: 'index me' });
  expect(described.searchAttributes.VigilLastActivity).toHaveLength(1);
});
