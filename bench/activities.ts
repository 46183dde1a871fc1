/** Activities for the benchmark: as cheap as possible, so the figures are the server's and the SDK's. */
export async function echo(n: number): Promise<number> {
  return n;
}

/**
 * The answer of every model call in bench/history-bytes.ts, the baseline's and Vigil's (the scripted model's):
 * a fixed text of about 200 characters.
 */
export const BENCH_ANSWER =
  'Here is a short answer of about two hundred characters, the same every time, so that the transcript grows ' +
  'by the same amount on each turn and only how it travels differs between the two runs.';

/**
 * The baseline's model call (bench/workflows.ts `transcriptAsInput`): gets the whole transcript as its input,
 * as other Temporal agent integrations pass it. This one answers BENCH_ANSWER without looking at it
 * (bench/history-bytes.ts counts bytes, not time); bench/conversation.ts registers one that calls the scripted
 * model over HTTP, as Vigil's model activity does.
 */
export async function chatModel(transcript: { role: string; content: string }[]): Promise<string> {
  if (transcript.length === 0) throw new Error('chatModel: empty transcript');
  return BENCH_ANSWER;
}
