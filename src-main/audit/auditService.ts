import { SEVERITY_ORDER } from '../../src-shared/reports/audit.ts';
import type { Catalog, Resource } from '../../src-shared/catalog.ts';
import { verdictsWhere, type Priority } from '../../src-shared/tenancy.ts';
import { AppError } from '../../src-shared/result.ts';
import { dataAsOf } from '../cache/cacheDb.ts';
import { phase2Of } from '../cache/queries/meta.ts';

export type Severity = Priority;

export type { AuditResult, Finding, ModelStatus } from '../../src-shared/contract/audit.ts';
import type { AuditResult, Finding } from '../../src-shared/contract/audit.ts';
import { ALL } from '../../src-shared/partitions.ts';

import { sqlList, type Db, type Pass } from './pass.ts';
import { modelsPass } from './modelsPass.ts';
import { leaksPass, referencesPass, sharedPass, usersPass } from './tenancyPasses.ts';

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

function measure(db: Db, catalog: Catalog, opts: { company?: string | null; timings?: Map<string, number> }): AuditResult {
  const company = opts.company ?? null;
  const timings = opts.timings;
  timings?.set('start', performance.now());
  const findings: Finding[] = [];
  const accepted = new Map(
    (
      db.prepare('SELECT finding_id, reason, accepted_by, accepted_at FROM audit_acceptances').all() as Array<{
        finding_id: string;
        reason: string;
        accepted_by: string;
        accepted_at: string;
      }>
    ).map((a) => [a.finding_id, { reason: a.reason, by: a.accepted_by, at: a.accepted_at }]),
  );
  const pass: Pass = {
    db,
    catalog,
    company,
    timings,
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
  const runId = Number(
    db
      .prepare('INSERT INTO audit_runs (generated_at, as_of, scope, findings) VALUES (?, ?, ?, ?)')
      .run(generatedAt, asOf, scope, JSON.stringify(open.map((f) => ({ id: f.id, severity: f.severity, title: f.title })))).lastInsertRowid,
  );
  const modelsMigrated = models.filter((m) => m.hasCompanyId).length;
  return {
    runId,
    generatedAt,
    asOf,
    scope,
    models,
    findings,
    counts,
    diff,
    phase2: phase2Of(db),
    progress: { modelsMigrated, modelsTotal: models.length, rowsMissing: models.reduce((a, m) => a + m.missing, 0), ...progress },
  };
}

/**
 * Endpoints proven isolated: each resource as the latest complete run that probed it found it, so
 * a narrower run later (two resources, read-only) does not hide what an earlier full run proved.
 */
function isolationProgress(db: Db): { endpointsProven: number; endpointsProbed: number; isolationRunId: number | null } {
  const byResource = db
    .prepare(
      `
    WITH latest AS (
      SELECT r.resource, max(r.run_id) AS run_id FROM isolation_results r JOIN isolation_runs u ON u.id = r.run_id
      WHERE u.outcome IN ('ok', 'leaks') AND r.verdict NOT IN (${sqlList(verdictsWhere((v) => v.proof === 'neither'))}) GROUP BY r.resource)
    SELECT l.resource, l.run_id AS runId, sum(r.verdict IN (${sqlList(verdictsWhere((v) => v.proof === 'against'))})) AS bad, sum(r.verdict IN (${sqlList(verdictsWhere((v) => v.proof === 'proves'))})) AS good
    FROM latest l JOIN isolation_results r ON r.run_id = l.run_id AND r.resource = l.resource GROUP BY l.resource`,
    )
    .all() as Array<{ resource: string; runId: number; bad: number; good: number }>;
  const endpointsProbed = byResource.filter((x) => x.good + x.bad > 0).length;
  const endpointsProven = byResource.filter((x) => x.bad === 0 && x.good > 0).length;
  const lastIso = byResource.length ? Math.max(...byResource.map((x) => x.runId)) : undefined;
  return { endpointsProven, endpointsProbed, isolationRunId: lastIso ?? null };
}

/** The findings compared with the previous run of the same scope: new, fixed, accepted, still open. */
function diffWithPrevious(db: Db, scope: string, findings: Finding[], open: Finding[]): AuditResult['diff'] {
  const prev = db.prepare('SELECT id, findings FROM audit_runs WHERE scope = ? ORDER BY id DESC LIMIT 1').get(scope) as
    { id: number; findings: string } | undefined;
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
  db.prepare('INSERT OR REPLACE INTO audit_acceptances (finding_id, reason, accepted_by, accepted_at) VALUES (?, ?, ?, ?)').run(
    id,
    reason.trim(),
    by,
    new Date().toISOString(),
  );
}

export type { Resource };
