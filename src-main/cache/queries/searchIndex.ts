import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { OpenCache } from '../cacheDb.ts';
import { metaOf, setMeta } from './meta.ts';
import { ownWrite } from './rowsVersion.ts';

/**
 * The Data view's search index: SQLite FTS5 with the trigram tokenizer over every cached row's
 * payload, so that any substring of three characters or more (a phone number's tail, a marker, a
 * word inside a word) is found from the index instead of reading every row's JSON.
 *
 * - It is made the first time a big cache is searched, in the background, a chunk of rows per
 *   transaction with the event loop free between chunks; searches meanwhile read the rows as
 *   before and say how far the index is. Caches nobody searches never pay for it (about 400 MB and
 *   50 s of one core at a million rows).
 * - Contentless (the text is in records already) with contentless_delete, and detail=none: a
 *   search asks for rows holding every trigram of the text, and each candidate row is checked
 *   with the same LIKE as before, so results are exactly those of a scan.
 * - The sync keeps it current without paying for it: triggers on records note the rid of each row
 *   inserted, changed or deleted in records_search_pending (a few microseconds a row). A search
 *   takes those rows as candidates too, and folds them into the index in the background.
 * - A first sync into an empty cache drops it (see dropSearchIndex), and it is made again when
 *   next searched.
 */
type Raw = OpenCache['raw'];

const META = 'search-index';
const CHUNK = 1000;
/** a search with more candidates than this is for a common text: reading the rows in order is faster */
export const MAX_CANDIDATES = 20_000;
/** below this many cached rows a search reads the rows; no index is made */
export const SEARCH_INDEX_FROM_ROWS = 50_000;

interface State {
  /** every row with a rid up to this one is in the index (or in pending) */
  builtUpTo: number;
  /** the highest rid when the build began: the build ends there */
  target: number;
  done: boolean;
}

const running = new WeakSet<Raw>();

const SCHEMA = `
CREATE VIRTUAL TABLE IF NOT EXISTS records_search USING fts5(payload, content='', contentless_delete=1, tokenize='trigram', detail='none');
CREATE TABLE IF NOT EXISTS records_search_pending (rid INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS records_search_insert AFTER INSERT ON records BEGIN INSERT OR IGNORE INTO records_search_pending (rid) VALUES (new.rid); END;
CREATE TRIGGER IF NOT EXISTS records_search_update AFTER UPDATE OF payload ON records BEGIN INSERT OR IGNORE INTO records_search_pending (rid) VALUES (new.rid); END;
CREATE TRIGGER IF NOT EXISTS records_search_delete AFTER DELETE ON records BEGIN INSERT OR IGNORE INTO records_search_pending (rid) VALUES (old.rid); END;
`;

export type SearchIndexStatus = { ready: true } | { ready: false; percent: number } | null;

/** Where the index stands: null when there is none (a small cache, or never searched). */
export function searchIndexStatus(raw: Raw): SearchIndexStatus {
  const s = metaOf<State>(raw, META);
  if (!s) return null;
  if (s.done) return { ready: true };
  return { ready: false, percent: s.target ? Math.min(99, Math.floor((s.builtUpTo / s.target) * 100)) : 0 };
}

/** Starts making the index in the background when the cache is big enough and has none. */
export function startSearchIndex(raw: Raw): void {
  if (running.has(raw)) return;
  const s = metaOf<State>(raw, META);
  if (s?.done) {
    void foldPending(raw);
    return;
  }
  if (!s) {
    // counted only as far as the threshold: a small cache is asked again at each search
    const rows = raw.prepare(`SELECT count(*) FROM (SELECT 1 FROM records LIMIT ${SEARCH_INDEX_FROM_ROWS})`).pluck().get() as number;
    if (rows < SEARCH_INDEX_FROM_ROWS) return;
    ownWrite(raw, () =>
      raw
        .transaction(() => {
          raw.exec(SCHEMA);
          const target = (raw.prepare('SELECT max(rid) FROM records').pluck().get() as number | null) ?? 0;
          setMeta(raw, META, { builtUpTo: 0, target, done: false } satisfies State);
        })
        .immediate(),
    );
  }
  void build(raw);
}

/** The rows up to the target, a chunk per transaction; rows written meanwhile are in pending. */
async function build(raw: Raw): Promise<void> {
  running.add(raw);
  try {
    const insert = raw.prepare(
      `INSERT INTO records_search (rowid, payload) SELECT rid, payload FROM records WHERE rid > ? AND rid <= ? ORDER BY rid LIMIT ${CHUNK}`,
    );
    const chunk = raw.transaction(() => {
      const s = metaOf<State>(raw, META);
      if (!s || s.done) return true;
      const upTo = raw
        .prepare(`SELECT max(rid) FROM (SELECT rid FROM records WHERE rid > ? AND rid <= ? ORDER BY rid LIMIT ${CHUNK})`)
        .pluck()
        .get(s.builtUpTo, s.target) as number | null;
      if (upTo === null) {
        setMeta(raw, META, { ...s, builtUpTo: s.target, done: true });
        return true;
      }
      insert.run(s.builtUpTo, upTo);
      setMeta(raw, META, { ...s, builtUpTo: upTo });
      return false;
    });
    while (raw.open && !ownWrite(raw, () => chunk.immediate())) await yieldToEvents();
  } catch {
    // a closed cache or a busy one: the next search takes the build up where it stopped
  } finally {
    running.delete(raw);
  }
}

/** Folds the rows written since into the index, a chunk per transaction. */
async function foldPending(raw: Raw): Promise<void> {
  running.add(raw);
  try {
    const fold = raw.transaction(() => {
      const rids = raw.prepare(`SELECT rid FROM records_search_pending ORDER BY rid LIMIT ${CHUNK}`).pluck().all() as number[];
      if (rids.length === 0) return true;
      const list = JSON.stringify(rids);
      raw.prepare('DELETE FROM records_search WHERE rowid IN (SELECT value FROM json_each(?))').run(list);
      raw.prepare('INSERT INTO records_search (rowid, payload) SELECT rid, payload FROM records WHERE rid IN (SELECT value FROM json_each(?))').run(list);
      raw.prepare('DELETE FROM records_search_pending WHERE rid IN (SELECT value FROM json_each(?))').run(list);
      return false;
    });
    while (raw.open && !ownWrite(raw, () => fold.immediate())) await yieldToEvents();
  } catch {
    // as for the build: the next search goes on with it
  } finally {
    running.delete(raw);
  }
}

/** The FTS5 query for rows holding every trigram of `text`, or null when the text is too short for the index. */
export function trigramQuery(text: string): string | null {
  const chars = Array.from(text);
  if (chars.length < 3) return null;
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) grams.add(chars.slice(i, i + 3).join(''));
  return [...grams].map((g) => `"${g.replace(/"/g, '""')}"`).join(' AND ');
}

/**
 * The rows that may hold `text`, as SQL over rid; or why the index cannot say: the text is in too
 * many rows ('common'), is under three characters ('short'), or the index is not made yet
 * ('unmade', also while many rows written since wait to be folded in). The caller still checks
 * each row with LIKE.
 */
export function searchCandidates(raw: Raw, text: string): { sql: string; params: Record<string, unknown> } | 'common' | 'short' | 'unmade' {
  const match = trigramQuery(text);
  if (!match) return 'short';
  if (!metaOf<State>(raw, META)?.done) return 'unmade';
  // many rows written since the index was last brought up to date (it is, in the background): read the rows meanwhile
  if (
    (raw
      .prepare(`SELECT count(*) FROM (SELECT 1 FROM records_search_pending LIMIT ${MAX_CANDIDATES + 1})`)
      .pluck()
      .get() as number) > MAX_CANDIDATES
  )
    return 'unmade';
  const n = raw
    .prepare(`SELECT count(*) FROM (SELECT rowid FROM records_search WHERE records_search MATCH ? LIMIT ${MAX_CANDIDATES + 1})`)
    .pluck()
    .get(match) as number;
  if (n > MAX_CANDIDATES) return 'common';
  return {
    sql: `(SELECT rowid FROM records_search WHERE records_search MATCH @match UNION SELECT rid FROM records_search_pending)`,
    params: { match },
  };
}

/** Drops the index, its pending list and its triggers (a cache emptied for a first sync). */
export function dropSearchIndex(raw: Raw): void {
  raw.exec(`DROP TRIGGER IF EXISTS records_search_insert; DROP TRIGGER IF EXISTS records_search_update; DROP TRIGGER IF EXISTS records_search_delete;
    DROP TABLE IF EXISTS records_search; DROP TABLE IF EXISTS records_search_pending;`);
  setMeta(raw, META, null);
}
