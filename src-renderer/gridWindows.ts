/**
 * The Data grid's bookkeeping for a million rows, apart from React so that it can be tested
 * alone: which DOM row shows which row, and which fetched windows of rows are kept.
 */

/**
 * Row slots for the rows in view: a row still in view keeps its slot, and a row coming into view
 * takes a slot a row going out left, so that a scroll of any length (a step or a jump of a
 * million rows) changes the text and position of the same DOM nodes and never makes or removes
 * a row's elements. `previous` is the last render's index → slot.
 */
export function placeRows(indexes: number[], previous: Map<number, number>): Map<number, number> {
  const next = new Map<number, number>();
  const taken = new Set<number>();
  for (const i of indexes) {
    const slot = previous.get(i);
    if (slot !== undefined) {
      next.set(i, slot);
      taken.add(slot);
    }
  }
  let free = 0;
  for (const i of indexes) {
    if (next.has(i)) continue;
    while (taken.has(free)) free++;
    next.set(i, free);
    taken.add(free);
  }
  return next;
}

/**
 * The windows (page number → rows) to keep once `pages` holds more than `keep`: those nearest the
 * window in view (`focus`); the rest are dropped, to be fetched again if scrolled back to.
 */
export function keepNearest<T>(pages: Map<number, T>, focus: number, keep: number): Map<number, T> {
  if (pages.size <= keep) return pages;
  const nearest = [...pages.keys()].sort((a, b) => Math.abs(a - focus) - Math.abs(b - focus) || a - b).slice(0, keep);
  return new Map(nearest.sort((a, b) => a - b).map((p) => [p, pages.get(p)!]));
}
