import { describe, expect, it } from 'vitest';
import { referenceConsoleForSuite } from '../support/console.ts';

/**
 * Names instead of ids in the Data view: a reference shows the record it points at by its label,
 * looked up among the tenant's own rows the caller may read, so no one is shown a label of another
 * tenant's record, whatever the row points at.
 */

const env = referenceConsoleForSuite();

const signIn = (username: string) => env.ts.call('session:signIn', { connection: 'ref', username, password: 'demo' });
const company = async (slug: string) =>
  (await env.crm.pool.query(`SELECT id::text AS id FROM companies WHERE name ILIKE $1`, [`${slug}%`])).rows[0].id as string;

describe('reference labels in the Data view', () => {
  it("labels a call's user and contact from its own tenant; a contact of another company keeps its id, for the super admin and the company admin alike", async () => {
    const [acme, globex] = [await company('Acme'), await company('Globex')];
    // one Globex call pointing at an Acme contact: a cross-tenant reference
    const call = (
      await env.crm.pool.query(`SELECT c.id::text AS id FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id = $1 ORDER BY c.id LIMIT 1`, [globex])
    ).rows[0].id as string;
    const theirs = (await env.crm.pool.query(`SELECT id::text AS id, first_name, last_name, email FROM contacts WHERE company_id = $1 LIMIT 1`, [acme]))
      .rows[0];
    await env.crm.pool.query(`UPDATE calls SET contact_id = $2 WHERE id = $1`, [call, theirs.id]);

    await signIn('super@tenantscope.test');
    expect((await env.ts.call('sync:run', { all: true })).body.ok).toBe(true);
    const seen = (await env.ts.call('records:query', { tenant: globex, resource: 'calls', limit: 500 })).body.value;
    const users = (await env.crm.pool.query(`SELECT id::text AS id, full_name FROM users WHERE company_id = $1`, [globex])).rows as Array<{
      id: string;
      full_name: string;
    }>;
    expect(seen.rows.length).toBeGreaterThan(3);
    // every call's user is named, by the users table's own name
    for (const row of seen.rows) expect(seen.labels.user_id[row.fields.user_id]).toBe(users.find((u) => u.id === row.fields.user_id)!.full_name);
    // a Globex contact is named; the Acme one is not, though the super admin may see Acme
    const own = seen.rows.find((r: { id: string; fields: Record<string, unknown> }) => r.id !== call && r.fields.contact_id);
    expect(own, 'a Globex call with a Globex contact').toBeDefined();
    const contact = (await env.crm.pool.query(`SELECT first_name, last_name FROM contacts WHERE id = $1`, [own.fields.contact_id])).rows[0];
    expect(seen.labels.contact_id[own.fields.contact_id]).toBe(`${contact.first_name} ${contact.last_name}`);
    expect(seen.rows.find((r: { id: string }) => r.id === call).fields.contact_id).toBe(theirs.id);
    expect(seen.labels.contact_id?.[theirs.id]).toBeUndefined();
    // it keeps its warning: the id is marked as pointing into another company, and nothing else is
    expect(seen.crossing).toEqual({ contact_id: [theirs.id] });
    // the record itself names what it points at, another tenant's record included: a super admin may read it
    const superRef = (await env.ts.call('records:get', { resource: 'calls', id: call })).body.value.refs.find(
      (r: { field: string }) => r.field === 'contact_id',
    );
    expect(superRef).toMatchObject({ crossTenant: true, label: `${theirs.first_name} ${theirs.last_name}` });
    await env.ts.call('session:signOut', {});

    await signIn('admin@globex.test');
    expect((await env.ts.call('sync:run', {})).body.ok).toBe(true);
    const admin = (await env.ts.call('records:query', { resource: 'calls', limit: 500 })).body.value;
    expect(admin.rows.some((r: { id: string }) => r.id === call)).toBe(true);
    expect(admin.labels.contact_id?.[theirs.id]).toBeUndefined();
    expect(admin.crossing).toEqual({ contact_id: [theirs.id] });
    const adminRefs = (await env.ts.call('records:get', { resource: 'calls', id: call })).body.value.refs;
    expect(adminRefs.find((r: { field: string }) => r.field === 'contact_id')).toMatchObject({ crossTenant: true, label: null, companyId: 'another company' });
    // their own company's user is named there too
    expect(adminRefs.find((r: { field: string }) => r.field === 'user_id').label).toBeTruthy();
    const named = Object.values(admin.labels).flatMap((byId) => Object.values(byId as Record<string, string>));
    const name = [theirs.first_name, theirs.last_name].filter(Boolean).join(' ');
    expect(named).not.toContain(theirs.email);
    if (name) expect(named).not.toContain(name);
    await env.ts.call('session:signOut', {});
  }, 120_000);
});
