/**
 * Vigil's connection retry policy: a conversation's "too many updates in flight" is answered at once (the caller gets
 * ConversationBusyError, the gateway 429), every other error is retried as Temporal's client retries it.
 */
import { Metadata, status as grpcStatus, type StatusObject } from '@grpc/grpc-js';
import { google, temporal } from '@temporalio/proto';
import { vigilGrpcRetryOptions } from '../../src/client';

const IN_FLIGHT = 'limit on number of concurrent in-flight updates has been reached (10)';

function resourceExhausted(details: string, metadata = new Metadata()): StatusObject {
  return { code: grpcStatus.RESOURCE_EXHAUSTED, details, metadata };
}

/** Update-with-start's failure as a real server sends it: each operation's status in the details. */
function updateWithStartRefused(message: string): StatusObject {
  const failure = temporal.api.errordetails.v1.MultiOperationExecutionFailure.encode({
    statuses: [
      { code: grpcStatus.ABORTED, message: 'Operation was aborted.' },
      { code: grpcStatus.RESOURCE_EXHAUSTED, message },
    ],
  }).finish();
  const detailsBin = google.rpc.Status.encode({
    code: grpcStatus.RESOURCE_EXHAUSTED,
    message: 'Update-with-Start could not be executed.',
    details: [
      { type_url: 'type.googleapis.com/temporal.api.errordetails.v1.MultiOperationExecutionFailure', value: failure },
    ],
  }).finish();
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(detailsBin));
  return resourceExhausted('Update-with-Start could not be executed.', metadata);
}

const { retryableDecider } = vigilGrpcRetryOptions();

test("a run's in-flight update refusal is not retried, alone or as update-with-start's", () => {
  expect(retryableDecider(1, resourceExhausted(IN_FLIGHT))).toBe(false);
  expect(retryableDecider(1, updateWithStartRefused(IN_FLIGHT))).toBe(false);
  expect(
    retryableDecider(
      1,
      resourceExhausted('limit on total payload size of in-flight updates has been reached (20971520 bytes)'),
    ),
  ).toBe(false);
});

test('other errors are retried as Temporal retries them', () => {
  expect(retryableDecider(1, resourceExhausted('namespace rate limit exceeded'))).toBe(true);
  expect(retryableDecider(1, updateWithStartRefused('namespace rate limit exceeded'))).toBe(true);
  expect(
    retryableDecider(1, { code: grpcStatus.UNAVAILABLE, details: 'connection refused', metadata: new Metadata() }),
  ).toBe(true);
  expect(retryableDecider(1, { code: grpcStatus.INVALID_ARGUMENT, details: 'bad', metadata: new Metadata() })).toBe(
    false,
  );
  expect(retryableDecider(10, resourceExhausted('namespace rate limit exceeded'))).toBe(false);
});
