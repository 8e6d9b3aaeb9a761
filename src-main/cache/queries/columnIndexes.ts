import { createHash } from 'node:crypto';
import type { OpenCache } from '../cacheDb.ts';
import { ownWrite } from './rowsVersion.ts';

/**
 * Indexes on one payload column, made when the Data view first sorts or filters a big resource by
 * it: (company_id, deleted, the column's value, updated_at) over that resource's rows only. A sort
 * is then read in order from the index, and a filter scans the index, not the rows' JSON, with the
 * update time at hand for the grid's default order. Every such index costs
 * each sync a write per row, so the least recently used are dropped beyond KEEP, and any not used
 * for UNUSED_DAYS. The table column_indexes says which exist and when each was last used.
 */
type Raw = OpenCache['raw'];

/** Below this many rows of the resource in the tenant, a scan is quick enough and no index is made. */
export const INDEX_FROM_ROWS = 20_000;
const KEEP = 8;
const UNUSED_DAYS = 30;

/** Whether `field` is a plain name, the only kind of payload column the Data view sorts or filters by. */
export const isColumnName = (field: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(field);

/** A payload column as SQL: the same text in the index and in the query, so SQLite matches them. Only a plain name is one. */
export function columnSql(field: string): string {
  if (!isColumnName(field)) throw new Error(`"${field}" is not a column name`);
  return `json_extract(payload, '$.${field}')`;
}
/** A resource name as an SQL literal: a partial index is used only where the query names it so. */
export const resourceLiteral = (resource: string) => `'${resource.replace(/'/g, "''")}'`;

const nameOf = (resource: string, field: string) => `records_col_${createHash('sha256').update(`${resource}\0${field}`).digest('hex').slice(0, 16)}`;

/**
 * Makes sure the index on `field` of `resource` exists when the tenant has enough rows of it to
 * need one (`tenantRows` counts them, asked only when no index is there yet), and marks it used.
 * Answers the index's name, or null when none serves the column.
 */
export function ensureColumnIndex(raw: Raw, resource: string, field: string, tenantRows: () => number): string | null {
  const now = new Date().toISOString();
  // an index listed but not in the schema (a copy of the file made by hand) is made again rather than named to SQLite
  const known = raw
    .prepare(
      "SELECT c.name, c.last_used_at FROM column_indexes c JOIN sqlite_master m ON m.type = 'index' AND m.name = c.name WHERE c.resource = ? AND c.field = ?",
    )
    .get(resource, field) as { name: string; last_used_at: string } | undefined;
  if (known) {
    // marked used at most once an hour: a write per sort would be a commit per scroll
    if (Date.parse(known.last_used_at) < Date.now() - 3_600_000)
      ownWrite(raw, () => raw.prepare('UPDATE column_indexes SET last_used_at = ? WHERE name = ?').run(now, known.name));
    return known.name;
  }
  if (tenantRows() < INDEX_FROM_ROWS) return null;
  const name = nameOf(resource, field);
  ownWrite(raw, () =>
    raw
      .transaction(() => {
        raw.exec(
          `CREATE INDEX IF NOT EXISTS "${name}" ON records (company_id, deleted, ${columnSql(field)}, updated_at) WHERE resource = ${resourceLiteral(resource)}`,
        );
        raw
          .prepare('INSERT OR REPLACE INTO column_indexes (name, resource, field, created_at, last_used_at) VALUES (?, ?, ?, ?, ?)')
          .run(name, resource, field, now, now);
        const cutoff = new Date(Date.now() - UNUSED_DAYS * 86_400_000).toISOString();
        const stale = raw
          .prepare('SELECT name FROM column_indexes WHERE last_used_at < ? OR name NOT IN (SELECT name FROM column_indexes ORDER BY last_used_at DESC LIMIT ?)')
          .pluck()
          .all(cutoff, KEEP) as string[];
        for (const s of stale) dropIndex(raw, s);
      })
      .immediate(),
  );
  return name;
}

function dropIndex(raw: Raw, name: string) {
  raw.exec(`DROP INDEX IF EXISTS "${name.replace(/"/g, '""')}"`);
  raw.prepare('DELETE FROM column_indexes WHERE name = ?').run(name);
}

/** Drops every column index (a cache emptied for a first sync: they are made again when used). */
export function dropColumnIndexes(raw: Raw): void {
  for (const name of raw.prepare('SELECT name FROM column_indexes').pluck().all() as string[]) dropIndex(raw, name);
}

/** The column indexes, for the Data view's help and for tests. */
export const columnIndexes = (raw: Raw) =>
  raw.prepare('SELECT resource, field, created_at AS createdAt, last_used_at AS lastUsedAt FROM column_indexes ORDER BY last_used_at DESC').all() as {
    resource: string;
    field: string;
    createdAt: string;
    lastUsedAt: string;
  }[];
