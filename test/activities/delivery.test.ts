import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createDeliveryActivity } from '../../src/activities/delivery';
import { type DeliveryInput } from '../../src/conversation/activity-contract';
import { FailureTypes } from '../../src/conversation/failure-types';
import { createLogChannel } from '../../src/channels/log';
import type { DeliveryContext, OutputChannel } from '../../src/channels/output-channel';
import { createWebhookChannel } from '../../src/channels/webhook';
import { verifyWebhookSignature } from '../../src/channels/webhook-signature';
import { ConfigError } from '../../src/errors';
import { startWebhookReceiver } from '../channels/webhook-receiver';
import { startWebhookReceiver as startDedupingReceiver } from '../helpers/webhook-receiver';

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

  describe('issue 16: deliveries that no retry can fix, and URLs that must not be quoted', () => {
    const secret = 'an-integration-test-secret';

    it.each([
      ['an emoji', 'ok-👍'],
      ['CR/LF', 'a\r\nb'],
      ['a lone surrogate', 'a\ud800'],
      ['NUL', 'a\u0000b'],
    ])(
      'delivers the reply to a message id with %s to a real receiver, signed, at the first attempt',
      async (_, messageId) => {
        const receiver = await startDedupingReceiver(secret);
        try {
          const deliver = createDeliveryActivity({ channels: [createWebhookChannel({ secret })] });
          const input: DeliveryInput = {
            agent: 'assistant',
            conversationId: 'c1',
            channel: { type: 'webhook', url: receiver.url },
            reply: { ...reply, messageId },
          };
          await expect(activityEnv().run(deliver, input)).resolves.toEqual({ detail: 'HTTP 200' });
          const delivered = await receiver.delivery(messageId);
          expect(delivered.body.reply.messageId).toBe(messageId);
          expect(delivered.idempotencyKey).toMatch(/^assistant:c1:[\x21-\x7E]+$/);
          expect(receiver.requests).toEqual([{ idempotencyKey: delivered.idempotencyKey, signatureValid: true }]);
        } finally {
          await receiver.close();
        }
      },
    );

    it('fails at once on a URL with credentials, naming the origin only', async () => {
      const deliver = createDeliveryActivity({ channels: [createWebhookChannel({ secret })] });
      const input: DeliveryInput = {
        agent: 'assistant',
        conversationId: 'c1',
        channel: { type: 'webhook', url: 'https://bob:hunter2-s3cret@hooks.example.com/T01/tok-s3cret?q=s3cret' },
        reply,
      };
      const error = await activityEnv()
        .run(deliver, input)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ nonRetryable: true, type: FailureTypes.DeliveryRejected });
      const { message, stack } = error as ApplicationFailure;
      expect(message).toMatch(/^webhook https:\/\/hooks\.example\.com: the URL carries credentials/);
      expect(`${message}\n${stack}`).not.toMatch(/bob|hunter2|s3cret|T01/);
    });

    it("redacts the URL from a channel's failure that quotes it, keeping its type and retry semantics", async () => {
      const url = 'https://bob:hunter2-s3cret@hooks.example.com/T01/tok-s3cret?q=s3cret';
      const thrown = [
        new Error(`POST ${url} failed`),
        ApplicationFailure.nonRetryable(`refused ${url}`, FailureTypes.DeliveryRejected),
        ApplicationFailure.create({ message: 'wrapped', type: 'DeliveryFailed', cause: new Error(`at ${url}`) }),
      ];
      const seen: unknown[] = [];
      for (const error of thrown) {
        const leaky: OutputChannel = {
          type: 'webhook',
          deliver: async () => {
            throw error;
          },
        };
        const deliver = createDeliveryActivity({ channels: [leaky] });
        const input: DeliveryInput = {
          agent: 'assistant',
          conversationId: 'c1',
          channel: { type: 'webhook', url },
          reply,
        };
        seen.push(
          await activityEnv()
            .run(deliver, input)
            .catch((e: unknown) => e),
        );
      }
      expect(seen).toMatchObject([
        { message: 'POST https://hooks.example.com failed', type: 'Error', nonRetryable: false },
        { message: 'refused https://hooks.example.com', type: FailureTypes.DeliveryRejected, nonRetryable: true },
        { message: 'wrapped', type: 'DeliveryFailed', nonRetryable: false, cause: undefined },
      ]);
      for (const error of seen) {
        expect(error).toBeInstanceOf(ApplicationFailure);
        const { message, stack } = error as ApplicationFailure;
        expect(`${message}\n${stack}`).not.toMatch(/bob|hunter2|s3cret|T01/);
      }
    });

    it('passes failures that do not quote the URL through unchanged', async () => {
      const failure = ApplicationFailure.create({
        message: 'webhook https://hooks.example.com answered HTTP 503',
        type: 'DeliveryFailed',
      });
      const channel: OutputChannel = {
        type: 'webhook',
        deliver: async () => {
          throw failure;
        },
      };
      const deliver = createDeliveryActivity({ channels: [channel] });
      const input: DeliveryInput = {
        agent: 'assistant',
        conversationId: 'c1',
        channel: { type: 'webhook', url: 'https://hooks.example.com/webhook/tok-s3cret' },
        reply,
      };
      await expect(activityEnv().run(deliver, input)).rejects.toBe(failure);
    });
  });
});
