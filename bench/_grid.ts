/** What bench/grid and the grid's end-to-end test share: Globex's calls written into a cache as a sync would leave them, and the Data view opened on them. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { openCache } from '../src-main/cache/cacheDb.ts';
import type { BenchCrm } from './_crm.ts';

/** the from_number of the i-th call written: a marker found in that row alone */
export const callMarker = (i: number) => `+1555${String(i).padStart(7, '0')}`;

/** Globex's id and its users' in the CRM's database */
export async function globexOf(crm: BenchCrm): Promise<{ globex: string; users: string[] }> {
  const db = new pg.Client({ connectionString: crm.databaseUrl });
  await db.connect();
  try {
    const globex = (await db.query(`SELECT id FROM companies WHERE slug = 'globex'`)).rows[0].id as string;
    const users = (await db.query(`SELECT id FROM users WHERE company_id = $1`, [globex])).rows.map((r) => r.id as string);
    return { globex, users };
  } finally {
    await db.end();
  }
}

/** `n` calls of `company` into the cache at `path`, the i-th updated i seconds after 2026-01-01 (so the newest first is the last written) */
export async function writeCachedCalls(path: string, company: string, users: string[], n: number) {
  const cache = await openCache(path);
  const insert = cache.raw
    .prepare(`INSERT INTO records (company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company)
    VALUES (?, 'calls', ?, ?, 0, ?, 'super@tenantscope.test', '/api/calls?limit=1000', ?, 0, NULL)`);
  const epoch = Date.parse('2026-01-01T00:00:00Z');
  const write = cache.raw.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = randomUUID();
      const at = new Date(epoch + i * 1000).toISOString();
      insert.run(
        company,
        id,
        at,
        JSON.stringify({
          id,
          user_id: users[i % users.length],
          contact_id: null,
          direction: i % 3 ? 'outbound' : 'inbound',
          from_number: callMarker(i),
          to_number: `+1666${String(i % 9973).padStart(7, '0')}`,
          duration_seconds: i % 3600,
          status: 'completed',
          recording_url: null,
          notes: `call ${i} about the renewal`,
          created_at: at,
          updated_at: at,
          deleted_at: null,
        }),
        at,
      );
    }
  });
  for (let i = 0; i < n; i += 50_000) write(i, Math.min(n, i + 50_000));
  cache.raw
    .prepare(`INSERT OR REPLACE INTO sync_state (company_id, resource, rows, pages, last_finished_at) VALUES (?, 'calls', ?, 0, ?)`)
    .run(company, n, new Date().toISOString());
  cache.raw.exec('ANALYZE');
  await cache.close();
}

/** The host's page signed in to the "bench" connection as its super admin, with Globex's calls the Data view's resource. */
export async function openDataView(page: Page, url: string, globex: string) {
  // tsx keeps function names with a __name helper, which the functions sent to the page would call
  await page.addInitScript('window.__name = (f) => f');
  await page.goto(url);
  await page.locator('[data-app-state="signed-out"], [data-app-state="ready"]').waitFor({ timeout: 60_000 });
  // the host starts the demo CRM beside it (cluster made and seeded, seconds of both cores): measured by bench/startup, waited for here
  await page.waitForFunction(
    async () => {
      const r = await fetch('/api/call/demo:status', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((x) => x.json());
      return !r.ok || r.value.state !== 'starting';
    },
    undefined,
    { timeout: 120_000, polling: 500 },
  );
  await page.evaluate(async (company) => {
    const tab = sessionStorage.getItem('tenantscope.window') ?? '';
    const post = (c: string, body: unknown) =>
      fetch(`/api/call/${c}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenantscope-window': tab }, body: JSON.stringify(body) });
    await post('session:signIn', { connection: 'bench', username: 'super@tenantscope.test', password: 'demo' });
    await post('tenants:select', { companyId: company });
    localStorage.setItem('tenantscope.data.resource', 'calls');
  }, globex);
  await page.reload();
  await page.locator('[data-app-state="ready"]').waitFor({ timeout: 60_000 });
}
