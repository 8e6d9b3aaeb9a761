import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type OpenCache } from '../../src-main/cache/cacheDb.ts';
import { beginBulkLoad } from '../../src-main/cache/queries/bulkLoad.ts';
import { columnIndexes, INDEX_FROM_ROWS } from '../../src-main/cache/queries/columnIndexes.ts';
import { SEARCH_INDEX_FROM_ROWS, searchIndexStatus } from '../../src-main/cache/queries/searchIndex.ts';
import { queryRecords, type QueryInput } from '../../src-main/data/dataService.ts';
import { forgetPositions } from '../../src-main/data/positions.ts';

// The Data view at scale (data/positions.ts, cache/queries/columnIndexes.ts, searchIndex.ts): every
// window, count, sort, filter and search must be what a plain reading of the rows gives, whichever
// index answers it. The oracle below sorts and filters the rows in JavaScript.

const A = 'company-a';
const B = 'company-b';
const N = SEARCH_INDEX_FROM_ROWS + 4000; // enough rows for both the column indexes and the search index

interface Row {
  rid: number;
  company: string;
  id: string;
  updatedAt: string;
  deleted: boolean;
  fields: Record<string, unknown>;
}

let dir: string;
let cache: OpenCache;
const rows: Row[] = [];

function insert(c: OpenCache, r: Omit<Row, 'rid'>): number {
  return Number(
    c.raw
      .prepare(
        `INSERT INTO records (company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at) VALUES (?, 'calls', ?, ?, ?, ?, 'a@x', '/api/calls', '2026-01-01')`,
      )
      .run(r.company, r.id, r.updatedAt, r.deleted ? 1 : 0, JSON.stringify(r.fields)).lastInsertRowid,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tenantscope-dataview-'));
  cache = await openCache(join(dir, 'c.sqlite'));
  const epoch = Date.parse('2026-01-01T00:00:00Z');
  cache.raw.transaction(() => {
    for (let i = 0; i < N; i++) {
      const fields: Record<string, unknown> = {
        id: `call-${i}`,
        duration_seconds: i % 97,
        direction: i % 3 ? 'outbound' : 'inbound',
        from_number: `+1555${String(i).padStart(7, '0')}`,
        notes: i % 1000 === 7 ? `marker-${i} escalated` : `call ${i} about the renewal`,
      };
      if (i % 11) fields.status = i % 2 ? 'completed' : 'missed';
      // some rows share an update time, so that ties are broken as the grid breaks them
      const r = {
        company: i % 5 === 4 ? B : A,
        id: `call-${i}`,
        updatedAt: new Date(epoch + Math.floor(((i * 7919) % N) / 3) * 1000).toISOString(),
        deleted: i % 53 === 0,
        fields,
      };
      rows.push({ ...r, rid: insert(cache, r) });
    }
  })();
});
afterAll(async () => {
  await cache?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** SQLite's order: NULL, then numbers, then text */
function compare(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null || v === undefined ? 0 : typeof v === 'number' ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (rank(a) === 0) return 0;
  return a! < b! ? -1 : a! > b! ? 1 : 0;
}

function expected(q: Omit<QueryInput, 'company' | 'resource' | 'offset' | 'limit'>, company = A) {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const matching = rows.filter(
    (r) =>
      r.company === company &&
      (q.includeDeleted || !r.deleted) &&
      (!q.search || JSON.stringify(r.fields).toLowerCase().includes(q.search.toLowerCase())) &&
      (q.filters ?? []).every((f) =>
        f.op === 'eq'
          ? text(r.fields[f.field]) === f.value
          : f.op === 'contains'
            ? (text(r.fields[f.field]) ?? '').toLowerCase().includes((f.value ?? '').toLowerCase())
            : (f.op === 'empty') === !text(r.fields[f.field]),
      ),
  );
  const s = q.sort ?? { field: 'updated_at', dir: 'desc' };
  const sign = s.dir === 'asc' ? 1 : -1;
  const key = (r: Row) => (s.field === 'updated_at' ? r.updatedAt : s.field === 'id' ? r.id : r.fields[s.field]);
  const tie = (a: Row, b: Row) => (s.field === 'updated_at' || s.field === 'id' ? 0 : compare(a.updatedAt, b.updatedAt)) || a.rid - b.rid;
  return matching.sort((a, b) => sign * (compare(key(a), key(b)) || tie(a, b))).map((r) => r.id);
}

const query = (q: Omit<QueryInput, 'company' | 'resource'>, company = A) => queryRecords(cache.raw, { company, resource: 'calls', ...q });

describe('the Data view at scale', () => {
  const cases: [string, Omit<QueryInput, 'company' | 'resource' | 'offset' | 'limit'>][] = [
    ['the default order', {}],
    ['deleted rows too', { includeDeleted: true }],
    ['sorted by a number column', { sort: { field: 'duration_seconds', dir: 'asc' } }],
    ['sorted by a text column some rows lack, descending', { sort: { field: 'status', dir: 'desc' } }],
    ['sorted by id', { sort: { field: 'id', dir: 'asc' } }],
    ['filtered on a text value', { filters: [{ field: 'direction', op: 'eq', value: 'inbound' }] }],
    ['filtered on a number value', { filters: [{ field: 'duration_seconds', op: 'eq', value: '42' }] }],
    [
      'filtered by contains and empty, sorted',
      {
        filters: [
          { field: 'from_number', op: 'contains', value: '00012' },
          { field: 'status', op: 'empty' },
        ],
        sort: { field: 'duration_seconds', dir: 'desc' },
      },
    ],
    ['searched', { search: 'MARKER-' }],
  ];
  for (const [name, q] of cases) {
    it(`${name}: every window and the count are those of the rows themselves`, () => {
      const all = expected(q);
      forgetPositions(cache.raw);
      const first = query({ ...q, offset: 0, limit: 100, count: true });
      expect(first.total).toBe(all.length);
      expect(first.rows.map((r) => r.id)).toEqual(all.slice(0, 100));
      // a jump into the middle, the end, and back near the top
      for (const offset of [Math.floor(all.length / 2), Math.max(0, all.length - 50), 300]) {
        const w = query({ ...q, offset, limit: 100, count: false });
        expect(w.rows.map((r) => r.id)).toEqual(all.slice(offset, offset + 100));
      }
    });
  }

  it('a column sorted or filtered on a big tenant gets an index, which SQLite uses; the least used are dropped beyond eight', () => {
    expect(rows.filter((r) => r.company === A).length).toBeGreaterThan(INDEX_FROM_ROWS);
    query({ offset: 0, limit: 10, sort: { field: 'duration_seconds', dir: 'asc' } });
    expect(columnIndexes(cache.raw).map((i) => i.field)).toContain('duration_seconds');
    const plan = cache.raw
      .prepare(
        `EXPLAIN QUERY PLAN SELECT rid FROM records WHERE company_id = 'company-a' AND resource = 'calls' AND deleted = 0 ORDER BY json_extract(payload, '$.duration_seconds') ASC, updated_at ASC, rid ASC`,
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING (COVERING )?INDEX records_col_/);
    expect(plan.map((p) => p.detail).join(' ')).not.toMatch(/TEMP B-TREE/);
    for (const f of ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8']) query({ offset: 0, limit: 10, sort: { field: f, dir: 'asc' } });
    const left = columnIndexes(cache.raw).map((i) => i.field);
    expect(left).toHaveLength(8);
    expect(left).not.toContain('duration_seconds');
    const names = cache.raw.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'records_col_%'").pluck().get();
    expect(names).toBe(8);
    // an index listed but gone from the schema (a file copied by hand) is made again, not named to SQLite
    const f8 = cache.raw.prepare("SELECT name FROM column_indexes WHERE field = 'f8'").pluck().get() as string;
    cache.raw.exec(`DROP INDEX "${f8}"`);
    expect(query({ offset: 0, limit: 10, filters: [{ field: 'f8', op: 'contains', value: 'x' }] }).total).toBe(0);
    expect(cache.raw.prepare('SELECT count(*) FROM sqlite_master WHERE name = ?').pluck().get(f8)).toBe(1);
  });

  it('a column name that is not one is refused in words', () => {
    expect(() => query({ offset: 0, limit: 10, sort: { field: "x') --", dir: 'asc' } })).toThrow(/is not a column name/);
  });

  it('a search is answered from the trigram index once made, and finds what the sync changed since', { timeout: 120_000 }, async () => {
    const before = query({ offset: 0, limit: 50, search: 'marker-' });
    expect(before.searchIndex).toMatchObject({ ready: false });
    while (!searchIndexStatus(cache.raw)?.ready) await new Promise((r) => setTimeout(r, 100));
    forgetPositions(cache.raw);
    const after = query({ offset: 0, limit: 50, search: 'marker-' });
    expect(after.searchIndex).toEqual({ ready: true });
    expect(after.rows.map((r) => r.id)).toEqual(expected({ search: 'marker-' }).slice(0, 50));
    expect(after.total).toBe(expected({ search: 'marker-' }).length);
    // rows written after the index was made: changed, added, deleted
    const changed = rows.find((r) => r.company === A && !r.deleted && !String(r.fields.notes).includes('marker'))!;
    changed.fields = { ...changed.fields, notes: 'marker-new changed after the index' };
    cache.raw.prepare('UPDATE records SET payload = ? WHERE rid = ?').run(JSON.stringify(changed.fields), changed.rid);
    const added = { company: A, id: 'call-added', updatedAt: '2030-01-01T00:00:00.000Z', deleted: false, fields: { notes: 'marker-new added' } };
    rows.push({ ...added, rid: insert(cache, added) });
    const gone = rows.find((r) => r.company === A && !r.deleted && String(r.fields.notes).includes('marker-'))!;
    cache.raw.prepare('DELETE FROM records WHERE rid = ?').run(gone.rid);
    rows.splice(rows.indexOf(gone), 1);
    forgetPositions(cache.raw);
    const now = query({ offset: 0, limit: 500, search: 'marker-' });
    expect(now.rows.map((r) => r.id)).toEqual(expected({ search: 'marker-' }));
    expect(now.rows.map((r) => r.id)).toContain('call-added');
    expect(now.rows.map((r) => r.id)).not.toContain(gone.id);
    // the index folds them in the background; the answer stays the same
    while ((cache.raw.prepare('SELECT count(*) FROM records_search_pending').pluck().get() as number) > 0) await new Promise((r) => setTimeout(r, 50));
    forgetPositions(cache.raw);
    expect(query({ offset: 0, limit: 500, search: 'marker-' }).rows.map((r) => r.id)).toEqual(expected({ search: 'marker-' }));
    // a text too short for trigrams, and a common one, are read from the rows: the same answer
    expect(query({ offset: 0, limit: 100, search: 'ne' }).rows.map((r) => r.id)).toEqual(expected({ search: 'ne' }).slice(0, 100));
    expect(query({ offset: 0, limit: 100, search: 'renewal' }).total).toBe(expected({ search: 'renewal' }).length);
  });

  it('a window after the cache changed shows the change once the list is a few seconds old', { timeout: 20_000 }, async () => {
    const q = { offset: 6000, limit: 10, count: false };
    const total = query(q).total!;
    const r = { company: A, id: 'call-late', updatedAt: '2031-01-01T00:00:00.000Z', deleted: false, fields: {} };
    rows.push({ ...r, rid: insert(cache, r) });
    await new Promise((res) => setTimeout(res, 3100));
    expect(query(q).total).toBe(total + 1);
    expect(query({ offset: 0, limit: 1, count: true }).rows[0]!.id).toBe('call-late');
  });

  it('a position list a moment old never shows a row that has since left the query (another company, deleted)', () => {
    const q = { offset: 0, limit: 20, count: false, sort: { field: 'duration_seconds', dir: 'asc' as const } };
    query({ ...q, offset: 6000 }); // the list is made
    const shown = query(q).rows.map((r) => r.id);
    const moved = rows.find((r) => r.id === shown[0])!;
    const removed = rows.find((r) => r.id === shown[1])!;
    cache.raw.prepare('UPDATE records SET company_id = ? WHERE rid = ?').run(B, moved.rid);
    cache.raw.prepare('UPDATE records SET deleted = 1 WHERE rid = ?').run(removed.rid);
    moved.company = B;
    removed.deleted = true;
    // within the few seconds a list is kept while a sync writes, the window is the old list's, each row checked again
    const now = query(q).rows.map((r) => r.id);
    expect(now).not.toContain(moved.id);
    expect(now).not.toContain(removed.id);
    expect(now).toEqual(shown.slice(2));
    expect(query(q, B).rows.map((r) => r.id)).not.toContain(removed.id);
  });

  it('a first sync into the emptied cache drops the Data view indexes, to be made again when used', () => {
    cache.raw.exec('DELETE FROM records');
    expect(beginBulkLoad(cache.raw, 1, [])).toBe(true);
    expect(columnIndexes(cache.raw)).toEqual([]);
    expect(searchIndexStatus(cache.raw)).toBeNull();
    expect(cache.raw.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'records_search%' OR name LIKE 'records_col_%'").pluck().get()).toBe(0);
  });
});
