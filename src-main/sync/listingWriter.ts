import type { Resource } from '../../src-shared/catalog.ts';
import type { ResourceOutcome, SyncReport } from '../../src-shared/contract/sync.ts';
import { isLater } from '../../src-shared/instant.ts';
import { ALL } from '../../src-shared/partitions.ts';
import type { Page } from '../crm/paging.ts';
import type { SyncProgress } from './progress.ts';
import { storageError, type SyncDeps, type SyncIdentity, type SyncTenant } from './kit.ts';

const now = () => new Date().toISOString();
export type Statement = { get(...params: unknown[]): unknown; run(...params: unknown[]): unknown };

/** A listing's saved position: where to resume, since when it lists, its high-water mark and counts so far. */
export type ListingState = { cursor: string | null; listing_since: string | null; high_water: string | null; rows: number; pages: number };

/** What a ListingWriter shares of its run. */
export interface RunParts {
  svc: SyncDeps;
  identity: SyncIdentity;
  runId: number;
  report: SyncReport;
  progress: SyncProgress;
  saveState: Statement;
  incremental: boolean;
  superAdmin: boolean;
  /** where this listing's cursor and high-water mark are kept */
  stateKey: string;
  /** rows committed: the run folds the write-ahead log on a worker as they mount up */
  wrote(rows: number): void;
}

/**
 * Writes a listing's pages: each batch in one transaction with the cursor after its last page (a
 * kill loses none and repeats none), its high-water mark, and, when a full relist ends, the rows it
 * no longer returned marked deleted. A batch that fails is written again page by page, so every
 * good page before the bad one is kept.
 */
export class ListingWriter {
  /** the listing's query: the tenant filter of a super admin's listing, and updated_since */
  readonly query: Record<string, string | number> = {};
  /** a super admin lists one company through the tenant parameter: every row must be that company's */
  private readonly filtered: boolean;
  /** without updated_since every listing is a full relist: "run:<id>" remembers which run began it */
  private readonly listingTag: string | null;
  private highWater: string | null;
  /** the listing's last page is written (its cursor ended) */
  complete = false;
  private rows: number;
  private pages: number;

  constructor(
    private readonly p: RunParts,
    private readonly tenant: SyncTenant,
    private readonly resource: Resource,
    private readonly outcome: ResourceOutcome,
    private readonly key: string,
    private readonly prev: ListingState | undefined,
  ) {
    const { svc, superAdmin, incremental, runId } = p;
    const resuming = !!prev?.cursor;
    // so that rows it did not see can be marked deleted when it ends (even after a resume)
    this.listingTag = resuming ? prev!.listing_since : incremental ? (prev?.high_water ?? null) : `run:${runId}`;
    const since = incremental ? this.listingTag : null;
    this.highWater = prev?.high_water ?? null;
    this.rows = prev?.rows ?? 0;
    this.pages = prev?.pages ?? 0;
    this.filtered = superAdmin && !!svc.profile.sync.tenantParam && tenant.id !== ALL;
    if (this.filtered) this.query[svc.profile.sync.tenantParam!] = tenant.id;
    const inc = svc.profile.incremental;
    if (since && inc?.updatedSinceParam) this.query[inc.updatedSinceParam] = since;
  }

  private write(batch: Page[]): void {
    const { svc, identity, runId, report, saveState, incremental, stateKey } = this.p;
    svc.cache.raw.transaction(() => {
      for (const page of batch) {
        const written = svc.ingest(identity, this.resource, page.items, page.url, runId, this.filtered ? this.tenant.id : null);
        if (written.latest && (!this.highWater || isLater(written.latest, this.highWater))) this.highWater = written.latest;
        report.leaks += written.leaks;
      }
      const last = batch[batch.length - 1]!;
      this.rows += batch.reduce((a, p) => a + p.items.length, 0);
      this.pages += batch.length;
      saveState.run({
        company_id: stateKey,
        resource: this.resource.name,
        cursor: last.next,
        listing_since: last.next ? this.listingTag : null,
        high_water: last.next ? (this.prev?.high_water ?? null) : this.highWater,
        rows: this.rows,
        pages: this.pages,
        last_finished_at: last.next ? null : now(),
        last_error: null,
      });
      if (!last.next && !incremental && this.listingTag?.startsWith('run:')) {
        // the relist is complete: what it did not return has vanished from the server
        report.deletions += svc.markVanished(identity, this.tenant.id, this.resource.name, Number(this.listingTag.slice(4))).changes;
      }
    })();
    if (!batch[batch.length - 1]!.next) this.complete = true;
  }

  private counted(batch: Page[]): void {
    const { report, progress } = this.p;
    const n = batch.reduce((a, p) => a + p.items.length, 0);
    this.outcome.rows += n;
    this.outcome.pages += batch.length;
    report.rows += n;
    report.pages += batch.length;
    progress.add(this.key, n, batch.length);
    this.p.wrote(n);
  }

  flush(batch: Page[]): void {
    const { report } = this.p;
    const saved = { highWater: this.highWater, rows: this.rows, pages: this.pages, leaks: report.leaks, deletions: report.deletions };
    try {
      this.write(batch);
      this.counted(batch);
    } catch (e) {
      Object.assign(report, { leaks: saved.leaks, deletions: saved.deletions });
      ({ highWater: this.highWater, rows: this.rows, pages: this.pages } = saved);
      const storage = storageError(e, `while storing ${batch[batch.length - 1]!.url}`);
      if (storage) throw storage; // the disk, not the page: nothing more can be written
      if (batch.length === 1) throw e;
      // keep every good page before the bad one, each with its own cursor, then report the bad one
      for (const page of batch) {
        this.write([page]);
        this.counted([page]);
      }
    }
  }
}
