import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src-main/core/home.ts';
import { discover, checkDrift } from '../../src-main/catalog/catalogService.ts';
import { readOpenapi } from '../../src-main/catalog/openapiDiscovery.ts';
import { readDatabase } from '../../src-main/catalog/databaseDiscovery.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import type { Resource } from '../../src-shared/catalog.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { otherCrmProfile, startOtherCrm, type OtherCrm } from '../support/otherCrm.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { SyncService } from '../../src-main/sync/syncService.ts';

const shipped = ConnectionProfileSchema.parse(JSON.parse(readFileSync(join(projectRoot, 'profiles', 'reference-crm.json'), 'utf8')));

describe('discovery against the reference CRM', () => {
  let crm: TestCrm;
  beforeAll(async () => {
    crm = await startTestCrm();
  });
  afterAll(() => crm?.close());

  it('yields the shipped catalog, field by field; where it guesses otherwise it says so', async () => {
    const { catalog, tenantsPath } = await discover({ url: crm.url, databaseUrl: crm.databaseUrl });
    expect(tenantsPath).toBe(shipped.tenants?.listPath);
    expect(catalog.users).toBe(shipped.catalog.users);
    expect(catalog.resources.map((r) => r.name)).toEqual(shipped.catalog.resources.map((r) => r.name));
    expect(catalog.resources).toHaveLength(32);
    for (const found of catalog.resources) {
      const ship = shipped.catalog.resources.find((r) => r.name === found.name)!;
      for (const field of ['endpoints', 'updateMethod', 'table', 'idField', 'companyField', 'class', 'derivation', 'references', 'bodyTemplate'] as const) {
        expect(found[field], `${found.name}.${field}`).toEqual(ship[field]);
      }
      if (found.priority !== ship.priority)
        expect(
          found.uncertain.some((u) => u.startsWith('priority:')),
          `${found.name}.priority`,
        ).toBe(true);
      expect(ship.uncertain).toEqual([]);
    }
    // the seed's own counts, measured: 11 with company_id, 21 without (11 HIGH, 7 MEDIUM, 3 LOW)
    const by = (p: string | null) => shipped.catalog.resources.filter((r) => r.priority === p).length;
    expect([by(null), by('HIGH'), by('MEDIUM'), by('LOW')]).toEqual([11, 11, 7, 3]);
  });

  it('reports drift when a table gains company_id and when the saved catalog misses an endpoint', async () => {
    const saved = { ...shipped.catalog, resources: shipped.catalog.resources.filter((r) => r.name !== 'inbox') };
    await crm.pool.query('ALTER TABLE calls ADD COLUMN company_id uuid REFERENCES companies(id)');
    try {
      const { drift } = await checkDrift(saved, { url: crm.url, databaseUrl: crm.databaseUrl });
      expect(drift.find((d) => d.resource === 'inbox')).toMatchObject({ change: 'added' });
      expect(drift.find((d) => d.resource === 'calls' && d.field === 'company')).toMatchObject({
        change: 'changed',
        message: 'calls gained its company_id column',
      });
    } finally {
      await crm.pool.query('ALTER TABLE calls DROP COLUMN company_id');
    }
  });

  it('without a database it still finds every resource, and marks the table and guesses to confirm', async () => {
    const { catalog } = await discover({ url: crm.url });
    expect(catalog.resources).toHaveLength(32);
    const sigs = catalog.resources.find((r) => r.name === 'documents_signatures')!;
    expect(sigs.derivation).toEqual({ kind: 'parent', field: 'document_id', resource: 'documents' });
    expect(sigs.uncertain.some((u) => u.startsWith('table:'))).toBe(true);
    expect(catalog.resources.find((r) => r.name === 'calls')!.derivation).toEqual({ kind: 'owner', field: 'user_id' });
  });
});

describe('discovery against a differently shaped CRM', () => {
  let other: OtherCrm;
  beforeAll(async () => {
    other = await startOtherCrm();
  });
  afterAll(() => other?.close());

  it('finds its resources, company field, owners, nested children and the tenants collection', async () => {
    const { catalog, tenantsPath } = await discover({ url: other.url, databaseUrl: other.databaseUrl, itemsField: 'results' });
    expect(tenantsPath).toBe('/v2/orgs');
    expect(catalog.users).toBe('members');
    const r = Object.fromEntries(catalog.resources.map((x) => [x.name, x])) as Record<string, Resource>;
    expect(Object.keys(r).sort()).toEqual(['kb_articles', 'members', 'notes', 'ticket_comments', 'tickets']);
    expect(r.tickets).toMatchObject({
      companyField: 'org_id',
      class: 'tenant',
      derivation: { kind: 'own', field: 'org_id' },
      priority: null,
      updateMethod: 'PATCH',
    });
    expect(r.tickets!.endpoints).toEqual({
      list: '/v2/tickets',
      create: '/v2/tickets',
      get: '/v2/tickets/{ticketId}',
      update: '/v2/tickets/{ticketId}',
      delete: '/v2/tickets/{ticketId}',
    });
    expect(r.ticket_comments).toMatchObject({ derivation: { kind: 'parent', field: 'ticket_id', resource: 'tickets' }, class: 'tenant' });
    expect(r.ticket_comments!.endpoints.list).toBe('/v2/tickets/{ticketId}/comments');
    expect(r.notes).toMatchObject({ derivation: { kind: 'owner', field: 'author_id' }, class: 'user-owned' });
    expect(r.kb_articles).toMatchObject({ derivation: { kind: 'none' }, class: 'global' });
    expect(r.kb_articles!.uncertain.some((u) => u.startsWith('derivation:'))).toBe(true);
  });

  it('gives a catalog the console can page through and create with (offset paging, nested paths, other sign-in)', async () => {
    const { catalog } = await discover({ url: other.url, databaseUrl: other.databaseUrl, itemsField: 'results' });
    const profile = otherCrmProfile(other, catalog);
    const client = new CrmClient(profile);
    const { token } = await client.signIn('ada', 'pw');
    expect((await client.whoami(token)).role).toBe('company_admin');
    const tickets = catalog.resources.find((x) => x.name === 'tickets')!;
    const seen: unknown[] = [];
    for await (const page of client.listPages(tickets, token)) seen.push(...page);
    const expected = Number((await other.pool.query('SELECT count(*) FROM tickets WHERE org_id = 1')).rows[0].count);
    expect(seen).toHaveLength(expected);
    expect(new Set(seen.map((t: any) => t.id)).size).toBe(expected);
    // create a comment under one of those tickets from the body template
    const comments = catalog.resources.find((x) => x.name === 'ticket_comments')!;
    const body = JSON.parse(JSON.stringify(comments.bodyTemplate).replace(/\{\{marker\}\}/g, 'm-1'));
    const parent = String((seen[0] as any).id);
    const created = await client.create(comments, token, body, { [comments.derivation.kind === 'parent' ? comments.derivation.field : 'x']: parent });
    expect(created.status).toBe(201);
    expect((created.data as any).ticket_id).toBe(Number(parent));
    const listed: any[] = [];
    for await (const page of client.listPages(comments, token, { pathParams: { ticket_id: parent } })) listed.push(...page);
    expect(listed.map((c) => c.body)).toContain('TenantScope canary m-1');
  });
});

describe('the discovered catalog drives a sync of the differently shaped CRM', () => {
  it("syncs its org's tickets, and the comments nested under them, into the org's partition", async () => {
    const other = await startOtherCrm();
    try {
      const { catalog } = await discover({ url: other.url, databaseUrl: other.databaseUrl, itemsField: 'results' });
      const profile = otherCrmProfile(other, catalog);
      const client = new CrmClient(profile);
      let token = (await client.signIn('ada', 'pw')).token;
      const cache = await openCache(join(mkdtempSync(join(tmpdir(), 'tenantscope-other-')), 'c.sqlite'));
      const sync = new SyncService(cache, profile, new EventBus());
      const report = await sync.run(
        { email: 'ada', role: 'company_admin', companyId: '1', token: () => token, refresh: async () => (token = (await client.signIn('ada', 'pw')).token) },
        [{ id: '1', name: 'Umbrella' }],
      );
      const byResource = Object.fromEntries(report.outcomes.map((o) => [o.resource, o]));
      expect(byResource.tickets).toMatchObject({ status: 'synced' });
      expect(byResource.ticket_comments).toMatchObject({ status: 'synced' });
      const count = (resource: string) =>
        (cache.raw.prepare("SELECT count(*) AS n FROM records WHERE company_id = '1' AND resource = ? AND deleted = 0").get(resource) as { n: number }).n;
      const db = async (q: string) => Number((await other.pool.query(q)).rows[0].n);
      expect(count('tickets')).toBe(await db('SELECT count(*) AS n FROM tickets WHERE org_id = 1'));
      expect(count('ticket_comments')).toBe(await db('SELECT count(*) AS n FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE t.org_id = 1'));
      // this CRM lists notes unscoped: Bob's note (Hooli) comes back to Ada, whose cache knows no Hooli member
      const bobNote = String((await other.pool.query("SELECT n.id FROM notes n JOIN members m ON m.id = n.author_id WHERE m.login = 'bob'")).rows[0].id);
      expect(cache.raw.prepare('SELECT resource, id, company_id FROM leaks').all()).toEqual([{ resource: 'notes', id: bobNote, company_id: 'outside' }]);
      expect(report.leaks).toBe(1);
      await cache.close();
    } finally {
      await other.close();
    }
  });
});

describe('bad input to discovery', () => {
  it('a malformed or partial OpenAPI document gets an error naming what is wrong', () => {
    expect(() => readOpenapi('nope')).toThrow(/not a JSON object/);
    expect(() => readOpenapi({ swagger: '2.0', paths: {} })).toThrow(/OpenAPI 2\.0 is not supported/);
    expect(() => readOpenapi({ openapi: '3.1.0' })).toThrow(/no "paths" object/);
    expect(() => readOpenapi({ openapi: '3.1.0', paths: { '/x': { get: {} } } })).toThrow(/describes no collections/);
    expect(() =>
      readOpenapi({
        openapi: '3.1.0',
        paths: {
          '/x': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Missing' } } } } } },
          '/x/{id}': { get: {} },
        },
      }),
    ).toThrow(/refers to #\/components\/schemas\/Missing/);
    expect(() => readOpenapi({ openapi: '3.1.0', paths: { '/x': 5 } })).toThrow(/path "\/x" is not an object/);
  });

  it('an unreachable database or a wrong password is said so', async () => {
    await expect(readDatabase('postgres://u:p@127.0.0.1:1/db')).rejects.toThrow(/Cannot open the CRM's database/);
    const url = new URL((await import('vitest')).inject('pgAdminUrl'));
    url.password = 'definitely-wrong';
    await expect(readDatabase(url.toString())).rejects.toMatchObject({ code: 'bad-credentials' });
  });

  it('a profile with wrong types gets errors that name the field and what was expected', () => {
    const bad = ConnectionProfileSchema.safeParse({
      ...shipped,
      paging: { kind: 'offset', maxLimit: 'ten' },
      catalog: { resources: [{ ...shipped.catalog.resources[0], class: 'shared', derivation: { kind: 'parent', field: 'x' } }] },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['paging.maxLimit', 'catalog.resources.0.class', 'catalog.resources.0.derivation.resource']));
  });
});
