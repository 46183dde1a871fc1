import { currentTime, describeInstant, UnknownTimeZoneError } from '../../src/tools/builtin/current-time';

const ctx = { signal: new AbortController().signal, conversationId: 'c1', agent: 'a', turn: 1, toolCallId: 't1' };

describe('current_time', () => {
  it('returns the current instant in UTC', async () => {
    const before = Date.now();
    const result = (await currentTime.execute({}, ctx)) as { utc: string; weekday: string; local?: string };
    const after = Date.now();
    const at = Date.parse(result.utc);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
    expect(result.utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(result.local).toBeUndefined();
  });

  it('converts to an IANA time zone with its offset', () => {
    const at = new Date('2025-03-01T23:45:10.000Z');
    expect(describeInstant(at, 'Asia/Kolkata')).toEqual({
      utc: '2025-03-01T23:45:10.000Z',
      timeZone: 'Asia/Kolkata',
      local: '2025-03-02T05:15:10+05:30',
      weekday: 'Sunday',
    });
    expect(describeInstant(at, 'America/New_York').local).toBe('2025-03-01T18:45:10-05:00');
    expect(describeInstant(at, 'UTC').local).toMatch(/^2025-03-01T23:45:10(?:Z|\+00:00)$/); // ICU versions differ
    expect(describeInstant(at).weekday).toBe('Saturday');
  });

  it('follows daylight saving time', () => {
    expect(describeInstant(new Date('2025-07-01T12:00:00Z'), 'Europe/Paris').local).toBe('2025-07-01T14:00:00+02:00');
    expect(describeInstant(new Date('2025-01-01T12:00:00Z'), 'Europe/Paris').local).toBe('2025-01-01T13:00:00+01:00');
  });

  it('gives the model a clear error for an unknown time zone', async () => {
    await expect(async () => currentTime.execute({ timeZone: 'Mars/Olympus_Mons' }, ctx)).rejects.toThrow(
      UnknownTimeZoneError,
    );
    expect(() => describeInstant(new Date(), 'Mars/Olympus_Mons')).toThrow(
      'unknown time zone "Mars/Olympus_Mons": use an IANA name such as "Europe/Paris" or "America/New_York"',
    );
  });
});
