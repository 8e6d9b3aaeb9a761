import type { Paging } from '../../src-shared/catalog.ts';
import { pick } from '../../src-shared/profile.ts';

/**
 * Where a listing stands, as one string the sync state can keep: the CRM's cursor, or (offset and
 * page paging) how many records were read so far. null is the first page.
 */
export type PagePosition = string | null;

/** Query parameters for the page at `pos`, as the profile's paging names them. */
export function pageParams(paging: Paging, size: number, pos: PagePosition): Record<string, string | number> {
  if (paging.kind === 'cursor') return { [paging.limitParam]: size, ...(pos ? { [paging.cursorParam]: pos } : {}) };
  const offset = Number(pos ?? 0);
  if (paging.kind === 'offset') return { [paging.limitParam]: size, [paging.offsetParam]: offset };
  return { [paging.sizeParam]: size, [paging.pageParam]: paging.firstPage + Math.floor(offset / size) };
}

/** The position after a page of `count` records, or null when that page was the last. */
export function nextPagePosition(paging: Paging, data: unknown, count: number, size: number, pos: PagePosition): PagePosition {
  if (paging.kind === 'cursor') {
    const next = pick(data, paging.nextCursorField);
    return typeof next === 'string' && next ? next : null;
  }
  const offset = Number(pos ?? 0) + count;
  const total = paging.totalField ? Number(pick(data, paging.totalField)) : NaN;
  if (count === 0 || count < size || (!Number.isNaN(total) && offset >= total)) return null;
  return String(offset);
}
