/**
 * Keeps test/helpers/in-process-only.ts true: it names exactly the test files that start an in-process server of
 * their own, so no test quietly stays off the real Temporal under `npm run test:temporal`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CLI_MARKER, IN_PROCESS_MARKERS, IN_PROCESS_ONLY, NEEDS_TEMPORAL_CLI } from './helpers/in-process-only';

const REPO = join(__dirname, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(REPO, path)] : [];
  });
}

test('the in-process-only list names exactly the test files that start an in-process server of their own', () => {
  const self = relative(REPO, __filename);
  const marked = testFiles(join(REPO, 'test'))
    .filter((file) => file !== self)
    .filter((file) => {
      const text = readFileSync(join(REPO, file), 'utf8');
      return IN_PROCESS_MARKERS.some((marker) => marker.test(text));
    })
    .sort();
  expect(marked).toEqual(Object.keys(IN_PROCESS_ONLY).sort());
});

test('the Temporal CLI list names exactly the test files that run the CLI', () => {
  const marked = testFiles(join(REPO, 'test')).filter((file) =>
    CLI_MARKER.test(readFileSync(join(REPO, file), 'utf8')),
  );
  expect(marked.sort()).toEqual(Object.keys(NEEDS_TEMPORAL_CLI).sort());
});

test('every entry says why', () => {
  for (const [file, reason] of Object.entries({ ...IN_PROCESS_ONLY, ...NEEDS_TEMPORAL_CLI }))
    expect({ file, reason: reason.length > 20 }).toEqual({ file, reason: true });
});
