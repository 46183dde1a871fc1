/**
 * The activity of a schedule's firing: posts the message to its conversation (signal-with-start through the
 * typed client), with the firing's workflow id as message id.
 *
 * It uses the worker's own Temporal client (`Context.current().client`) and the task queue it runs on, which is
 * the conversation's: no extra dependency for the activity factory, and no second connection per worker.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { AgentClient } from '../client';
import { ValidationError } from '../errors';
import { type ScheduledPostInput } from '../conversation/activity-contract';
import { FailureTypes } from '../conversation/failure-types';

export function createScheduledMessageActivity() {
  return async function postScheduledMessage(input: ScheduledPostInput): Promise<void> {
    const context = Context.current();
    const agents = new AgentClient({ client: context.client, taskQueue: context.info.taskQueue });
    try {
      await agents.post(input.agent, input.conversationId, {
        id: input.messageId,
        content: input.content,
        author: input.author,
        channel: input.channel,
      });
    } catch (error) {
      if (error instanceof ValidationError)
        throw ApplicationFailure.nonRetryable(error.message, FailureTypes.ScheduledMessageInvalid);
      throw error;
    }
  };
}
