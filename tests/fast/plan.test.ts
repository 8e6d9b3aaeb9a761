import { describe, expect, it } from 'vitest';
import { CatalogSchema, type Catalog } from '../../src-shared/catalog.ts';
import { buildPlan, countQueries, walkTables, type RowCounts } from '../../src-main/migrate/plan.ts';
import type { PgKey, SchemaSnapshot } from '../../src-main/pgdb/snapshot.ts';

// the plan as pure functions of a schema snapshot, a catalog and row counts: no database here

const pk = (table: string): PgKey => ({ name: `${table}_pkey`, kind: 'p', columns: ['id'], refTable: null });
const fk = (table: string, column: string, ref: string): PgKey => ({ name: `${table}_${column}_fkey`, kind: 'f', columns: [column], refTable: ref });
function snapshot(tables: Record<string, { columns: string[]; keys?: PgKey[]; noKey?: boolean }>, names: string[] = []): SchemaSnapshot {
  return {
    schema: 'crm',
    tables: new Map(
      Object.entries(tables).map(([name, t]) => [
        name,
        {
          name,
          columns: t.columns.map((c) => ({ name: c, type: 'uuid', nullable: true })),
          keys: [...(t.noKey ? [] : [pk(name)]), ...(t.keys ?? [])],
          heapBytes: 8192,
        },
      ]),
    ),
    names: new Set([...Object.keys(tables), ...names]),
  };
}
const resource = (name: string, derivation: Catalog['resources'][number]['derivation'], priority: 'HIGH' | 'MEDIUM' | 'LOW' | null, extra: object = {}) => ({
  name,
  endpoints: {},
  table: name,
  companyField: derivation.kind === 'own' ? 'company_id' : null,
  class: 'tenant',
  derivation,
  priority,
  ...extra,
});
const catalog = CatalogSchema.parse({
  users: 'users',
  resources: [
    resource('users', { kind: 'own', field: 'company_id' }, null),
    resource('documents', { kind: 'owner', field: 'user_id' }, 'MEDIUM'),
    resource('document_signatures', { kind: 'parent', resource: 'documents', field: 'document_id' }, 'HIGH'),
    resource('calls', { kind: 'owner', field: 'user_id' }, 'HIGH'),
    resource('templates', { kind: 'owner', field: 'user_id' }, 'LOW', { ownerless: 'shared' }),
    resource('settings', { kind: 'none' }, 'LOW'),
    resource('audit_rows', { kind: 'owner', field: 'user_id' }, 'LOW'),
  ],
});
const schema = snapshot(
  {
    users: { columns: ['id', 'company_id'], keys: [fk('users', 'company_id', 'tenants')] },
    documents: { columns: ['id', 'user_id', 'title'] },
    document_signatures: { columns: ['id', 'document_id'] },
    calls: { columns: ['id', 'user_id'] },
    templates: { columns: ['id', 'user_id'] },
    settings: { columns: ['id', 'key'] },
    audit_rows: { columns: ['at', 'user_id'], noKey: true },
  },
  ['idx_calls_company_id'],
);
const counts = (planned: Record<string, [number, number, number]>, missing: Record<string, number> = {}): RowCounts => ({
  planned: new Map(Object.entries(planned).map(([t, [rows, orphans, shared]]) => [t, { rows, orphans, shared }])),
  missing: new Map(Object.entries(missing)),
});
const meta = { database: 'db:5432/crm', createdAt: '2026-12-03T00:00:00.000Z' };

describe('the migration plan from a schema snapshot', () => {
  it('derives each table from its owner or parent, asks a person for the rest, and says why', () => {
    const walk = walkTables(schema, catalog);
    expect([...walk.drafts.keys()].sort()).toEqual(['calls', 'document_signatures', 'documents', 'templates']);
    expect(walk.drafts.get('document_signatures')!.derivation).toEqual({ kind: 'parent', field: 'document_id', parentTable: 'documents' });
    expect(walk.drafts.get('calls')!.derivation).toEqual({ kind: 'owner', field: 'user_id', usersTable: 'users' });
    expect(walk.asks).toEqual([
      { table: 'settings', reason: expect.stringMatching(/^the catalog gives it no company/) },
      { table: 'audit_rows', reason: expect.stringMatching(/single-column primary key/) },
    ]);
    expect(walk.filled).toEqual(['users']);
  });

  it("orders parents before children, pulling a parent into its child's earlier phase, and names what the run adds", () => {
    const plan = buildPlan(
      walkTables(schema, catalog),
      counts({ documents: [10, 1, 0], document_signatures: [30, 0, 0], calls: [50, 2, 0], templates: [8, 3, 3] }, { users: 4 }),
      { notNull: true },
      meta,
    );
    expect(plan.tables.map((t) => [t.table, t.phase])).toEqual([
      ['calls', 1],
      ['documents', 1],
      ['document_signatures', 1],
      ['templates', 3],
    ]);
    expect(plan.tables.find((t) => t.table === 'documents')!.note).toBe('moved to phase 1: document_signatures takes its company from it');
    expect(plan.companiesTable).toBe('tenants');
    expect(plan.steps.map((s) => s.n)).toEqual(plan.steps.map((_, i) => i + 1));
    expect(plan.steps.filter((s) => s.table === 'calls').map((s) => s.kind)).toEqual([
      'add-column',
      'trigger',
      'backfill',
      'index',
      'fk',
      'fk-validate',
      'check',
      'check-validate',
    ]);
    // a name the database has taken gets a suffix, one it has not is kept
    expect(plan.tables.find((t) => t.table === 'calls')!.names.index).toBe('idx_calls_company_id_ts');
    expect(plan.tables.find((t) => t.table === 'documents')!.names.index).toBe('idx_documents_company_id');
    // rows the catalog says every company shares are no orphans
    expect(plan.tables.find((t) => t.table === 'templates')).toMatchObject({
      rows: 8,
      orphansPredicted: 0,
      note: expect.stringMatching(/^3 rows with no user_id are shared/),
    });
    expect(plan.skipped).toEqual([{ table: 'users', reason: expect.stringMatching(/^has company_id; 4 rows miss it/) }]);
    expect(plan.estimate.rows).toBe(98);
  });

  it("counts orphans through the planned parent's own owner, as the column will be after the run", () => {
    const q = countQueries(walkTables(schema, catalog)).planned.find((x) => x.table === 'document_signatures')!.sql;
    expect(q).toContain('(SELECT (SELECT s1.company_id FROM "users" s1 WHERE s1.id = s0."user_id") FROM "documents" s0 WHERE s0.id = t."document_id")');
    expect(countQueries(walkTables(schema, catalog)).missing).toEqual([
      { table: 'users', sql: 'SELECT count(*)::text AS n FROM "users" WHERE company_id IS NULL' },
    ]);
  });

  it('plans only the tables asked for, with the parents they need, and refuses a table the catalog lacks', () => {
    expect([...walkTables(schema, catalog, { tables: ['document_signatures'] }).drafts.keys()]).toEqual(['documents', 'document_signatures']);
    expect(() => walkTables(schema, catalog, { tables: ['nope'] })).toThrow(/Not in the catalog: nope/);
    const derived = walkTables(schema, catalog, { tables: ['settings'], derive: { settings: { kind: 'owner', field: 'key' } } });
    expect(derived.drafts.get('settings')!.derivation).toMatchObject({ kind: 'owner', field: 'key' });
  });
});
