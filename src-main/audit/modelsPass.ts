import { counted } from '../../src-shared/format.ts';
import type { Resource } from '../../src-shared/catalog.ts';
import type { ModelStatus } from '../../src-shared/contract/audit.ts';
import { UNASSIGNED } from '../../src-shared/partitions.ts';
import { findingId, quoteIdent, superAdminIds, type Pass } from './pass.ts';

type Stats = { rows: number; carrying: number; missing: number; fillable: number; placed: number };

/** One pass over the audit index for every resource's counts (no payload is parsed), grouped in the index's own order (company, resource): no temporary B-tree. */
function modelStats({ db, part, params }: Pass): Map<string, Stats> {
  const stats = new Map<string, { rows: number; carrying: number; missing: number; fillable: number; placed: number }>();
  for (const x of db
    .prepare(
      `SELECT r.resource AS resource, count(*) AS rows, sum(r.has_company_field) AS carrying,
      sum(r.own_company IS NULL) AS missing, sum(r.own_company IS NULL AND r.company_id <> '${UNASSIGNED}') AS fillable, sum(r.company_id <> '${UNASSIGNED}') AS placed
      FROM records r WHERE r.deleted = 0 ${part} GROUP BY r.company_id, r.resource`,
    )
    .iterate(params) as Iterable<{ resource: string; rows: number; carrying: number; missing: number; fillable: number; placed: number }>) {
    const s = stats.get(x.resource) ?? { rows: 0, carrying: 0, missing: 0, fillable: 0, placed: 0 };
    for (const k of ['rows', 'carrying', 'missing', 'fillable', 'placed'] as const) s[k] += x[k];
    stats.set(x.resource, s);
  }
  return stats;
}

/** Per resource: company_id present? rows missing it, fillable or orphaned; the findings of each. */
export function modelsPass(p: Pass): ModelStatus[] {
  const superAdmins = new Set(superAdminIds(p.db, p.catalog));
  const stats = modelStats(p);
  p.timings?.set('stats', performance.now());
  const models: ModelStatus[] = [];
  for (const r of p.catalog.resources) {
    const m = modelStatus(p, r, stats.get(r.name), superAdmins.size);
    models.push(m);
    if (r.class === 'global') continue;
    if (r.name === p.catalog.users && m.hasCompanyId) continue; // users without a company: the user-without-company finding
    if (!m.hasCompanyId) noColumnFinding(p, r, m);
    else if (m.missing > 0) nullFinding(p, r, m);
    if (m.orphans > 0) orphansFinding(p, r, m);
  }
  return models;
}

const companyFieldOf = (r: Resource) => r.companyField ?? (r.derivation.kind === 'own' ? r.derivation.field : null);

/** One resource's counts: rows, missing company_id, fillable by the migration, shared by every company, orphans. */
function modelStatus(p: Pass, r: Resource, st: Stats = { rows: 0, carrying: 0, missing: 0, fillable: 0, placed: 0 }, superAdmins: number): ModelStatus {
  const { db, catalog, company } = p;
  const field = companyFieldOf(r);
  const isUsers = r.name === catalog.users;
  const rows = st.rows;
  const hasCompanyId = rows > 0 ? st.carrying > 0 : !!field;
  // users: a super admin belongs to no company by design; a user without one is its own finding
  const supersHere = isUsers && !company ? superAdmins : 0;
  const missing = hasCompanyId ? st.missing - supersHere : rows;
  const fillable = hasCompanyId ? st.fillable : st.placed;
  // rows with an empty owner (or parent) that the catalog says are shared by every company: not orphans
  const shared =
    r.ownerless === 'shared' && (r.derivation.kind === 'owner' || r.derivation.kind === 'parent')
      ? Number(
          db
            .prepare(
              `SELECT count(*) FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id = '${UNASSIGNED}' AND json_extract(r.payload, @path) IS NULL`,
            )
            .pluck()
            .get({ resource: r.name, path: `$.${r.derivation.field}` }),
        )
      : 0;
  const orphans = missing - fillable - shared;
  return { resource: r.name, table: r.table, priority: r.priority, hasCompanyId, rows, missing, fillable, orphans, ...(shared ? { shared } : {}) };
}

/** A resource whose rows carry no company_id at all. */
function noColumnFinding({ byName, add, idsOf, part, params }: Pass, r: Resource, { rows, fillable, shared = 0 }: ModelStatus): void {
  const how =
    r.derivation.kind === 'owner'
      ? `from its owner (${r.derivation.field} → users.company_id)`
      : r.derivation.kind === 'parent'
        ? `from its parent (${r.derivation.field} → ${r.derivation.resource}.company_id)`
        : 'by a person: the catalog knows no owner or parent';
  const table = r.table ?? r.name;
  const parentTable = r.derivation.kind === 'parent' ? (byName.get(r.derivation.resource)?.table ?? r.derivation.resource) : 'users';
  add({
    id: findingId('missing-company-id', r.name),
    check: 'missing-company-id',
    severity: r.priority ?? 'HIGH',
    resource: r.name,
    count: rows,
    title: `${r.name} has no company_id: ${rows} cached rows reach a company only ${r.derivation.kind === 'none' ? 'not at all' : `through their ${r.derivation.kind}`}`,
    evidence: {
      ids: idsOf(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 ${part} ORDER BY r.id`, { ...params, resource: r.name }),
      path: `${r.name}.${r.derivation.kind === 'none' ? '(no company)' : r.derivation.field}`,
    },
    remediation: `Add company_id to ${table} and fill it ${how}; then scope every ${r.name} endpoint by company_id.${shared ? ` ${shared} rows with no ${r.derivation.kind === 'none' ? 'owner' : (r.derivation as { field: string }).field} are shared by every company (the catalog says so): they keep company_id NULL, and the endpoints must keep showing them to every company.` : ''}${fillable + shared < rows ? ` ${rows - fillable - shared} rows cannot be filled that way (see the orphans finding).` : ''}`,
    sql:
      r.derivation.kind === 'none'
        ? null
        : `ALTER TABLE ${quoteIdent(table)} ADD COLUMN IF NOT EXISTS company_id UUID REFERENCES companies(id);\nUPDATE ${quoteIdent(table)} t SET company_id = p.company_id FROM ${quoteIdent(parentTable)} p WHERE t.${quoteIdent(r.derivation.field)} = p.id AND t.company_id IS NULL;`,
  });
}

/** A resource with company_id, some of whose rows have it NULL. */
function nullFinding({ add, idsOf, part, params }: Pass, r: Resource, { rows, missing }: ModelStatus): void {
  const field = companyFieldOf(r);
  add({
    id: findingId('missing-company-id', r.name),
    check: 'missing-company-id',
    severity: r.priority ?? 'HIGH',
    resource: r.name,
    count: missing,
    title: `${missing} of ${counted(rows, `${r.name} row`)} ${missing === 1 ? 'has' : 'have'} company_id NULL`,
    evidence: {
      ids: idsOf(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.own_company IS NULL ${part} ORDER BY r.id`, {
        ...params,
        resource: r.name,
      }),
      path: `${r.name}.${field} IS NULL`,
    },
    remediation: `Fill company_id on these rows (the backfill did not reach them), then make the column NOT NULL.`,
    sql: null,
  });
}

/** Rows no company can be found for. */
function orphansFinding({ add, idsOf }: Pass, r: Resource, { orphans, shared = 0 }: ModelStatus): void {
  add({
    id: findingId('orphans', r.name),
    check: 'orphans',
    severity: 'MEDIUM',
    resource: r.name,
    count: orphans,
    title: `${counted(orphans, `${r.name} row`)} ${orphans === 1 ? 'belongs' : 'belong'} to no company: their ${r.derivation.kind === 'none' ? 'company' : r.derivation.kind} is unknown`,
    evidence: {
      ids: idsOf(
        `SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id = '${UNASSIGNED}' ${shared ? 'AND json_extract(r.payload, @path) IS NOT NULL' : ''} ORDER BY r.id`,
        { resource: r.name, ...(shared ? { path: `$.${(r.derivation as { field: string }).field}` } : {}) },
      ),
      path: `${r.name}.${r.derivation.kind === 'none' ? 'company_id' : r.derivation.field} → nothing`,
    },
    remediation: 'A person decides which company each of these rows belongs to (or deletes them); no migration can.',
    sql: null,
  });
}
