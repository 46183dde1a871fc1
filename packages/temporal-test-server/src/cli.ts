/**
 * Runs the in-process Temporal test server as a standalone process, for trying Vigil (or any Temporal SDK or
 * the `temporal` CLI) without a real Temporal:
 *
 *   npm run test-server -- --port 7233 [--time-skipping] [--dynamic-config-value KEY=VALUE ...]
 *
 * Prints one line with the address it listens on, serves until SIGINT or SIGTERM, then closes and exits 0.
 * Exit codes: 0 after a clean shutdown, 1 when the server cannot start (e.g. the port is in use), 2 for bad
 * command-line arguments.
 */
import { logVerbosity, setLogVerbosity } from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { DYNAMIC_CONFIG_DEFAULTS, DynamicConfig, DynamicConfigError, parseDynamicConfigValue } from './dynamic-config';
import { startTestServer, TestServer } from './index';

const DEFAULT_PORT = 7233;

export const USAGE = `Usage: npm run test-server -- [--port <port>] [--time-skipping] [--dynamic-config-value KEY=VALUE ...]

Runs Vigil's in-memory Temporal test server on 127.0.0.1 until interrupted (Ctrl-C / SIGTERM).
Workers and clients connect to the printed address as they would to a real Temporal server.

Options:
  -p, --port <port>                   TCP port on 127.0.0.1 (default ${DEFAULT_PORT}; 0 picks a free port)
      --time-skipping                 Jump time to the next timer whenever no workflow task or activity is pending
      --dynamic-config-value KEY=VALUE
                                      Set a dynamic config value, as \`temporal server start-dev\` takes it
                                      (repeatable). Known keys and their defaults:
${Object.entries(DYNAMIC_CONFIG_DEFAULTS)
  .map(([key, value]) => `                                        ${key}=${value}`)
  .join('\n')}
  -h, --help                          Show this help and exit
`;

export type CliOptions =
  { help: true } | { help: false; port: number; timeSkipping: boolean; dynamicConfig: DynamicConfig };

/** A command-line mistake: reported with the usage hint and exit code 2. */
export class UsageError extends Error {}

/** Parses the command line (without `node` and the script). Throws UsageError for anything it does not accept. */
export function parseCliArgs(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', short: 'p' },
        'time-skipping': { type: 'boolean' },
        'dynamic-config-value': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // util.parseArgs reports unknown options, missing values and stray positionals as TypeErrors with a clear message.
    throw new UsageError((err as Error).message);
  }
  const { values } = parsed;
  if (values.help) return { help: true };
  let port = DEFAULT_PORT;
  if (values.port !== undefined) {
    const text = values.port.trim();
    port = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`--port must be an integer from 0 to 65535 (0 picks a free port), got '${values.port}'`);
    }
  }
  const dynamicConfig: DynamicConfig = {};
  for (const text of values['dynamic-config-value'] ?? []) {
    try {
      const [key, value] = parseDynamicConfigValue(text);
      dynamicConfig[key] = value;
    } catch (err) {
      if (err instanceof DynamicConfigError) throw new UsageError(err.message);
      throw err;
    }
  }
  return { help: false, port, timeSkipping: values['time-skipping'] ?? false, dynamicConfig };
}

/** Why the server could not start, in words a user can act on. */
function describeStartFailure(err: unknown, port: number): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/EADDRINUSE/.test(message)) {
    return `port ${port} on 127.0.0.1 is already in use (is another Temporal server running?); choose another with --port, or --port 0 for a free one`;
  }
  if (/EACCES/.test(message)) return `not allowed to listen on port ${port} on 127.0.0.1; choose a port above 1023`;
  return `could not start: ${message}`;
}

export async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`test-server: ${err.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  // grpc-js logs a failed bind on its own ("E No address added ..."); the message below says it better. Left
  // alone when the user asked for grpc logging with GRPC_VERBOSITY / GRPC_NODE_VERBOSITY.
  const quietBind = !process.env.GRPC_VERBOSITY && !process.env.GRPC_NODE_VERBOSITY;
  if (quietBind) setLogVerbosity(logVerbosity.NONE);
  let server: TestServer;
  try {
    server = await startTestServer({
      port: options.port,
      timeSkipping: options.timeSkipping,
      dynamicConfig: options.dynamicConfig,
    });
  } catch (err) {
    process.stderr.write(`test-server: ${describeStartFailure(err, options.port)}\n`);
    return 1;
  } finally {
    if (quietBind) setLogVerbosity(logVerbosity.ERROR);
  }
  // Listening for signals before announcing the address: whoever reads the line may stop the server at once.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const settings = [
    'in memory',
    `time skipping ${options.timeSkipping ? 'on' : 'off'}`,
    ...Object.entries(options.dynamicConfig).map(([key, value]) => `${key}=${value}`),
  ];
  process.stdout.write(`Temporal test server listening on ${server.address} (${settings.join('; ')})\n`);
  const signal = await stopRequested;
  // A second signal while closing means "now": do not make the user wait for long polls to drain.
  const impatient = () => {
    process.stderr.write('test-server: stopped without waiting for open calls\n');
    process.exit(1);
  };
  process.once('SIGINT', impatient);
  process.once('SIGTERM', impatient);
  process.stderr.write(`test-server: ${signal} received, shutting down\n`);
  await server.close();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`test-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
