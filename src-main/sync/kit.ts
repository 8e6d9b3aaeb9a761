import type { Resource } from '../../src-shared/catalog.ts';
import type { ResourceOutcome, SyncReport } from '../../src-shared/contract/sync.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import type { BulkLoadEnd } from '../cache/queries/bulkLoad.ts';
import type { EventBus } from '../core/eventBus.ts';
import type { CrmClient } from '../crm/crmClient.ts';
import type { Answer, CrmIdentity } from '../crm/transport.ts';

/** Whoever syncs: an identity signed in through the adapter (the operator's session, or the CLI's). */
export type SyncIdentity = Pick<CrmIdentity, 'email' | 'role' | 'companyId' | 'token' | 'refresh'>;

export interface SyncTenant {
  id: string;
  name: string;
}

/**
 * A write to the cache that failed because of the disk (full, read-only, I/O error), as an error
 * that says so and what to do; null for anything else.
 */
export function storageError(e: unknown, where: string): AppError | null {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  const why =
    code === 'SQLITE_FULL'
      ? 'the disk is full'
      : code.startsWith('SQLITE_READONLY')
        ? 'the cache is read-only'
        : code.startsWith('SQLITE_IOERR')
          ? 'the disk reported an I/O error'
          : code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
            ? 'another program holds the cache'
            : null;
  if (!why) return null;
  return new AppError(
    'storage',
    `The cache could not be written ${where}: ${why} (${code}). It keeps its last good state; free space or fix the folder's permissions, then sync again to resume.`,
  );
}

/** Parents before children: users first, then each resource after the one its company comes through. */
export function syncOrder(resources: Resource[], users: string): Resource[] {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const out: Resource[] = [];
  const seen = new Set<string>();
  const visit = (r: Resource, depth = 0) => {
    if (seen.has(r.name) || depth > 20) return;
    if (r.derivation.kind === 'parent') {
      const p = byName.get(r.derivation.resource);
      if (p) visit(p, depth + 1);
    }
    if (r.derivation.kind === 'owner' && byName.get(users)) visit(byName.get(users)!, depth + 1);
    seen.add(r.name);
    out.push(r);
  };
  const u = byName.get(users);
  if (u) visit(u);
  for (const r of resources) visit(r);
  return out;
}

/**
 * The resources whose rows a resource's rows take their company from (its owners: the catalog's
 * users; its parent, which a nested listing is also listed under): written before it.
 */
export function dependsOn(resource: Resource, users: string): string[] {
  const d = resource.derivation;
  return d.kind === 'owner' ? [users] : d.kind === 'parent' ? [d.resource] : [];
}

/** One GET of the CRM as an identity, retried (each retry said through onRetry), with its answer checked. */
export type FetchJson = (
  identity: SyncIdentity,
  url: string,
  params: Record<string, string | number>,
  signal: AbortSignal | undefined,
  onRetry: (line: string) => void,
) => Promise<Answer>;

/** What both a sync run and the proof ask of the sync service: the cache, the profile, the CRM. */
interface CacheAndCrm {
  readonly cache: OpenCache;
  readonly profile: ConnectionProfile;
  fetchJson: FetchJson;
}

/** What a sync run asks of the sync service (run.ts): the cache, the CRM, ingest and the deletions it marks. */
export interface SyncDeps extends CacheAndCrm {
  readonly bus: EventBus;
  readonly client: CrmClient;
  ingest(
    identity: SyncIdentity,
    resource: Resource,
    items: unknown[],
    request: string,
    runId: number,
    askedFor?: string | null,
  ): { latest: string | null; leaks: number };
  markVanished(identity: SyncIdentity, company: string, resource: string, since: number): { changes: number };
  ownersPlaceable(): boolean;
  /** a first sync into an empty cache: rows appended without indexes, built once by endLoad (cache/queries/bulkLoad.ts) */
  beginLoad(runId: number): boolean;
  /** refs holds other references than the catalog's: read it again before rows are listed (bulkLoad.ts refreshReferences) */
  referencesStale(): boolean;
  refreshReferences(): void;
  endLoad(): BulkLoadEnd | null;
  readonly loading: boolean;
  finish(runId: number, report: SyncReport, outcome: string, message: string | null): void;
}

/** What the proof asks of the sync service (proof.ts): the cache, the CRM, and how a row's company is derived. */
export interface ProofDeps extends CacheAndCrm {
  deriver(): (resource: Resource, row: Record<string, unknown>) => { company: string | null; outside: boolean };
}

/** A resource's outcome before it is listed: synced, with nothing yet. */
export const outcomeOf = (tenant: SyncTenant, resource: Resource): ResourceOutcome => ({
  tenant: tenant.id,
  resource: resource.name,
  status: 'synced',
  rows: 0,
  pages: 0,
  message: null,
});
