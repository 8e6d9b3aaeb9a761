import type { Catalog } from '../../src-shared/catalog.ts';
import { ALL } from '../../src-shared/partitions.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { auditRuns, recentSyncRuns, syncByPartition } from '../cache/queries/history.ts';
import { rowsByPartition } from '../cache/queries/records.ts';

type Raw = OpenCache['raw'];

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
  const perResource = rowsByPartition(raw, opts.seenBy).filter((r) => ids.has(r.company_id));
  const audits = auditRuns(raw);
  const newestFirst = [...audits].reverse();
  // the newest audit that covered the tenant, of it alone or of every tenant (as the record panel reads it)
  const latestFor = (id: string) => newestFirst.find((a) => a.scope === id || a.scope === ALL);
  const sync = syncByPartition(raw);
  const everyone = sync.find((s) => s.company_id === ALL);
  const overview: TenantOverview[] = tenants.map((t) => {
    const mine = perResource.filter((r) => r.company_id === t.id);
    const by = { company: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
    for (const r of mine) by[(priority.get(r.resource) ?? 'company') as keyof typeof by] += r.rows;
    const audit = latestFor(t.id);
    const s = sync.find((x) => x.company_id === t.id);
    const lastSync = [s?.last, everyone?.last].filter(Boolean).sort().at(-1) ?? null;
    return {
      id: t.id,
      name: t.name,
      users: mine.find((r) => r.resource === catalog.users)?.rows ?? 0,
      rows: mine.reduce((a, r) => a + r.rows, 0),
      byPriority: by,
      missingCompanyId: mine.filter((r) => priority.get(r.resource) !== 'company').reduce((a, r) => a + r.missing, 0),
      openFindings: audit ? (JSON.parse(audit.findings) as unknown[]).length : null,
      findingsOfAll: audit?.scope === ALL,
      lastSync,
      proof: { proven: s?.proven ?? 0, drifted: s?.drifted ?? 0, asOf: s?.proof_at ?? null },
    };
  });
  const scopes = new Set([ALL, ...ids]);
  const findingsHistory = audits
    .filter((a) => (opts.identity === null ? a.scope === ALL : scopes.has(a.scope) && a.scope !== ALL))
    .map((a) => {
      const list = JSON.parse(a.findings) as { severity: string }[];
      return {
        at: a.generated_at,
        scope: a.scope,
        HIGH: list.filter((f) => f.severity === 'HIGH').length,
        MEDIUM: list.filter((f) => f.severity === 'MEDIUM').length,
        LOW: list.filter((f) => f.severity === 'LOW').length,
      };
    });
  const syncHistory = recentSyncRuns(raw, opts.identity).map((r) => ({
    startedAt: r.started_at,
    seconds: r.finished_at ? (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000 : null,
    identity: r.identity,
    outcome: r.outcome,
    rows: r.rows,
    retries: r.retries,
  }));
  return {
    tenants: overview,
    resources: perResource.map((r) => ({
      tenant: r.company_id,
      resource: r.resource,
      rows: r.rows,
      missing: r.missing,
      priority: priority.get(r.resource) ?? 'company',
    })),
    findingsHistory,
    syncHistory,
  };
}
