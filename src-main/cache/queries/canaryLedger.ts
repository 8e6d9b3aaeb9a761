import type { OpenCache } from '../cacheDb.ts';

// The canary ledger: every record an isolation run creates, written before the create is sent,
// so that a cleanup (of this run or the next, after a kill) finds and deletes it.

type Db = OpenCache['raw'];

export interface OpenCanary {
  id: number;
  resource: string;
  marker: string;
  record_id: string | null;
  delete_path: string | null;
  list_path: string | null;
  owner: string;
}

/** A new entry, before the create is sent; its id. */
export function openEntry(db: Db, e: { runId: number; resource: string; marker: string; owner: string; at: string }): number {
  return Number(
    db
      .prepare('INSERT INTO canary_ledger (run_id, resource, marker, owner, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(e.runId, e.resource, e.marker, e.owner, e.at).lastInsertRowid,
  );
}

/** Where the created record is deleted or listed. */
export function placeEntry(db: Db, entry: number, recordId: string, deletePath: string | null, listPath: string | null): void {
  db.prepare('UPDATE canary_ledger SET record_id = ?, delete_path = ?, list_path = ? WHERE id = ?').run(recordId, deletePath, listPath, entry);
}

/** The entry is closed: the record is gone (or was never made), and why. */
export function closeEntry(db: Db, entry: number, at: string, note: string | null): void {
  db.prepare('UPDATE canary_ledger SET removed_at = ?, note = ? WHERE id = ?').run(at, note, entry);
}

/** The entries of a record deleted by someone else (a probe that should have been refused). */
export function closeRecord(db: Db, resource: string, recordId: string, at: string, note: string): void {
  db.prepare('UPDATE canary_ledger SET removed_at = ?, note = ? WHERE resource = ? AND record_id = ?').run(at, note, resource, recordId);
}

/** A note on an entry still open (why it could not be deleted yet). */
export function noteEntry(db: Db, entry: number, note: string): void {
  db.prepare('UPDATE canary_ledger SET note = ? WHERE id = ?').run(note, entry);
}

/** Every entry still open, newest first (children before their parents). */
export function openCanaries(db: Db): OpenCanary[] {
  return db
    .prepare('SELECT id, resource, marker, record_id, delete_path, list_path, owner FROM canary_ledger WHERE removed_at IS NULL ORDER BY id DESC')
    .all() as OpenCanary[];
}
