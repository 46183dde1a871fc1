import type { DeliveryInput } from '../../src/conversation/activity-contract';
import { createLogChannel } from '../../src/channels/log';

describe('log channel', () => {
  it('writes the reply as one structured line', async () => {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const channel = createLogChannel({ info: (obj, msg) => lines.push({ obj, msg }) });
    const input: DeliveryInput = {
      agent: 'assistant',
      conversationId: 'conv-1',
      channel: { type: 'log' },
      reply: {
        messageId: 'm1',
        turn: 1,
        status: 'completed',
        content: 'hello',
        models: ['gpt-4o-mini'],
        usage: { inputTokens: 3, outputTokens: 1 },
      },
    };
    const result = await channel.deliver(input, { signal: new AbortController().signal, attempt: 1 });
    expect(result).toEqual({ detail: 'logged' });
    expect(lines).toEqual([
      {
        msg: 'reply delivered',
        obj: {
          agent: 'assistant',
          conversationId: 'conv-1',
          messageId: 'm1',
          turn: 1,
          status: 'completed',
          models: ['gpt-4o-mini'],
          usage: { inputTokens: 3, outputTokens: 1 },
          content: 'hello',
        },
      },
    ]);
  });
});
