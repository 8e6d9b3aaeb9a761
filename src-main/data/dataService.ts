import type { Catalog } from '../../src-shared/catalog.ts';
import { AppError } from '../../src-shared/result.ts';
import { findingId } from '../audit/pass.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { latestFindings } from '../cache/queries/history.ts';
import { findRecord, refsFrom, refsTo, SEEN } from '../cache/queries/records.ts';
import { OUTSIDE, UNASSIGNED } from '../../src-shared/partitions.ts';

/**
 * The Data view's reads over the cache, with no network: a window of one tenant's rows of one
 * resource (sorted, filtered, searched in the payload), one record with its references (those
 * that cross tenants named with the audit finding), saved views, and a tenant's overview.
 */
type Raw = OpenCache['raw'];

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
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

/** A window of rows and the count of all that match. Sorting by a column other than the update time reads every matching row. */
export function queryRecords(
  raw: Raw,
  q: QueryInput,
): { total: number | null; rows: { id: string; updatedAt: string | null; deleted: boolean; fields: Record<string, unknown> }[]; columns: string[] } {
  const where = ['company_id = @company', 'resource = @resource'];
  const params: Record<string, unknown> = { company: q.company, resource: q.resource, offset: q.offset, limit: q.limit };
  if (q.seenBy !== undefined) {
    where.push(SEEN);
    params.seenBy = q.seenBy;
  }
  if (!q.includeDeleted) where.push('deleted = 0');
  if (q.search) {
    where.push(`payload LIKE @search ESCAPE '\\'`);
    params.search = like(q.search);
  }
  (q.filters ?? []).forEach((f, i) => {
    if (!FIELD.test(f.field)) throw new AppError('invalid-input', `"${f.field}" is not a column name.`);
    const path = `'$.${f.field}'`;
    if (f.op === 'empty') where.push(`coalesce(json_extract(payload, ${path}), '') = ''`);
    else if (f.op === 'not-empty') where.push(`coalesce(json_extract(payload, ${path}), '') <> ''`);
    else if (f.op === 'eq') {
      where.push(`CAST(json_extract(payload, ${path}) AS TEXT) = @f${i}`);
      params[`f${i}`] = f.value ?? '';
    } else {
      where.push(`CAST(json_extract(payload, ${path}) AS TEXT) LIKE @f${i} ESCAPE '\\'`);
      params[`f${i}`] = like(f.value ?? '');
    }
  });
  let order = 'updated_at DESC, rid DESC';
  if (q.sort) {
    if (!FIELD.test(q.sort.field)) throw new AppError('invalid-input', `"${q.sort.field}" is not a column name.`);
    const dir = q.sort.dir === 'asc' ? 'ASC' : 'DESC';
    order =
      q.sort.field === 'updated_at'
        ? `updated_at ${dir}, rid ${dir}`
        : q.sort.field === 'id'
          ? `id ${dir}`
          : `json_extract(payload, '$.${q.sort.field}') ${dir}, rid ${dir}`;
  }
  const w = where.join(' AND ');
  const total = q.count === false ? null : (raw.prepare(`SELECT count(*) AS n FROM records WHERE ${w}`).get(params) as { n: number }).n;
  const rows = (
    raw.prepare(`SELECT id, updated_at, deleted, payload FROM records WHERE ${w} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all(params) as {
      id: string;
      updated_at: string | null;
      deleted: number;
      payload: string;
    }[]
  ).map((r) => ({ id: r.id, updatedAt: r.updated_at, deleted: !!r.deleted, fields: JSON.parse(r.payload) as Record<string, unknown> }));
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r.fields)))];
  return { total, rows, columns };
}

/** what a company admin sees in place of another tenant's id */
export const ANOTHER = 'another company';

export interface RecordRef {
  field: string;
  resource: string;
  id: string;
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
    return {
      field: f.field,
      resource: f.target_resource,
      id: f.target_id,
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
  const referencedBy = refsTo(raw, row.rid, opts.seenBy);
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
    referencedBy: referencedBy
      .filter((r) => opts.company === null || r.company_id === opts.company)
      .map((r) => ({
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
