import { describe, expect, it } from 'vitest';
import { isInstant, when } from '../../src-shared/format.ts';

// The one way the window shows a time (src-shared/format.ts `when`, src-renderer/components/When.tsx).

describe('a time as the window shows it', () => {
  const now = Date.parse('2026-12-03T15:30:00Z');
  const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();

  it('reads recent times relative to now, and older ones as a local date and time', () => {
    expect(when(at(10), now).text).toBe('just now');
    expect(when(at(-20), now).text).toBe('just now');
    expect(when(at(5 * 60), now).text).toBe('5 min ago');
    expect(when(at(-3 * 60), now).text).toBe('in 3 min');
    expect(when(at(3 * 3600), now).text).toBe('3 h ago');
    const older = when(at(40 * 86400), now).text;
    expect(older).not.toMatch(/ago|yesterday|just now/);
    expect(older).toContain(String(new Date(now - 40 * 86400 * 1000).getFullYear()));
    // a day ago, past twelve hours: yesterday with its time
    const dayAgo = new Date(now);
    dayAgo.setDate(dayAgo.getDate() - 1);
    dayAgo.setHours(9, 5);
    expect(now - dayAgo.getTime()).toBeGreaterThan(12 * 3600 * 1000);
    expect(when(dayAgo.toISOString(), now).text).toMatch(/^yesterday at /);
  });

  it('keeps the exact instant as the CRM sent it for hovering, and leaves what is not a time alone', () => {
    expect(when('2026-01-05T20:40:00.123456Z', now).exact).toMatch(/ · 2026-01-05T20:40:00\.123456Z$/);
    expect(when('not a time', now)).toEqual({ text: 'not a time', exact: 'not a time' });
  });

  it('knows a timestamp from other text', () => {
    for (const v of ['2026-01-05T20:40:00Z', '2026-01-05T20:40:00.123456+02:00', '2026-01-05 20:40:00', '2026-01-05T20:40']) expect(isInstant(v), v).toBe(true);
    for (const v of ['2026-01-05', '+15550912345', '12:30', 'call 2026-01-05T20:40:00Z', 42, null, '2026-13-45T99:99:00Z'])
      expect(isInstant(v), String(v)).toBe(false);
  });
});
