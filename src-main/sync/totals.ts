import type { Resource } from '../../src-shared/catalog.ts';
import { ALL } from '../../src-shared/partitions.ts';
import { pick } from '../../src-shared/profile.ts';
import type { Statement } from './listingWriter.ts';
import type { SyncProgress } from './progress.ts';
import type { SyncDeps, SyncIdentity, SyncTenant } from './kit.ts';

/** What a run shares with expectTotals: the tenant's listings, where their state is kept, who asks. */
export interface TotalsParts {
  svc: SyncDeps;
  identity: SyncIdentity;
  progress: SyncProgress;
  /** the resources in the order they are synced */
  order: Resource[];
  /** sync_state by partition and resource */
  state: Statement;
  /** the tenant's key in sync_state */
  stateKey: string;
  incremental: boolean;
  superAdmin: boolean;
  signal?: AbortSignal;
}

/** Rows each listing is expected to bring, for the progress bars: the server's count when it gives one, else the cache's. */
export async function expectTotals(p: TotalsParts, tenant: SyncTenant): Promise<void> {
  const { profile } = p.svc;
  const countPath = profile.sync.manifestPath;
  const countParam = profile.sync.countOnlyParam;
  const localCount = p.svc.cache.raw
    .prepare(`SELECT count(*) FROM records WHERE resource = ? AND deleted = 0 ${tenant.id === ALL ? '' : 'AND company_id = ?'}`)
    .pluck();
  for (const resource of p.order) {
    if (!resource.endpoints.list) continue;
    const key = `${tenant.id}/${resource.name}`;
    const label = `${tenant.name} · ${resource.name}`;
    const prev = p.state.get(p.stateKey, resource.name) as { cursor: string | null; high_water: string | null } | undefined;
    // an incremental listing brings what changed: unknown until it ends
    if (p.incremental && prev?.high_water && !/\{/.test(resource.endpoints.list)) {
      p.progress.expect(key, label, null);
      continue;
    }
    let total: number | null = null;
    if (countPath && countParam) {
      const params: Record<string, string> = { resource: resource.name, [countParam]: 'true' };
      if (p.superAdmin && profile.sync.tenantParam && tenant.id !== ALL) params[profile.sync.tenantParam] = tenant.id;
      const res = await p.svc.client.send('GET', countPath, p.identity.token(), undefined, params, p.signal).catch(() => null);
      const n = res?.status === 200 ? Number(pick(res.data, 'count')) : NaN;
      if (Number.isFinite(n)) total = n;
    }
    // a bulk load began on an empty cache: it holds nothing to count (and no index to count by)
    if (total === null && !p.svc.loading) {
      const n = (tenant.id === ALL ? localCount.get(resource.name) : localCount.get(resource.name, tenant.id)) as number;
      total = n > 0 ? n : null;
    }
    p.progress.expect(key, label, total);
  }
}
