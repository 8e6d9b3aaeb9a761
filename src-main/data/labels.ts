import type { Catalog } from '../../src-shared/catalog.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { SEEN } from '../cache/queries/records.ts';
import { OUTSIDE, UNASSIGNED } from '../../src-shared/partitions.ts';

type Raw = OpenCache['raw'];

/** Fields that name a record, in the order they are tried when the catalog marks none. */
export const LABEL_FIELDS = [
  'name',
  'full_name',
  'display_name',
  'first_name last_name',
  'title',
  'subject',
  'email',
  'label',
  'company_name',
  'filename',
  'number',
  'phone_number',
];

/** The label a record's payload gives, by the catalog's field or the first of LABEL_FIELDS it has. */
export function labelOf(payload: Record<string, unknown>, field?: string): string | null {
  for (const f of field ? [field] : LABEL_FIELDS) {
    // a person named in two fields
    const v = f.includes(' ')
      ? f
          .split(' ')
          .map((p) => payload[p])
          .filter((x) => typeof x === 'string' && x.trim())
          .join(' ')
      : payload[f];
    if (typeof v === 'string' && v.trim()) return v.trim().slice(0, 120);
    if (typeof v === 'number') return String(v);
  }
  return null;
}

/**
 * The labels of the records a window of rows points at, field by field: each reference the catalog
 * knows (and the owner or parent its company comes from), looked up among this tenant's rows the
 * caller may read (a plain user's: only those their own sync fetched). A target in another tenant,
 * or not in the cache, gets no label: the id stays, and the record's own view names the crossing.
 */
export function referenceLabels(
  raw: Raw,
  catalog: Catalog,
  q: { company: string; resource: string; rows: Array<{ fields: Record<string, unknown> }>; seenBy?: string },
): { labels: Record<string, Record<string, string>>; crossing: Record<string, string[]> } {
  const res = catalog.resources.find((r) => r.name === q.resource);
  if (!res || !q.rows.length) return { labels: {}, crossing: {} };
  const derived = res.derivation.kind === 'owner' || res.derivation.kind === 'parent' ? res.derivation.field : null;
  const targets = new Map<string, string>(res.references.map((r) => [r.field, r.resource]));
  if (res.derivation.kind === 'owner' && !targets.has(res.derivation.field)) targets.set(res.derivation.field, catalog.users);
  if (res.derivation.kind === 'parent' && !targets.has(res.derivation.field)) targets.set(res.derivation.field, res.derivation.resource);
  const out: Record<string, Record<string, string>> = {};
  const crossing: Record<string, string[]> = {};
  for (const [field, target] of targets) {
    const ids = [...new Set(q.rows.map((r) => r.fields[field]).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number'))].map(
      String,
    );
    if (!ids.length) continue;
    const labels = labelsIn(raw, catalog, { company: q.company, resource: target, ids, seenBy: q.seenBy });
    if (Object.keys(labels).length) out[field] = labels;
    // a reference into another company keeps its warning: ids found only in another tenant's rows
    // (what the record panel says too; its company's name is not given here). The owner or parent
    // the row's company comes from cannot cross.
    const unnamed = ids.filter((id) => !(id in labels));
    if (field === derived || !unnamed.length) continue;
    const elsewhere = raw
      .prepare(
        `SELECT DISTINCT id FROM records WHERE resource = @resource AND deleted = 0 AND id IN (SELECT value FROM json_each(@ids))
         AND company_id NOT IN (@company, '${UNASSIGNED}', '${OUTSIDE}')
         AND id NOT IN (SELECT id FROM records WHERE company_id = @company AND resource = @resource AND id IN (SELECT value FROM json_each(@ids)))`,
      )
      .pluck()
      .all({ resource: target, ids: JSON.stringify(unnamed), company: q.company }) as string[];
    if (elsewhere.length) crossing[field] = elsewhere;
  }
  return { labels: out, crossing };
}

/** The labels of these records of one resource in one tenant, among the rows the caller may read (a plain user: their own sync's). */
export function labelsIn(raw: Raw, catalog: Catalog, q: { company: string; resource: string; ids: string[]; seenBy?: string }): Record<string, string> {
  if (!q.ids.length) return {};
  const labelField = catalog.resources.find((r) => r.name === q.resource)?.labelField;
  const found = raw
    .prepare(
      `SELECT id, payload FROM records WHERE company_id = @company AND resource = @resource AND deleted = 0
       AND id IN (SELECT value FROM json_each(@ids)) ${q.seenBy !== undefined ? `AND ${SEEN}` : ''}`,
    )
    .all({ company: q.company, resource: q.resource, ids: JSON.stringify(q.ids), seenBy: q.seenBy }) as Array<{ id: string; payload: string }>;
  const labels: Record<string, string> = {};
  for (const r of found) {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(r.payload) as Record<string, unknown>;
    } catch {
      continue;
    }
    const label = labelOf(payload, labelField);
    if (label) labels[r.id] = label;
  }
  return labels;
}
