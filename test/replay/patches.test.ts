/**
 * src/workflows/patches.ts stays true: every patch the workflow code asks about is listed, every listed one is
 * asked about, ids are unique, and each fixture said to pin a patch exists and was recorded without its marker
 * (so replaying it takes the path from before the patch). A patch that no fixture pins says why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATCHES, type PatchEntry } from '../../src/workflows/patches';

const WORKFLOWS = join(__dirname, '..', '..', 'src', 'workflows');
const HISTORIES = join(__dirname, 'histories');
const entries = Object.entries(PATCHES) as [string, PatchEntry][];

/** The patch ids a recorded history holds markers for. */
function markersOf(fixture: string): Set<string> {
  const history = JSON.parse(readFileSync(join(HISTORIES, `${fixture}.json`), 'utf8')) as {
    events: {
      markerRecordedEventAttributes?: {
        markerName?: string;
        details?: Record<string, { payloads?: { data: string }[] }>;
      };
    }[];
  };
  const ids = new Set<string>();
  for (const event of history.events) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    for (const payload of marker.details?.['patch-data']?.payloads ?? []) {
      ids.add((JSON.parse(Buffer.from(payload.data, 'base64').toString()) as { id: string }).id);
    }
  }
  return ids;
}

test('the workflow code asks about exactly the listed patches, by their entries, never by a bare id', () => {
  const code = readdirSync(WORKFLOWS)
    .filter((file) => file.endsWith('.ts') && file !== 'patches.ts')
    .map((file) => readFileSync(join(WORKFLOWS, file), 'utf8'))
    .join('\n');
  const asked = [...code.matchAll(/(?:patched|deprecatePatch)\(([^)]*)\)/g)].map((m) => m[1]);
  expect(asked.filter((argument) => !/^PATCHES\.\w+\.id$/.test(argument))).toEqual([]);
  const used = new Set(asked.map((argument) => argument.split('.')[1]));
  expect([...used].sort()).toEqual(Object.keys(PATCHES).sort());
});

test('ids are unique and look like the recorded ones', () => {
  const ids = entries.map(([, entry]) => entry.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(/^vigil-[a-z-]+-\d+$/);
});

test.each(entries)(
  '%s: its pinning fixtures exist and were recorded before it; or it says why none does',
  (_, entry) => {
    if (entry.pinnedBy.length === 0) expect(entry.unpinned).toEqual(expect.any(String));
    for (const fixture of entry.pinnedBy)
      expect({ fixture, marked: markersOf(fixture).has(entry.id) }).toEqual({ fixture, marked: false });
    // The fixtures recorded by today's code do hold the marker of a patch on their path: the id is the recorded one.
    const recordedNow = readdirSync(HISTORIES)
      .filter((file) => !/^(before-|real-server-)/.test(file))
      .map((file) => file.replace(/\.json$/, ''));
    const marked = recordedNow.some((fixture) => markersOf(fixture).has(entry.id));
    if (entry.pinnedBy.length > 0) expect({ id: entry.id, marked }).toEqual({ id: entry.id, marked: true });
  },
);
