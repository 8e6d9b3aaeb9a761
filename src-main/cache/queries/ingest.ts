import type { OpenCache } from '../cacheDb.ts';

// The statements a sync writes each page with (prepared once a cache, run inside one transaction a page).

const COLUMNS = 'company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, seen_run, has_company_field, own_company';

/**
 * Place a row (answers its rid): an upsert on records' key, or, while a bulk load holds records
 * without its indexes (queries/bulkLoad.ts), a plain append; its references, who saw it, leak evidence.
 */
export function ingestStatements(raw: OpenCache['raw'], bulk: boolean) {
  return {
    place: bulk
      ? null
      : raw
          .prepare(
            `INSERT INTO records (${COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (company_id, resource, id) DO UPDATE SET updated_at = excluded.updated_at, deleted = 0, payload = excluded.payload,
      fetched_by = excluded.fetched_by, fetched_from = excluded.fetched_from, fetched_at = excluded.fetched_at, seen_run = excluded.seen_run,
      has_company_field = excluded.has_company_field, own_company = excluded.own_company
    RETURNING rid`,
          )
          .pluck(),
    // a bulk load's plain append: its rid is the insert's rowid (RETURNING costs half as much again a row)
    append: bulk ? raw.prepare(`INSERT INTO records (${COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)`) : null,
    existing: raw.prepare('SELECT rid, company_id, updated_at, deleted, has_company_field, own_company, payload FROM records WHERE resource = ? AND id = ?'),
    // a row already in its partition, live, with the same company columns: only what changed is
    // written, so that the indexes on columns that did not change are not rewritten (an upsert sets,
    // and so rewrites, every index holding deleted, has_company_field or own_company)
    touch: raw.prepare('UPDATE records SET payload = ?, fetched_by = ?, fetched_from = ?, fetched_at = ?, seen_run = ? WHERE rid = ?'),
    touchUpdated: raw.prepare('UPDATE records SET updated_at = ?, payload = ?, fetched_by = ?, fetched_from = ?, fetched_at = ?, seen_run = ? WHERE rid = ?'),
    refsOf: raw.prepare('SELECT field, target_resource, target_id FROM refs WHERE company_id = ? AND rid = ?'),
    dropRef: raw.prepare('DELETE FROM refs WHERE company_id = ? AND rid = ? AND field = ?'),
    moveOut: raw.prepare('DELETE FROM records WHERE rid = ?'),
    dropRefs: raw.prepare('DELETE FROM refs WHERE company_id = ? AND rid = ?'),
    addRef: raw.prepare('INSERT OR REPLACE INTO refs (company_id, rid, field, target_resource, target_id, resource) VALUES (?, ?, ?, ?, ?, ?)'),
    seenBy: raw.prepare(
      'INSERT INTO record_seen_by (identity, rid, run_id) VALUES (?, ?, ?) ON CONFLICT (identity, rid) DO UPDATE SET run_id = excluded.run_id',
    ),
    leak: raw.prepare(
      'INSERT OR IGNORE INTO leaks (identity_company_id, company_id, resource, id, identity, request, observed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
  };
}

export type IngestStatements = ReturnType<typeof ingestStatements>;

/** A row of the cache with the same resource and id as one being written. */
export interface Existing {
  rid: number;
  company_id: string;
  updated_at: string | null;
  deleted: number;
  has_company_field: number;
  own_company: string | null;
  payload: string;
}

/** What a row is written with (its partition and the audit's columns decided by the caller). */
export interface PlacedRow {
  company: string;
  resource: string;
  id: string;
  updated: string | null;
  payload: string;
  fetchedBy: string;
  request: string;
  fetchedAt: string;
  runId: number;
  hasCompanyField: number;
  ownCompany: string | null;
}

/**
 * Writes a row over what the cache held of it (`before`: the rows of that resource and id, in any
 * partition) and answers its rid and whether it stayed in place. A row already live in its
 * partition with the same company columns has only its payload, provenance and update time
 * written: the indexes on columns that did not change are not rewritten (an upsert sets, and so
 * rewrites, every index holding deleted, has_company_field or own_company). Any other row is
 * upserted, and its copies in other partitions removed. `unchanged`: kept with the very payload
 * it had, so its references are those it had (queries/bulkLoad.ts refreshReferences keeps refs to
 * the catalog's references when they change). `was`: the payload a kept row had.
 */
export function placeRow(st: IngestStatements, before: Existing[], row: PlacedRow): { rid: number; kept: boolean; unchanged: boolean; was: string | null } {
  const same = before.find(
    (b) => b.company_id === row.company && !b.deleted && b.has_company_field === row.hasCompanyField && b.own_company === row.ownCompany,
  );
  for (const old of before) {
    if (old === same) continue;
    st.dropRefs.run(old.company_id, old.rid);
    if (old.company_id !== row.company) st.moveOut.run(old.rid);
  }
  if (same) {
    if (same.updated_at === row.updated) st.touch.run(row.payload, row.fetchedBy, row.request, row.fetchedAt, row.runId, same.rid);
    else st.touchUpdated.run(row.updated, row.payload, row.fetchedBy, row.request, row.fetchedAt, row.runId, same.rid);
    return { rid: same.rid, kept: true, unchanged: same.payload === row.payload, was: same.payload };
  }
  const values = [
    row.company,
    row.resource,
    row.id,
    row.updated,
    row.payload,
    row.fetchedBy,
    row.request,
    row.fetchedAt,
    row.runId,
    row.hasCompanyField,
    row.ownCompany,
  ];
  const rid = st.append ? Number(st.append.run(...values).lastInsertRowid) : (st.place!.get(...values) as number);
  return { rid, kept: false, unchanged: false, was: null };
}

/** A reference's value as refs keeps it: as text, null when empty. */
const targetId = (value: unknown): string | null => (value !== null && value !== undefined && value !== '' ? String(value) : null);

/** A row's reference targets: each field the catalog lists as a reference, and its value. */
export function refTargets(
  references: ReadonlyArray<{ field: string; resource: string }>,
  item: Record<string, unknown>,
): Array<{ field: string; resource: string; id: string | null }> {
  return references.map((ref) => ({ field: ref.field, resource: ref.resource, id: targetId(item[ref.field]) }));
}

/**
 * Whether a kept row's payload (`was`) named the targets it names now: refs holds the catalog's
 * references of each row's payload (queries/bulkLoad.ts refreshReferences keeps it so), so refs need
 * not be read then (an incremental sync of rows whose update time alone moved read refs a row at a
 * time, a page from disk each when cold, after a first sync).
 */
function sameTargets(was: string, targets: Array<{ field: string; id: string | null }>): boolean {
  let old: unknown;
  try {
    old = JSON.parse(was);
  } catch {
    return false;
  }
  if (!old || typeof old !== 'object' || Array.isArray(old)) return false;
  return targets.every((t) => targetId((old as Record<string, unknown>)[t.field]) === t.id);
}

/**
 * Writes a row's references: `targets` maps each reference field the catalog lists to its target
 * (null when empty). A row kept in place keeps the references that did not change, and loses
 * those now empty or no longer listed; one whose payload (`was`) named the same targets is left as
 * it is, without reading refs.
 */
export function writeRefs(
  st: IngestStatements,
  at: { company: string; rid: number; resource: string; kept: boolean; was?: string | null },
  targets: Array<{ field: string; resource: string; id: string | null }>,
): void {
  if (at.kept && at.was && sameTargets(at.was, targets)) return;
  const had = at.kept
    ? new Map((st.refsOf.all(at.company, at.rid) as Array<{ field: string; target_resource: string; target_id: string }>).map((r) => [r.field, r]))
    : null;
  for (const t of targets) {
    const old = had?.get(t.field);
    had?.delete(t.field);
    if (old && t.id !== null && old.target_id === t.id && old.target_resource === t.resource) continue;
    if (old && t.id === null) st.dropRef.run(at.company, at.rid, t.field);
    if (t.id !== null) st.addRef.run(at.company, at.rid, t.field, t.resource, t.id, at.resource);
  }
  for (const field of had?.keys() ?? []) st.dropRef.run(at.company, at.rid, field);
}
