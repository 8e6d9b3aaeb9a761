import type { Resource } from '../../src-shared/catalog.ts';
import type { ResourceOutcome, SyncReport } from '../../src-shared/contract/sync.ts';
import { isLater } from '../../src-shared/instant.ts';
import { ALL } from '../../src-shared/partitions.ts';
import { pick } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import { stateKeyOf } from '../cache/cacheDb.ts';
import { CrmClient } from '../crm/crmClient.ts';
import { pagesOf } from '../crm/paging.ts';
import type { SyncProgress } from './progress.ts';
import type { SyncDeps, SyncIdentity, SyncTenant } from './kit.ts';

// The listings a sync reads besides the flat ones (run.ts): collections nested under a parent, and the deletions feed.

const now = () => new Date().toISOString();

/**
 * A collection nested under its parent (/tickets/{ticketId}/comments): relisted in full under
 * every parent row the tenant's partition holds, each page in its own transaction; rows no
 * longer listed are marked deleted once every parent is done.
 */
export async function syncNested(
  svc: SyncDeps,
  identity: SyncIdentity,
  tenant: SyncTenant,
  resource: Resource,
  runId: number,
  report: SyncReport,
  outcome: ResourceOutcome,
  get: (url: string, params: Record<string, string | number>) => Promise<{ data: unknown; url: string; headers?: Record<string, unknown> }>,
  pageSize: number,
  progress: SyncProgress,
  key: string,
): Promise<void> {
  const d = resource.derivation;
  if (d.kind !== 'parent') {
    Object.assign(outcome, { status: 'skipped', message: 'nested, but the catalog names no parent to list it under' });
    return;
  }
  const raw = svc.cache.raw;
  // every tenant at once: the parents of every partition (they were listed a moment ago, parents first)
  const all = tenant.id === ALL;
  const parents = (
    all
      ? raw.prepare('SELECT DISTINCT id FROM records WHERE resource = ? AND deleted = 0').pluck().all(d.resource)
      : raw.prepare('SELECT id FROM records WHERE company_id = ? AND resource = ? AND deleted = 0').pluck().all(tenant.id, d.resource)
  ) as string[];
  const paging = svc.profile.paging;
  for (const parentId of parents) {
    const url = CrmClient.fillPath(resource.endpoints.list!, { [d.field]: parentId });
    for await (const { items, url: request } of pagesOf(paging, svc.profile.baseUrl, url, get, { size: pageSize })) {
      raw.transaction(() => {
        // a nested answer may leave out the parent id: it is known from the path
        const rows = items.map((i) =>
          i && typeof i === 'object' && !Array.isArray(i) && (i as Record<string, unknown>)[d.field] === undefined
            ? { ...(i as object), [d.field]: parentId }
            : i,
        );
        report.leaks += svc.ingest(identity, resource, rows, request, runId).leaks;
      })();
      outcome.rows += items.length;
      outcome.pages += 1;
      report.rows += items.length;
      report.pages += 1;
      progress.add(key, items.length, 1);
    }
  }
  report.deletions += svc.markVanished(identity, tenant.id, resource.name, runId).changes;
  if (!parents.length) Object.assign(outcome, { message: `nothing to list it under: no ${d.resource} in the cache` });
  else if (outcome.rows === 0)
    Object.assign(outcome, {
      status: 'warning',
      message: `listed under ${parents.length} ${d.resource} and stored no row: if the CRM has ${resource.name}, its list path (${resource.endpoints.list}) or the paging is wrong`,
    });
  raw
    .prepare(
      `INSERT INTO sync_state (company_id, resource, rows, pages, last_finished_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (company_id, resource) DO UPDATE SET rows = excluded.rows, pages = excluded.pages, last_finished_at = excluded.last_finished_at, last_error = NULL`,
    )
    .run(stateKeyOf(identity, tenant.id), resource.name, outcome.rows, outcome.pages, now());
}

export async function applyDeletions(
  svc: SyncDeps,
  tenant: SyncTenant,
  superAdmin: boolean,
  get: (url: string, params: Record<string, string | number>) => Promise<{ data: unknown; url: string }>,
): Promise<number> {
  const feed = svc.profile.incremental?.deletions;
  if (!feed) return 0;
  const raw = svc.cache.raw;
  const prev = raw.prepare('SELECT since FROM deletions_state WHERE company_id = ?').get(tenant.id) as { since: string | null } | undefined;
  let since = prev?.since ?? null;
  let cursor: string | null = null;
  let count = 0;
  const mark = raw.prepare('UPDATE records SET deleted = 1 WHERE resource = ? AND id = ?');
  for (let guard = 0; guard < 100_000; guard++) {
    const params: Record<string, string | number> = { limit: svc.profile.paging.maxLimit };
    if (since) params[feed.sinceParam] = since;
    if (superAdmin && svc.profile.sync.tenantParam && tenant.id !== ALL) params[svc.profile.sync.tenantParam] = tenant.id;
    if (cursor) params.cursor = cursor;
    const res = await get(feed.path, params);
    const items = pick(res.data, feed.itemsField);
    if (!Array.isArray(items)) throw new AppError('bad-response', `${res.url}: no list at "${feed.itemsField}".`);
    raw.transaction(() => {
      for (const t of items as Array<Record<string, unknown>>) {
        count += mark.run(String(t[feed.resourceField]), String(t[feed.idField])).changes;
        const at = t[feed.atField];
        if (typeof at === 'string' && (!since || isLater(at, since))) since = at;
      }
      raw
        .prepare('INSERT INTO deletions_state (company_id, since) VALUES (?, ?) ON CONFLICT (company_id) DO UPDATE SET since = excluded.since')
        .run(tenant.id, since);
    })();
    const next = feed.nextCursorField ? pick(res.data, feed.nextCursorField) : null;
    if (typeof next !== 'string' || !next || next === cursor) break;
    cursor = next;
  }
  return count;
}
