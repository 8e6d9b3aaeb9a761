import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../../src-crm/models.ts';
import { legacyProfile, fixedProfile, type EnforcementProfile } from '../../src-crm/enforcement.ts';
import { startTestCrm, rowOf, type TestCrm } from '../support/crm.ts';

/** Every page of a list endpoint as one caller. */
async function listAll(crm: TestCrm, token: string, path: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r = await crm.call(token, 'GET', `${path}${sep}limit=50${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
    items.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  return items;
}

/** A column we can overwrite with a marker to see whether an update landed. */
async function writableColumn(crm: TestCrm, table: string): Promise<{ column: string; marker: string | number }> {
  const { rows } = await crm.pool.query(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 AND data_type IN ('text', 'integer')
     AND column_name NOT IN ('email', 'role', 'password_hash', 'slug') ORDER BY data_type DESC, ordinal_position LIMIT 1`,
    [table],
  );
  return { column: rows[0].column_name, marker: rows[0].data_type === 'text' ? `ts-marker-${table}` : 424242 };
}

for (const profile of [legacyProfile(), fixedProfile()] as EnforcementProfile[]) {
  describe(`enforcement profile "${profile.name}": Globex's user against Acme's rows`, () => {
    let crm: TestCrm;
    let globexUser: string;
    beforeAll(async () => {
      crm = await startTestCrm({ profile });
      globexUser = await crm.login('user@globex.test');
    });
    afterAll(() => crm?.close());

    for (const model of MODELS) {
      const rule = profile.rules[model.name]!;
      it(`${model.name}: list ${rule.list}, read ${rule.read}, update ${rule.update}, delete ${rule.delete}`, async () => {
        const acmeId = await rowOf(crm, model.name, 'acme');
        const acmeIds = new Set((await crm.pool.query(`SELECT id FROM ${model.name}`)).rows.map((r: any) => r.id));
        // list: does any of Acme's rows come back?
        const listed = await listAll(crm, globexUser, model.path);
        const leaked = listed.some((item) => item.id === acmeId);
        expect(leaked, 'acme row in globex list').toBe(rule.list === 'none');
        expect(listed.every((i) => acmeIds.has(i.id))).toBe(true);

        // read by id
        const read = await crm.call(globexUser, 'GET', `${model.path}/${acmeId}`);
        expect(read.status).toBe(rule.read === 'none' ? 200 : rule.foreign);
        if (read.status === 200) expect(read.body.id).toBe(acmeId);

        // update by id, then look at the database
        const { column, marker } = await writableColumn(crm, model.name);
        const upd = await crm.call(globexUser, 'PATCH', `${model.path}/${acmeId}`, { [column]: marker });
        const after = (await crm.pool.query(`SELECT ${column} AS v FROM ${model.name} WHERE id = $1`, [acmeId])).rows[0].v;
        if (rule.update === 'none') {
          expect(upd.status).toBe(200);
          expect(after).toBe(marker);
        } else {
          expect(upd.status).toBe(rule.foreign);
          expect(after).not.toBe(marker);
        }

        // delete by id
        const del = await crm.call(globexUser, 'DELETE', `${model.path}/${acmeId}`);
        const deletedAt = (await crm.pool.query(`SELECT deleted_at FROM ${model.name} WHERE id = $1`, [acmeId])).rows[0].deleted_at;
        if (rule.delete === 'none') {
          expect(del.status).toBe(204);
          expect(deletedAt).not.toBeNull();
        } else {
          expect(del.status).toBe(rule.foreign);
          expect(deletedAt).toBeNull();
        }
      });
    }
  });
}

describe('scoping by user, by company, and for special identities', () => {
  let crm: TestCrm;
  beforeAll(async () => {
    crm = await startTestCrm({ profile: 'legacy' });
  });
  afterAll(() => crm?.close());

  it("legacy lists calls by user: a colleague's calls are not listed", async () => {
    const token = await crm.login('user@globex.test');
    const mine = (await crm.pool.query(`SELECT c.id FROM calls c JOIN users u ON u.id = c.user_id WHERE u.email = 'user@globex.test'`)).rows
      .map((r: any) => r.id)
      .sort();
    const listed = (await listAll(crm, token, '/api/calls')).map((c) => c.id).sort();
    expect(listed).toEqual(mine);
  });

  it('the super admin lists every company, or one with ?company_id=', async () => {
    const token = await crm.login('super@tenantscope.test');
    const all = await listAll(crm, token, '/api/contacts');
    expect(all.length).toBe(Number((await crm.pool.query('SELECT count(*) FROM contacts')).rows[0].count));
    const acme = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'acme'`)).rows[0].id;
    const one = await listAll(crm, token, `/api/contacts?company_id=${acme}`);
    expect(one.length).toBeGreaterThan(0);
    expect(one.every((c) => c.company_id === acme)).toBe(true);
    // legacy tables are filtered through the owner
    const calls = await listAll(crm, token, `/api/calls?company_id=${acme}`);
    const expected = Number(
      (await crm.pool.query(`SELECT count(*) FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id = $1`, [acme])).rows[0].count,
    );
    expect(calls.length).toBe(expected);
  });

  it("a user with no company is refused on company-scoped endpoints with the seed's message", async () => {
    const token = await crm.login('nobody@tenantscope.test');
    const r = await crm.call(token, 'GET', '/api/contacts');
    expect(r.status).toBe(403);
    expect(r.body.detail).toBe('No company associated');
    const create = await crm.call(token, 'POST', '/api/contacts', { first_name: 'A', last_name: 'B' });
    expect(create.status).toBe(403);
  });

  it('a company admin asking another company through ?company_id= is refused', async () => {
    const token = await crm.login('admin@acme.test');
    const globex = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'globex'`)).rows[0].id;
    expect((await crm.call(token, 'GET', `/api/contacts?company_id=${globex}`)).status).toBe(403);
  });

  it('system-wide email templates (no owner) are visible to every company', async () => {
    for (const email of ['user@acme.test', 'user@initech.test']) {
      const items = await listAll(crm, await crm.login(email), '/api/emails/templates');
      expect(
        items
          .filter((t) => t.owner_id === null)
          .map((t) => t.name)
          .sort(),
      ).toEqual(['Password reset (system)', 'Welcome (system)']);
    }
  });
});

describe('custom enforcement profiles', () => {
  it('foreign: 403 discloses that a foreign id exists (404 for an unknown one)', async () => {
    const crm = await startTestCrm({ profile: { extends: 'fixed', resources: { deals: { foreign: 403 } } } });
    try {
      const token = await crm.login('user@globex.test');
      const acmeDeal = await rowOf(crm, 'deals', 'acme');
      expect((await crm.call(token, 'GET', `/api/deals/${acmeDeal}`)).status).toBe(403);
      expect((await crm.call(token, 'GET', `/api/deals/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    } finally {
      await crm.close();
    }
  });

  it('create: "token" puts the row in the caller\'s company whatever the body says; "body" trusts the body', async () => {
    for (const mode of ['token', 'body'] as const) {
      const crm = await startTestCrm({ profile: { extends: 'fixed', resources: { contacts: { create: mode } } } });
      try {
        const token = await crm.login('user@globex.test');
        const ids = Object.fromEntries((await crm.pool.query('SELECT slug, id FROM companies')).rows.map((r: any) => [r.slug, r.id]));
        const r = await crm.call(token, 'POST', '/api/contacts', { first_name: 'Canary', last_name: mode, company_id: ids.acme });
        expect(r.status).toBe(201);
        expect(r.body.company_id).toBe(mode === 'token' ? ids.globex : ids.acme);
      } finally {
        await crm.close();
      }
    }
  });

  it('rejects a profile naming an unknown resource or scope, saying which field', async () => {
    await expect(startTestCrm({ profile: { resources: { callz: { read: 'company' } } }, seed: false })).rejects.toThrow(/callz: unknown resource/);
    await expect(startTestCrm({ profile: { resources: { calls: { read: 'tenant' } } }, seed: false })).rejects.toThrow(/calls\.read/);
  });
});

describe('company scoping before and after the company_id migration', () => {
  it('a legacy table scoped by company keeps working once it gains company_id, including half-backfilled rows', async () => {
    const crm = await startTestCrm({ profile: 'fixed' });
    try {
      const token = await crm.login('user@globex.test');
      const before = (await listAll(crm, token, '/api/documents')).map((d) => d.id).sort();
      await crm.pool.query('ALTER TABLE documents ADD COLUMN company_id uuid REFERENCES companies(id)');
      // backfill only half of them: the rest still derive through owner_id
      await crm.pool.query(`UPDATE documents d SET company_id = u.company_id FROM users u WHERE d.owner_id = u.id AND d.id::text < '8'`);
      await new Promise((r) => setTimeout(r, 2100)); // the server re-reads columns every 2 s
      const after = (await listAll(crm, token, '/api/documents')).map((d) => d.id).sort();
      expect(after).toEqual(before);
      const created = await crm.call(token, 'POST', '/api/documents', { title: 'After migration', file_name: 'a.pdf' });
      expect(created.status).toBe(201);
      const globex = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'globex'`)).rows[0].id;
      expect(created.body.company_id).toBe(globex);
    } finally {
      await crm.close();
    }
  });
});
