import { describe, expect, it } from 'vitest';
import { instantOf, isLater, Latest } from '../../src-shared/instant.ts';

describe('CRM timestamps compare as instants', () => {
  it('orders a trimmed fraction, a longer fraction, a whole second and another zone by time, not by text', () => {
    // as text, "…20.12Z" sorts after "…20.12345Z", and "…20Z" after "…20.5Z"
    expect(isLater('2026-12-03T08:26:20.12345Z', '2026-12-03T08:26:20.12Z')).toBe(true);
    expect(isLater('2026-12-03T08:26:20.5Z', '2026-12-03T08:26:20Z')).toBe(true);
    expect(isLater('2026-12-03T09:26:20+01:00', '2026-12-03T08:26:19Z')).toBe(true);
    expect(isLater('2026-12-03T09:26:20+01:00', '2026-12-03T08:26:21Z')).toBe(false);
    expect(instantOf('2026-12-03 08:26:20.5+00')).toBe(instantOf('2026-12-03T08:26:20.500000Z'));
  });

  it('keeps microseconds and falls back to text for what is not a timestamp', () => {
    expect(instantOf('2026-12-03T08:26:20.000001Z')! - instantOf('2026-12-03T08:26:20Z')!).toBe(1);
    expect(instantOf('yesterday')).toBeNull();
    expect(isLater('b', 'a')).toBe(true);
  });
});

describe('the latest of many timestamps', () => {
  it('is the latest instant whatever the text, and the latest text among what are not instants', () => {
    const l = new Latest();
    for (const t of ['2026-12-03T08:26:20.12345Z', '2026-12-03T08:26:20.12Z', '2026-12-03T09:26:20.5+01:00', '2026-12-03T08:26:19Z']) l.offer(t);
    expect(l.value).toBe('2026-12-03T09:26:20.5+01:00'); // 08:26:20.5Z
    const text = new Latest();
    for (const t of ['b', 'c', 'a']) text.offer(t);
    expect(text.value).toBe('c');
    expect(new Latest().value).toBeNull();
  });

  it('orders UTC texts of one shape as text and still compares a shorter or zoned one as an instant', () => {
    const l = new Latest();
    for (const t of [
      '2026-12-03T08:26:20.123456Z',
      '2026-12-03T08:26:21.000001Z',
      '2026-12-03T08:26:20.999999Z',
      '2026-12-03T08:26:21.5Z',
      '2026-12-03T08:26:21.400000Z',
    ])
      l.offer(t);
    expect(l.value).toBe('2026-12-03T08:26:21.5Z');
    const zoned = new Latest();
    for (const t of ['2026-12-03T08:26:20.100000Z', '2026-12-03T09:26:20.2+01:00', '2026-12-03T08:26:20.250000Z']) zoned.offer(t);
    expect(zoned.value).toBe('2026-12-03T08:26:20.250000Z');
  });
});
