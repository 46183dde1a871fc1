/**
 * `vigil replay` on history files: the stored histories pass, a history the current workflow code could not
 * have produced fails with the reason, and both JSON forms of a history are read.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { historyToProto3Json } from '../../src/cli/proto3-json-history';
import { createTemporalTestEnv, type TemporalTestEnv } from '../../src/testing';
import { REPO, runCli } from './cli-process';

const HISTORIES = join(REPO, 'test', 'replay', 'histories');
const stored = readdirSync(HISTORIES)
  .filter((name) => name.endsWith('.json'))
  .sort();

interface StoredEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
}

function storedHistory(name: string): { events: StoredEvent[] } {
  return JSON.parse(readFileSync(join(HISTORIES, name), 'utf8')) as { events: StoredEvent[] };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-replay-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the stored histories all replay: exit 0, each named as passing', async () => {
  expect(stored.length).toBeGreaterThan(0);
  const { code, stdout, stderr } = await runCli([
    'replay',
    ...stored.map((name) => join('test/replay/histories', name)),
  ]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  for (const name of stored) expect(stdout).toContain(`PASS test/replay/histories/${name}`);
  expect(stdout).toContain(`${stored.length} histories replayed: all passed`);
});

test('a history the workflow code could not have produced fails: exit 1, named, with the reason', async () => {
  const history = storedHistory('tool-call.json');
  const scheduled = history.events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
  scheduled!.activityTaskScheduledEventAttributes!.activityType.name = 'renamedActivity';
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify(history));
  const good = join(HISTORIES, 'multi-turn.json');

  const { code, stdout } = await runCli(['replay', good, broken]);
  expect(code).toBe(1);
  expect(stdout).toContain(`PASS ${good}`);
  expect(stdout).toMatch(
    new RegExp(`FAIL ${broken}\\n  incompatible with the current workflow code: .*Nondeterminism.*'renamedActivity'`),
  );
  expect(stdout).toContain('1 of 2 histories failed to replay');
});

test('a history with an event removed fails', async () => {
  const history = storedHistory('multi-turn.json');
  const index = history.events.findIndex((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
  history.events.splice(index, 1);
  const path = join(dir, 'event-removed.json');
  writeFileSync(path, JSON.stringify(history));

  const { code, stdout } = await runCli(['replay', path]);
  expect(code).toBe(1);
  expect(stdout).toMatch(new RegExp(`FAIL ${path}\\n  \\S`));
});

test('proto3 JSON histories (temporal workflow show --output json), full or short enum names, replay too', async () => {
  const json = historyToProto3Json(storedHistory('approval.json') as never);
  const full = join(dir, 'cli-full.json');
  writeFileSync(full, json);
  const parsed = JSON.parse(json) as { events: { eventType: string; eventTime: unknown }[] };
  expect(typeof parsed.events[0].eventTime).toBe('string');
  // Older Temporal tools wrote `WorkflowExecutionStarted` for `EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`.
  for (const event of parsed.events) {
    event.eventType = event.eventType
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .replace(/(?:^|_)([a-z])/g, (_, letter: string) => letter.toUpperCase());
  }
  const short = join(dir, 'cli-short.json');
  writeFileSync(short, JSON.stringify(parsed));

  const { code, stdout } = await runCli(['replay', full, short]);
  expect(code).toBe(0);
  expect(stdout).toContain(`PASS ${full}`);
  expect(stdout).toContain(`PASS ${short}`);
});

test('files that hold no history fail with the reason, and a directory replays its *.json files', async () => {
  const sub = mkdtempSync(join(dir, 'mixed-'));
  writeFileSync(join(sub, 'a-not-json.json'), 'hello');
  writeFileSync(join(sub, 'b-no-events.json'), '{"a":1}');
  writeFileSync(join(sub, 'c-good.json'), readFileSync(join(HISTORIES, 'multi-turn.json')));
  writeFileSync(join(sub, 'ignored.txt'), 'not a .json file');
  const missing = join(dir, 'missing.json');

  const { code, stdout } = await runCli(['replay', sub, missing]);
  expect(code).toBe(1);
  expect(stdout.split('\n').filter((line) => /^(PASS|FAIL) /.test(line))).toEqual([
    `FAIL ${join(sub, 'a-not-json.json')}`,
    `FAIL ${join(sub, 'b-no-events.json')}`,
    `PASS ${join(sub, 'c-good.json')}`,
    `FAIL ${missing}`,
  ]);
  expect(stdout).toContain('not JSON');
  expect(stdout).toContain('not a workflow history');
  expect(stdout).toContain('no such file');
  expect(stdout).toContain('3 of 4 histories failed to replay');
});

describe('a query Temporal refuses', () => {
  let temporal: TemporalTestEnv;
  beforeAll(async () => {
    temporal = await createTemporalTestEnv();
  });
  afterAll(() => temporal?.teardown());

  test.each([
    // Neither the in-process server nor the real dev server's SQLite visibility sorts.
    ["WorkflowType = 'conversation' ORDER BY StartTime DESC", /leave out ORDER BY/],
    ["WorkflowTypo = 'conversation'", /WorkflowTypo/],
  ])('%s: exit code 1 and a sentence saying what Temporal said, no stack trace', async (query, said) => {
    const { code, stderr } = await runCli([
      'replay',
      '--address',
      temporal.address,
      '--namespace',
      temporal.namespace,
      '--query',
      query,
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(`^vigil: Temporal refused the query "${query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": `),
    );
    expect(stderr).toMatch(said);
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});
