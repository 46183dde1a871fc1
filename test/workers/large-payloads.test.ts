/**
 * A conversation whose tool prints 200 KB, end to end through the real worker and a Vigil client that share a
 * data converter (src/store/data-converter.ts): history holds claims of a few hundred bytes, while the reply and
 * the transcript query carry the full output.
 */
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { defineAgent } from '../../src/agents/define-agent';
import { CONTENT_STORE_DRIVER_NAME } from '../../src/store';
import { defineTool } from '../../src/tools';
import { newId, useConversations } from '../helpers/conversation';

const OUTPUT_BYTES = 200 * 1024;
const THRESHOLD_BYTES = 16 * 1024;

/** About `bytes` of text that differs per seed, so the output cannot be mistaken for another test's. */
function bigText(seed: string, bytes: number): string {
  const line = `${seed}: row after row of a long report. `;
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

const report = defineTool({
  name: 'report',
  description: 'Prints a long report.',
  parameters: z.object({ seed: z.string(), bytes: z.number().int().positive().optional() }),
  execute: ({ seed, bytes }) => bigText(seed, bytes ?? OUTPUT_BYTES),
});

const fx = useConversations(
  [defineAgent({ name: 'reporter', instructions: 'Be brief.', model: 'test-model', tools: [report] })],
  {
    payloadThresholdBytes: THRESHOLD_BYTES,
  },
);

/** The driver's claim in a payload, or undefined for a payload kept inline. */
function claimOf(payload: Payload | undefined): { ref: string } | undefined {
  if (!payload?.data) return undefined;
  try {
    const reference = JSON.parse(Buffer.from(payload.data).toString('utf8')) as {
      driverName?: string;
      claimData?: { ref: string };
    };
    return reference.driverName === CONTENT_STORE_DRIVER_NAME ? reference.claimData : undefined;
  } catch {
    return undefined;
  }
}

test('a 200 KB tool output is a claim in history, and the reply and transcript carry it whole', async () => {
  const id = newId();
  const seed = `seed-${id}`;
  const output = bigText(seed, OUTPUT_BYTES);
  // The model's answer is as large as the output (the model itself sees a window cut to its token budget).
  const answer = bigText(`answer-${seed}`, OUTPUT_BYTES);
  fx.model.script({ toolCalls: [{ name: 'report', arguments: JSON.stringify({ seed }) }] }, { content: answer });

  const reply = await fx.client.send('reporter', id, { id: 'm1', content: 'print the report' });
  expect(reply.status).toBe('completed');
  // Compared as booleans: a failed match of 200 KB strings would print both.
  expect({ length: reply.content.length, same: reply.content === answer }).toEqual({
    length: answer.length,
    same: true,
  });

  const { entries } = await fx.client.transcript('reporter', id);
  const tool = entries.find((entry) => entry.role === 'tool');
  expect({ length: tool?.content.length, same: tool?.content === output }).toEqual({
    length: output.length,
    same: true,
  });
  const last = entries.at(-1);
  expect({ role: last?.role, same: last?.content === answer }).toEqual({ role: 'assistant', same: true });

  // History as the server keeps it (fetchHistory leaves payloads encoded): no copy of the output, only claims.
  const history = await fx.env.client.workflow.getHandle(`conversation:reporter:${id}`).fetchHistory();
  const encoded = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
  expect(encoded.includes(Buffer.from(output.slice(0, 4096)))).toBe(false);
  expect(encoded.includes(Buffer.from(answer.slice(0, 4096)))).toBe(false);
  expect(encoded.length).toBeLessThan(OUTPUT_BYTES / 2);

  const events = history.events ?? [];
  const runTool = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool');
  const completed = events.find(
    (event) =>
      event.activityTaskCompletedEventAttributes &&
      String(event.activityTaskCompletedEventAttributes.scheduledEventId) === String(runTool?.eventId),
  );
  const [result] = (completed?.activityTaskCompletedEventAttributes?.result?.payloads ?? []) as Payload[];
  const claim = claimOf(result);
  expect(claim?.ref).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(result.data!.length).toBeLessThan(1024);
  expect(await fx.store.has(claim!.ref)).toBe(true);
});

test("a tool output and reply of 2.25 MiB each, over a real server's 2 MiB limit for one payload, pass; history's largest event stays small", async () => {
  // Temporal refuses a command whose payload passes limit.blobSize.error (2 MiB) and fails the workflow task that
  // sent it, for good. Through the content store nothing that large reaches history: this is the margin, measured.
  const big = 2.25 * 1024 * 1024;
  const id = newId();
  const seed = `huge-${id}`;
  const answer = bigText(`answer-${seed}`, big);
  fx.model.script(
    { toolCalls: [{ name: 'report', arguments: JSON.stringify({ seed, bytes: big }) }] },
    { content: answer },
  );

  const reply = await fx.client.send('reporter', id, { id: 'm1', content: 'print the whole archive' });
  expect({ status: reply.status, length: reply.content.length, same: reply.content === answer }).toEqual({
    status: 'completed',
    length: big,
    same: true,
  });
  const history = await fx.env.client.workflow.getHandle(`conversation:reporter:${id}`).fetchHistory();
  const sizes = (history.events ?? []).map(
    (event) => temporal.api.history.v1.HistoryEvent.encode(event).finish().length,
  );
  const largest = Math.max(...sizes);
  process.stdout.write(
    `largest history event with a 2.25 MiB output and reply: ${largest} bytes (the real server's limit: 2 MiB)\n`,
  );
  expect(largest).toBeLessThan(64 * 1024);
  // About 20 s alone (the model activity counts the tokens of megabytes of text); more on a loaded machine.
}, 240_000);
