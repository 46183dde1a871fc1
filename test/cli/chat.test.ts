/**
 * `vigil chat` driven as a user would: the real command in a pseudo-terminal, against a real worker, the
 * in-process Temporal server and the scripted model. What the user sees is read off the screen.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { defineAgent } from '../../src/agents/define-agent';
import { ConversationNotFoundError } from '../../src/client';
import { calculator } from '../../src/tools';
import { newId, useConversations } from '../helpers/conversation';
import { lookup, lookups } from '../helpers/test-agents';
import { cleanEnv, REPO, runCli, unusedPort } from './cli-process';
import { CTRL_C, CTRL_D, ENTER, startChat, type ChatTerminal } from './chat-terminal';

const chatty = defineAgent({
  name: 'chatty',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [calculator, lookup],
});
// Refuses a message while another turn runs (onBusy: 'reject').
const strict = defineAgent({ name: 'strict', instructions: 'Be brief.', model: 'test-model', onBusy: 'reject' });
const fx = useConversations([chatty, strict]);

/** Every chat a test starts, so one left running by a failed test is killed rather than hanging jest. */
const chats: ChatTerminal[] = [];
afterAll(async () => {
  for (const chat of chats.splice(0)) {
    chat.kill();
    await chat.exited;
  }
});
beforeEach(() => fx.model.reset());

const temporalArgs = () => ['--address', fx.env.address, '--namespace', fx.env.namespace, '--task-queue', fx.taskQueue];

/** `vigil chat <conversation> --agent chatty` against the test's Temporal and worker; waits for the prompt. */
async function chat(conversation: string): Promise<ChatTerminal> {
  const terminal = startChat([...temporalArgs(), '--agent', 'chatty', conversation], cleanEnv());
  chats.push(terminal);
  await terminal.waitFor(/^you> /m);
  return terminal;
}

test('a message gets its reply streamed onto the terminal as the model writes it', async () => {
  const conversation = newId('chat');
  const terminal = await chat(conversation);
  expect(terminal.screen()).toContain(`vigil chat · agent chatty · conversation ${conversation}`);
  expect(terminal.screen()).toContain('a new conversation');
  fx.model.script({ content: 'one two three four five six.', chunkDelayMs: 300 });

  terminal.type(`count for me${ENTER}`);
  await terminal.waitFor(/chatty> one/);
  // The first words are on screen while the model is still writing the last.
  expect(terminal.screen()).not.toContain('six.');
  await terminal.waitFor(/six\.\n/);
  // Shown once: the reply ends the streamed line rather than repeating it.
  expect(terminal.screen().match(/one two three four five six\./g)).toHaveLength(1);
  await terminal.waitFor(/^you> /m);

  terminal.type(CTRL_D);
  expect(await terminal.exitCode()).toBe(0);
});

test('what is typed while a reply streams is kept for the next prompt: the next message, then Ctrl-D', async () => {
  const conversation = newId('chat');
  const terminal = await chat(conversation);
  fx.model.script({ content: 'one two three four five six.', chunkDelayMs: 300 }, { content: 'Second answer.' });

  terminal.type(`first${ENTER}`);
  await terminal.waitFor(/chatty> one/);
  // Typed while the first reply is still being written: not shown in it, not lost.
  terminal.type(`second${ENTER}${CTRL_D}`);
  await terminal.waitFor(/six\.\n/);
  await terminal.waitFor(/^you> second\n/m);
  await terminal.waitFor(/chatty> Second answer\./);
  expect(await terminal.exitCode()).toBe(0);
  expect(terminal.screen().match(/second/g)).toHaveLength(1);
  const { entries } = await fx.client.transcript('chatty', conversation);
  expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(['first', 'second']);
});

test('a tool that needs approval asks; "a" approves it for the conversation and it is not asked again', async () => {
  const conversation = newId('chat');
  const terminal = await chat(conversation);
  fx.model.script(
    { toolCalls: [{ name: 'lookup', arguments: '{"q":"first"}' }] },
    { content: 'Found the first.' },
    { toolCalls: [{ name: 'lookup', arguments: '{"q":"second"}' }] },
    { content: 'Found the second.' },
  );

  terminal.type(`look up the first${ENTER}`);
  await terminal.waitFor(/-> lookup\(\{"q":"first"\}\)/);
  await terminal.waitFor(/Allow lookup\(\{"q":"first"\}\)\? \[y\]es \/ \[n\]o \/ \[a\]lways: $/);
  terminal.type('a');
  await terminal.waitFor(/always\n/);
  await terminal.waitFor(/<- lookup: found first/);
  await terminal.waitFor(/chatty> Found the first\./);
  await terminal.waitFor(/^you> /m);

  terminal.type(`and the second${ENTER}`);
  await terminal.waitFor(/chatty> Found the second\./);
  expect(terminal.rest()).not.toContain('Allow');
  expect(terminal.screen().match(/Allow /g)).toHaveLength(1);
  expect(lookups).toEqual(expect.arrayContaining(['first', 'second']));
  expect(await fx.client.state('chatty', conversation)).toMatchObject({ rememberedTools: ['lookup'] });
  // Keys typed while a turn runs are answers, not a line: the prompt must be back before "/exit" is a command.
  await terminal.waitFor(/^you> /m);

  terminal.type(`/exit${ENTER}`);
  expect(await terminal.exitCode()).toBe(0);
});

test('"n" rejects the tool call: it does not run and the model is told', async () => {
  const conversation = newId('chat');
  const terminal = await chat(conversation);
  fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"secret"}' }] }, { content: 'I was not allowed.' });

  terminal.type(`look up the secret${ENTER}`);
  await terminal.waitFor(/Allow lookup\(\{"q":"secret"\}\)\? .*: $/);
  terminal.type('n');
  await terminal.waitFor(/no\n/);
  await terminal.waitFor(/chatty> I was not allowed\./);
  expect(lookups).not.toContain('secret');
  const toolResult = fx.model.requests.at(-1)!.body.messages.find((m) => m.role === 'tool');
  expect(JSON.stringify(toolResult?.content)).toMatch(/reject/i);
  // The reply is on screen a moment before the turn ends; Ctrl-D during a turn is no answer and is ignored.
  await terminal.waitFor(/^you> /m);

  terminal.type(CTRL_D);
  expect(await terminal.exitCode()).toBe(0);
});

test('Ctrl-C during a slow reply cancels the turn, and the chat goes on; Ctrl-D then exits 0', async () => {
  const conversation = newId('chat');
  const terminal = await chat(conversation);
  fx.model.script({ content: 'a slow answer that goes on and on and on and on and on', chunkDelayMs: 500 });

  terminal.type(`tell me a long story${ENTER}`);
  await terminal.waitFor(/chatty> a slow/);
  const request = fx.model.requests.at(-1)!;
  terminal.type(CTRL_C);
  await terminal.waitFor(/cancelling the turn… \(Ctrl-C again exits\)/);
  await terminal.waitFor(/\[turn 1 cancelled\]/);
  await terminal.waitFor(/^you> /m);
  expect(await request.ended).toBe('aborted');
  const { entries } = await fx.client.transcript('chatty', conversation);
  expect(entries.find((e) => e.role === 'notice')?.content).toMatch(/cancel/i);

  // Still usable: the next message gets its answer.
  fx.model.script({ content: 'Still here.' });
  terminal.type(`are you there?${ENTER}`);
  await terminal.waitFor(/chatty> Still here\./);
  await terminal.waitFor(/^you> /m);
  terminal.type(CTRL_D);
  expect(await terminal.exitCode()).toBe(0);

  // Coming back shows where the conversation was.
  const again = await chat(conversation);
  // Waited for, not read at once: the earlier turns are printed after the banner, and under load they came later.
  await again.waitFor(/you> are you there\?\nchatty> Still here\./);
  again.type(CTRL_C);
  expect(await again.exitCode()).toBe(130);
});

test("a message refused because another client's turn runs (onBusy: 'reject') is said readably, and the chat goes on", async () => {
  const conversation = newId('chat');
  fx.model.script({ hang: true });
  const elsewhere = fx.client.send('strict', conversation, { id: newId('m'), content: 'from another client' });
  const held = await fx.model.nextRequest();
  const terminal = startChat([...temporalArgs(), '--agent', 'strict', conversation], cleanEnv());
  chats.push(terminal);
  await terminal.waitFor(/^you> /m);

  terminal.type(`hello${ENTER}`);
  await terminal.waitFor(
    /the message was not taken: another turn of this conversation is running, and agent strict takes no message until it is done \(onBusy: reject\); type it again then/,
  );
  await terminal.waitFor(/^you> /m);
  expect(terminal.screen()).not.toMatch(/Error:|at .*\.ts:\d+/);

  await fx.client.cancelTurn('strict', conversation);
  expect(await elsewhere).toMatchObject({ status: 'cancelled' });
  expect(await held.ended).toBe('aborted');
  terminal.type(CTRL_D);
  expect(await terminal.exitCode()).toBe(0);
});

test('a second Ctrl-C in the same turn exits 130', async () => {
  const terminal = await chat(newId('chat'));
  fx.model.script({ hang: true });

  terminal.type(`wait for ever${ENTER}`);
  await fx.model.nextRequest();
  terminal.type(CTRL_C);
  await terminal.waitFor(/cancelling the turn/);
  terminal.type(CTRL_C);
  expect(await terminal.exitCode()).toBe(130);
});

test('/help lists the commands; /state shows the conversation', async () => {
  const terminal = await chat(newId('chat'));
  terminal.type(`/help${ENTER}`);
  await terminal.waitFor(/\/state +the conversation's status/);
  terminal.type(`hello${ENTER}`);
  await terminal.waitFor(/chatty> echo: hello/);
  terminal.type(`/state${ENTER}`);
  await terminal.waitFor(/status idle, 1 turns, \d+ in \/ \d+ out tokens in 1 model calls/);
  terminal.type(`/nope${ENTER}`);
  await terminal.waitFor(/unknown command \/nope; \/help lists the commands/);
  terminal.type(CTRL_D);
  expect(await terminal.exitCode()).toBe(0);
});

test('an agent no running worker serves is said at once, with exit code 2, and starts nothing', async () => {
  const id = newId('chat');
  const { code, stderr } = await runCli(['chat', ...temporalArgs(), '--agent', 'nobody', id], cleanEnv());
  expect({ code, stderr }).toEqual({
    code: 2,
    stderr: 'vigil: no agent named "nobody" is served here; the agents are: chatty, strict\n',
  });
  await expect(fx.client.state('nobody', id)).rejects.toBeInstanceOf(ConversationNotFoundError);
});

test('from a pipe, each line is a message and an approval is answered by a line; the end of input exits 0', async () => {
  fx.model.script(
    { content: 'First answer.' },
    { toolCalls: [{ name: 'lookup', arguments: '{"q":"piped"}' }] },
    { content: 'Looked it up.' },
  );
  const child = spawn(
    process.execPath,
    [join(REPO, 'bin', 'vigil.js'), 'chat', ...temporalArgs(), '--agent', 'chatty', newId('chat')],
    {
      cwd: REPO,
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stdin.end('first\nsecond\ny\n');
  const [code] = (await once(child, 'close')) as [number | null];
  expect({ code, stdout }).toMatchObject({ code: 0 });
  expect(stdout).toContain('chatty> First answer.\n');
  expect(stdout).toContain('Allow lookup({"q":"piped"})? [y]es / [n]o / [a]lways: yes\n');
  expect(stdout).toContain('chatty> Looked it up.\n');
  expect(lookups).toContain('piped');
  // Not a terminal: no colours.
  expect(stdout).not.toContain('\x1b[');
});

test('Temporal out of reach is a clear error with exit code 1, without a stack trace', async () => {
  const { code, stderr } = await runCli(['chat', '--address', `127.0.0.1:${await unusedPort()}`, 'anyone']);
  expect(code).toBe(1);
  expect(stderr).toMatch(/^vigil: cannot reach Temporal at 127\.0\.0\.1:\d+/);
  expect(stderr).not.toMatch(/\n\s+at /);
});
