import type { OpenCache } from '../cache/cacheDb.ts';
import { rowsVersion } from '../cache/queries/rowsVersion.ts';

/**
 * The Data view's position index: for one query (tenant, resource, search, filters, order), the
 * row ids of every matching row in order, read once in one pass over an index. Any window is then
 * a lookup of its few row ids, wherever the scrollbar jumps, and the count is the list's length,
 * with no second scan. OFFSET paging instead walks every row before the window (600 ms at row
 * 900,000 of a million).
 *
 * A list lives in memory (8 bytes a row) beside the connection it was read from, at most
 * KEEP of them, the least recently used dropped first. It is read again when the cache has changed
 * since, but not more often than every REFRESH_MS while a sync writes: a window of a list a few
 * seconds old still shows each row as the cache has it now, and a row deleted since is left out.
 */
type Raw = OpenCache['raw'];

interface Positions {
  rids: Float64Array;
  version: string;
  builtAt: number;
}

const KEEP = 6;
const REFRESH_MS = 3000;
const lists = new WeakMap<Raw, Map<string, Positions>>();

/** The position list of a query: `sql` selects the matching rows' rid in order, `key` names the query. */
export function positionsOf(raw: Raw, key: string, sql: string, params: Record<string, unknown>): Float64Array {
  let byKey = lists.get(raw);
  if (!byKey) lists.set(raw, (byKey = new Map()));
  const version = rowsVersion(raw);
  const known = byKey.get(key);
  byKey.delete(key);
  if (known && (known.version === version || Date.now() - known.builtAt < REFRESH_MS)) {
    byKey.set(key, known);
    return known.rids;
  }
  let rids = new Float64Array(1024);
  let n = 0;
  for (const rid of raw.prepare(sql).pluck().iterate(params) as IterableIterator<number>) {
    if (n === rids.length) {
      const grown = new Float64Array(rids.length * 2);
      grown.set(rids);
      rids = grown;
    }
    rids[n++] = rid;
  }
  const list = { rids: rids.slice(0, n), version: rowsVersion(raw), builtAt: Date.now() };
  byKey.set(key, list);
  while (byKey.size > KEEP) byKey.delete(byKey.keys().next().value!);
  return list.rids;
}

const waiting = new WeakMap<Raw, NodeJS.Timeout>();

/**
 * Reads a query's position list `ms` from now, unless another question comes first (then it waits
 * for the next pause); `null` only cancels. The read holds this connection for a few hundred
 * milliseconds at a million rows, so it is done while the person looks at the first rows; a
 * failure (the cache closed, a column index dropped meanwhile) leaves the list to the jump that needs it.
 */
export function readAhead(raw: Raw, query: { key: string; sql: string; params: Record<string, unknown>; ms: number } | null): void {
  clearTimeout(waiting.get(raw));
  waiting.delete(raw);
  if (!query) return;
  const timer = setTimeout(() => {
    waiting.delete(raw);
    try {
      if (raw.open) positionsOf(raw, query.key, query.sql, query.params);
    } catch {
      // the jump reads it, and says what is wrong if it still is
    }
  }, query.ms);
  timer.unref();
  waiting.set(raw, timer);
}

/** Forgets every position list of the connection (a bench timing a first read). */
export const forgetPositions = (raw: Raw) => void lists.delete(raw);

/** Whether a position list of the query is held now (a window of it costs a lookup). */
export const hasPositions = (raw: Raw, key: string) => lists.get(raw)?.has(key) ?? false;

/**
 * The rows of `rids` that still meet the query's conditions `where`, in that order: a row deleted
 * since, or whose rid SQLite gave to another row, is left out rather than shown.
 */
export function rowsAt<T extends { rid: number }>(raw: Raw, rids: Float64Array, columns: string, where: string, params: Record<string, unknown>): T[] {
  if (rids.length === 0) return [];
  const found = raw
    // the conditions as one term, +(…), so that SQLite looks the rows up by rid rather than scan an index for them
    .prepare(`SELECT rid, ${columns} FROM records WHERE rid IN (SELECT value FROM json_each(@rids)) AND +(${where})`)
    .all({ ...params, rids: JSON.stringify(Array.from(rids)) }) as T[];
  const byRid = new Map(found.map((r) => [r.rid, r]));
  return Array.from(rids, (rid) => byRid.get(rid)).filter((r): r is T => r !== undefined);
}
