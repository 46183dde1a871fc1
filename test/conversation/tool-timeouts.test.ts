/**
 * A tool call whose every attempt times out (a tool that hangs, as a worker that dies holding the call looks to
 * Temporal) is given to the model as a failed result, as a failing tool's is, and the turn goes on to the model's
 * answer instead of ending with an error reply. The real worker, the offline Temporal and a scripted model.
 */
import { z } from 'zod';
import { defineAgent } from '../../src/agents/define-agent';
import { defineTool } from '../../src/tools';
import { newId, useConversations } from '../helpers/conversation';

/** How many times the hanging tool was started: each attempt the server timed out. */
let started = 0;

const stuck = defineTool({
  name: 'stuck',
  description: 'Never finishes',
  parameters: z.object({}),
  timeoutMs: 1_000,
  retry: { maximumAttempts: 2, initialIntervalMs: 100 },
  execute: (_args, { signal }) => {
    started++;
    // Ends only when the worker gives up on the attempt, as a hung call to a dead service would.
    return new Promise<string>((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error('the attempt was given up'))),
    );
  },
});

const agent = defineAgent({ name: 'patient', instructions: 'Be brief.', model: 'test-model', tools: [stuck] });
const fx = useConversations([agent]);

test('a tool whose every attempt times out is a failed tool result for the model, and the turn is answered', async () => {
  fx.model.script(
    { toolCalls: [{ id: 'call-1', name: 'stuck', arguments: '{}' }] },
    { content: 'The tool is not answering; try again later.' },
  );
  const before = fx.model.requests.length;

  const reply = await fx.client.send('patient', newId(), { id: newId('m'), content: 'use the tool' });

  expect(reply).toMatchObject({ status: 'completed', content: 'The tool is not answering; try again later.' });
  expect(started).toBe(2);
  const toolMessage = fx.model.requests.slice(before)[1].body.messages.at(-1);
  expect(toolMessage).toEqual({
    role: 'tool',
    tool_call_id: 'call-1',
    content: expect.stringMatching(/^Error: stuck did not finish: each attempt timed out \(after 1 s\)/),
  });
});
