import type { Resource } from '../../src-shared/catalog.ts';
import { ingestStatements, placeRow, refTargets, writeRefs, type Existing } from '../cache/queries/ingest.ts';
import {
  beginBulkLoad,
  bulkLoadOf,
  endAbandonedLoad,
  finishBulkLoad,
  LOAD_CACHE_KIB,
  referencesStale as refsStale,
  refreshReferences as refillRefs,
  type BulkLoadEnd,
} from '../cache/queries/bulkLoad.ts';
import { finishSyncRun, lastSyncRun, type LastSyncRun } from '../cache/queries/history.ts';
import { evictPartition, partitionSummaries, type PartitionSummary } from '../cache/queries/partitions.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import type { EventBus } from '../core/eventBus.ts';
import { CrmClient } from '../crm/crmClient.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import type { RetryPolicy } from '../crm/retry.ts';
import { exchange, type Answer } from '../crm/transport.ts';
import { setPragmas } from '../core/sqlite.ts';
import { SyncRun, type SyncRunOptions } from './run.ts';
import { Prover } from './proof.ts';
import type { ProofDeps, SyncDeps, SyncIdentity, SyncTenant } from './kit.ts';

export { storageError, syncOrder, type SyncIdentity, type SyncTenant } from './kit.ts';
import { Latest } from '../../src-shared/instant.ts';
import type { Proof, SyncReport } from '../../src-shared/contract/sync.ts';
import { ALL, OUTSIDE, UNASSIGNED } from '../../src-shared/partitions.ts';

export type { Proof, ResourceOutcome, SyncReport } from '../../src-shared/contract/sync.ts';

const now = () => new Date().toISOString();

/** A row's id, checked: an object, with an id, once in its page. */
function idOf(item: Record<string, unknown>, resource: Resource, request: string, pageIds: Set<string>): string {
  if (!item || typeof item !== 'object' || Array.isArray(item)) throw new AppError('bad-response', `${request}: a record is not an object.`);
  const idValue = item[resource.idField];
  if (idValue === null || idValue === undefined || idValue === '') throw new AppError('bad-response', `${request}: a record has no "${resource.idField}".`);
  const id = String(idValue);
  if (pageIds.has(id)) throw new AppError('bad-response', `${request}: the id ${id} appears twice in one page.`);
  pageIds.add(id);
  return id;
}

/**
 * The page cache while a sync runs, in KiB (the cache's own, 96 MiB, is given back after it for the
 * Data view's repeated scans). A sync reads rows all over the B-trees about once each, so a large
 * cache saves it little, and each page the cache grows by is fresh memory to fault in: the first
 * incremental sync of 10,000 changes after a first sync of 1M rows took 0.94-1.09 s with 96 MiB
 * against 0.62-0.67 s with 16 MiB (harness, four runs; 10,000 random lookups: 39 us against 21 us).
 */
const SYNC_CACHE_KIB = LOAD_CACHE_KIB; // the bulk load's appends run inside it too

/**
 * Copies what the CRM returns into the SQLite cache, a page at a time, each page in one
 * transaction together with the cursor that follows it: a sync killed at any instant resumes
 * without losing or duplicating a row. Every row is checked against the identity's company.
 */
export class SyncService implements SyncDeps, ProofDeps {
  /** @internal the CRM client (run.ts) */
  readonly client: CrmClient;

  private readonly retryPolicy?: RetryPolicy;

  constructor(
    readonly cache: OpenCache,
    readonly profile: ConnectionProfile,
    readonly bus: EventBus,
    /** retry: backoff of transient failures; timeoutMs: an answer slower than this is given up and retried */
    opts: { retry?: RetryPolicy; timeoutMs?: number } = {},
  ) {
    this.retryPolicy = opts.retry;
    this.client = new CrmClient(profile, opts.timeoutMs ?? 30_000);
  }

  private statements?: ReturnType<SyncService['prepare']>;

  private prepare() {
    return {
      ...ingestStatements(this.cache.raw, !!this.load),
      derive: this.deriver(),
    };
  }

  /**
   * A bulk load this service runs (cache/queries/bulkLoad.ts): rows are appended to records
   * without its indexes, so the companies of the rows others derive theirs from (users, parents)
   * are kept here, by resource and id, until the indexes are built.
   */
  private load: { placed: Map<string, string>; targets: Set<string> } | null = null;

  /** Begins a bulk load when the cache holds no row yet; answers whether it began. */
  beginLoad(runId: number): boolean {
    endAbandonedLoad(this.cache.raw); // a load whose process was killed since the cache was opened
    const other = bulkLoadOf(this.cache.raw);
    if (other)
      throw new AppError(
        'conflict',
        `Another sync (run ${other.runId}, process ${other.pid}) is loading this cache for the first time, since ${other.startedAt}: wait for it to end (its rows are written without the cache's indexes until then).`,
      );
    if (!beginBulkLoad(this.cache.raw, runId, this.references())) return false;
    const { users, resources } = this.profile.catalog;
    const targets = new Set([users, ...resources.flatMap((r) => (r.derivation.kind === 'parent' ? [r.derivation.resource] : []))]);
    // an append reads nothing back: it runs in the sync's small page cache (SYNC_CACHE_KIB, the load's size)
    this.load = { placed: new Map(), targets };
    this.statements = undefined;
    return true;
  }

  /** The catalog's references, as refs is filled with them. */
  private references() {
    return this.profile.catalog.resources.flatMap((r) => r.references.map((x) => ({ resource: r.name, field: x.field, target: x.resource })));
  }

  /**
   * Whether refs holds other references than the catalog's (it changed, or the cache is from before
   * refs noted them): rows listed again unchanged keep their references, so refs must be read again.
   */
  referencesStale(): boolean {
    return refsStale(this.cache.raw, this.references());
  }

  /** Reads refs again from every row's payload (about 5 s at 1M rows, once a catalog change). */
  refreshReferences(): void {
    refillRefs(this.cache.raw, this.references());
  }

  /** Ends this service's bulk load: rows listed twice keep their last copy, the indexes are built once. */
  endLoad(): BulkLoadEnd | null {
    if (!this.load) return null;
    this.load = null;
    this.statements = undefined;
    // the indexes and references built are some 400 MB of log at 1M rows, past the automatic
    // checkpoint's 256 MiB: a commit would fold them into the file there and then, on this thread.
    // The fold is left to the worker (cache/cacheDb.ts foldLog), and the automatic checkpoint stays
    // off until it has ended: given back at once, it ran in the next commit (the deletions feed's,
    // before the worker had begun), 2.9 s of a 22 s first sync at 1M rows (bench/sync).
    const giveBackFold = setPragmas(this.cache.raw, { wal_autocheckpoint: 0 });
    try {
      return finishBulkLoad(this.cache.raw);
    } finally {
      void this.cache.foldLog(false).finally(() => {
        if (this.cache.raw.open) giveBackFold();
      });
    }
  }

  /** Whether a bulk load is under way in this service (every row in the cache is one it wrote). */
  get loading(): boolean {
    return !!this.load;
  }

  /**
   * Writes one page of records (call inside a transaction): partition by derived company,
   * provenance, references, and leak evidence. Answers the page's latest updated_at and its leaks.
   */
  ingest(
    identity: SyncIdentity,
    resource: Resource,
    items: unknown[],
    request: string,
    runId: number,
    askedFor: string | null = null,
  ): { latest: string | null; leaks: number } {
    const st = (this.statements ??= this.prepare());
    const superAdmin = identity.role === 'super_admin';
    const updatedField = this.profile.incremental?.updatedAtField ?? 'updated_at';
    // the resource's own company field, as the audit asks of every row (carried at all? its value)
    const companyField = resource.companyField ?? (resource.derivation.kind === 'own' ? resource.derivation.field : 'company_id');
    const fetchedAt = now();
    const pageIds = new Set<string>();
    const latest = new Latest();
    let leaks = 0;
    for (const value of items) {
      const item = value as Record<string, unknown>;
      const id = idOf(item, resource, request, pageIds);
      const updatedAt = item[updatedField];
      const updated = typeof updatedAt === 'string' ? updatedAt : null;
      if (updated) latest.offer(updated);
      const derived = st.derive(resource, item);
      // a super admin asked for one company's rows: a row of another is the CRM's error, not data to file away
      if (askedFor && derived.company && derived.company !== askedFor) {
        throw new AppError(
          'bad-response',
          `${request}: asked for company ${askedFor}, but the page holds ${resource.name} ${id} of company ${derived.company}.`,
        );
      }
      // a bulk load began on an empty cache: no row is there before it (a row listed twice is settled when it ends)
      const before = this.load ? [] : (st.existing.all(resource.name, id) as Existing[]);
      // an owner or parent the cache does not hold (deleted on the server, evicted here): the company the
      // CRM was asked for, else where the row was placed before, else unassigned
      // (a row whose owner or parent is empty has no company: unassigned)
      const unknownRef = derived.outside;
      const placed = unknownRef ? before.find((b) => b.company_id !== UNASSIGNED)?.company_id : undefined;
      const company = derived.company ?? (unknownRef ? (askedFor ?? placed) : null) ?? UNASSIGNED;
      const ownValue = companyField ? item[companyField] : undefined;
      // a row seen before may have changed partition (a backfill gave it a company) or dropped a reference
      const { rid, kept, unchanged, was } = placeRow(st, before, {
        company,
        resource: resource.name,
        id,
        updated,
        payload: JSON.stringify(item),
        fetchedBy: identity.email,
        request,
        fetchedAt,
        runId,
        hasCompanyField: ownValue === undefined ? 0 : 1,
        ownCompany: ownValue === undefined || ownValue === null ? null : String(ownValue),
      });
      if (this.load?.targets.has(resource.name)) {
        if (company === UNASSIGNED) this.load.placed.delete(`${resource.name}\0${id}`);
        else this.load.placed.set(`${resource.name}\0${id}`, company);
      }
      // a plain user sees in the console only what the CRM gave them
      if (identity.role === 'user') st.seenBy.run(identity.email, rid, runId);
      // (during a bulk load refs is filled from the payloads when it ends; a row listed again with
      // the payload it had keeps its references: a relist of 1M unchanged rows read refs a row at a
      // time, about a quarter of its 21 s of writing)
      if (!this.load && !unchanged) writeRefs(st, { company, rid, resource: resource.name, kept, was }, refTargets(resource.references, item));
      // leak evidence: a company identity was handed another company's row
      if (!superAdmin && identity.companyId && ((company !== UNASSIGNED && company !== identity.companyId) || (derived.outside && company === UNASSIGNED))) {
        const whose = company !== UNASSIGNED ? company : OUTSIDE;
        if (st.leak.run(identity.companyId, whose, resource.name, id, identity.email, `GET ${request}`, fetchedAt).changes) leaks++;
      }
    }
    return { latest: latest.value, leaks };
  }

  private companyLookup = () => {
    const stmt = this.cache.raw.prepare('SELECT company_id FROM records WHERE resource = ? AND id = ? LIMIT 1');
    const directory = this.cache.raw.prepare('SELECT company_id FROM user_directory WHERE id = ?');
    // owners repeat on every page: remember the users' companies (a user changing company is rare, and resynced next run)
    const users = new Map<string, string | null>();
    return (resource: string, id: unknown): string | null => {
      if (id === null || id === undefined || id === '') return null;
      const key = String(id);
      const memo = resource === this.profile.catalog.users;
      if (memo && users.has(key)) return users.get(key)!;
      let company: string | null;
      if (this.load) company = this.load.placed.get(`${resource}\0${key}`) ?? null;
      else {
        const row = stmt.get(resource, key) as { company_id: string } | undefined;
        company = row && row.company_id !== UNASSIGNED ? row.company_id : null;
      }
      if (company === null && memo) company = (directory.get(key) as { company_id: string | null } | undefined)?.company_id ?? null;
      if (memo && company !== null) users.set(key, company);
      return company;
    };
  };

  /**
   * The company a row belongs to, from its own field, its owner or its parent; null when unknown.
   * `outside` is true when the row names an owner or parent the cache does not know: for a
   * company identity, that owner or parent lies outside its company.
   */
  deriver() {
    const lookup = this.companyLookup();
    const users = this.profile.catalog.users;
    return (resource: Resource, row: Record<string, unknown>): { company: string | null; outside: boolean } => {
      const d = resource.derivation;
      if (d.kind === 'own') {
        const v = row[d.field];
        return { company: v === null || v === undefined ? null : String(v), outside: false };
      }
      if (d.kind === 'none') return { company: null, outside: false };
      const ref = row[d.field];
      const company = lookup(d.kind === 'owner' ? users : d.resource, ref);
      return { company, outside: company === null && ref !== null && ref !== undefined && ref !== '' };
    };
  }

  /**
   * One GET of a JSON answer through the adapter's transport (retries, one sign-in again on 401,
   * bodies cut short); what is still not a 200 with JSON is an error a person can read, naming the
   * request.
   */
  async fetchJson(
    identity: SyncIdentity,
    url: string,
    params: Record<string, string | number>,
    signal: AbortSignal | undefined,
    onRetry: (line: string) => void,
  ): Promise<Answer> {
    const res = await exchange(this.client, identity, 'GET', url, { params, signal, policy: this.retryPolicy, onRetry });
    if (res.exhausted)
      throw new AppError(
        res.status === 401 ? 'unauthenticated' : 'bad-response',
        res.status === 401 ? `${res.url}: the CRM refused ${identity.email}'s token even after signing in again.` : res.exhausted,
      );
    if (res.status !== 200) throw new AppError('bad-response', `${res.url} answered ${res.status}.`);
    if (typeof res.data !== 'object' || res.data === null)
      throw new AppError(
        'bad-response',
        `${res.url} answered ${typeof res.data === 'string' && res.data ? `text (${JSON.stringify(res.data.slice(0, 60))})` : JSON.stringify(res.data ?? null)}, not a JSON object or list.`,
      );
    return res;
  }

  /**
   * Users' companies learnt without a users endpoint (the CRM's database, an identity's /me): what
   * places owner-derived rows when the catalog's users cannot be listed. Replaces what a source said before.
   */
  rememberUsers(users: Array<{ id: string; companyId: string | null }>, source: 'database' | 'whoami'): number {
    const raw = this.cache.raw;
    const put = raw.prepare(`INSERT INTO user_directory (id, company_id, source, seen_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET company_id = excluded.company_id, source = excluded.source, seen_at = excluded.seen_at`);
    const at = now();
    raw.transaction(() => {
      for (const u of users) put.run(u.id, u.companyId, source, at);
    })();
    this.statements = undefined; // the owner lookup memoizes; start it afresh
    return users.length;
  }

  /**
   * A relist marks deleted what it no longer returns (rows not seen since run `since`), within the
   * scope it covers: a super admin's listing of every tenant covers every partition, of one tenant
   * that partition; a company admin's or user's (often narrower: lists per user) covers only the
   * rows it placed itself, never those a wider identity synced.
   */
  markVanished(identity: SyncIdentity, company: string, resource: string, since: number): { changes: number } {
    // a bulk load began on an empty cache: every row in it was listed by this load, none has vanished
    if (this.load) return { changes: 0 };
    const raw = this.cache.raw;
    if (company === ALL) return raw.prepare('UPDATE records SET deleted = 1 WHERE resource = ? AND seen_run < ? AND deleted = 0').run(resource, since);
    if (identity.role === 'super_admin')
      return raw.prepare('UPDATE records SET deleted = 1 WHERE company_id = ? AND resource = ? AND seen_run < ? AND deleted = 0').run(company, resource, since);
    // what a user's relist no longer returns is no longer theirs to read, whoever else may still see it
    if (identity.role === 'user')
      raw
        .prepare('DELETE FROM record_seen_by WHERE identity = ? AND run_id < ? AND rid IN (SELECT rid FROM records WHERE company_id = ? AND resource = ?)')
        .run(identity.email, since, company, resource);
    return raw
      .prepare('UPDATE records SET deleted = 1 WHERE company_id = ? AND resource = ? AND seen_run < ? AND deleted = 0 AND fetched_by = ?')
      .run(company, resource, since, identity.email);
  }

  /** Whether owners can be placed: the catalog lists its users, or the directory knows some. */
  ownersPlaceable(): boolean {
    const users = this.profile.catalog.resources.find((r) => r.name === this.profile.catalog.users);
    if (users?.endpoints.list) return true;
    return !!this.cache.raw.prepare('SELECT 1 FROM user_directory LIMIT 1').get();
  }

  /** One sync of the tenants asked for (run.ts): every page written with its cursor, then the report. */
  async run(identity: SyncIdentity, tenants: SyncTenant[], opts: SyncRunOptions = {}): Promise<SyncReport> {
    const run = SyncRun.start(this, identity, tenants, opts);
    const giveBack = setPragmas(this.cache.raw, { cache_size: -SYNC_CACHE_KIB });
    try {
      return await run.go(tenants);
    } finally {
      if (this.cache.raw.open) giveBack();
    }
  }

  finish(runId: number, report: SyncReport, outcome: string, message: string | null) {
    finishSyncRun(this.cache.raw, runId, now(), { outcome, rows: report.rows, retries: report.retries, message });
  }

  private readonly prover = new Prover(this);

  /** The cache's summary of one partition and resource, in the manifest's terms. */
  localManifest(company: string, resource: string, basis: 'manifest' | 'relist' = 'manifest'): { count: number; latest: string | null; hash: string } {
    return this.prover.localManifest(company, resource, basis);
  }

  /** Compares each synced resource of a tenant with the server (proof.ts); each proof is kept in the cache. */
  prove(identity: SyncIdentity, tenant: SyncTenant): Promise<Proof[]> {
    return this.prover.prove(identity, tenant);
  }

  /** The proofs kept in the cache for a tenant (the last one of each resource), whatever session made them. */
  proofs(tenantId: string, who?: { role: string; email: string }): Proof[] {
    return this.prover.proofs(tenantId, who);
  }

  /** Removes a tenant's partition: its rows, references, sync state and leak evidence about it. */
  evict(tenantId: string): number {
    return evictPartition(this.cache.raw, tenantId);
  }

  /** The last sync that ended (not one running now). */
  lastRun(): LastSyncRun | null {
    return lastSyncRun(this.cache.raw);
  }

  /** Rows per partition, last sync, leaks and proofs (cache/queries/partitions.ts). */
  partitions(): PartitionSummary[] {
    return partitionSummaries(this.cache.raw);
  }
}
