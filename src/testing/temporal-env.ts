/**
 * The one way tests get a Temporal: a real server when TEMPORAL_TEST_ADDRESS is set (host:port, with
 * TEMPORAL_TEST_NAMESPACE, default "default"), otherwise the in-process test server. Tests written against it
 * run unchanged on both. A test that needs its own dynamic config gets its own server: a real Temporal CLI dev
 * server when VIGIL_TEMPORAL_CLI names the CLI (as `npm run test:temporal` does), else an in-process one.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
// The SDK exposes the TestService (time skipping) only on connections built with this internal option.
import { InternalConnectionOptions, InternalConnectionOptionsSymbol } from '@temporalio/client/lib/connection';
import { NativeConnection } from '@temporalio/worker';
import { registerVigilSearchAttributes } from '../search-attributes-setup';
import { vigilConnectionOptions } from '../client/connection';
import { startTemporalCliServer, type TemporalCliServer } from './temporal-cli';
import {
  type DynamicConfig,
  resolveDynamicConfig,
  startTestServer,
  type TestServer,
} from '@vigil/temporal-test-server';

export interface TemporalTestEnv {
  /** A connected client for the test's namespace. */
  client: Client;
  /** The client's connection: `operatorService`, and `testService` for time skipping. */
  connection: Connection;
  /** For `Worker.create({ connection })`. */
  nativeConnection: NativeConnection;
  namespace: string;
  address: string;
  /** 'external' when TEMPORAL_TEST_ADDRESS chose a real server, or VIGIL_TEMPORAL_CLI started one for this test. */
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
   * The server's dynamic config, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 100 }` to have continue-as-new
   * suggested after 100 events (see TestServerOptions.dynamicConfig for the keys). A server's dynamic config is set
   * where it is started, not by a test, so such a test always gets a server of its own: a real dev server started
   * from VIGIL_TEMPORAL_CLI (`--dynamic-config-value`) when that is set, an in-process one otherwise.
   */
  dynamicConfig?: DynamicConfig;
  /** A running server to use instead (host:port), e.g. a Temporal CLI dev server with its Web UI that the test started. */
  address?: string;
  /**
   * The `client`'s data converter, e.g. `vigilDataConverter(store)` (src/store/data-converter.ts) so it reads
   * large payloads as the test's worker writes them. Default: Temporal's.
   */
  dataConverter?: DataConverter;
}

export async function createTemporalTestEnv(options: TemporalTestEnvOptions = {}): Promise<TemporalTestEnv> {
  const ownServer = options.timeSkipping || options.dynamicConfig !== undefined;
  let external = options.address ?? (ownServer ? undefined : process.env.TEMPORAL_TEST_ADDRESS);
  let server: TestServer | TemporalCliServer | undefined;
  const cli = process.env.VIGIL_TEMPORAL_CLI;
  if (options.dynamicConfig !== undefined && !options.timeSkipping && cli) {
    // Checked as the in-process server checks it, so a mistyped key fails the same way on both.
    resolveDynamicConfig(options.dynamicConfig);
    server = await startTemporalCliServer({ executable: cli, ui: false, dynamicConfig: options.dynamicConfig });
    external = server.address;
  }
  const address =
    external ??
    (server = await startTestServer({ timeSkipping: options.timeSkipping, dynamicConfig: options.dynamicConfig }))
      .address;
  const namespace = (external && !server && process.env.TEMPORAL_TEST_NAMESPACE) || 'default';
  const connectionOptions: InternalConnectionOptions = {
    address,
    [InternalConnectionOptionsSymbol]: { supportsTestService: true },
  };
  const connection = await Connection.connect(vigilConnectionOptions(connectionOptions));
  const nativeConnection = await NativeConnection.connect({ address });
  // Conversations set Vigil's search attributes; the namespace must know them (idempotent on a real server).
  await registerVigilSearchAttributes(connection, namespace);
  return {
    client: new Client({
      connection,
      namespace,
      ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    }),
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
