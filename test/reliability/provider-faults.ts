/**
 * Part 4, provider faults: the model provider misbehaving in each way real ones do, one fault per turn of one
 * conversation, each message sent through the gateway as a user's app sends it. For each: what the user gets (the
 * HTTP status, the reply's status and text), how long it takes, how many model calls it took, and that the
 * conversation's next message is answered normally.
 *
 * The faults are scripted on the model (stack.model.script) ahead of its normal answers: 429s with and without
 * retry-after, 500s that stop and 500s that do not, a provider that hangs, a connection dropped before the answer
 * and in the middle of the stream, an error in the middle of the stream, malformed tool arguments, a call to a
 * tool the agent does not have, and an answer as long as the agent's context window that the provider cut at its
 * limit (finish_reason `length`).
 *
 * The agent keeps Vigil's default model limits, as most deployments will: an attempt gives up on a silent
 * provider after 60 s (limits.modelIdleTimeoutMs), so the hang costs a minute; six attempts 1, 2, 4, 8 and 16 s
 * apart, so a provider that always fails costs half a minute before the user is told. The part takes about two
 * minutes on either server, most of it those two faults.
 */
import { DEFAULT_LIMITS } from '../../src/conversation/agent-spec';
import { DEFAULT_MEMORY } from '../../src/conversation/memory-policy';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import type { RecordedRequest, ScriptStep } from '../../src/testing/scripted-model';
import type { Figures } from './figures';
import { allHistories, failedWorkflowTasks, unsettled, wholeTranscript } from './histories';
import type { Random } from './random';
import { AGENT, type Stack } from './stack';

const PART = '4. provider faults';
/** Past the longest a model call may take with all its retries (limits.modelTotalTimeoutMs, 5 minutes). */
const REPLY_WAIT_MS = 330_000;

interface Reply {
  messageId: string;
  turn: number;
  status: string;
  content: string;
  cut?: { answer?: string };
}

interface Fault {
  name: string;
  steps: ScriptStep[];
  /** Whether the user got what this fault should give them, and in a fitting time. */
  expected(reply: Reply, seconds: number): boolean;
}

export async function providerFaults(stack: Stack, figures: Figures, random: Random, tag: string): Promise<void> {
  const started = Date.now();
  const conversationId = `faults-${tag}`;
  const limits = DEFAULT_LIMITS;
  const longAnswer = words(DEFAULT_MEMORY.maxContextTokens * 4, random);
  const answered = (reply: Reply) => reply.status === 'completed' && reply.content === `answer: ${reply.messageId}`;
  const faults: Fault[] = [
    {
      name: '429 with retry-after: 3',
      steps: [{ status: 429, retryAfter: 3 }],
      expected: (reply, seconds) => answered(reply) && seconds >= 3,
    },
    { name: '429 without retry-after', steps: [{ status: 429 }], expected: answered },
    {
      name: '500, three times',
      steps: [{ status: 500 }, { status: 500 }, { status: 500 }],
      expected: answered,
    },
    {
      name: `500 on every attempt (${limits.modelRetry.maximumAttempts})`,
      steps: Array.from({ length: limits.modelRetry.maximumAttempts }, () => ({ status: 500 })),
      expected: (reply) => reply.status === 'error' && reply.content.includes('500'),
    },
    { name: 'a hang: no answer, the connection open', steps: [{ hang: true }], expected: answered },
    { name: 'the connection dropped before the answer', steps: [{ disconnect: true }], expected: answered },
    {
      name: 'the connection closed mid-stream',
      steps: [{ content: 'the first words of an answer that never ends', disconnectAfterChunks: 4 }],
      expected: answered,
    },
    {
      name: "an error mid-stream (OpenRouter's way)",
      steps: [{ streamError: { message: 'upstream overloaded', code: 502 }, textBefore: 'the first words' }],
      expected: answered,
    },
    {
      name: 'malformed tool JSON',
      steps: [{ toolCalls: [{ name: 'add', arguments: '{"a": 2, "b": ' }] }],
      expected: (reply) => reply.status === 'completed' && reply.content.includes('arguments are not valid JSON'),
    },
    {
      name: 'a call to an unknown tool',
      steps: [{ toolCalls: [{ name: 'teleport', arguments: '{"to":"mars"}' }] }],
      expected: (reply) => reply.status === 'completed' && reply.content.includes('unknown tool "teleport"'),
    },
    {
      name: `an answer the size of the context window (${DEFAULT_MEMORY.maxContextTokens.toLocaleString('en')} tokens, finish_reason length)`,
      steps: [{ content: longAnswer, finishReason: 'length' }],
      expected: (reply) =>
        reply.status === 'completed' && reply.content === longAnswer && reply.cut?.answer === 'output_limit',
    },
  ];

  figures.note(
    PART,
    "the agent's model limits (Vigil's defaults)",
    `idle ${limits.modelIdleTimeoutMs! / 1000} s, attempt ${limits.modelTimeoutMs / 1000} s, all attempts ` +
      `${limits.modelTotalTimeoutMs! / 1000} s, ${limits.modelRetry.maximumAttempts} attempts ` +
      `${limits.modelRetry.initialIntervalMs / 1000} s apart, doubling`,
  );
  let first = true;
  let cutTurn: number | undefined;
  try {
    for (const [i, fault] of faults.entries()) {
      stack.model.reset();
      stack.model.respondWith(faultsModel);
      // The conversation's first message starts it: the fault is then the only thing its turn waits for.
      if (first) await send(stack, conversationId, `hello-${tag}`);
      first = false;
      stack.model.script(...fault.steps);
      const calls = stack.model.requests.length;
      const t = Date.now();
      const answer = await send(stack, conversationId, `fault-${i + 1}-${tag}`);
      const seconds = (Date.now() - t) / 1000;
      const modelCalls = stack.model.requests.length - calls;
      stack.model.reset();
      stack.model.respondWith(faultsModel);
      const next = await send(stack, conversationId, `after-${i + 1}-${tag}`);
      const nextAnswered = next.http === 200 && next.reply !== undefined && answered(next.reply);
      const reply = answer.reply;
      if (fault.steps.some((step) => 'finishReason' in step)) cutTurn = reply?.turn;
      const got =
        reply === undefined
          ? `${answer.http}: ${excerpt(answer.error ?? '', 80)}`
          : `${answer.http} ${reply.status}: "${excerpt(reply.content, reply.status === 'error' ? 150 : 70)}"` +
            (reply.content.length > 200 ? ` (${reply.content.length.toLocaleString('en')} characters)` : '');
      figures.check(
        PART,
        fault.name,
        `${got}; ${seconds.toFixed(1)} s, model calls: ${modelCalls}; next message ${nextAnswered ? 'answered' : 'NOT answered'}`,
        answer.http === 200 && answer.reply !== undefined && fault.expected(answer.reply, seconds) && nextAnswered,
      );
    }
  } finally {
    stack.model.reset();
  }

  // What tells the user that the long answer was cut where the provider stopped: a notice in its turn, if any.
  const entries = await wholeTranscript(stack.agents, AGENT, conversationId);
  const notices = entries.filter((e) => e.role === 'notice' && e.turn === cutTurn);
  figures.note(
    PART,
    'the answer cut at finish_reason length: what tells the user it was cut',
    notices.length === 0 ? 'nothing (status completed, the text as it came)' : excerpt(notices[0].content, 80),
  );

  const why = unsettled(await stack.agents.state(AGENT, conversationId));
  const workflowId = conversationWorkflowId(AGENT, conversationId);
  const histories = (await allHistories(stack.client)).filter((h) => h.workflowId === workflowId);
  figures.check(PART, 'the conversation at rest afterwards', why ?? 'yes', why === undefined);
  figures.zero(PART, 'workflow tasks failed', failedWorkflowTasks(histories));
  figures.note(PART, 'part took', `${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * The provider when it behaves: `answer: <the message>`, what a tool said, or a summary when asked for one (after
 * the long answer, the next turn's window needs one).
 */
function faultsModel(request: RecordedRequest): ScriptStep {
  const messages = request.body.messages;
  const first = messages[0];
  if (first?.role === 'system' && textOf(first.content).includes('running summary of a conversation')) {
    return { content: 'The user tested how the assistant copes with a failing provider.' };
  }
  const last = messages.at(-1);
  if (last?.role === 'tool') return { content: `the tool said: ${textOf(last.content)}` };
  return { content: `answer: ${textOf(last?.content)}` };
}

function textOf(content: unknown): string {
  return typeof content === 'string' ? content : JSON.stringify(content ?? '');
}

/** Sends a message through the gateway (its content is its id) and waits for the reply. */
async function send(
  stack: Stack,
  conversationId: string,
  id: string,
): Promise<{ http: number; reply?: Reply; error?: string }> {
  const response = await fetch(
    `${stack.gatewayURL}/agents/${AGENT}/conversations/${conversationId}/messages?timeoutMs=${REPLY_WAIT_MS}`,
    {
      method: 'POST',
      headers: { ...stack.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id, content: id }),
    },
  );
  const body = (await response.json()) as { reply?: Reply; error?: { code: string; message: string } };
  return {
    http: response.status,
    reply: body.reply,
    ...(body.error ? { error: `${body.error.code}: ${body.error.message}` } : {}),
  };
}

/** About `chars` characters of words, different each run. */
function words(chars: number, random: Random): string {
  const vocabulary = ['context', 'window', 'provider', 'answer', 'token', 'limit', 'stream', 'model'];
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const word = `${vocabulary[random.int(0, vocabulary.length - 1)]}${random.int(0, 99)}`;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ');
}

function excerpt(text: string, chars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > chars ? `${flat.slice(0, chars)}…` : flat;
}
