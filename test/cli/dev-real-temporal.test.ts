/**
 * `vigil dev` with the Temporal CLI installed, as a user with `VIGIL_TEMPORAL_CLI` (or `temporal` on PATH) runs it:
 * it starts the real dev server with its Web UI, serves a message end to end, and stops that server on Ctrl-C.
 * (test/cli/dev.test.ts covers the machine with nothing installed, and the CLI's failures with a stand-in.)
 *
 * Runs under `npm run test:temporal`, with its CLI (test/helpers/in-process-only.ts, NEEDS_TEMPORAL_CLI).
 */
import { connect } from 'node:net';
import { cleanEnv, runCli, startCli, unusedPort } from './cli-process';
import { describeWithCli, TEMPORAL_CLI } from '../helpers/in-process-only';

const temporalCli = TEMPORAL_CLI;

/** Resolves when nothing accepts connections on the port any more. */
async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describeWithCli('vigil dev with the Temporal CLI', () => {
  test('runs the real dev server with its Web UI, answers a message, and stops the server on Ctrl-C', async () => {
    const port = await unusedPort();
    const dev = startCli(
      ['dev', '--port', String(port), '--no-gateway'],
      cleanEnv({ VIGIL_TEMPORAL_CLI: temporalCli! }),
    );
    try {
      await dev.waitFor(/^Ctrl-C stops\.$/m);
      expect(dev.stderr()).toContain("starting the Temporal CLI's dev server");
      expect(dev.stderr()).toMatch(new RegExp(`Temporal {2}127\\.0\\.0\\.1:${port} \\(Temporal CLI dev server`));
      const ui = /Web UI {4}(http:\/\/127\.0\.0\.1:\d+)/.exec(dev.stderr())?.[1];
      expect(ui).toBeDefined();
      // The real server: its Web UI answers (the in-process server has none).
      const page = await fetch(`${ui}/namespaces/default/workflows`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');

      const { code, stdout } = await runCli(
        ['send', '--address', `127.0.0.1:${port}`, 'real-dev', 'what is 6*7'],
        cleanEnv(),
      );
      expect({ code, stdout }).toEqual({ code: 0, stdout: 'The calculator says 42.\n' });
    } finally {
      dev.child.kill('SIGINT');
    }
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    expect(dev.stderr()).toMatch(/vigil dev: stopped\n$/);
    expect(await portClosed(port)).toBe(true);

    // Started again, it finds the conversation where it left it: the dev server's database is a file.
    const again = startCli(
      ['dev', '--port', String(port), '--no-gateway'],
      cleanEnv({ VIGIL_TEMPORAL_CLI: temporalCli! }),
    );
    try {
      await again.waitFor(/^Ctrl-C stops\.$/m);
      const inspected = await runCli(['inspect', '--address', `127.0.0.1:${port}`, 'real-dev', '--json'], cleanEnv());
      expect(inspected.code).toBe(0);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ state: { turns: 1 } });
    } finally {
      again.child.kill('SIGINT');
    }
    expect(await again.exited).toEqual({ code: 0, signal: null });
  }, 180_000);
});
