/** The `current_time` tool: models do not know what time it is. */
import { z } from 'zod';
import { defineTool } from '../define-tool';
import { VigilError } from '../../errors';

export class UnknownTimeZoneError extends VigilError {}

export interface CurrentTime {
  /** The instant in UTC, ISO 8601. */
  utc: string;
  timeZone?: string;
  /** Wall-clock time in `timeZone` with its UTC offset, e.g. `2025-03-01T14:05:09+05:30`. */
  local?: string;
  /** Day of the week in `timeZone` (or UTC), in English. */
  weekday: string;
}

export const currentTime = defineTool({
  name: 'current_time',
  description:
    'Returns the current date and time in UTC, and optionally the local time in an IANA time zone ' +
    '(e.g. "Europe/Paris", "America/New_York").',
  parameters: z.object({
    timeZone: z.string().min(1).max(100).optional().describe('An IANA time zone name such as "Asia/Tokyo"'),
  }),
  execute: ({ timeZone }) => describeInstant(new Date(), timeZone),
});

/** `at` as UTC and, with `timeZone`, as that zone's wall-clock time. */
export function describeInstant(at: Date, timeZone?: string): CurrentTime {
  if (timeZone === undefined) {
    return { utc: at.toISOString(), weekday: partsIn(at, 'UTC').weekday };
  }
  const parts = partsIn(at, timeZone);
  const local = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
  return { utc: at.toISOString(), timeZone, local: local + utcOffset(parts.timeZoneName), weekday: parts.weekday };
}

function partsIn(at: Date, timeZone: string): Record<string, string> {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      weekday: 'long',
      timeZoneName: 'longOffset',
    });
  } catch {
    throw new UnknownTimeZoneError(
      `unknown time zone "${timeZone}": use an IANA name such as "Europe/Paris" or "America/New_York"`,
    );
  }
  return Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]));
}

/** `GMT+05:30` -> `+05:30`; a bare `GMT` (some ICU versions, for UTC) -> `Z`. */
function utcOffset(timeZoneName: string): string {
  const offset = timeZoneName.replace(/^GMT/, '');
  return offset === '' ? 'Z' : offset;
}
