import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../../src-crm/models.ts';
import { startTestCrm, rowOf, type TestCrm } from '../support/crm.ts';
import { instantOf } from '../../src-shared/instant.ts';

/** A valid create body built from the CRM's own OpenAPI document, as a client would. */
async function bodyFor(crm: TestCrm, path: string, openapi: any): Promise<Record<string, unknown>> {
  const schema = openapi.paths[path].post.requestBody.content['application/json'].schema;
  const body: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    const prop = schema.properties[name];
    const type = Array.isArray(prop.type) ? prop.type[0] : prop.type;
    if (prop.format === 'uuid') {
      const table = ({ document_id: 'documents', workflow_id: 'workflows', call_id: 'calls', campaign_id: 'bulk_email_campaigns' } as Record<string, string>)[
        name
      ];
      body[name] = await rowOf(crm, table!, 'acme');
    } else if (prop.format === 'date-time') body[name] = '2026-01-02T03:04:05Z';
    else if (prop.format === 'date') body[name] = '2026-01-02';
    else if (type === 'integer' || type === 'number') body[name] = 7;
    else if (type === 'boolean') body[name] = true;
    else body[name] = name === 'email' ? `new-${Date.now()}@acme.test` : `new ${name}`;
  }
  return body;
}

describe("CRUD on every model (fixed profile, as Acme's admin)", () => {
  let crm: TestCrm;
  let token: string;
  let openapi: any;
  beforeAll(async () => {
    crm = await startTestCrm({ profile: 'fixed' });
    token = await crm.login('admin@acme.test');
    openapi = (await crm.call(null, 'GET', '/openapi.json')).body;
  });
  afterAll(() => crm?.close());

  it("serves an OpenAPI 3 document listing every model's collection and item paths", () => {
    expect(openapi.openapi).toMatch(/^3\./);
    for (const m of MODELS) {
      expect(Object.keys(openapi.paths[m.path])).toEqual(expect.arrayContaining(['get', 'post']));
      expect(Object.keys(openapi.paths[`${m.path}/{id}`])).toEqual(expect.arrayContaining(['get', 'put', 'patch', 'delete']));
    }
    // the before-state shows: company_id on the finished models only
    const createCalls = openapi.paths['/api/calls'].post.requestBody.content['application/json'].schema;
    expect(createCalls.properties.company_id).toBeUndefined();
    expect(createCalls.properties.user_id).toBeDefined();
    const createDeals = openapi.paths['/api/deals'].post.requestBody.content['application/json'].schema;
    expect(createDeals.properties.company_id).toBeDefined();
  });

  for (const model of MODELS) {
    it(`${model.name}: create, read, list, update, delete (tombstone)`, async () => {
      if (model.name === 'twilio_settings') {
        // one per company: Acme's exists, so a second is a conflict
        const r = await crm.call(token, 'POST', model.path, { account_sid: 'AC1' });
        expect(r.status).toBe(409);
        return;
      }
      const body = await bodyFor(crm, model.path, openapi);
      const created = await crm.call(token, 'POST', model.path, body);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.id;
      expect(created.body.password_hash).toBeUndefined();
      const read = await crm.call(token, 'GET', `${model.path}/${id}`);
      expect(read.status).toBe(200);
      expect(read.body.id).toBe(id);
      const since = created.body.updated_at;
      const listed = await crm.call(token, 'GET', `${model.path}?updated_since=${encodeURIComponent(since)}&limit=1000`);
      expect(listed.body.items.map((i: any) => i.id)).toContain(id);
      const props = openapi.paths[`${model.path}/{id}`].put.requestBody.content['application/json'].schema.properties;
      const [field, prop] = Object.entries<any>(props).find(
        ([k, p]) =>
          !k.endsWith('_id') &&
          !['email', 'password', 'role'].includes(k) &&
          !p.format &&
          [p.type].flat().some((t: string) => t === 'string' || t === 'integer'),
      )!;
      const changed = [prop.type].flat().includes('string') ? 'edited by test' : 99;
      const updated = await crm.call(token, 'PUT', `${model.path}/${id}`, { [field]: changed });
      expect(updated.status, JSON.stringify(updated.body)).toBe(200);
      expect(updated.body[field]).toEqual(changed);
      expect(instantOf(updated.body.updated_at)! > instantOf(created.body.updated_at)!, `${created.body.updated_at} then ${updated.body.updated_at}`).toBe(
        true,
      );
      const del = await crm.call(token, 'DELETE', `${model.path}/${id}`);
      expect(del.status).toBe(204);
      expect((await crm.call(token, 'GET', `${model.path}/${id}`)).status).toBe(404);
      const feed = await crm.call(token, 'GET', `/api/sync/deletions?since=${encodeURIComponent(since)}&resource=${model.name}`);
      expect(feed.status).toBe(200);
      expect(feed.body.items.map((t: any) => t.id)).toContain(id);
    });
  }

  it('the deletions feed shows a company only its own tombstones', async () => {
    const acmeContact = await rowOf(crm, 'contacts', 'acme');
    expect((await crm.call(token, 'DELETE', `/api/contacts/${acmeContact}`)).status).toBe(204);
    const globex = await crm.login('admin@globex.test');
    const feed = await crm.call(globex, 'GET', '/api/sync/deletions?limit=1000');
    expect(feed.body.items.map((t: any) => t.id)).not.toContain(acmeContact);
  });
});
