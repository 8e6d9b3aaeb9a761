import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { openCache, type OpenCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { SyncService } from '../../src-main/sync/syncService.ts';
import { acceptFinding, runAudit } from '../../src-main/audit/auditService.ts';
import { auditHtml, auditMarkdown } from '../../src-shared/reports/audit.ts';
import { toMarkdown } from '../../src-shared/reports/isolation.ts';
import { markdownToSafeHtml } from '../../src-shared/markdown.ts';

/** Values a hostile CRM (or a person accepting a finding) can put in a report. */
const HOSTILE = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(2)</script>',
  'a`<b>`c',
  '```\n<script>alert(3)</script>',
  '[click](javascript:alert(4))',
  '![x](http://evil.example/beacon)',
  'pipe | in | it',
];

/** Every tag in the page, and every attribute that would run code or fetch something. */
function tagsOf(html: string): { tags: Set<string>; handlers: string[]; hrefs: string[] } {
  const tags = new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase()));
  const handlers = [...html.matchAll(/<[^>]*\s(on\w+)\s*=/gi)].map((m) => m[1]!);
  const hrefs = [...html.matchAll(/\s(?:href|src)\s*=\s*"([^"]*)"/gi)].map((m) => m[1]!);
  return { tags, handlers, hrefs };
}
const ALLOWED = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'h1',
  'h2',
  'h3',
  'h4',
  'p',
  'ul',
  'ol',
  'li',
  'strong',
  'em',
  'code',
  'pre',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'br',
  'hr',
  'blockquote',
  'del',
]);

let dir: string;
let cache: OpenCache;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tenantscope-reports-'));
  cache = await openCache(join(dir, 'c.sqlite'));
});
afterAll(async () => {
  await cache?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("reports built from a hostile CRM's values", () => {
  it('the HTML audit report shows ids, names and reasons as text: no tag, handler, script link or image of theirs', async () => {
    const profile = ConnectionProfileSchema.parse({
      version: 1,
      name: 'hostile',
      baseUrl: 'http://127.0.0.1:9',
      auth: { kind: 'token' },
      whoami: { path: '/me' },
      catalog: {
        users: 'users',
        resources: [
          {
            name: 'users',
            endpoints: { list: '/users' },
            table: 'users',
            companyField: 'company_id',
            class: 'tenant',
            derivation: { kind: 'own', field: 'company_id' },
            priority: null,
          },
          {
            name: 'calls',
            endpoints: { list: '/calls' },
            table: 'calls',
            companyField: null,
            class: 'tenant',
            derivation: { kind: 'owner', field: 'user_id' },
            priority: 'HIGH',
          },
        ],
      },
    });
    const sync = new SyncService(cache, profile, new EventBus());
    const runId = Number(
      cache.raw.prepare("INSERT INTO sync_runs (started_at, identity, tenants) VALUES ('2026-01-01', 'root', '[\"*\"]')").run().lastInsertRowid,
    );
    const calls = profile.catalog.resources.find((r) => r.name === 'calls')!;
    // rows with no owner: orphans, each named by its id in the finding's evidence
    sync.ingest(
      { email: 'root', role: 'super_admin', companyId: null, token: () => 't', refresh: async () => 't' },
      calls,
      HOSTILE.map((id) => ({ id, user_id: null, note: id })),
      '/calls?<script>',
      runId,
    );
    let audit = runAudit(cache.raw, profile.catalog);
    const orphans = audit.findings.find((f) => f.check === 'orphans')!;
    expect(orphans.evidence.ids).toEqual(expect.arrayContaining(HOSTILE.slice(0, 5)));
    acceptFinding(cache.raw, orphans.id, '<img src=x onerror=alert(5)> [me](javascript:alert(6))', 'admin<script>@x');
    audit = runAudit(cache.raw, profile.catalog);

    const html = auditHtml(audit, 'hostile');
    const { tags, handlers, hrefs } = tagsOf(html);
    expect([...tags].filter((t) => !ALLOWED.has(t))).toEqual([]);
    expect(handlers).toEqual([]);
    expect(hrefs.filter((h) => !/^(https?:|mailto:|#)/.test(h))).toEqual([]);
    expect(html).not.toContain('evil.example/beacon"');
    // and the values are there, readable
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(5)&gt;');
    // the Markdown keeps every id inside its code span (a backtick in it cannot close the span)
    const md = auditMarkdown(audit, 'hostile');
    expect(md).toContain('```` ``` <script>alert(3)</script> ````');
  });

  it("the isolation report's Markdown table keeps one row a resource, whatever its name holds", () => {
    const report = {
      runId: 1,
      readOnly: false,
      owner: 'Acme admin',
      identities: ['Globex | user'],
      resources: ['calls | x', '<b>notes</b>'],
      results: [
        {
          resource: 'calls | x',
          identity: 'Globex | user',
          operation: 'read' as const,
          verdict: 'leak' as const,
          detail: '<img src=x onerror=alert(1)>',
          evidence: [{ request: 'GET /calls/`x`', status: 200, excerpt: '' }],
        },
      ],
      counts: { leak: 1, suspect: 0, 'exists-oracle': 0, error: 0, enforced: 0, skipped: 0 },
      cleanup: { removed: 1, leftover: [] },
      complete: true,
      seconds: 1,
      overhead: 0,
      requests: 1,
    };
    const md = toMarkdown(report);
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    // header, the two resources and the total: each with 1 + 6 cells
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length - 2, row).toBe(7);
    const { tags, handlers } = tagsOf(markdownToSafeHtml(md));
    expect([...tags].filter((t) => !ALLOWED.has(t))).toEqual([]);
    expect(handlers).toEqual([]);
  });
});
