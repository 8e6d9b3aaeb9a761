import type { Catalog } from '../../src-shared/catalog.ts';
import { AppError } from '../../src-shared/result.ts';
import { findingId } from '../audit/auditService.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { ALL, OUTSIDE, UNASSIGNED } from '../../src-shared/partitions.ts';

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

/** a plain user's rows: those their own sync was given (record_seen_by), never the rest of the company's partition */
const SEEN = 'rid IN (SELECT rid FROM record_seen_by WHERE identity = @seenBy)';

const like = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** A window of rows and the count of all that match. Sorting by a column other than the update time reads every matching row. */
export function queryRecords(raw: Raw, q: QueryInput): { total: number | null; rows: { id: string; updatedAt: string | null; deleted: boolean; fields: Record<string, unknown> }[]; columns: string[] } {
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
    else if (f.op === 'eq') { where.push(`CAST(json_extract(payload, ${path}) AS TEXT) = @f${i}`); params[`f${i}`] = f.value ?? ''; }
    else { where.push(`CAST(json_extract(payload, ${path}) AS TEXT) LIKE @f${i} ESCAPE '\\'`); params[`f${i}`] = like(f.value ?? ''); }
  });
  let order = 'updated_at DESC, rid DESC';
  if (q.sort) {
    if (!FIELD.test(q.sort.field)) throw new AppError('invalid-input', `"${q.sort.field}" is not a column name.`);
    const dir = q.sort.dir === 'asc' ? 'ASC' : 'DESC';
    order = q.sort.field === 'updated_at' ? `updated_at ${dir}, rid ${dir}` : q.sort.field === 'id' ? `id ${dir}` : `json_extract(payload, '$.${q.sort.field}') ${dir}, rid ${dir}`;
  }
  const w = where.join(' AND ');
  const total = q.count === false ? null : (raw.prepare(`SELECT count(*) AS n FROM records WHERE ${w}`).get(params) as { n: number }).n;
  const rows = (raw.prepare(`SELECT id, updated_at, deleted, payload FROM records WHERE ${w} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all(params) as { id: string; updated_at: string | null; deleted: number; payload: string }[])
    .map((r) => ({ id: r.id, updatedAt: r.updated_at, deleted: !!r.deleted, fields: JSON.parse(r.payload) as Record<string, unknown> }));
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
  const row = raw.prepare(`SELECT rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at FROM records
      WHERE resource = @resource AND id = @id ${opts.company !== null ? 'AND company_id = @company' : ''} ${opts.seenBy !== undefined ? `AND ${SEEN}` : ''} ORDER BY deleted LIMIT 1`)
    .get({ resource: opts.resource, id: opts.id, company: opts.company, seenBy: opts.seenBy }) as { rid: number; company_id: string; resource: string; id: string; updated_at: string | null; deleted: number; payload: string; fetched_by: string; fetched_from: string; fetched_at: string } | undefined;
  if (!row) return null;
  const latest = raw.prepare(`SELECT findings FROM audit_runs WHERE scope IN (@all, @company) ORDER BY id DESC LIMIT 1`).get({ all: ALL, company: row.company_id }) as { findings: string } | undefined;
  const findings = new Map((latest ? (JSON.parse(latest.findings) as { id: string; severity: string; title?: string }[]) : []).map((f) => [f.id, f]));
  const resource = catalog.resources.find((r) => r.name === row.resource);
  const derivedField = resource && (resource.derivation.kind === 'owner' || resource.derivation.kind === 'parent') ? resource.derivation.field : null;
  const out = raw.prepare(`SELECT f.field, f.target_resource, f.target_id, (SELECT t.company_id FROM records t WHERE t.resource = f.target_resource AND t.id = f.target_id AND t.deleted = 0 LIMIT 1) AS target_company
      FROM refs f WHERE f.company_id = ? AND f.rid = ? ORDER BY f.field`).all(row.company_id, row.rid) as { field: string; target_resource: string; target_id: string; target_company: string | null }[];
  const refs: RecordRef[] = out.map((f) => {
    const crossTenant = f.target_company !== null && f.target_company !== row.company_id && ![UNASSIGNED, OUTSIDE].includes(f.target_company) && ![UNASSIGNED, OUTSIDE].includes(row.company_id) && f.field !== derivedField;
    const fid = findingId('cross-tenant-reference', row.resource, f.field);
    const found = findings.get(fid);
    return {
      field: f.field, resource: f.target_resource, id: f.target_id, companyId: f.target_company, crossTenant,
      finding: crossTenant ? { id: fid, severity: found?.severity ?? 'HIGH', title: found?.title ?? `${row.resource} rows point at a ${f.target_resource} of another company (${f.field}) — not in an audit yet: run the audit` } : null,
    };
  });
  const referencedBy = raw.prepare(`SELECT r.resource, r.id, r.company_id, f.field FROM records t JOIN refs f ON f.target_resource = t.resource AND f.target_id = t.id JOIN records r ON r.rid = f.rid
      WHERE t.rid = @rid AND r.deleted = 0 ${opts.seenBy !== undefined ? 'AND r.rid IN (SELECT rid FROM record_seen_by WHERE identity = @seenBy)' : ''} ORDER BY r.resource, r.id LIMIT 50`).all({ rid: row.rid, seenBy: opts.seenBy }) as { resource: string; id: string; company_id: string; field: string }[];
  // a company admin learns that a reference leaves their company, not whose data it reaches
  const shown = (company: string | null) => (opts.company === null || company === null || company === opts.company ? company : ANOTHER);
  return {
    record: { companyId: row.company_id, resource: row.resource, id: row.id, updatedAt: row.updated_at, deleted: !!row.deleted, payload: JSON.parse(row.payload) as Record<string, unknown>, fetchedBy: row.fetched_by, fetchedFrom: row.fetched_from, fetchedAt: row.fetched_at },
    refs: refs.map((r) => ({ ...r, companyId: shown(r.companyId) })),
    referencedBy: referencedBy
      .filter((r) => opts.company === null || r.company_id === opts.company)
      .map((r) => ({ resource: r.resource, id: r.id, field: r.field, companyId: r.company_id, crossTenant: r.company_id !== row.company_id && ![UNASSIGNED, OUTSIDE].includes(r.company_id) && ![UNASSIGNED, OUTSIDE].includes(row.company_id) })),
  };
}

export interface SavedView { id: number; name: string; resource: string; tenant: string | null; state: { search?: string; sort?: { field: string; dir: 'asc' | 'desc' }; filters?: QueryInput['filters']; columns?: string[] }; createdAt: string }

export function listViews(raw: Raw, owner: string): SavedView[] {
  return (raw.prepare('SELECT id, name, resource, tenant, state, created_at FROM saved_views WHERE owner = ? ORDER BY name').all(owner) as { id: number; name: string; resource: string; tenant: string | null; state: string; created_at: string }[])
    .map((v) => ({ id: v.id, name: v.name, resource: v.resource, tenant: v.tenant, state: JSON.parse(v.state) as SavedView['state'], createdAt: v.created_at }));
}

export function saveView(raw: Raw, owner: string, v: { name: string; resource: string; tenant: string | null; state: SavedView['state'] }): SavedView {
  raw.prepare(`INSERT INTO saved_views (owner, name, resource, tenant, state, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (owner, name) DO UPDATE SET resource = excluded.resource, tenant = excluded.tenant, state = excluded.state`).run(owner, v.name, v.resource, v.tenant, JSON.stringify(v.state), new Date().toISOString());
  return listViews(raw, owner).find((x) => x.name === v.name)!;
}

export function deleteView(raw: Raw, owner: string, id: number): boolean {
  return raw.prepare('DELETE FROM saved_views WHERE owner = ? AND id = ?').run(owner, id).changes > 0;
}

/** Resources the cache holds rows of for a tenant, with counts (the Data view's resource picker). */
export function resourceCounts(raw: Raw, company: string, seenBy?: string): { resource: string; rows: number }[] {
  return raw.prepare(`SELECT resource, count(*) AS rows FROM records WHERE company_id = @company AND deleted = 0 ${seenBy !== undefined ? `AND ${SEEN}` : ''} GROUP BY resource ORDER BY resource`).all({ company, seenBy }) as { resource: string; rows: number }[];
}

export interface TenantOverview {
  id: string;
  name: string;
  users: number;
  rows: number;
  /** rows of resources that carry company_id already ('company'), and of the seed's HIGH, MEDIUM and LOW ones */
  byPriority: { company: number; HIGH: number; MEDIUM: number; LOW: number };
  missingCompanyId: number;
  /** open findings of the newest audit that covered this tenant (of it alone, or of every tenant), null when none ran */
  openFindings: number | null;
  /** the count comes from an audit of every tenant (newer than any of this one alone) */
  findingsOfAll: boolean;
  lastSync: string | null;
  proof: { proven: number; drifted: number; asOf: string | null };
}

/**
 * Every tenant the operator may see, from the cache: users, rows per priority group, rows missing
 * company_id, open findings, last sync and proof; rows per resource (the compare view and the
 * charts); the audit's findings over time and the sync history.
 */
export function tenantOverview(raw: Raw, catalog: Catalog, tenants: { id: string; name: string }[], opts: { identity: string | null; seenBy?: string }) {
  const priority = new Map(catalog.resources.map((r) => [r.name, r.priority ?? 'company']));
  const ids = new Set(tenants.map((t) => t.id));
  const perResource = (raw.prepare(`SELECT company_id, resource, count(*) AS rows, sum(has_company_field = 0) AS missing FROM records WHERE deleted = 0 ${opts.seenBy !== undefined ? `AND ${SEEN}` : ''} GROUP BY company_id, resource`).all({ seenBy: opts.seenBy }) as { company_id: string; resource: string; rows: number; missing: number }[])
    .filter((r) => ids.has(r.company_id));
  const audits = raw.prepare(`SELECT generated_at, scope, findings FROM audit_runs ORDER BY id`).all() as { generated_at: string; scope: string; findings: string }[];
  const newestFirst = [...audits].reverse();
  // the newest audit that covered the tenant, of it alone or of every tenant (as the record panel reads it)
  const latestFor = (id: string) => newestFirst.find((a) => a.scope === id || a.scope === ALL);
  const sync = raw.prepare(`SELECT company_id, max(last_finished_at) AS last, count(proof) AS proven, sum(json_extract(proof, '$.status') = 'drifted') AS drifted, max(json_extract(proof, '$.asOf')) AS proof_at FROM sync_state GROUP BY company_id`).all() as { company_id: string; last: string | null; proven: number; drifted: number | null; proof_at: string | null }[];
  const everyone = sync.find((s) => s.company_id === ALL);
  const overview: TenantOverview[] = tenants.map((t) => {
    const mine = perResource.filter((r) => r.company_id === t.id);
    const by = { company: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
    for (const r of mine) by[(priority.get(r.resource) ?? 'company') as keyof typeof by] += r.rows;
    const audit = latestFor(t.id);
    const s = sync.find((x) => x.company_id === t.id);
    const lastSync = [s?.last, everyone?.last].filter(Boolean).sort().at(-1) ?? null;
    return {
      id: t.id, name: t.name,
      users: mine.find((r) => r.resource === catalog.users)?.rows ?? 0,
      rows: mine.reduce((a, r) => a + r.rows, 0), byPriority: by,
      missingCompanyId: mine.filter((r) => priority.get(r.resource) !== 'company').reduce((a, r) => a + r.missing, 0),
      openFindings: audit ? (JSON.parse(audit.findings) as unknown[]).length : null,
      findingsOfAll: audit?.scope === ALL,
      lastSync,
      proof: { proven: s?.proven ?? 0, drifted: s?.drifted ?? 0, asOf: s?.proof_at ?? null },
    };
  });
  const scopes = new Set([ALL, ...ids]);
  const findingsHistory = audits.filter((a) => (opts.identity === null ? a.scope === ALL : scopes.has(a.scope) && a.scope !== ALL)).map((a) => {
    const list = JSON.parse(a.findings) as { severity: string }[];
    return { at: a.generated_at, scope: a.scope, HIGH: list.filter((f) => f.severity === 'HIGH').length, MEDIUM: list.filter((f) => f.severity === 'MEDIUM').length, LOW: list.filter((f) => f.severity === 'LOW').length };
  });
  const syncHistory = (raw.prepare(`SELECT started_at, finished_at, identity, outcome, rows, retries FROM sync_runs ${opts.identity ? 'WHERE identity = @identity' : ''} ORDER BY id DESC LIMIT 50`).all({ identity: opts.identity }) as { started_at: string; finished_at: string | null; identity: string; outcome: string; rows: number; retries: number }[])
    .reverse().map((r) => ({ startedAt: r.started_at, seconds: r.finished_at ? (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000 : null, identity: r.identity, outcome: r.outcome, rows: r.rows, retries: r.retries }));
  return { tenants: overview, resources: perResource.map((r) => ({ tenant: r.company_id, resource: r.resource, rows: r.rows, missing: r.missing, priority: priority.get(r.resource) ?? 'company' })), findingsHistory, syncHistory };
}
