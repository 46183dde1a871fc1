/**
 * An in-process server whose workflow-task hand-outs are recorded (the `onWorkflowTask` hook), with a client
 * and a native connection for workers, for the tests that watch how tasks reach workers (sticky queues,
 * refused completions). These tests need the in-process server: a real one has no such hook.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startTestServer, type TestServer, type WorkflowTaskDispatch } from '@vigil/temporal-test-server';

export interface WatchedServer {
  server: TestServer;
  client: Client;
  nativeConnection: NativeConnection;
  /** Every workflow task (and legacy query) handed to a worker, in order. */
  dispatches: WorkflowTaskDispatch[];
}

/** Starts the server before the file's tests and closes everything after them. */
export function useWatchedServer(): WatchedServer {
  const watched = { dispatches: [] as WorkflowTaskDispatch[] } as WatchedServer;
  beforeAll(async () => {
    watched.server = await startTestServer({ onWorkflowTask: (task) => watched.dispatches.push(task) });
    watched.client = new Client({ connection: await Connection.connect({ address: watched.server.address }) });
    watched.nativeConnection = await NativeConnection.connect({ address: watched.server.address });
  });
  afterAll(async () => {
    await watched.nativeConnection?.close();
    await watched.client?.connection.close();
    await watched.server?.close();
  });
  return watched;
}
