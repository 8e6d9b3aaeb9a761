import { describe, expect, it } from 'vitest';
import { keepNearest, placeRows } from '../../src-renderer/gridWindows.ts';

// The Data grid at a million rows (src-renderer/gridWindows.ts): a scroll of any length reuses the
// same row elements, and the windows of rows kept stay few and near the rows in view.

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("the Data grid's rows and windows", () => {
  it('keeps a row that stays in view in its slot, and gives a row coming into view a slot a row going out left', () => {
    const first = placeRows(range(0, 40), new Map());
    expect([...first.values()].sort((a, b) => a - b)).toEqual(range(0, 40));
    // a step of three rows: the 37 rows still in view keep their slots, the three new take the three freed
    const step = placeRows(range(3, 40), first);
    for (const i of range(3, 37)) expect(step.get(i)).toBe(first.get(i));
    expect(new Set([40, 41, 42].map((i) => step.get(i)))).toEqual(new Set([0, 1, 2].map((i) => first.get(i))));
  });

  it('reuses the same slots after a jump of any length, so that no row element is made or removed', () => {
    const before = placeRows(range(1_000, 41), new Map());
    const jumped = placeRows(range(500_000, 41), before);
    expect(new Set(jumped.values())).toEqual(new Set(before.values()));
    // one row to one slot
    expect(new Set(jumped.values()).size).toBe(41);
    // more rows in view (a taller window): the slots in use are kept and new ones added, none shared
    const taller = placeRows(range(500_000, 60), jumped);
    expect(new Set(taller.values()).size).toBe(60);
    for (const i of range(500_000, 41)) expect(taller.get(i)).toBe(jumped.get(i));
  });

  it('keeps the windows nearest the one in view once there are more than it keeps, dropping the farthest', () => {
    const pages = new Map(range(0, 30).map((p) => [p, `rows ${p}`]));
    const kept = keepNearest(pages, 20, 8);
    expect([...kept.keys()]).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect(kept.get(20)).toBe('rows 20');
    // a jump to the end: what was near the old place goes first
    const after = keepNearest(new Map(kept).set(4_999, 'rows 4999'), 4_999, 8);
    expect([...after.keys()]).toEqual([17, 18, 19, 20, 21, 22, 23, 4_999]);
    // under the limit nothing is dropped
    expect(keepNearest(pages, 0, 30)).toBe(pages);
  });
});
