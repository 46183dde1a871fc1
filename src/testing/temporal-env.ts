/**
 * The one way tests get a Temporal: a real server when TEMPORAL_TEST_ADDRESS is set (host:port, with
 * TEMPORAL_TEST_NAMESPACE, default "default"), otherwise the in-process test server. Tests written against it
 * run unchanged on both.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
// The SDK exposes the TestService (time skipping) only on connections built with this internal option.
import { InternalConnectionOptions, InternalConnectionOptionsSymbol } from '@temporalio/client/lib/connection';
import { NativeConnection } from '@temporalio/worker';
import { registerVigilSearchAttributes } from '../search-attributes-setup';
import { type DynamicConfig, startTestServer, TestServer } from './temporal-server';

export interface TemporalTestEnv {
  /** A connected client for the test's namespace. */
  client: Client;
  /** The client's connection: `operatorService`, and `testService` for time skipping. */
  connection: Connection;
  /** For `Worker.create({ connection })`. */
  nativeConnection: NativeConnection;
  namespace: string;
  address: string;
  /** 'external' when TEMPORAL_TEST_ADDRESS chose a real server. */
  backend: 'in-process' | 'external';
  teardown(): Promise<void>;
}

export interface TemporalTestEnvOptions {
  /**
   * Ask for an in-process server with time skipping. Always in-process: a real server has no time skipping,
   * so tests that need it say so and get their own server.
   */
  timeSkipping?: boolean;
  /**
   * The in-process server's dynamic config, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 100 }` to have
   * continue-as-new suggested after 100 events (see TestServerOptions.dynamicConfig for the keys). Always
   * in-process, like `timeSkipping`: a real server's dynamic config is set where it is started, not by a test,
   * so a test that needs other limits says so and gets its own server even when TEMPORAL_TEST_ADDRESS is set.
   */
  dynamicConfig?: DynamicConfig;
  /**
   * The `client`'s data converter, e.g. `vigilDataConverter(store)` (src/store/data-converter.ts) so it reads
   * large payloads as the test's worker writes them. Default: Temporal's.
   */
  dataConverter?: DataConverter;
}

export async function createTemporalTestEnv(options: TemporalTestEnvOptions = {}): Promise<TemporalTestEnv> {
  const ownServer = options.timeSkipping || options.dynamicConfig !== undefined;
  const external = ownServer ? undefined : process.env.TEMPORAL_TEST_ADDRESS;
  let server: TestServer | undefined;
  const address =
    external ??
    (server = await startTestServer({ timeSkipping: options.timeSkipping, dynamicConfig: options.dynamicConfig })).address;
  const namespace = (external && process.env.TEMPORAL_TEST_NAMESPACE) || 'default';
  const connectionOptions: InternalConnectionOptions = {
    address,
    [InternalConnectionOptionsSymbol]: { supportsTestService: true },
  };
  const connection = await Connection.connect(connectionOptions);
  const nativeConnection = await NativeConnection.connect({ address });
  // Conversations set Vigil's search attributes; the namespace must know them (idempotent on a real server).
  await registerVigilSearchAttributes(connection, namespace);
  return {
    client: new Client({ connection, namespace, ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}) }),
    connection,
    nativeConnection,
    namespace,
    address,
    backend: external ? 'external' : 'in-process',
    async teardown() {
      await nativeConnection.close();
      await connection.close();
      await server?.close();
    },
  };
}
