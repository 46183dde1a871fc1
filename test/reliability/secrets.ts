/**
 * Part 5, secrets and isolation.
 *
 * Isolation: a victim conversation holds a marker; generated (agent, conversation id) pairs built from its parts
 * and every trick of ids (`:`, slashes raw and encoded, dot segments, the victim's workflow id itself) are read
 * and written through the gateway and AgentClient. None may answer with the victim's marker, and the victim's
 * transcript must be as it was.
 *
 * Secrets: runs last. Every secret the deployment was given is looked for in every history of the namespace (its
 * payloads decoded), every log the processes wrote and every answer the suite kept (the run folder), as it is
 * and in the encodings a leak takes (base64, URL-encoded).
 */
import fc from 'fast-check';
import http from 'node:http';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import type { Figures } from './figures';
import { allHistories, wholeTranscript } from './histories';
import type { Random } from './random';
import { AGENT, type Stack } from './stack';

const PART = '5. secrets and isolation';
const ISOLATION_RUNS = 300;

export async function secretsAndIsolation(stack: Stack, figures: Figures, random: Random, tag: string): Promise<void> {
  await isolation(stack, figures, random, tag);
  await secrets(stack, figures);
}

async function isolation(stack: Stack, figures: Figures, random: Random, tag: string): Promise<void> {
  const victim = `victim-${tag}`;
  const marker = `marker-${tag}-${random.int(0, 1e9)}`;
  stack.model.respondWith((request) => {
    const last = request.body.messages.at(-1);
    return { content: `echo ${typeof last?.content === 'string' ? last.content : ''}` };
  });
  await stack.agents.send(AGENT, victim, { id: `victim-1-${tag}`, content: marker });
  const before = JSON.stringify(await wholeTranscript(stack.agents, AGENT, victim));

  const piece = fc.constantFrom(
    victim,
    AGENT,
    ':',
    '/',
    '%2F',
    '%2f',
    '..',
    '%2e%2e',
    '.',
    '\\',
    '%5C',
    '?',
    '#',
    '%00',
    ' ',
    'conversation',
    conversationWorkflowId(AGENT, victim),
    encodeURIComponent(conversationWorkflowId(AGENT, victim)),
  );
  const id = fc.array(piece, { minLength: 1, maxLength: 5 }).map((parts) => parts.join(''));
  const pair = fc.tuple(fc.oneof(fc.constant(AGENT), id), id).filter(([a, c]) => !(a === AGENT && c === victim));
  const answers: string[] = [];
  let leaks = 0;
  let tried = 0;
  const leakedBy: string[] = [];
  const leaked = (how: string, text: string) => {
    answers.push(text);
    if (!text.includes(marker)) return;
    leaks++;
    leakedBy.push(how);
  };
  let unsendable = 0;
  const gateway = async (method: string, path: string, body?: unknown) => {
    let answer: { status: number; text: string };
    try {
      answer = await rawRequest(stack, method, path, body);
    } catch (error) {
      // Node's HTTP client refuses to send a path with a space or a control character in it: no request.
      if (!(error instanceof TypeError)) throw error;
      unsendable++;
      return;
    }
    leaked(`${method} ${path}`, `${answer.status} ${answer.text}`);
  };
  const client = async (how: string, call: () => Promise<unknown>) => {
    try {
      leaked(how, JSON.stringify(await call()));
    } catch (error) {
      leaked(how, error instanceof Error ? error.message : String(error));
    }
  };
  await fc.assert(
    fc.asyncProperty(pair, async ([agent, conversationId]) => {
      tried++;
      // Each id once as a client should send it (each path segment encoded), and once raw, as a careless client
      // would, sent as it is: no client-side URL parsing resolves its dot segments or cuts it at a `?` or `#`.
      for (const base of [
        `/agents/${encodeURIComponent(agent)}/conversations/${encodeURIComponent(conversationId)}`,
        `/agents/${agent}/conversations/${conversationId}`,
      ]) {
        await gateway('GET', base);
        await gateway('GET', `${base}/messages`);
        await gateway('POST', `${base}/messages?wait=false`, { content: 'overwrite?' });
      }
      const pair = JSON.stringify([agent, conversationId]);
      await client(`state ${pair}`, () => stack.agents.state(agent, conversationId));
      await client(`transcript ${pair}`, () => stack.agents.transcript(agent, conversationId));
    }),
    { numRuns: ISOLATION_RUNS, seed: random.seed },
  );
  const after = JSON.stringify(await wholeTranscript(stack.agents, AGENT, victim));
  appendFileSync(join(stack.runDir, 'answers.log'), `${answers.join('\n')}\n`);

  for (const how of leakedBy.slice(0, 10)) process.stderr.write(`  ${PART}: the victim's transcript answered ${how}\n`);
  figures.note(PART, 'id tricks tried (gateway and AgentClient)', `${tried} (${unsendable} raw paths unsendable)`);
  figures.zero(PART, "answers that showed the victim's transcript", leaks);
  figures.check(PART, "victim's transcript unchanged", after === before ? 'yes' : 'no', after === before);
}

async function secrets(stack: Stack, figures: Figures): Promise<void> {
  const histories = await allHistories(stack.client);
  const historyText = histories.map((h) => JSON.stringify(h.events, decodeBytes)).join('\n');
  const files = filesUnder(stack.runDir).filter((f) => !f.endsWith('.db'));
  const texts = [historyText, ...files.map((f) => readFileSync(f, 'utf8'))];
  const bytes = texts.reduce((sum, t) => sum + t.length, 0);
  const found: string[] = [];
  for (const [name, value] of Object.entries(stack.secrets)) {
    const forms = [value, Buffer.from(value).toString('base64'), encodeURIComponent(value)];
    if (texts.some((text) => forms.some((form) => text.includes(form)))) found.push(name);
  }
  figures.note(
    PART,
    'searched: histories, log files, answers',
    `${histories.length} histories, ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB`,
  );
  figures.note(PART, 'secrets looked for', Object.keys(stack.secrets).length);
  figures.check(PART, 'secrets found', found.length === 0 ? '0' : found.join(', '), found.length === 0);
}

/** One HTTP request with its path exactly as given (fetch would normalize it first). */
function rawRequest(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const url = new URL(stack.gatewayURL);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: `${url.pathname}${path}`,
        headers: { ...stack.auth, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Payload bytes as text, so a secret inside a payload is found. */
function decodeBytes(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
