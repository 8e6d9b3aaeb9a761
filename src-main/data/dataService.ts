import type { Catalog } from '../../src-shared/catalog.ts';
import { AppError } from '../../src-shared/result.ts';
import { findingId } from '../audit/pass.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { latestFindings } from '../cache/queries/history.ts';
import { findRecord, refsFrom, refsTo, SEEN } from '../cache/queries/records.ts';
import { OUTSIDE, UNASSIGNED } from '../../src-shared/partitions.ts';
import { columnSql, ensureColumnIndex, INDEX_FROM_ROWS, isColumnName, resourceLiteral } from '../cache/queries/columnIndexes.ts';
import { labelsIn } from './labels.ts';
import { hasPositions, positionsOf, readAhead, rowsAt } from './positions.ts';
import { searchCandidates, type SearchIndexStatus, searchIndexStatus, startSearchIndex } from '../cache/queries/searchIndex.ts';

/**
 * The Data view's reads over the cache, with no network: a window of one tenant's rows of one
 * resource (sorted, filtered, searched in the payload), one record with its references (those
 * that cross tenants named with the audit finding), saved views, and a tenant's overview.
 */
type Raw = OpenCache['raw'];

export interface QueryInput {
  company: string;
  resource: string;
  search?: string;
  sort?: { field: string; dir: 'asc' | 'desc' };
  filters?: { field: string; op: 'eq' | 'contains' | 'empty' | 'not-empty'; value?: string }[];
  offset: number;
  limit: number;
  includeDeleted?: boolean;
  count?: boolean;
  /** a plain user: only the rows their own sync fetched */
  seenBy?: string;
}

const like = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Windows this close to the top of an order an index gives are read straight from that index. */
const DIRECT_OFFSET = 5000;
/** after the first window of a long list, its positions are read once the view has been left alone this long */
const PREFETCH_MS = 400;

type Row = { id: string; updatedAt: string | null; deleted: boolean; fields: Record<string, unknown> };

/**
 * A window of rows and the count of all that match. Near the top the window is read straight from
 * an index (records_by_update, or the sorted or filtered column's own) and counted apart; anything
 * else (a jump, a search) goes through the query's position list (positions.ts), which also gives
 * the count, and is read ahead after the first window of a long list. A column sorted or filtered
 * gets an index of its own (columnIndexes.ts); a search is answered from the trigram index once it
 * is made (searchIndex.ts), each candidate checked with LIKE.
 */
export function queryRecords(raw: Raw, q: QueryInput): { total: number | null; rows: Row[]; columns: string[]; searchIndex?: SearchIndexStatus } {
  // a question asked: a read-ahead waiting for a pause waits for the next one
  readAhead(raw, null);
  const fields = [...(q.filters ?? []).map((f) => f.field), ...(q.sort ? [q.sort.field] : [])];
  for (const field of fields) if (!isColumnName(field)) throw new AppError('invalid-input', `"${field}" is not a column name.`);
  const params: Record<string, unknown> = { company: q.company };
  const found = q.search ? searchRows(raw, q.search) : null;
  const candidates = typeof found === 'object' ? found : null;
  // a text in most rows (or too short for the index) is best counted, and its first window read until it is full
  const dense = found === 'common' || found === 'short';
  // with a short candidate list, the rows are looked up by rid: the unary + keeps SQLite from an index scan instead
  const plus = candidates ? '+' : '';
  const where = [`${plus}company_id = @company`, `${plus}resource = ${resourceLiteral(q.resource)}`];
  if (!q.includeDeleted) where.push(`${plus}deleted = 0`);
  if (q.seenBy !== undefined) {
    where.push(SEEN);
    params.seenBy = q.seenBy;
  }
  if (candidates) Object.assign(params, candidates.params);
  if (q.search) {
    where.push(`payload LIKE @search ESCAPE '\\'`);
    params.search = like(q.search);
  }
  let columnRows: number | undefined;
  const rowsOfTenant = () => (columnRows ??= tenantRows(raw, q.company, q.resource));
  const indexed = new Map(
    [...new Set(fields.filter((f) => f !== 'id' && f !== 'updated_at'))].map((f) => [f, ensureColumnIndex(raw, q.resource, f, rowsOfTenant)]),
  );
  where.push(...filterClauses(q.filters ?? [], params));
  // a filter reads its column's index, sought where it can be (the planner would rather read every row of records_by_update)
  const filters = [...(q.filters ?? [])].sort((a, b) => Number(seeks(b)) - Number(seeks(a)));
  const filterIndex = candidates ? null : (filters.map((f) => indexed.get(f.field)).find((n) => n) ?? null);
  const from = filterIndex ? `records INDEXED BY "${filterIndex}"` : 'records';
  const dir = q.sort?.dir === 'asc' ? 'ASC' : 'DESC';
  const order =
    !q.sort || q.sort.field === 'updated_at'
      ? `updated_at ${dir}, rid ${dir}`
      : q.sort.field === 'id'
        ? `id ${dir}, rid ${dir}`
        : `${columnSql(q.sort.field)} ${dir}, updated_at ${dir}, rid ${dir}`;
  // the rows a window shows are checked again against every condition but the index's candidates (LIKE is the search's own test)
  const recheck = where.join(' AND ');
  const w = [...where, ...(candidates ? [`rid IN ${candidates.sql}`] : [])].join(' AND ');
  const key = JSON.stringify([q.company, q.resource, q.seenBy ?? null, !!q.includeDeleted, q.search ?? '', q.filters ?? [], order]);
  const listSql = `SELECT rid FROM ${from} WHERE ${w} ORDER BY ${order}`;
  let total: number | null;
  let rows: { id: string; updated_at: string | null; deleted: number; payload: string }[];
  // near the top, the window is read straight from an index and counted apart (a filter that scans
  // would be scanned twice so: its position list counts it in the same pass). A search for a text
  // in most rows, or under three characters, reads the rows once to count them, and its first
  // window stops at the first matches; a jump then reads its position list. Any other search before
  // the index is made reads the rows once, for its position list.
  if ((!q.search || dense) && filters.every(seeks) && q.offset <= DIRECT_OFFSET && !hasPositions(raw, key)) {
    total = q.count === false ? null : (raw.prepare(`SELECT count(*) FROM ${from} WHERE ${w}`).pluck().get(params) as number);
    rows = raw
      .prepare(`SELECT id, updated_at, deleted, payload FROM ${from} WHERE ${w} ORDER BY ${order} LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: q.limit, offset: q.offset }) as typeof rows;
    // a long list: its positions are read while the first rows are looked at, so that a jump is a lookup
    if (total !== null && total > DIRECT_OFFSET && !q.search) readAhead(raw, { key, sql: listSql, params, ms: PREFETCH_MS });
  } else {
    const rids = positionsOf(raw, key, listSql, params);
    total = rids.length;
    // each row is read through the query's own conditions again: a list a few seconds old never shows a row the query would not
    rows = rowsAt<(typeof rows)[number] & { rid: number }>(
      raw,
      rids.subarray(q.offset, q.offset + q.limit),
      'id, updated_at, deleted, payload',
      recheck,
      params,
    );
  }
  const out = rows.map((r) => ({ id: r.id, updatedAt: r.updated_at, deleted: !!r.deleted, fields: JSON.parse(r.payload) as Record<string, unknown> }));
  const columns = [...new Set(out.flatMap((r) => Object.keys(r.fields)))];
  return { total, rows: out, columns, ...(q.search ? { searchIndex: searchIndexStatus(raw) } : {}) };
}

type Filter = NonNullable<QueryInput['filters']>[number];

/** A text that cannot be a JSON number, boolean or null equals the column's text exactly when it equals the column: the index is sought, not scanned. */
const seeks = (f: Filter) => f.op === 'eq' && !/^\s*(-?[\d.]+(e[-+]?\d+)?|true|false|null)?\s*$/i.test(f.value ?? '');

/** The column filters as SQL conditions, their values added to `params`. */
function filterClauses(filters: Filter[], params: Record<string, unknown>): string[] {
  return filters.map((f, i) => {
    const value = columnSql(f.field);
    if (f.op === 'empty') return `coalesce(${value}, '') = ''`;
    if (f.op === 'not-empty') return `coalesce(${value}, '') <> ''`;
    params[`f${i}`] = f.op === 'eq' ? (f.value ?? '') : like(f.value ?? '');
    return seeks(f) ? `${value} = @f${i}` : f.op === 'eq' ? `CAST(${value} AS TEXT) = @f${i}` : `CAST(${value} AS TEXT) LIKE @f${i} ESCAPE '\\'`;
  });
}

/** the tenant's rows of a resource, counted up to the size from which a column index pays */
const tenantRows = (raw: Raw, company: string, resource: string) =>
  raw
    .prepare(`SELECT count(*) FROM (SELECT 1 FROM records WHERE company_id = ? AND resource = ? LIMIT ${INDEX_FROM_ROWS})`)
    .pluck()
    .get(company, resource) as number;

/** the rows a search may find, from the trigram index (made in the background on a first search of a big cache) */
function searchRows(raw: Raw, text: string) {
  try {
    startSearchIndex(raw);
  } catch {
    // another process writing (a sync from the command line): the next search begins it
  }
  return searchCandidates(raw, text);
}

/** what a company admin sees in place of another tenant's id */
export const ANOTHER = 'another company';

export interface RecordRef {
  field: string;
  resource: string;
  id: string;
  /** the target's name, where the caller may read it */
  label: string | null;
  /** the target's company in the cache, null when the cache does not hold it */
  companyId: string | null;
  crossTenant: boolean;
  finding: { id: string; title: string; severity: string } | null;
}

/** One record: fields, provenance, what it points at (crossing tenants flagged, with the finding), and who points at it. */
export function recordDetail(raw: Raw, catalog: Catalog, opts: { resource: string; id: string; company: string | null; seenBy?: string }) {
  const row = findRecord(raw, opts);
  if (!row) return null;
  const findings = latestFindings(raw, row.company_id);
  const resource = catalog.resources.find((r) => r.name === row.resource);
  const derivedField = resource && (resource.derivation.kind === 'owner' || resource.derivation.kind === 'parent') ? resource.derivation.field : null;
  const out = refsFrom(raw, row.company_id, row.rid);
  const refs: RecordRef[] = out.map((f) => {
    const crossTenant =
      f.target_company !== null &&
      f.target_company !== row.company_id &&
      ![UNASSIGNED, OUTSIDE].includes(f.target_company) &&
      ![UNASSIGNED, OUTSIDE].includes(row.company_id) &&
      f.field !== derivedField;
    const fid = findingId('cross-tenant-reference', row.resource, f.field);
    const found = findings.get(fid);
    // its name, where the caller may read the record it points at (a company admin: their own company's)
    const readable = f.target_company !== null && (opts.company === null || f.target_company === opts.company);
    const label = readable
      ? (labelsIn(raw, catalog, { company: f.target_company!, resource: f.target_resource, ids: [f.target_id], seenBy: opts.seenBy })[f.target_id] ?? null)
      : null;
    return {
      field: f.field,
      resource: f.target_resource,
      id: f.target_id,
      label,
      companyId: f.target_company,
      crossTenant,
      finding: crossTenant
        ? {
            id: fid,
            severity: found?.severity ?? 'HIGH',
            title: found?.title ?? `${row.resource} rows point at a ${f.target_resource} of another company (${f.field}) — not in an audit yet: run the audit`,
          }
        : null,
    };
  });
  const referencedBy = refsTo(raw, row.rid, { company: opts.company, seenBy: opts.seenBy });
  // a company admin learns that a reference leaves their company, not whose data it reaches
  const shown = (company: string | null) => (opts.company === null || company === null || company === opts.company ? company : ANOTHER);
  return {
    record: {
      companyId: row.company_id,
      resource: row.resource,
      id: row.id,
      updatedAt: row.updated_at,
      deleted: !!row.deleted,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
      fetchedBy: row.fetched_by,
      fetchedFrom: row.fetched_from,
      fetchedAt: row.fetched_at,
    },
    refs: refs.map((r) => ({ ...r, companyId: shown(r.companyId) })),
    referencedBy: referencedBy.map((r) => ({
      resource: r.resource,
      id: r.id,
      field: r.field,
      companyId: r.company_id,
      crossTenant: r.company_id !== row.company_id && ![UNASSIGNED, OUTSIDE].includes(r.company_id) && ![UNASSIGNED, OUTSIDE].includes(row.company_id),
    })),
  };
}

export interface SavedView {
  id: number;
  name: string;
  resource: string;
  tenant: string | null;
  state: { search?: string; sort?: { field: string; dir: 'asc' | 'desc' }; filters?: QueryInput['filters']; columns?: string[] };
  createdAt: string;
}

export function listViews(raw: Raw, owner: string): SavedView[] {
  return (
    raw.prepare('SELECT id, name, resource, tenant, state, created_at FROM saved_views WHERE owner = ? ORDER BY name').all(owner) as {
      id: number;
      name: string;
      resource: string;
      tenant: string | null;
      state: string;
      created_at: string;
    }[]
  ).map((v) => ({ id: v.id, name: v.name, resource: v.resource, tenant: v.tenant, state: JSON.parse(v.state) as SavedView['state'], createdAt: v.created_at }));
}

export function saveView(raw: Raw, owner: string, v: { name: string; resource: string; tenant: string | null; state: SavedView['state'] }): SavedView {
  raw
    .prepare(
      `INSERT INTO saved_views (owner, name, resource, tenant, state, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (owner, name) DO UPDATE SET resource = excluded.resource, tenant = excluded.tenant, state = excluded.state`,
    )
    .run(owner, v.name, v.resource, v.tenant, JSON.stringify(v.state), new Date().toISOString());
  return listViews(raw, owner).find((x) => x.name === v.name)!;
}

export function deleteView(raw: Raw, owner: string, id: number): boolean {
  return raw.prepare('DELETE FROM saved_views WHERE owner = ? AND id = ?').run(owner, id).changes > 0;
}
