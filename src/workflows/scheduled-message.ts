/**
 * One firing of a schedule: posts its message to the conversation and ends. The schedule (src/schedules)
 * starts it with the workflow id `<schedule id>-<fire time>`, which becomes the message id, so a retried
 * activity or a re-run firing is answered once by the conversation's message-id dedupe.
 *
 * A new workflow type beside `conversation`: it changes nothing in the conversation's histories.
 */
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ScheduledMessageActivities } from '../conversation/activity-contract';
import { FailureTypes } from '../conversation/failure-types';
import { describeZodError, ScheduledMessageInput } from '../conversation/protocol';

const { postScheduledMessage } = proxyActivities<ScheduledMessageActivities>({
  startToCloseTimeout: '30 seconds',
  // Temporal being briefly unreachable from the worker is retried; a message the protocol refuses is not.
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: [FailureTypes.ScheduledMessageInvalid] },
});

export async function scheduledMessage(input: ScheduledMessageInput): Promise<{ messageId: string }> {
  const parsed = ScheduledMessageInput.safeParse(input);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `invalid scheduledMessage input: ${describeZodError(parsed.error)}`,
      FailureTypes.ScheduledMessageInvalid,
    );
  }
  const messageId = workflowInfo().workflowId;
  await postScheduledMessage({ ...parsed.data, messageId });
  return { messageId };
}
