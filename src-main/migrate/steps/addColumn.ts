import { AppError } from '../../../src-shared/result.ts';
import { hasCompanyId } from '../pg.ts';
import { ident } from '../../pgdb/target.ts';
import { ddlRun, type StepKindDef } from './types.ts';

/** company_id, nullable with no default: a catalog change, no rewrite. */
export const addColumn: StepKindDef = {
  kind: 'add-column',
  applies: () => true,
  make: (t, opts) => ({
    sql: `ALTER TABLE ${ident(t.table)} ADD COLUMN company_id ${opts.companyIdType};`,
    locks: 'ACCESS EXCLUSIVE for a catalog change only (no rewrite: the column is nullable with no default)',
  }),
  run: ddlRun(async (c, t, ctx) => {
    if (await hasCompanyId(c, ctx.run.plan.schema, t.table)) {
      throw new AppError('conflict', `${t.table} has a company_id column this run did not add (someone added it after the plan was made). Make a new plan.`);
    }
  }),
  // only a column this run added is dropped
  undo: (t, { addedColumn }) =>
    addedColumn ? { what: `${t.table}: drop company_id`, sql: `ALTER TABLE ${ident(t.table)} DROP COLUMN IF EXISTS company_id`, inTransaction: true } : null,
};
