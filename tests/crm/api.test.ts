import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCrm, rowOf, type TestCrm } from '../support/crm.ts';

describe('sign-in and tokens', () => {
  let crm: TestCrm;
  // tokens live three seconds: short enough to watch one expire, long enough that a loaded CI reads /me before it does
  // (a JWT's exp is in whole seconds: with one second, a token could expire a few milliseconds after it was issued)
  beforeAll(async () => {
    crm = await startTestCrm({ tokenTtl: 3 });
  });
  afterAll(() => crm?.close());

  it('signs in with email and password and returns a bearer JWT carrying sub, company_id and role', async () => {
    const r = await crm.call(null, 'POST', '/api/auth/login', { email: 'admin@acme.test', password: 'demo' });
    expect(r.status).toBe(200);
    expect(r.body.token_type).toBe('bearer');
    expect(r.body.expires_in).toBe(3);
    const claims = JSON.parse(Buffer.from(r.body.access_token.split('.')[1], 'base64url').toString());
    const acme = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'acme'`)).rows[0].id;
    expect(claims).toMatchObject({ company_id: acme, role: 'company_admin' });
    expect(typeof claims.sub).toBe('string');
    const me = await crm.call(r.body.access_token, 'GET', '/api/auth/me');
    expect(me.body).toMatchObject({ email: 'admin@acme.test', role: 'company_admin', company_id: acme, company_name: 'Acme Corporation' });
  });

  it('refuses a wrong password, an unknown user, a missing, forged or expired token with 401', async () => {
    expect((await crm.call(null, 'POST', '/api/auth/login', { email: 'admin@acme.test', password: 'nope' })).status).toBe(401);
    expect((await crm.call(null, 'POST', '/api/auth/login', { email: 'ghost@acme.test', password: 'demo' })).status).toBe(401);
    expect((await crm.call(null, 'GET', '/api/contacts')).status).toBe(401);
    expect((await crm.call('not.a.jwt', 'GET', '/api/contacts')).status).toBe(401);
    const token = (await crm.call(null, 'POST', '/api/auth/login', { email: 'user@acme.test', password: 'demo' })).body.access_token;
    const [h, p] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'super_admin' })).toString('base64url')}.${token.split('.')[2]}`;
    expect((await crm.call(forged, 'GET', '/api/contacts')).status).toBe(401);
    // wait until it is refused, at most 8 s
    let status = 200;
    for (let i = 0; i < 80 && status !== 401; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await crm.call(token, 'GET', '/api/contacts')).status;
    }
    expect(status).toBe(401);
    expect((await crm.call(token, 'GET', '/api/contacts')).body.detail).toBe('Token has expired');
  });

  it('stores passwords as salted scrypt hashes, never in plain text', async () => {
    const { rows } = await crm.pool.query(`SELECT password_hash FROM users WHERE email IN ('admin@acme.test', 'user@acme.test')`);
    expect(rows.every((r: any) => r.password_hash.startsWith('scrypt$') && !r.password_hash.includes('demo'))).toBe(true);
    expect(rows[0].password_hash).not.toBe(rows[1].password_hash);
  });
});

describe('bad input', () => {
  let crm: TestCrm;
  let token: string;
  beforeAll(async () => {
    crm = await startTestCrm({ profile: 'fixed' });
    token = await crm.login('admin@acme.test');
  });
  afterAll(() => crm?.close());

  it('answers malformed JSON, unknown fields and wrong types with 422 and field errors', async () => {
    const bad = await crm.call(token, 'POST', '/api/contacts', '{"first_name": ');
    expect(bad.status).toBe(422);
    const r = await crm.call(token, 'POST', '/api/contacts', { first_name: 5, nickname: 'x' });
    expect(r.status).toBe(422);
    const locs = r.body.detail.map((d: any) => d.loc.join('.'));
    expect(locs).toEqual(expect.arrayContaining(['body.first_name', 'body.nickname', 'body.last_name']));
    expect((await crm.call(token, 'POST', '/api/calls', [1, 2])).status).toBe(422);
    expect((await crm.call(token, 'GET', '/api/contacts?limit=0')).status).toBe(422);
    expect((await crm.call(token, 'GET', '/api/contacts?cursor=garbage')).status).toBe(422);
    expect((await crm.call(token, 'GET', '/api/contacts?updated_since=yesterday')).status).toBe(422);
  });

  it('answers an unknown id with 404 and a malformed id with 422', async () => {
    expect((await crm.call(token, 'GET', '/api/calls/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await crm.call(token, 'GET', '/api/calls/42')).status).toBe(422);
  });

  it("refuses a reference to another company's row on create", async () => {
    const globexDoc = await rowOf(crm, 'documents', 'globex');
    const r = await crm.call(token, 'POST', '/api/documents/signatures', { document_id: globexDoc, signer_name: 'X', signer_email: 'x@x.test' });
    expect(r.status).toBe(422);
    expect(r.body.detail[0].loc).toEqual(['body', 'document_id']);
  });

  it('never answers 500 to 300 random bodies', async () => {
    const values = [null, true, 0, -1, 1e308, '', 'x'.repeat(5000), '2026-13-45', [], {}, { a: 1 }, '00000000-0000-4000-8000-000000000000', '\u0000', 'Ω'];
    const fields = ['first_name', 'last_name', 'company_id', 'owner_id', 'value', 'expected_close', 'stages', 'zzz', 'id'];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const statuses = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const body: Record<string, unknown> = {};
      for (let k = 0; k < 1 + rnd(4); k++) body[fields[rnd(fields.length)]!] = values[rnd(values.length)];
      const path = ['/api/contacts', '/api/deals', '/api/pipelines'][rnd(3)]!;
      const r = await crm.call(token, 'POST', path, body);
      statuses.add(r.status);
      expect(r.status, JSON.stringify({ path, body, answer: r.body })).toBeLessThan(500);
    }
    expect(statuses.has(422)).toBe(true);
  });
});

describe('keyset pagination', () => {
  it('returns every existing row exactly once while rows are inserted concurrently', async () => {
    const crm = await startTestCrm({ profile: 'fixed' });
    try {
      const token = await crm.login('admin@acme.test');
      const acme = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'acme'`)).rows[0].id;
      await crm.pool.query(`INSERT INTO contacts (company_id, first_name, last_name) SELECT $1, 'Bulk', 'Row ' || g FROM generate_series(1, 500) g`, [acme]);
      const existing = new Set(
        (await crm.pool.query(`SELECT id FROM contacts WHERE company_id = $1 AND deleted_at IS NULL`, [acme])).rows.map((r: any) => r.id),
      );
      let inserting = true;
      const writer = (async () => {
        let n = 0;
        while (inserting && n < 400) {
          await crm.call(token, 'POST', '/api/contacts', { first_name: 'Concurrent', last_name: String(n++) });
        }
        return n;
      })();
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await crm.call(token, 'GET', `/api/contacts?limit=37${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...r.body.items.map((i: any) => i.id));
        cursor = r.body.next_cursor;
      } while (cursor);
      inserting = false;
      expect(await writer).toBeGreaterThan(0);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of existing) expect(seen).toContain(id);
    } finally {
      await crm.close();
    }
  });
});
