import { createHash } from 'node:crypto';
import type { Resource } from '../../src-shared/catalog.ts';
import type { Proof } from '../../src-shared/contract/sync.ts';
import { Latest } from '../../src-shared/instant.ts';
import { ALL, UNASSIGNED } from '../../src-shared/partitions.ts';
import { AppError } from '../../src-shared/result.ts';
import { stateKeyOf } from '../cache/cacheDb.ts';
import { CrmClient } from '../crm/crmClient.ts';
import { pagesOf } from '../crm/paging.ts';
import type { ProofDeps, SyncIdentity, SyncTenant } from './kit.ts';

const now = () => new Date().toISOString();

type ManifestRow = { id: string; updated: string | null; record: unknown };
/** a cached row, with whose listing fetched it */
type CachedRow = ManifestRow & { fetchedBy: string };

/**
 * What differs between the server's rows and the cache's, by id: on the server only (missing
 * here), in the cache only (extra), or in both with another updated_at (or content, undated).
 */
function rowDiff(server: ManifestRow[], local: CachedRow[]): NonNullable<Proof['diff']> & { extraFrom: string[] } {
  const token = (r: ManifestRow, byContent: boolean) => (byContent ? createHash('sha256').update(canonical(r.record)).digest('hex') : (r.updated ?? ''));
  const byContent = [...server, ...local].every((r) => r.updated === null);
  const here = new Map(local.map((r) => [r.id, r]));
  const there = new Map(server.map((r) => [r.id, r]));
  const missing = [...there.keys()].filter((id) => !here.has(id)).sort();
  const extra = [...here.keys()].filter((id) => !there.has(id)).sort();
  const changed = [...there.values()]
    .filter((r) => here.has(r.id) && token(r, byContent) !== token(here.get(r.id)!, byContent))
    .map((r) => r.id)
    .sort();
  // whose listings brought the rows the server's lacks
  const extraFrom = [...new Set(extra.map((id) => here.get(id)!.fetchedBy))].sort();
  return {
    missing: missing.slice(0, 20),
    extra: extra.slice(0, 20),
    changed: changed.slice(0, 20),
    counts: { missing: missing.length, extra: extra.length, changed: changed.length },
    extraFrom,
  };
}

/** A drifted proof in words, with its likely cause. */
function driftWhy(p: Pick<Proof, 'local' | 'server' | 'by' | 'diff' | 'basis'>, extraFrom: string[] = []): string {
  if (!p.server) return 'The server could not be read.';
  if (!p.diff) {
    return `The cache holds ${p.local.count} rows and the CRM's manifest says ${p.server.count}${p.local.count === p.server.count ? ', with other contents' : ''}. A manifest gives counts and a hash, not ids: sync again to bring the cache up to date.`;
  }
  const { counts } = p.diff;
  const parts = [
    counts.missing ? `${counts.missing} on the server that the cache lacks (new since the last sync)` : '',
    counts.extra ? `${counts.extra} in the cache that the server did not list to ${p.by ?? 'this identity'}` : '',
    counts.changed ? `${counts.changed} changed on the server since they were cached` : '',
  ].filter(Boolean);
  const wider = extraFrom.filter((who) => who !== p.by);
  const cause =
    counts.extra && wider.length
      ? ` The extra rows were fetched by ${wider.join(', ')}: ${p.by}'s listing is narrower, which is not a deletion on the server. Prove as the identity that synced them to compare like with like.`
      : counts.extra
        ? ' They were deleted on the server, or are no longer listed to anyone: a sync by updated_since does not see a deletion unless the CRM has a deletions feed; evict the partition and sync it again to list it afresh.'
        : ' Sync again to bring the cache up to date.';
  return `Rows by id: ${parts.join('; ')}.${cause}`;
}

/** A record as text that does not depend on its keys' order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/**
 * One manifest line a row: its id and updated_at, or (a resource with no updated_at) its id and a
 * digest of the whole record, so that a changed row shows without a timestamp to say so.
 */
function manifestOf(
  rows: Array<{ id: string; updated: string | null; record: unknown }>,
  contentWhenUndated = true,
): { count: number; latest: string | null; hash: string } {
  // TenantScope's manifest protocol hashes id|updated_at lines whatever they hold; a relist can do better
  const byContent = contentWhenUndated && rows.length > 0 && rows.every((r) => r.updated === null);
  const lines = rows.map((r) => `${r.id}|${byContent ? createHash('sha256').update(canonical(r.record)).digest('hex') : (r.updated ?? '')}`).sort();
  const hash = createHash('sha256');
  for (const l of lines) hash.update(l + '\n');
  const latest = new Latest();
  for (const r of rows) if (r.updated) latest.offer(r.updated);
  return { count: rows.length, latest: latest.value, hash: hash.digest('hex') };
}

/**
 * The proof that the cache holds what the CRM serves: each synced resource of a tenant compared
 * with the server, by the CRM's manifest when it has one, else by listing it afresh; a drift
 * shown by id where the ids are known, with its likely cause. Proofs are kept in sync_state.
 */
export class Prover {
  constructor(private readonly svc: ProofDeps) {}

  /** The cache's summary of one partition and resource, in the manifest's terms. */
  localManifest(company: string, resource: string, basis: 'manifest' | 'relist' = 'manifest'): { count: number; latest: string | null; hash: string } {
    return manifestOf(this.localRows(company, resource), basis === 'relist');
  }

  /** a resource's cached rows of a company; a plain user's: the ones their own sync was given */
  private localRows(company: string, resource: string, seenBy?: string): CachedRow[] {
    const rows = this.svc.cache.raw
      .prepare(
        `SELECT id, updated_at, payload, fetched_by FROM records WHERE company_id = @company AND resource = @resource AND deleted = 0
      ${seenBy !== undefined ? 'AND rid IN (SELECT rid FROM record_seen_by WHERE identity = @seenBy)' : ''}`,
      )
      .all({ company, resource, seenBy }) as Array<{ id: string; updated_at: string | null; payload: string; fetched_by: string }>;
    return rows.map((r) => ({
      id: r.id,
      updated: r.updated_at,
      fetchedBy: r.fetched_by,
      get record() {
        return JSON.parse(r.payload) as unknown;
      },
    }));
  }

  /**
   * The server's side of a proof without a manifest endpoint: the resource listed afresh (through
   * its parents when nested), each row placed as a sync would place it, the tenant's rows kept.
   */
  private async relistManifest(
    identity: SyncIdentity,
    tenant: SyncTenant,
    resource: Resource,
  ): Promise<{ count: number; latest: string | null; hash: string; rows: ManifestRow[] }> {
    const list = resource.endpoints.list!;
    const paging = this.svc.profile.paging;
    const derive = this.svc.deriver();
    const updatedField = this.svc.profile.incremental?.updatedAtField ?? 'updated_at';
    const filtered = identity.role === 'super_admin' && !!this.svc.profile.sync.tenantParam && tenant.id !== ALL;
    const d = resource.derivation;
    const sources: Array<{ url: string; parent?: string }> = [];
    if (/\{[^}]+\}/.test(list)) {
      if (d.kind !== 'parent') return { ...manifestOf([]), rows: [] };
      const parents = this.svc.cache.raw
        .prepare('SELECT id FROM records WHERE company_id = ? AND resource = ? AND deleted = 0')
        .pluck()
        .all(tenant.id, d.resource) as string[];
      for (const id of parents) sources.push({ url: CrmClient.fillPath(list, { [d.field]: id }), parent: id });
    } else sources.push({ url: list });
    const rows: Array<{ id: string; updated: string | null; record: unknown }> = [];
    for (const source of sources) {
      const get = (url: string, params: Record<string, string | number>) => this.svc.fetchJson(identity, url, params, undefined, () => {});
      for await (const { items } of pagesOf(paging, this.svc.profile.baseUrl, source.url, get, {
        size: paging.maxLimit,
        query: filtered ? { [this.svc.profile.sync.tenantParam!]: tenant.id } : {},
      })) {
        for (const raw of items) {
          if (!raw || typeof raw !== 'object') continue;
          const item =
            source.parent && (raw as Record<string, unknown>)[(d as { field: string }).field] === undefined
              ? ({ ...(raw as object), [(d as { field: string }).field]: source.parent } as Record<string, unknown>)
              : (raw as Record<string, unknown>);
          const derived = derive(resource, item);
          const company = derived.company ?? (derived.outside ? (filtered ? tenant.id : source.parent ? tenant.id : null) : null) ?? UNASSIGNED;
          if (company !== tenant.id) continue;
          const updated = item[updatedField];
          rows.push({ id: String(item[resource.idField]), updated: typeof updated === 'string' ? updated : null, record: item });
        }
      }
    }
    return { ...manifestOf(rows), rows };
  }

  /**
   * Compares each synced resource of a tenant with the server: by the CRM's manifest when it has
   * one, else by listing it afresh; each proof says which it rests on.
   */
  async prove(identity: SyncIdentity, tenant: SyncTenant): Promise<Proof[]> {
    const out: Proof[] = [];
    const manifest = this.svc.profile.sync.manifestPath;
    // resources synced for this tenant, or in a sync of every tenant at once ('*')
    const resources = (
      this.svc.cache.raw
        .prepare(
          `SELECT DISTINCT resource FROM sync_state WHERE company_id IN (?, '${ALL}') AND cursor IS NULL AND last_finished_at IS NOT NULL ORDER BY resource`,
        )
        .all(tenant.id) as Array<{ resource: string }>
    ).map((r) => r.resource);
    // a plain user proves what their own sync was given, and keeps the proof apart from the company's
    const seenBy = identity.role === 'user' ? identity.email : undefined;
    for (const resource of resources) {
      const cached = this.localRows(tenant.id, resource, seenBy);
      let server: Proof['server'] = null;
      let basis: Proof['basis'];
      let serverRows: ManifestRow[] | null = null;
      if (manifest) {
        const params: Record<string, string> = { resource };
        if (this.svc.profile.sync.tenantParam && identity.role === 'super_admin') params[this.svc.profile.sync.tenantParam] = tenant.id;
        const res = await this.svc
          .fetchJson(identity, manifest, params, undefined, () => {})
          .catch((e) => {
            if (e instanceof AppError && e.code === 'bad-response') return null; // no manifest for this resource: relisted below
            throw e;
          });
        if (res) {
          const d = res.data as { count?: number; latest_updated_at?: string | null; hash?: string };
          server = { count: Number(d.count), latest: d.latest_updated_at ?? null, hash: d.hash ?? null };
          basis = 'manifest';
        }
      }
      const def = this.svc.profile.catalog.resources.find((r) => r.name === resource);
      if (!server && def?.endpoints.list) {
        const relisted = await this.relistManifest(identity, tenant, def);
        serverRows = relisted.rows;
        server = { count: relisted.count, latest: relisted.latest, hash: relisted.hash };
        basis = 'relist';
      }
      // a relist compares whole records where there is no updated_at; a manifest, id|updated_at lines
      const local = manifestOf(cached, basis === 'relist');
      // counts only: a manifest without a hash
      const status: Proof['status'] = !server
        ? 'counts-only'
        : server.hash === null
          ? server.count === local.count
            ? 'counts-only'
            : 'drifted'
          : server.hash === local.hash && server.count === local.count
            ? 'in-sync'
            : 'drifted';
      // a plain user is told of their own listing only, never of who else fetched the company's rows
      const cachedBy = seenBy !== undefined ? [seenBy] : [...new Set(cached.map((r) => r.fetchedBy))].sort();
      const proof: Proof = { tenant: tenant.id, resource, status, ...(basis ? { basis } : {}), local, server, asOf: now(), by: identity.email, cachedBy };
      if (status === 'drifted') {
        let extraFrom: string[] = [];
        if (serverRows) {
          const { extraFrom: from, ...diff } = rowDiff(serverRows, cached);
          proof.diff = diff;
          if (seenBy === undefined) extraFrom = from; // (a plain user's own rows: nobody else's listing to name)
        }
        proof.why = driftWhy(proof, extraFrom);
      }
      this.svc.cache.raw
        .prepare(
          'INSERT INTO sync_state (company_id, resource, proof) VALUES (?, ?, ?) ON CONFLICT (company_id, resource) DO UPDATE SET proof = excluded.proof',
        )
        .run(stateKeyOf(identity, tenant.id), resource, JSON.stringify(proof));
      out.push(proof);
    }
    return out;
  }

  /** The proofs kept in the cache for a tenant (the last one of each resource), whatever session made them. */
  proofs(tenantId: string, who?: { role: string; email: string }): Proof[] {
    const key = who ? stateKeyOf(who, tenantId) : tenantId;
    return (
      this.svc.cache.raw.prepare('SELECT proof FROM sync_state WHERE company_id = ? AND proof IS NOT NULL ORDER BY resource').pluck().all(key) as string[]
    ).map((p) => JSON.parse(p) as Proof);
  }
}
