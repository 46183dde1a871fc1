/**
 * The one list of test files that use an in-process server of their own even under `npm run test:temporal`, each
 * with the reason. Every other test runs on the in-process server under `npm test` and on the real Temporal CLI dev
 * server under `npm run test:temporal`; tests with dynamic config get a real dev server of their own there
 * (createTemporalTestEnv). test/in-process-only.test.ts keeps this list and the test files in step.
 */
export const IN_PROCESS_ONLY: Readonly<Record<string, string>> = {
  'test/temporal-server/time-skipping.test.ts': 'time skipping: a real server cannot skip time',
  'test/temporal-server/schedules.test.ts':
    'one test (a schedule firing on a skipped clock) needs time skipping; the others run on the shared server, real under test:temporal',
  'test/temporal-server/sticky.test.ts':
    "the test server's onWorkflowTask hook (which events each task carried, to which queue) and time skipping; a real server has neither",
  'test/temporal-server/continue-as-new-signals.test.ts':
    "the test server's onWorkflowTask hook, to complete a task by hand at the moment a signal is in flight",
  'test/temporal-server/continue-as-new-advice.test.ts':
    "one test checks the in-process server's refusal of bad dynamic config; the others get a real dev server of their own under test:temporal",
  'test/temporal-server/cli.test.ts': 'it tests `npm run test-server`, the in-process server as a command',
  'test/cli/usage.test.ts': 'one test runs `vigil test-server`, the in-process server as a command',
  'test/cli/dev.test.ts':
    '`vigil dev` with nothing installed runs the in-process server; its CLI path is tested with a stand-in CLI (test/cli/fake-temporal.ts)',
  'test/cli/server-conformance.test.ts': 'it starts an in-process server beside a real dev server, to compare the two',
  'test/workers/worker-command.test.ts':
    "it needs a namespace without Vigil's search attributes, which the shared real server always has",
};

/**
 * Test files that run the `temporal` CLI itself (real servers of their own, the CLI's commands, its Web UI). They run
 * under `npm run test:temporal`, which requires the CLI, and are skipped under `npm test` (see describeWithCli).
 */
export const NEEDS_TEMPORAL_CLI: Readonly<Record<string, string>> = {
  'test/cli/temporal-cli.test.ts':
    '`temporal workflow list`, `query` and `show | vigil replay -` on a conversation, as the README has users run them',
  'test/cli/dev-real-temporal.test.ts':
    '`vigil dev` with the CLI installed: the real dev server, its Web UI, stopped on Ctrl-C',
  'test/cli/server-conformance.test.ts':
    'the same conversations on an in-process server and a real dev server it starts, compared as a user sees them',
  'test/cli/temporal-ui.test.ts':
    "a browser (chromium, which .ci/run installs) on the CLI dev server's Web UI finds, opens and reads a conversation",
};

/** What marks a test file as needing the Temporal CLI. */
export const CLI_MARKER = /describeWithCli\(/;

/** What marks a test file as starting an in-process server of its own. */
export const IN_PROCESS_MARKERS = [
  /timeSkipping: true/,
  /useWatchedServer\(/,
  /startTestServer\(/,
  /fake-temporal/,
  /test-server/,
];

/**
 * For the files in NEEDS_TEMPORAL_CLI: `describe` under `npm run test:temporal`, which passes the CLI it runs on as
 * VIGIL_TEMPORAL_CLI (and so in CI), `describe.skip` under `npm test`, which stays on the in-process server and
 * needs nothing installed. They start real servers, so running them in both passes would only cost time.
 */
export const describeWithCli = process.env.VIGIL_TEMPORAL_CLI ? describe : describe.skip;

/** The CLI those files run: the one `npm run test:temporal` runs on. */
export const TEMPORAL_CLI = process.env.VIGIL_TEMPORAL_CLI ?? '';
