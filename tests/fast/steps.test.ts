import { describe, expect, it } from 'vitest';
import { StepKindSchema, type TablePlan } from '../../src-shared/migration.ts';
import { STEP_KINDS, stepKind, stepsFor } from '../../src-main/migrate/steps/registry.ts';

const table: TablePlan = {
  resource: 'calls',
  table: 'calls',
  priority: 'HIGH',
  phase: 1,
  derivation: { kind: 'owner', field: 'user_id', usersTable: 'users' },
  key: 'id',
  columns: ['id', 'user_id'],
  rows: 10,
  orphansPredicted: 0,
  estimate: { seconds: 1, columnBytes: 1, indexBytes: 1, transientBytes: 1 },
  names: { index: 'idx_calls_company_id', fk: 'fk_calls_company_id', check: 'calls_company_id_not_null', trigger: 'ts_fill_calls', fn: 'ts_fill_calls_fn' },
  note: null,
};
const opts = { notNull: true, schema: 'public', companiesTable: 'companies', companyIdType: 'uuid' };

describe('the migration as steps: one module a kind, the runner and rollback loop over the registry', () => {
  it('has a kind for every step the contract names, in the order a table runs them', () => {
    expect(STEP_KINDS.map((k) => k.kind)).toEqual(StepKindSchema.options);
    for (const kind of StepKindSchema.options) expect(stepKind(kind).kind).toBe(kind);
  });

  it("makes a table's steps numbered from where the plan is, the NOT NULL pair only when asked for", () => {
    const all = stepsFor(table, opts, 5);
    expect(all.map((s) => [s.n, s.kind])).toEqual(StepKindSchema.options.map((k, i) => [5 + i, k]));
    expect(stepsFor(table, { ...opts, notNull: false }, 1).map((s) => s.kind)).toEqual(['add-column', 'trigger', 'backfill', 'index', 'fk', 'fk-validate']);
    for (const s of all) expect(s.sql).toContain('"calls"');
  });

  it('undoes what each step made, and only a column the run added', () => {
    const undo = (kind: (typeof StepKindSchema.options)[number], addedColumn = true) =>
      stepKind(kind).undo(table, { addedColumn, stateSchema: 'tenantscope_migration' });
    expect(undo('add-column')?.sql).toBe('ALTER TABLE "calls" DROP COLUMN IF EXISTS company_id');
    expect(undo('add-column', false)).toBeNull();
    expect(undo('trigger')?.sql).toContain(
      'DROP TRIGGER IF EXISTS "ts_fill_calls" ON "calls"; DROP FUNCTION IF EXISTS tenantscope_migration."ts_fill_calls_fn"()',
    );
    expect(undo('index')).toMatchObject({ sql: 'DROP INDEX CONCURRENTLY IF EXISTS "idx_calls_company_id"', inTransaction: false });
    expect(undo('fk')?.sql).toContain('DROP CONSTRAINT IF EXISTS "fk_calls_company_id"');
    expect(undo('check')?.sql).toContain('DROP CONSTRAINT IF EXISTS "calls_company_id_not_null"');
    for (const kind of ['backfill', 'fk-validate', 'check-validate'] as const) expect(undo(kind)).toBeNull();
  });
});
