import type pg from 'pg';
import { CatalogSchema } from '../../src-shared/catalog.ts';

/** The smallest CRM the migration runs on: companies, users with company_id, notes reaching a company only through their owner. */
export const notesCatalog = CatalogSchema.parse({
  users: 'users',
  resources: [
    {
      name: 'users',
      endpoints: {},
      table: 'users',
      companyField: 'company_id',
      class: 'tenant',
      derivation: { kind: 'own', field: 'company_id' },
      priority: null,
    },
    { name: 'notes', endpoints: {}, table: 'notes', companyField: null, class: 'tenant', derivation: { kind: 'owner', field: 'user_id' }, priority: 'HIGH' },
  ],
});

/** Creates its tables in the client's current schema: one company, one user, `rows` notes of that user; `key` names the notes' primary key. */
export async function createNotesCrm(c: pg.Client, opts: { rows: number; key?: string }): Promise<void> {
  const key = `"${(opts.key ?? 'id').replace(/"/g, '""')}"`;
  await c.query(`CREATE TABLE companies (id uuid PRIMARY KEY)`);
  await c.query(`CREATE TABLE users (id uuid PRIMARY KEY, company_id uuid REFERENCES companies (id))`);
  await c.query(`CREATE TABLE notes (${key} bigserial PRIMARY KEY, user_id uuid REFERENCES users (id), body text)`);
  await c.query(`INSERT INTO companies VALUES ('00000000-0000-0000-0000-00000000000a')`);
  await c.query(`INSERT INTO users VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000000a')`);
  await c.query(`INSERT INTO notes (user_id, body) SELECT '00000000-0000-0000-0000-0000000000a1', 'n' || g FROM generate_series(1, $1::int) g`, [opts.rows]);
}
