import type { Resource } from '../../src-shared/catalog.ts';
import type { ResourceOutcome, SyncReport } from '../../src-shared/contract/sync.ts';
import { AppError } from '../../src-shared/result.ts';
import { stateKeyOf } from '../cache/cacheDb.ts';
import { describeFailure } from '../crm/crmClient.ts';
import { pagesOf } from '../crm/paging.ts';
import { applyDeletions, syncNested } from './feeds.ts';
import { AHEAD, PageFeed } from './pipeline.ts';
import { SyncProgress } from './progress.ts';
import { ListingWriter, type ListingState, type Statement } from './listingWriter.ts';
import { expectTotals } from './totals.ts';
import { inTurns } from './turns.ts';
import { dependsOn, outcomeOf, storageError, syncOrder, type SyncDeps, type SyncIdentity, type SyncTenant } from './kit.ts';

const now = () => new Date().toISOString();
/** rows committed between two folds of the write-ahead log during a sync */
const FOLD_ROWS = 50_000;

/**
 * Flat listings opened ahead of the one being written. A sync lists every resource of a tenant,
 * and an incremental one finds most of them with nothing new: one round trip after another.
 */
const LOOKAHEAD = 2;
/**
 * A tenant's listings fetched and written at once. A listing pages with the cursor of the page before, so one listing keeps one
 * request at a time on the CRM: while the CRM answers it, the console waits, and while the console writes, the CRM waits. Two keep
 * both busy. A listing whose rows take their company from another resource (an owner, a parent) begins once that one has ended.
 */
const LISTINGS = 2;
/** a listing under another's rows (a path with {parent}): it reads its parents from the cache, in its turn */
const NESTED = /\{[^}]+\}/;

export interface SyncRunOptions {
  signal?: AbortSignal;
  pageSize?: number;
  /** tenants synced at once */
  concurrency?: number;
  /** flat listings whose first page is asked for while the one before them is written (LOOKAHEAD) */
  lookahead?: number;
  /** a tenant's listings written at once, each as soon as the listings it derives companies from have ended (LISTINGS) */
  listings?: number;
}

/** A flat listing opened: its outcome (reported in its turn), its writer, its pages on their way. */
interface OpenListing {
  outcome: ResourceOutcome;
  writer: ListingWriter;
  feed: PageFeed;
  stop(): void;
}

/**
 * One sync: every tenant asked for, a few at a time, each resource parents first; a flat listing
 * through the fetch-ahead pipeline, each batch written with its cursor so that a kill loses
 * nothing and repeats nothing; then the deletions feed. Its report is the contract's SyncReport.
 */
export class SyncRun {
  readonly report: SyncReport;
  private readonly progress: SyncProgress;
  private readonly superAdmin: boolean;
  private readonly incremental: boolean;
  private readonly pageSize: number;
  /** a tenant's listings written at once (LISTINGS) */
  private readonly width: number;
  private readonly order: Resource[];
  private readonly state: Statement;
  private readonly saveState: Statement;
  /** owner-derived rows with no way to place their owners: said once, with the fix */
  private ownersWarned: boolean;

  private constructor(
    private readonly svc: SyncDeps,
    private readonly identity: SyncIdentity,
    private readonly runId: number,
    private readonly opts: SyncRunOptions,
  ) {
    const raw = svc.cache.raw;
    const profile = svc.profile;
    this.report = { runId, rows: 0, pages: 0, retries: 0, leaks: 0, deletions: 0, outcomes: [], retried: [] };
    this.progress = new SyncProgress(`sync:${runId}`, (p) => svc.bus.emit('onProgress', p));
    this.superAdmin = identity.role === 'super_admin';
    this.incremental = !!profile.incremental?.updatedSinceParam;
    this.pageSize = Math.min(opts.pageSize ?? profile.paging.maxLimit, profile.paging.maxLimit);
    this.width = Math.max(1, opts.listings ?? LISTINGS);
    this.order = syncOrder(profile.catalog.resources, profile.catalog.users);
    this.state = raw.prepare('SELECT * FROM sync_state WHERE company_id = ? AND resource = ?');
    this.saveState = raw.prepare(`INSERT INTO sync_state (company_id, resource, cursor, listing_since, high_water, rows, pages, last_finished_at, last_error)
      VALUES (@company_id, @resource, @cursor, @listing_since, @high_water, @rows, @pages, @last_finished_at, @last_error)
      ON CONFLICT (company_id, resource) DO UPDATE SET cursor = excluded.cursor, listing_since = excluded.listing_since, high_water = excluded.high_water,
        rows = excluded.rows, pages = excluded.pages, last_finished_at = excluded.last_finished_at, last_error = excluded.last_error`);
    this.ownersWarned = svc.ownersPlaceable();
  }

  /** Checks who may sync what and records the run; nothing is fetched yet. */
  static start(svc: SyncDeps, identity: SyncIdentity, tenants: SyncTenant[], opts: SyncRunOptions): SyncRun {
    for (const t of tenants) {
      if (identity.role !== 'super_admin' && t.id !== identity.companyId) throw new AppError('forbidden', `${identity.email} may sync their own company only.`);
    }
    try {
      const runId = Number(
        svc.cache.raw
          .prepare('INSERT INTO sync_runs (started_at, identity, tenants) VALUES (?, ?, ?)')
          .run(now(), identity.email, JSON.stringify(tenants.map((t) => t.id))).lastInsertRowid,
      );
      return new SyncRun(svc, identity, runId, opts);
    } catch (e) {
      throw storageError(e, 'before the sync began') ?? e;
    }
  }

  /**
   * Every tenant, a few at a time (the CRM answers one while this process writes another's page);
   * then the run's record. Into an empty cache the sync is a bulk load: appended rows, indexes
   * built once when the listings end, then the deletions feed (it looks rows up by id).
   */
  async go(tenants: SyncTenant[]): Promise<SyncReport> {
    let bulk = false;
    try {
      bulk = this.svc.beginLoad(this.runId);
      if (!bulk && this.svc.referencesStale()) {
        // a row listed again unchanged keeps its references: they must be the catalog's
        this.progress.start('references', "reading every row's references again: the catalog's references changed");
        let read = false;
        try {
          await new Promise<void>((r) => setImmediate(r)); // the progress reaches the window first
          this.svc.refreshReferences();
          read = true;
        } finally {
          this.progress.end('references', read ? 'done' : 'failed');
        }
      }
    } catch (e) {
      const err = storageError(e, 'before the sync began') ?? (e as Error);
      try {
        this.svc.finish(this.runId, this.report, 'failed', err.message);
      } catch {
        /* the disk that refused the load refuses the record too */
      }
      throw err;
    }
    const queue = [...tenants];
    const workers = Array.from({ length: Math.min(this.opts.concurrency ?? 2, queue.length) }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) await this.syncTenant(t);
    });
    const settled: PromiseSettledResult<unknown>[] = await Promise.allSettled(workers);
    if (bulk) settled.push(...(await Promise.allSettled([this.endLoad(settled.some((x) => x.status === 'rejected') ? [] : tenants)])));
    this.progress.tick(true);
    const fatal = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (fatal) {
      const err = fatal.reason instanceof AppError ? fatal.reason : describeFailure(fatal.reason, this.svc.profile.baseUrl);
      try {
        this.svc.finish(this.runId, this.report, err.code === 'cancelled' ? 'cancelled' : 'failed', err.message);
      } catch {
        /* a full or read-only disk cannot take the record of the run either */
      }
      throw err;
    }
    const failed = this.report.outcomes.filter((o) => o.status === 'failed');
    this.svc.finish(this.runId, this.report, failed.length ? 'partial' : 'ok', failed.length ? `${failed.length} resources failed` : null);
    // the sync's pages are in the database now: give the write-ahead log back (it would otherwise stay
    // up to hundreds of MB beside the cache until the console quits), on a worker thread: the fold
    // writes and syncs every page the sync changed, which neither the report nor the window waits for
    void this.svc.cache.foldLog();
    return this.report;
  }

  /**
   * Rows committed since the last fold of the write-ahead log: every FOLD_ROWS (some 40 MB of
   * pages) a worker folds what is there, so that no commit of the sync folds a large log itself
   * (at 1M rows, two such commits took over a second each; bench/sync).
   */
  private sinceFold = 0;

  private wrote(rows: number): void {
    this.sinceFold += rows;
    if (this.sinceFold < FOLD_ROWS) return;
    this.sinceFold = 0;
    void this.svc.cache.foldLog(false);
  }

  /** Ends the bulk load whatever became of the listings (a cache is never left without its indexes), then the deletions feeds of `tenants`. */
  private async endLoad(tenants: SyncTenant[]): Promise<void> {
    this.progress.start('load', 'building the indexes');
    try {
      const end = this.svc.endLoad();
      if (end)
        this.report.load = {
          rows: end.rows,
          duplicates: end.duplicates,
          indexSeconds: +end.indexSeconds.toFixed(2),
          steps: end.steps.map((s) => ({ step: s.step, seconds: +s.seconds.toFixed(2) })),
        };
      this.progress.end('load', 'done');
    } catch (e) {
      this.progress.end('load', 'failed');
      throw storageError(e, 'while building the cache indexes') ?? e;
    }
    if (this.opts.signal?.aborted) return;
    for (const t of tenants) this.report.deletions += await this.deletionsOf(t);
  }

  private deletionsOf(tenant: SyncTenant): Promise<number> {
    return applyDeletions(this.svc, tenant, this.superAdmin, (url, params) => this.get(url, params, this.opts.signal));
  }

  /**
   * Where a listing's cursor and high-water mark are kept: per partition, and per user for a plain
   * user (their listing is narrower: resuming from, or updating since, a wider identity's mark
   * would miss rows the CRM lists to them, and a wider identity must never resume from theirs).
   */
  private stateKey(t: SyncTenant): string {
    return stateKeyOf(this.identity, t.id);
  }

  private cancelled(): AppError {
    return new AppError('cancelled', `Sync cancelled after ${this.report.rows} rows; every page written before it is kept, and the next sync resumes there.`);
  }

  private get(url: string, params: Record<string, string | number>, signal?: AbortSignal) {
    return this.svc
      .fetchJson(this.identity, url, params, signal, (line) => {
        this.report.retries++;
        this.report.retried.push(line);
      })
      .catch((e) => {
        throw signal?.aborted && this.opts.signal?.aborted ? this.cancelled() : e;
      });
  }

  private warnOwners(outcome: ResourceOutcome, resource: Resource): void {
    if (this.ownersWarned || resource.derivation.kind !== 'owner') return;
    this.ownersWarned = true;
    const users = this.svc.profile.catalog.users;
    Object.assign(outcome, {
      status: 'warning',
      message: `The CRM lists no ${users}, so the company of rows reached through their owner (${resource.name} and the like) is unknown and they stay unassigned: give the connection its database URL (tenantscope connections add ... --db-env VAR) so that the owners' companies are read from the ${users} table.`,
    });
  }

  /**
   * A tenant's resources, parents first, `listings` at a time: a resource begins once every resource before it that it takes its
   * rows' companies from (its owners, its parent) has ended, and its listing is written batch by batch beside the others (each batch
   * in a transaction of its own, with its own listing's cursor). The flat listings next in line are opened ahead (`lookahead`): their
   * first pages are asked for meanwhile. Then the deletions feed. The outcomes are reported in the catalog's order; a failure that
   * ends the tenant (the sign-in, the CRM or the disk gone, a cancel) stops the listings beside it.
   */
  private async syncTenant(tenant: SyncTenant): Promise<void> {
    await expectTotals(
      {
        svc: this.svc,
        identity: this.identity,
        progress: this.progress,
        order: this.order,
        state: this.state,
        stateKey: this.stateKey(tenant),
        incremental: this.incremental,
        superAdmin: this.superAdmin,
        signal: this.opts.signal,
      },
      tenant,
    );
    const opened = new Map<Resource, OpenListing>();
    const outcomes = new Map<Resource, ResourceOutcome>();
    const lookahead = Math.max(0, this.opts.lookahead ?? LOOKAHEAD);
    let turns: Awaited<ReturnType<typeof inTurns<Resource>>>;
    try {
      turns = await inTurns(this.order, {
        width: this.width,
        waitsFor: (r) => dependsOn(r, this.svc.profile.catalog.users).flatMap((name) => this.order.filter((x) => x.name === name)),
        stopped: () => (this.opts.signal?.aborted ? this.cancelled() : null),
        beginning: (resource, waiting, halt) => {
          // the listing begun, and those next in line opened ahead (their first page asked for)
          for (const r of [resource, ...waiting.slice(0, lookahead)]) {
            const list = r.endpoints.list;
            if (list && !NESTED.test(list) && !opened.has(r)) opened.set(r, this.openListing(tenant, r, list, r === resource, halt));
          }
        },
        run: (resource, halt) => {
          const listing = opened.get(resource);
          opened.delete(resource);
          const outcome = listing?.outcome ?? outcomeOf(tenant, resource);
          outcomes.set(resource, outcome);
          return this.syncResource(tenant, resource, outcome, listing, halt);
        },
      });
    } finally {
      // the listings opened ahead of a failure or a cancel: their requests are stopped
      for (const listing of opened.values()) listing.stop();
    }
    // the outcomes of the resources begun, in the catalog's order
    this.report.outcomes.push(...turns.begun.map((r) => outcomes.get(r)!));
    if (turns.failure) throw turns.failure.error;
    // during a bulk load the deletions feed waits for the indexes (endLoad)
    if (!this.svc.loading) this.report.deletions += await this.deletionsOf(tenant);
  }

  /** One resource of a tenant in its turn: its open listing written, or its nested listing, or nothing to list. */
  private async syncResource(tenant: SyncTenant, resource: Resource, outcome: ResourceOutcome, listing: OpenListing | undefined, halt: AbortSignal) {
    if (!resource.endpoints.list) return void Object.assign(outcome, { status: 'skipped', message: 'no list endpoint' });
    this.warnOwners(outcome, resource);
    const key = `${tenant.id}/${resource.name}`;
    this.progress.start(key, `${tenant.name} · ${resource.name}`);
    if (listing) return this.syncListing(tenant, resource, listing, key, halt);
    const signal = this.stopping(halt);
    try {
      const get = (url: string, params: Record<string, string | number>) => this.get(url, params, signal);
      await syncNested(this.svc, this.identity, tenant, resource, this.runId, this.report, outcome, get, this.pageSize, this.progress, key);
      this.progress.end(key, 'done');
    } catch (e) {
      this.failed(tenant, resource, outcome, key, e, halt);
    }
  }

  /** What stops a listing's requests: a cancel of the run, `halt` (another listing ended the tenant), and its own ending. */
  private stopping(...signals: AbortSignal[]): AbortSignal {
    return AbortSignal.any([...(this.opts.signal ? [this.opts.signal] : []), ...signals]);
  }

  /** A listing's failure noted in its outcome; a cancel thrown as one. Answers the error. */
  private failed(tenant: SyncTenant, resource: Resource, outcome: ResourceOutcome, key: string, e: unknown, halt: AbortSignal): AppError {
    if (this.opts.signal?.aborted) throw this.cancelled();
    // another listing's failure ended the tenant: what this one wrote is kept, and the next sync resumes it
    let err = e instanceof AppError ? e : describeFailure(e, this.svc.profile.baseUrl);
    if (halt.aborted) err = new AppError('cancelled', `stopped, because another listing of ${tenant.name} failed.`);
    Object.assign(outcome, { status: 'failed', message: `${tenant.name} · ${resource.name}: ${err.message}` });
    this.progress.end(key, 'failed');
    return err;
  }

  /**
   * A flat listing, resumed from its cursor, its pages asked for from now on: its first page only
   * until its turn (`now` false), then through the fetch-ahead pipeline.
   */
  private openListing(tenant: SyncTenant, resource: Resource, list: string, now: boolean, halt: AbortSignal): OpenListing {
    const prev = this.state.get(this.stateKey(tenant), resource.name) as ListingState | undefined;
    const outcome = outcomeOf(tenant, resource);
    // stopping the listing (its end, a failure, a cancel) stops the requests on their way
    const listing = new AbortController();
    const signal = this.stopping(halt, listing.signal);
    const writer = new ListingWriter(
      {
        svc: this.svc,
        identity: this.identity,
        runId: this.runId,
        report: this.report,
        progress: this.progress,
        saveState: this.saveState,
        incremental: this.incremental,
        superAdmin: this.superAdmin,
        stateKey: this.stateKey(tenant),
        wrote: (rows) => this.wrote(rows),
      },
      tenant,
      resource,
      outcome,
      `${tenant.id}/${resource.name}`,
      prev,
    );
    const pages = pagesOf(this.svc.profile.paging, this.svc.profile.baseUrl, list, (u, p) => this.get(u, p, signal), {
      size: this.pageSize,
      from: prev?.cursor ? prev.cursor : null,
      query: writer.query,
    });
    // the listings written at once share AHEAD pages ahead: memory as with one
    const ahead = Math.max(2, Math.ceil(AHEAD / this.width));
    return { outcome, writer, feed: new PageFeed(pages, signal, now ? ahead : 1, ahead), stop: () => listing.abort() };
  }

  /** Writes an open listing's pages; a failure is the listing's, unless the CRM, the sign-in or the disk is gone. */
  private async syncListing(tenant: SyncTenant, resource: Resource, listing: OpenListing, key: string, halt: AbortSignal): Promise<void> {
    const { outcome, writer, feed } = listing;
    try {
      await feed.drain((batch) => writer.flush(batch));
      // a listing stopped between two pages ends its feed without an error: it did not reach its end
      if (!writer.complete && (this.opts.signal?.aborted || halt.aborted)) throw new AppError('cancelled', 'stopped');
      this.progress.end(key, 'done');
    } catch (e) {
      const err = this.failed(tenant, resource, outcome, key, e, halt);
      if (halt.aborted) return;
      const noteError = () =>
        this.svc.cache.raw
          .prepare('UPDATE sync_state SET last_error = ? WHERE company_id = ? AND resource = ?')
          .run(outcome.message, this.stateKey(tenant), resource.name);
      // the listing's failure is noted and the sync goes on, unless the sign-in, the CRM or the disk is gone
      if (err.code !== 'unauthenticated' && err.code !== 'unreachable' && err.code !== 'storage') {
        noteError();
        return;
      }
      try {
        noteError();
      } catch {
        /* a full or read-only disk cannot take the note either */
      }
      throw new AppError(err.code, outcome.message ?? err.message);
    } finally {
      listing.stop();
    }
  }
}
