import { ident } from '../../pgdb/target.ts';
import { ddlRun, type StepKindDef } from './types.ts';

/** CHECK (company_id IS NOT NULL) NOT VALID, when asked for and no orphans are left. */
export const notNullCheck: StepKindDef = {
  kind: 'check',
  applies: (opts) => opts.notNull,
  make: (t) => ({
    sql: `ALTER TABLE ${ident(t.table)} ADD CONSTRAINT ${ident(t.names.check)} CHECK (company_id IS NOT NULL) NOT VALID;`,
    locks: 'ACCESS EXCLUSIVE for a catalog change only; skipped when orphans are left (it would fail their updates)',
  }),
  run: ddlRun(async (c, t) => {
    const nulls = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(t.table)} WHERE company_id IS NULL`)).rows[0]!.n);
    if (nulls) return `${nulls} orphans have no company: NOT NULL would fail their updates`;
  }),
  undo: (t) => ({
    what: `${t.table}: drop the NOT NULL check`,
    sql: `ALTER TABLE ${ident(t.table)} DROP CONSTRAINT IF EXISTS ${ident(t.names.check)}`,
    inTransaction: true,
  }),
};

/** The check validated, where it was added. */
export const notNullValidate: StepKindDef = {
  kind: 'check-validate',
  applies: (opts) => opts.notNull,
  make: (t) => ({ sql: `ALTER TABLE ${ident(t.table)} VALIDATE CONSTRAINT ${ident(t.names.check)};`, locks: 'SHARE UPDATE EXCLUSIVE: reads and writes go on' }),
  run: ddlRun(async (c, t) => {
    if (!(await c.query(`SELECT 1 FROM pg_constraint WHERE conname = $1 AND conrelid = $2::regclass`, [t.names.check, t.table])).rowCount)
      return 'no NOT NULL check to validate (orphans)';
  }),
  undo: () => null,
};
