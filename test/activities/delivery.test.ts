import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createDeliveryActivity } from '../../src/activities/delivery';
import { FailureTypes, type DeliveryInput } from '../../src/activities/types';
import { createLogChannel } from '../../src/channels/log';
import type { DeliveryContext, OutputChannel } from '../../src/channels/output-channel';
import { createWebhookChannel } from '../../src/channels/webhook';
import { verifyWebhookSignature } from '../../src/channels/webhook-signature';
import { ConfigError } from '../../src/errors';
import { startWebhookReceiver } from '../channels/webhook-receiver';

const reply: DeliveryInput['reply'] = {
  messageId: 'm1',
  turn: 1,
  status: 'completed',
  content: 'done',
  models: ['gpt-4o-mini'],
  usage: { inputTokens: 1, outputTokens: 1 },
};

function activityEnv(info?: ConstructorParameters<typeof MockActivityEnvironment>[0]) {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

describe('deliverReply activity', () => {
  it("delivers through the channel the message named, with the activity's attempt and signal", async () => {
    const seen: { input: DeliveryInput; ctx: DeliveryContext }[] = [];
    const webhook: OutputChannel = {
      type: 'webhook',
      deliver: async (input, ctx) => {
        seen.push({ input, ctx });
        return { detail: 'HTTP 200' };
      },
    };
    const lines: unknown[] = [];
    const log = createLogChannel({ info: (obj) => lines.push(obj) });
    const deliver = createDeliveryActivity({ channels: [log, webhook] });
    const input: DeliveryInput = {
      agent: 'assistant',
      conversationId: 'c1',
      channel: { type: 'webhook', url: 'https://hooks.example.com/x' },
      reply,
    };
    const env = activityEnv({ attempt: 3 });
    await expect(env.run(deliver, input)).resolves.toEqual({ detail: 'HTTP 200' });
    expect(seen).toHaveLength(1);
    expect(seen[0].input).toEqual(input);
    expect(seen[0].ctx.attempt).toBe(3);
    expect(seen[0].ctx.signal).toBe(env.context.cancellationSignal);
    expect(lines).toEqual([]);
  });

  it('delivers to a real webhook receiver end to end', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const secret = 'an-integration-test-secret';
      const deliver = createDeliveryActivity({ channels: [createWebhookChannel({ secret })] });
      const input: DeliveryInput = {
        agent: 'assistant',
        conversationId: 'c1',
        channel: { type: 'webhook', url: receiver.url },
        reply,
      };
      await expect(activityEnv({ attempt: 2 }).run(deliver, input)).resolves.toEqual({ detail: 'HTTP 204' });
      const [request] = receiver.received;
      expect(request.headers['vigil-attempt']).toBe('2');
      expect(verifyWebhookSignature(secret, request.headers['vigil-signature'] as string, request.body, 60)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('rejects a channel type this worker has no channel for, for good', async () => {
    const deliver = createDeliveryActivity({ channels: [createLogChannel({ info: () => undefined })] });
    const input: DeliveryInput = {
      agent: 'assistant',
      conversationId: 'c1',
      channel: { type: 'webhook', url: 'https://hooks.example.com/x' },
      reply,
    };
    const run = activityEnv().run(deliver, input);
    await expect(run).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(run).rejects.toMatchObject({
      nonRetryable: true,
      type: FailureTypes.DeliveryRejected,
      message: 'no output channel of type "webhook" on this worker (configured: log)',
    });
  });

  it('refuses two channels of the same type', () => {
    const log = createLogChannel({ info: () => undefined });
    expect(() => createDeliveryActivity({ channels: [log, log] })).toThrow(ConfigError);
  });
});
