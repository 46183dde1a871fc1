/**
 * `npm start` stopped as a person stops it: one Ctrl-C typed in its terminal. The terminal sends SIGINT to the
 * whole foreground group (npm, and the vigil it runs) and npm forwards its own to its child too, so vigil gets the
 * one keypress as several signals; it must still stop gracefully, once, with an event stream open.
 */
import { cleanEnv } from './cli-process';
import { CTRL_C, startTerminal, type ChatTerminal } from './chat-terminal';

let terminal: ChatTerminal | undefined;
afterEach(() => terminal?.kill());

test('one Ctrl-C stops `npm start` cleanly, with an SSE client connected', async () => {
  terminal = startTerminal('npm', ['start', '--', '--port', '0', '--gateway-port', '0'], { env: cleanEnv() });
  await terminal.waitFor(/^Ctrl-C stops\.$/m, 90_000);
  const gateway = /^ {2}Gateway {3}(\S+)$/m.exec(terminal.screen())![1];

  // A watcher on a conversation's events, as a browser's EventSource would be.
  const sent = await fetch(`${gateway}/v1/agents/assistant/conversations/watched/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'what is 2+2' }),
  });
  expect(sent.status).toBe(200);
  const stream = await fetch(`${gateway}/v1/agents/assistant/conversations/watched/events`, {
    headers: { accept: 'text/event-stream' },
  });
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toContain('turn.started');

  terminal.type(CTRL_C);
  // The stream ends (the server closes it), rather than holding the shutdown until the client leaves.
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
  expect(await terminal.exitCode(60_000)).toBe(0);
  const screen = terminal.screen();
  expect(screen).toMatch(/^vigil dev: stopped$/m);
  expect(screen).not.toContain('again: exiting without waiting');
  expect(screen.match(/SIGINT received: shutting down/g)).toHaveLength(1);
  // In a terminal the logs are readable lines, not JSON, and no bundler output is mixed in.
  expect(screen).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(vigil-dev\): VIGIL_WEBHOOK_SECRET is not set/m);
  expect(screen).not.toMatch(/^\{"level"/m);
  expect(screen).not.toMatch(/webpack/i);
}, 180_000);
