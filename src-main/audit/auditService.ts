import { SEVERITY_ORDER } from '../../src-shared/reports/audit.ts';
import { counted } from '../../src-shared/format.ts';
import { createHash } from 'node:crypto';
import type { Catalog, Resource } from '../../src-shared/catalog.ts';
import { verdictsWhere, type Priority } from '../../src-shared/tenancy.ts';
import { AppError } from '../../src-shared/result.ts';
import { dataAsOf, type OpenCache } from '../cache/cacheDb.ts';

/** verdict words (from the VERDICTS table, never from a CRM) as a SQL list */
const sqlList = (words: string[]) => words.map((w) => `'${w.replace(/'/g, "''")}'`).join(', ');

type Db = OpenCache['raw'];
export type Severity = Priority;

export type { AuditResult, Finding, ModelStatus } from '../../src-shared/contract/audit.ts';
import type { AuditResult, Finding, ModelStatus } from '../../src-shared/contract/audit.ts';
import { ALL, OUTSIDE, UNASSIGNED } from '../../src-shared/partitions.ts';

export const findingId = (...parts: string[]) => createHash('sha1').update(parts.join('\u0000')).digest('hex').slice(0, 12);
const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The ids of the super admins among the cached users. */
function superAdminIds(db: Db, catalog: Catalog): string[] {
  return db.prepare(`SELECT id FROM records WHERE resource = ? AND deleted = 0 AND json_extract(payload, '$.role') = 'super_admin'`).pluck().all(catalog.users) as string[];
}


/**
 * The tenancy audit, measured from the cache with no network: per resource whether its rows carry
 * company_id, how many do not and how many of those the migration could fill; references that
 * cross tenants; rows the CRM handed to another company's identity; users without a company.
 * `company` limits it to one partition (a company admin's audit).
 */
export function runAudit(db: Db, catalog: Catalog, opts: { company?: string | null; timings?: Map<string, number> } = {}): AuditResult {
  // the audit reads pages all over the indexes: memory-mapped reads skip a copy a page; the
  // mapping is dropped again after it, so a sync (which writes) is not charged for it
  const mapped = db.pragma('mmap_size', { simple: true }) as number;
  db.pragma('mmap_size = 4294967296');
  try {
    return measure(db, catalog, opts);
  } finally {
    db.pragma(`mmap_size = ${mapped}`);
  }
}

/** What every pass of the audit shares: the cache, the catalog, the scope, and where findings go. */
interface Pass {
  db: Db;
  catalog: Catalog;
  /** one partition (a company admin's audit), or null for every one */
  company: string | null;
  /** the SQL that limits a query on records r to the partition, and its parameters */
  part: string;
  params: Record<string, unknown>;
  byName: Map<string, Resource>;
  add(f: Omit<Finding, 'accepted'>): void;
  /** up to 20 ids a query gives, as a finding's evidence */
  idsOf(sql: string, p: Record<string, unknown>): string[];
  timings?: Map<string, number>;
}

type Stats = { rows: number; carrying: number; missing: number; fillable: number; placed: number };

function measure(db: Db, catalog: Catalog, opts: { company?: string | null; timings?: Map<string, number> }): AuditResult {
  const company = opts.company ?? null;
  const timings = opts.timings;
  timings?.set('start', performance.now());
  const findings: Finding[] = [];
  const accepted = new Map((db.prepare('SELECT finding_id, reason, accepted_by, accepted_at FROM audit_acceptances').all() as Array<{ finding_id: string; reason: string; accepted_by: string; accepted_at: string }>).map((a) => [a.finding_id, { reason: a.reason, by: a.accepted_by, at: a.accepted_at }]));
  const pass: Pass = {
    db, catalog, company, timings,
    part: company ? 'AND r.company_id = @company' : '',
    params: company ? { company } : {},
    byName: new Map(catalog.resources.map((r) => [r.name, r])),
    add: (f) => findings.push({ ...f, accepted: accepted.get(f.id) ?? null }),
    idsOf: (sql, p) => db.prepare(`${sql} LIMIT 20`).pluck().all(p) as string[],
  };
  const models = modelsPass(pass);
  timings?.set('models', performance.now());
  referencesPass(pass);
  timings?.set('references', performance.now());
  leaksPass(pass);
  sharedPass(pass);
  usersPass(pass);
  const progress = isolationProgress(db);
  const asOf = dataAsOf(db, company || null);
  findings.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || b.count - a.count || a.title.localeCompare(b.title));
  const open = findings.filter((f) => !f.accepted);
  const counts = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, open.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  timings?.set('rest', performance.now());
  const scope = company ?? ALL;
  const generatedAt = new Date().toISOString();
  const diff = diffWithPrevious(db, scope, findings, open);
  const runId = Number(db.prepare('INSERT INTO audit_runs (generated_at, as_of, scope, findings) VALUES (?, ?, ?, ?)').run(generatedAt, asOf, scope, JSON.stringify(open.map((f) => ({ id: f.id, severity: f.severity, title: f.title })))).lastInsertRowid);
  const modelsMigrated = models.filter((m) => m.hasCompanyId).length;
  return {
    runId, generatedAt, asOf, scope, models, findings, counts, diff,
    progress: { modelsMigrated, modelsTotal: models.length, rowsMissing: models.reduce((a, m) => a + m.missing, 0), ...progress },
  };
}

/** One pass over the audit index for every resource's counts (no payload is parsed), grouped in the index's own order (company, resource): no temporary B-tree. */
function modelStats({ db, part, params }: Pass): Map<string, Stats> {
  const stats = new Map<string, { rows: number; carrying: number; missing: number; fillable: number; placed: number }>();
  for (const x of db.prepare(`SELECT r.resource AS resource, count(*) AS rows, sum(r.has_company_field) AS carrying,
      sum(r.own_company IS NULL) AS missing, sum(r.own_company IS NULL AND r.company_id <> '${UNASSIGNED}') AS fillable, sum(r.company_id <> '${UNASSIGNED}') AS placed
      FROM records r WHERE r.deleted = 0 ${part} GROUP BY r.company_id, r.resource`).iterate(params) as Iterable<{ resource: string; rows: number; carrying: number; missing: number; fillable: number; placed: number }>) {
    const s = stats.get(x.resource) ?? { rows: 0, carrying: 0, missing: 0, fillable: 0, placed: 0 };
    for (const k of ['rows', 'carrying', 'missing', 'fillable', 'placed'] as const) s[k] += x[k];
    stats.set(x.resource, s);
  }
  return stats;
}

/** Per resource: company_id present? rows missing it, fillable or orphaned; the findings of each. */
function modelsPass(p: Pass): ModelStatus[] {
  const { db, catalog, company, part, params, byName, add, idsOf } = p;
  const models: ModelStatus[] = [];
  const superAdmins = new Set(superAdminIds(db, catalog));
  const stats = modelStats(p);
  p.timings?.set('stats', performance.now());
  for (const r of catalog.resources) {
    const field = r.companyField ?? (r.derivation.kind === 'own' ? r.derivation.field : null);
    const isUsers = r.name === catalog.users;
    const st = stats.get(r.name) ?? { rows: 0, carrying: 0, missing: 0, fillable: 0, placed: 0 };
    const rows = st.rows;
    const hasCompanyId = rows > 0 ? st.carrying > 0 : !!field;
    // users: a super admin belongs to no company by design; a user without one is its own finding
    const supersHere = isUsers && !company ? superAdmins.size : 0;
    const missing = hasCompanyId ? st.missing - supersHere : rows;
    const fillable = hasCompanyId ? st.fillable : st.placed;
    // rows with an empty owner (or parent) that the catalog says are shared by every company: not orphans
    const shared = r.ownerless === 'shared' && (r.derivation.kind === 'owner' || r.derivation.kind === 'parent')
      ? Number(db.prepare(`SELECT count(*) FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id = '${UNASSIGNED}' AND json_extract(r.payload, @path) IS NULL`).pluck().get({ resource: r.name, path: `$.${r.derivation.field}` }))
      : 0;
    const orphans = missing - fillable - shared;
    models.push({ resource: r.name, table: r.table, priority: r.priority, hasCompanyId, rows, missing, fillable, orphans, ...(shared ? { shared } : {}) });
    if (r.class === 'global') continue;
    if (isUsers && hasCompanyId) continue; // users without a company: the user-without-company finding below
    if (!hasCompanyId) {
      const how = r.derivation.kind === 'owner' ? `from its owner (${r.derivation.field} → users.company_id)` : r.derivation.kind === 'parent' ? `from its parent (${r.derivation.field} → ${r.derivation.resource}.company_id)` : 'by a person: the catalog knows no owner or parent';
      const table = r.table ?? r.name;
      const parentTable = r.derivation.kind === 'parent' ? (byName.get(r.derivation.resource)?.table ?? r.derivation.resource) : 'users';
      add({
        id: findingId('missing-company-id', r.name), check: 'missing-company-id', severity: r.priority ?? 'HIGH', resource: r.name, count: rows,
        title: `${r.name} has no company_id: ${rows} cached rows reach a company only ${r.derivation.kind === 'none' ? 'not at all' : `through their ${r.derivation.kind}`}`,
        evidence: { ids: idsOf(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 ${part} ORDER BY r.id`, { ...params, resource: r.name }), path: `${r.name}.${r.derivation.kind === 'none' ? '(no company)' : r.derivation.field}` },
        remediation: `Add company_id to ${table} and fill it ${how}; then scope every ${r.name} endpoint by company_id.${shared ? ` ${shared} rows with no ${r.derivation.kind === 'none' ? 'owner' : (r.derivation as { field: string }).field} are shared by every company (the catalog says so): they keep company_id NULL, and the endpoints must keep showing them to every company.` : ''}${fillable + shared < rows ? ` ${rows - fillable - shared} rows cannot be filled that way (see the orphans finding).` : ''}`,
        sql: r.derivation.kind === 'none' ? null : `ALTER TABLE ${quoteIdent(table)} ADD COLUMN IF NOT EXISTS company_id UUID REFERENCES companies(id);\nUPDATE ${quoteIdent(table)} t SET company_id = p.company_id FROM ${quoteIdent(parentTable)} p WHERE t.${quoteIdent(r.derivation.field)} = p.id AND t.company_id IS NULL;`,
      });
    } else if (missing > 0) {
      add({
        id: findingId('missing-company-id', r.name), check: 'missing-company-id', severity: r.priority ?? 'HIGH', resource: r.name, count: missing,
        title: `${missing} of ${counted(rows, `${r.name} row`)} ${missing === 1 ? 'has' : 'have'} company_id NULL`,
        evidence: { ids: idsOf(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.own_company IS NULL ${part} ORDER BY r.id`, { ...params, resource: r.name }), path: `${r.name}.${field} IS NULL` },
        remediation: `Fill company_id on these rows (the backfill did not reach them), then make the column NOT NULL.`,
        sql: null,
      });
    }
    if (orphans > 0) {
      add({
        id: findingId('orphans', r.name), check: 'orphans', severity: 'MEDIUM', resource: r.name, count: orphans,
        title: `${counted(orphans, `${r.name} row`)} ${orphans === 1 ? 'belongs' : 'belong'} to no company: their ${r.derivation.kind === 'none' ? 'company' : r.derivation.kind} is unknown`,
        evidence: { ids: idsOf(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id = '${UNASSIGNED}' ${shared ? 'AND json_extract(r.payload, @path) IS NOT NULL' : ''} ORDER BY r.id`, { resource: r.name, ...(shared ? { path: `$.${(r.derivation as { field: string }).field}` } : {}) }), path: `${r.name}.${r.derivation.kind === 'none' ? 'company_id' : r.derivation.field} → nothing` },
        remediation: 'A person decides which company each of these rows belongs to (or deletes them); no migration can.',
        sql: null,
      });
    }
  }

  return models;
}

/** References that cross tenants: one pass over every reference, the target's company from the covering index, the referring row only on a mismatch. */
function referencesPass({ db, catalog, company, params, byName, add }: Pass): void {
  const derivedThrough = catalog.resources.filter((r) => r.derivation.kind === 'owner' || r.derivation.kind === 'parent').map((r) => `${r.name}\u0000${(r.derivation as { field: string }).field}`);
  const crossing = db.prepare(`SELECT r.resource AS resource, f.field AS field, r.id AS id
      FROM refs f CROSS JOIN records t ON t.resource = f.target_resource AND t.id = f.target_id
      CROSS JOIN records r ON r.rid = f.rid
      WHERE (f.resource IS NULL OR f.resource || char(0) || f.field NOT IN (SELECT value FROM json_each(@derived)))
        AND t.deleted = 0 AND t.company_id <> f.company_id
        AND f.company_id NOT IN ('${UNASSIGNED}', '${OUTSIDE}') AND t.company_id NOT IN ('${UNASSIGNED}', '${OUTSIDE}') AND r.deleted = 0
        ${company ? 'AND f.company_id = @company' : ''}
      ORDER BY r.resource, f.field, r.id`).all({ ...params, derived: JSON.stringify(derivedThrough) }) as Array<{ resource: string; field: string; id: string }>;
  const groups = new Map<string, string[]>();
  for (const c of crossing) {
    const r = byName.get(c.resource);
    // a row whose company comes through this very reference cannot disagree with it
    if (!r || ((r.derivation.kind === 'owner' || r.derivation.kind === 'parent') && r.derivation.field === c.field)) continue;
    const key = `${c.resource}\u0000${c.field}`;
    groups.set(key, [...(groups.get(key) ?? []), c.id]);
  }
  for (const [key, rowIds] of groups) {
    const [resource, field] = key.split('\u0000') as [string, string];
    const target = byName.get(resource)!.references.find((x) => x.field === field)?.resource ?? '?';
    add({
      id: findingId('cross-tenant-reference', resource, field), check: 'cross-tenant-reference', severity: 'HIGH', resource, count: rowIds.length,
      title: `${counted(rowIds.length, `${resource} row`)} ${rowIds.length === 1 ? 'points' : 'point'} at another company's ${target} (${field})`,
      evidence: { ids: rowIds.slice(0, 20), path: `${resource}.${field} → ${target}.company_id ≠ ${resource}'s company` },
      remediation: `Each of these ${resource} rows links to another company's ${target}: correct or clear ${field}, and validate on write that ${field} belongs to the caller's company.`,
      sql: null,
    });
  }

}

/** Rows the CRM handed to another company's identity. */
function leaksPass({ db, company, params, add, idsOf }: Pass): void {
  const leakRows = db.prepare(`SELECT resource, count(*) AS n, group_concat(identity, ', ') AS who FROM (SELECT DISTINCT resource, id, identity FROM leaks
      WHERE 1 = 1 ${company ? 'AND (identity_company_id = @company OR company_id = @company)' : ''}) GROUP BY resource ORDER BY resource`).all(params) as Array<{ resource: string; n: number; who: string }>;
  for (const l of leakRows) {
    const who = [...new Set(l.who.split(', '))].join(', ');
    add({
      id: findingId('leak-evidence', l.resource), check: 'leak-evidence', severity: 'HIGH', resource: l.resource, count: l.n,
      title: `The CRM returned ${counted(l.n, `${l.resource} row`)} of another company to ${who}`,
      evidence: { ids: idsOf(`SELECT id FROM leaks WHERE resource = @resource ${company ? 'AND (identity_company_id = @company OR company_id = @company)' : ''} ORDER BY id`, { ...params, resource: l.resource }), path: `leaks: ${l.resource} fetched by ${who}` },
      remediation: `Scope the ${l.resource} endpoints by the caller's company_id (the list, and reads by id).`,
      sql: null,
    });
  }

}

/** Shared data that is really shared: rows of a global resource that belong to one company. */
function sharedPass({ db, catalog, part, params, add, idsOf }: Pass): void {
  for (const r of catalog.resources.filter((x) => x.class === 'global')) {
    const n = db.prepare(`SELECT count(*) FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id <> '${UNASSIGNED}' ${part}`).pluck().get({ ...params, resource: r.name }) as number;
    if (!n) continue;
    add({
      id: findingId('not-shared', r.name), check: 'not-shared', severity: 'LOW', resource: r.name, count: n,
      title: `${counted(n, 'row')} of ${r.name}, marked shared by every company, ${n === 1 ? 'belongs' : 'belong'} to one company`,
      evidence: { ids: idsOf(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id <> '${UNASSIGNED}' ORDER BY r.id`, { resource: r.name }), path: `${r.name}: class global, company set` },
      remediation: `Either ${r.name} is per company (change its class in the catalog, add company_id) or these rows should lose their company.`,
      sql: null,
    });
  }

}

/** Users with no company who are not super admins; the super admins, to review. */
function usersPass({ db, catalog, company, byName, add }: Pass): void {
  const users = byName.get(catalog.users);
  if (users) {
    const companyField = users.companyField ?? 'company_id';
    const noCompany = db.prepare(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND json_extract(r.payload, '$.${companyField}') IS NULL
        AND coalesce(json_extract(r.payload, '$.role'), '') <> 'super_admin' ORDER BY r.id`).pluck().all({ resource: users.name }) as string[];
    if (noCompany.length && !company) add({
      id: findingId('user-without-company'), check: 'user-without-company', severity: 'MEDIUM', resource: users.name, count: noCompany.length,
      title: `${counted(noCompany.length, 'user')} who ${noCompany.length === 1 ? 'is not a super admin has' : 'are not super admins have'} no company`,
      evidence: { ids: noCompany.slice(0, 20), path: `${users.name}.${companyField} IS NULL, role ≠ super_admin` },
      remediation: 'Give each a company, or deactivate them: the CRM refuses them everywhere ("No company associated").',
      sql: null,
    });
    const supers = db.prepare(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND json_extract(r.payload, '$.role') = 'super_admin' ORDER BY r.id`).pluck().all({ resource: users.name }) as string[];
    if (supers.length && !company) add({
      id: findingId('super-admins'), check: 'super-admins', severity: 'LOW', resource: users.name, count: supers.length,
      title: `${supers.length} super admin${supers.length === 1 ? '' : 's'} can see every company`,
      evidence: { ids: supers.slice(0, 20), path: `${users.name}.role = super_admin` },
      remediation: 'Keep super admins few and known; review this list.',
      sql: null,
    });
  }

}

/**
 * Endpoints proven isolated: each resource as the latest complete run that probed it found it, so
 * a narrower run later (two resources, read-only) does not hide what an earlier full run proved.
 */
function isolationProgress(db: Db): { endpointsProven: number; endpointsProbed: number; isolationRunId: number | null } {
  const byResource = db.prepare(`
    WITH latest AS (
      SELECT r.resource, max(r.run_id) AS run_id FROM isolation_results r JOIN isolation_runs u ON u.id = r.run_id
      WHERE u.outcome IN ('ok', 'leaks') AND r.verdict NOT IN (${sqlList(verdictsWhere((v) => v.proof === 'neither'))}) GROUP BY r.resource)
    SELECT l.resource, l.run_id AS runId, sum(r.verdict IN (${sqlList(verdictsWhere((v) => v.proof === 'against'))})) AS bad, sum(r.verdict IN (${sqlList(verdictsWhere((v) => v.proof === 'proves'))})) AS good
    FROM latest l JOIN isolation_results r ON r.run_id = l.run_id AND r.resource = l.resource GROUP BY l.resource`).all() as Array<{ resource: string; runId: number; bad: number; good: number }>;
  const endpointsProbed = byResource.filter((x) => x.good + x.bad > 0).length;
  const endpointsProven = byResource.filter((x) => x.bad === 0 && x.good > 0).length;
  const lastIso = byResource.length ? Math.max(...byResource.map((x) => x.runId)) : undefined;
  return { endpointsProven, endpointsProbed, isolationRunId: lastIso ?? null };
}

/** The findings compared with the previous run of the same scope: new, fixed, accepted, still open. */
function diffWithPrevious(db: Db, scope: string, findings: Finding[], open: Finding[]): AuditResult['diff'] {
  const prev = db.prepare('SELECT id, findings FROM audit_runs WHERE scope = ? ORDER BY id DESC LIMIT 1').get(scope) as { id: number; findings: string } | undefined;
  let diff: AuditResult['diff'] = null;
  if (prev) {
    const before = new Set((JSON.parse(prev.findings) as Array<{ id: string }>).map((f) => f.id));
    const now = new Set(open.map((f) => f.id));
    // accepted is its own state: the finding is still there, someone decided it may stay
    const acceptedNow = new Set(findings.filter((f) => f.accepted).map((f) => f.id));
    diff = {
      previousRunId: prev.id,
      new: [...now].filter((x) => !before.has(x)),
      fixed: [...before].filter((x) => !now.has(x) && !acceptedNow.has(x)),
      accepted: [...before].filter((x) => acceptedNow.has(x)),
      stillOpen: [...now].filter((x) => before.has(x)),
    };
  }
  return diff;
}

/** Accepts a finding with a reason: it stays listed, but no longer fails the audit. */
export function acceptFinding(db: Db, id: string, reason: string, by: string): void {
  if (!/^[0-9a-f]{12}$/.test(id)) throw new AppError('invalid-input', `"${id}" is not a finding id.`);
  if (!reason.trim()) throw new AppError('invalid-input', 'Say why the finding is accepted.');
  db.prepare('INSERT OR REPLACE INTO audit_acceptances (finding_id, reason, accepted_by, accepted_at) VALUES (?, ?, ?, ?)').run(id, reason.trim(), by, new Date().toISOString());
}

export type { Resource };
