import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type OpenCache } from '../../src-main/cache/cacheDb.ts';
import { refsTo } from '../../src-main/cache/queries/records.ts';

// A record's "referenced by" in the Data view's detail (cache/queries/records.ts refsTo): a company
// admin is shown their own company's rows that point at it, the first 50 of them, however many
// rows of other companies point at it too; a super admin every company's.

const A = 'company-a';
const B = 'company-b';

let dir: string;
let cache: OpenCache;
let contact: number;

function insert(c: OpenCache, company: string, resource: string, id: string): number {
  return Number(
    c.raw
      .prepare(
        `INSERT INTO records (company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at) VALUES (?, ?, ?, '2026-01-01', 0, '{}', 'a@x', '/api', '2026-01-01')`,
      )
      .run(company, resource, id).lastInsertRowid,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tenantscope-refs-'));
  cache = await openCache(join(dir, 'c.sqlite'));
  cache.raw.transaction(() => {
    contact = insert(cache, A, 'contacts', 'contact-1');
    const ref = cache.raw.prepare(
      `INSERT INTO refs (company_id, rid, field, target_resource, target_id, resource) VALUES (?, ?, 'contact_id', 'contacts', 'contact-1', 'calls')`,
    );
    // 60 of another company's calls point at Acme's contact (their ids sort first), and 3 of its own
    for (let i = 0; i < 60; i++) ref.run(B, insert(cache, B, 'calls', `call-b-${String(i).padStart(2, '0')}`));
    for (let i = 0; i < 3; i++) ref.run(A, insert(cache, A, 'calls', `call-z-${i}`));
  })();
});
afterAll(async () => {
  await cache.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the rows that point at a record', () => {
  it("are a company admin's own company's, all of them, whatever other companies' rows come first", () => {
    const own = refsTo(cache.raw, contact, { company: A });
    expect(own.map((r) => r.id)).toEqual(['call-z-0', 'call-z-1', 'call-z-2']);
    expect(new Set(own.map((r) => r.company_id))).toEqual(new Set([A]));
  });

  it("are every company's for a super admin, the first 50", () => {
    const all = refsTo(cache.raw, contact);
    expect(all).toHaveLength(50);
    expect(all[0]).toEqual({ resource: 'calls', id: 'call-b-00', company_id: B, field: 'contact_id' });
  });
});
