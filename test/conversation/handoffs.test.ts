/**
 * Handoffs, end to end on the real worker: the model calls `transfer_to_<agent>`, and from the next step on the
 * other agent answers (its instructions, model and tools, as the scripted model sees them), in this turn and the
 * next ones, across a continue-as-new. The conversation keeps its address (the first agent's name); its state,
 * view and transcript say who answers.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId, type TranscriptEntry } from '../../src/conversation/protocol';
import { calculator } from '../../src/tools';
import { newId, useConversations } from '../helpers/conversation';

// Triage names billing by name (billing is defined after it and hands back to triage itself).
const triage = defineAgent({
  name: 'triage',
  instructions: 'You route questions.',
  model: 'triage-model',
  handoffs: [{ agent: 'billing', description: 'For questions about invoices.' }],
});
const billing = defineAgent({
  name: 'billing',
  instructions: 'You answer billing questions.',
  model: 'billing-model',
  tools: [calculator],
  handoffs: [triage],
  // A run that continues as new after a few turns, to show that the handoff goes along.
  limits: { continueAsNewAfterEvents: 100, continueAsNewWhenSuggested: false },
});
const fx = useConversations([triage, billing]);

afterEach(() => fx.model.reset());

const systemPrompt = (i: number) => fx.model.requests[i].body.messages[0].content;
const toolNames = (i: number) =>
  (fx.model.requests[i].body.tools ?? []).map((t) => (t as { function: { name: string } }).function.name);

test('the model hands the conversation over; the other agent answers from the next step on, and keeps answering', async () => {
  const id = newId();
  const start = fx.model.requests.length;
  fx.model.script(
    { toolCalls: [{ name: 'transfer_to_billing', arguments: '{}' }] },
    { toolCalls: [{ name: 'calculator', arguments: '{"expression":"2*21"}' }] },
    { content: 'Your invoice is 42.' },
    { content: 'Still billing.' },
  );

  const reply = await fx.client.send('triage', id, { id: 'm1', content: 'How much is my invoice?' });
  expect(reply).toMatchObject({ status: 'completed', content: 'Your invoice is 42.' });
  expect(reply.models).toEqual(['triage-model', 'billing-model', 'billing-model']);

  // The first step was triage's: its prompt and model, offered the handoff with its description.
  expect(fx.model.requests[start].body.model).toBe('triage-model');
  expect(systemPrompt(start)).toBe('You route questions.');
  expect(toolNames(start)).toEqual(['transfer_to_billing']);
  expect(fx.model.requests[start].body.tools?.[0]).toMatchObject({
    function: { description: 'For questions about invoices.' },
  });
  // The next steps are billing's, with billing's tools (its calculator ran for it) and its handoff back.
  for (const i of [start + 1, start + 2]) {
    expect(fx.model.requests[i].body.model).toBe('billing-model');
    expect(systemPrompt(i)).toBe('You answer billing questions.');
    expect(toolNames(i)).toEqual(['calculator', 'transfer_to_triage']);
  }

  const { entries } = await fx.client.transcript('triage', id);
  expect(entries.map((e) => e.role)).toEqual(['user', 'assistant', 'tool', 'notice', 'assistant', 'tool', 'assistant']);
  expect(entries[2]).toMatchObject({
    role: 'tool',
    name: 'transfer_to_billing',
    isError: false,
    content: 'Transferred to agent "billing", which answers from now on.',
  });
  expect(entries[3]).toMatchObject({ role: 'notice', handoff: { from: 'triage', to: 'billing' } });
  expect(entries[5]).toMatchObject({
    role: 'tool',
    name: 'calculator',
    content: expect.stringContaining('"result":42'),
    isError: false,
  });

  // The conversation's address is still triage's; its view says billing answers.
  const view = await fx.client.state('triage', id);
  expect(view).toMatchObject({ agent: 'triage', currentAgent: 'billing', status: 'idle' });

  // The next turn is billing's from its first step.
  expect(await fx.client.send('triage', id, { id: 'm2', content: 'And next month?' })).toMatchObject({
    content: 'Still billing.',
    models: ['billing-model'],
  });
  expect(systemPrompt(fx.model.requests.length - 1)).toBe('You answer billing questions.');
}, 60_000);

test('a handoff back to the conversation own agent makes it answer again', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: [{ name: 'transfer_to_billing', arguments: '{}' }] },
    { toolCalls: [{ name: 'transfer_to_triage', arguments: '{}' }] },
    { content: 'Triage again.' },
  );
  const reply = await fx.client.send('triage', id, { id: 'm1', content: 'Not a billing question after all.' });
  expect(reply).toMatchObject({ content: 'Triage again.', models: ['triage-model', 'billing-model', 'triage-model'] });
  expect(systemPrompt(fx.model.requests.length - 1)).toBe('You route questions.');
  expect(await fx.client.state('triage', id)).toMatchObject({ agent: 'triage', currentAgent: 'triage' });
  const notices = (await fx.client.transcript('triage', id)).entries.filter(
    (e): e is Extract<TranscriptEntry, { role: 'notice' }> => e.role === 'notice',
  );
  expect(notices.map((n) => n.handoff)).toEqual([
    { from: 'triage', to: 'billing' },
    { from: 'billing', to: 'triage' },
  ]);
}, 60_000);

test('two handoffs in one answer: the first is taken, the second is told it was not', async () => {
  const id = newId();
  fx.model.script(
    {
      toolCalls: [
        { name: 'transfer_to_billing', arguments: '{}' },
        { name: 'transfer_to_billing', arguments: '{}' },
      ],
    },
    { content: 'Billing.' },
  );
  await fx.client.send('triage', id, { id: 'm1', content: 'invoice' });
  const tools = (await fx.client.transcript('triage', id)).entries.filter((e) => e.role === 'tool');
  expect(tools.map((t) => t.isError)).toEqual([false, true]);
  expect(tools[1].content).toMatch(/only one handoff is taken per answer/);
  expect(await fx.client.state('triage', id)).toMatchObject({ currentAgent: 'billing' });
}, 60_000);

test('the agent handed to goes on answering after the conversation continues as new', async () => {
  const id = newId();
  fx.model.respondWith((req) => {
    const last = req.body.messages[req.body.messages.length - 1];
    if (req.body.model === 'triage-model' && last.role === 'user')
      return { toolCalls: [{ name: 'transfer_to_billing', arguments: '{}' }] };
    return { content: `${req.body.model}: ok` };
  });
  const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('triage', id));
  expect(await fx.client.send('triage', id, { id: 'm1', content: 'invoice' })).toMatchObject({
    content: 'billing-model: ok',
  });
  const firstRun = (await handle.describe()).runId;
  // Billing's limits make its runs short: turns until the run has switched.
  for (let n = 2; (await handle.describe()).runId === firstRun; n++) {
    if (n > 40) throw new Error('the conversation did not continue as new');
    expect(await fx.client.send('triage', id, { id: `m${n}`, content: `message ${n}` })).toMatchObject({
      content: 'billing-model: ok',
    });
  }
  const before = fx.model.requests.length;
  expect(await fx.client.send('triage', id, { id: 'after', content: 'in the new run' })).toMatchObject({
    content: 'billing-model: ok',
    models: ['billing-model'],
  });
  expect(systemPrompt(before)).toBe('You answer billing questions.');
  expect(await fx.client.state('triage', id)).toMatchObject({ agent: 'triage', currentAgent: 'billing' });
  const { entries } = await fx.client.transcript('triage', id);
  expect(entries.some((e) => e.role === 'notice' && e.handoff?.to === 'billing')).toBe(true);
}, 120_000);
