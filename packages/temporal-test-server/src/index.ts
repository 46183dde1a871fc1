/**
 * An in-process server that speaks Temporal's gRPC protocol, for tests and offline development: the real
 * @temporalio/worker and @temporalio/client run against it unchanged.
 *
 * @example
 *   const server = await startTestServer();
 *   const connection = await NativeConnection.connect({ address: server.address });
 *   // ... run a Worker and a Client ...
 *   await server.close();
 */
import * as grpc from '@grpc/grpc-js';
import { Cluster, WorkflowTaskDispatch } from './cluster';
import { type DynamicConfig, resolveDynamicConfig } from './dynamic-config';
import { addService } from './grpc-server';
import { healthService, operatorService, testService, workflowService } from './workflow-service';

export type { WorkflowTaskDispatch } from './cluster';
export {
  DYNAMIC_CONFIG_DEFAULTS,
  DynamicConfigError,
  parseDynamicConfigValue,
  resolveDynamicConfig,
} from './dynamic-config';
export type { DynamicConfig, DynamicConfigKey } from './dynamic-config';

export interface TestServerOptions {
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Jump time to the next timer whenever no workflow task or activity is pending. Off by default. */
  timeSkipping?: boolean;
  /** Where internal errors are reported (default: stderr). */
  log?: (message: string) => void;
  /**
   * Called for every workflow or query task handed to a worker, with the queue it came from and the history
   * events it carried (e.g. to see that sticky tasks carry only new events).
   */
  onWorkflowTask?: (task: WorkflowTaskDispatch) => void;
  /**
   * The real server's dynamic config keys the test server honours, as `temporal server start-dev
   * --dynamic-config-value KEY=VALUE` takes them: `limit.historyCount.suggestContinueAsNew` (4096 events),
   * `limit.historySize.suggestContinueAsNew` (4 MiB), `history.maxTotalUpdates` (2000),
   * `history.maxTotalUpdates.suggestContinueAsNewThreshold` (0.9), `history.maximumSignalsPerExecution` (10000) and
   * `limit.blobSize.error` (2 MiB, a start's or a signal's payloads). Any other key, or a value out of range, is a
   * DynamicConfigError naming the key.
   */
  dynamicConfig?: DynamicConfig;
}

export interface TestServer {
  /** host:port, for `Connection.connect({ address })` and `NativeConnection.connect({ address })`. */
  address: string;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const log = options.log ?? ((m: string) => process.stderr.write(`temporal test server: ${m}\n`));
  // Checked before anything listens: a bad key fails the start, not some workflow task later.
  const limits = resolveDynamicConfig(options.dynamicConfig);
  const cluster = new Cluster(options.timeSkipping ?? false, { onWorkflowTask: options.onWorkflowTask }, limits);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
    'grpc.max_send_message_length': 128 * 1024 * 1024,
  });
  addService(server, 'temporal.api.workflowservice.v1.WorkflowService', workflowService(cluster), log);
  addService(server, 'temporal.api.operatorservice.v1.OperatorService', operatorService(cluster), log);
  addService(server, 'temporal.api.testservice.v1.TestService', testService(cluster), log);
  addService(server, 'grpc.health.v1.Health', healthService(), log);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  let closed: Promise<void> | undefined;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        cluster.close();
        // Long polls are answered empty by cluster.close(); give them a moment, then cut what is left.
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}
