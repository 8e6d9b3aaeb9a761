import { ident } from '../../pgdb/target.ts';
import { ddlRun, type StepKindDef } from './types.ts';

/** The foreign key to the companies table, NOT VALID: a catalog change, no scan. */
export const foreignKey: StepKindDef = {
  kind: 'fk',
  applies: () => true,
  make: (t, opts) => ({
    sql: `ALTER TABLE ${ident(t.table)} ADD CONSTRAINT ${ident(t.names.fk)} FOREIGN KEY (company_id) REFERENCES ${ident(opts.companiesTable)} (id) NOT VALID;`,
    locks: 'SHARE ROW EXCLUSIVE on the table and companies, for a catalog change only',
  }),
  run: ddlRun(),
  undo: (t) => ({
    what: `${t.table}: drop foreign key`,
    sql: `ALTER TABLE ${ident(t.table)} DROP CONSTRAINT IF EXISTS ${ident(t.names.fk)}`,
    inTransaction: true,
  }),
};

/** The foreign key validated: a scan that lets reads and writes go on. */
export const foreignKeyValidate: StepKindDef = {
  kind: 'fk-validate',
  applies: () => true,
  make: (t) => ({
    sql: `ALTER TABLE ${ident(t.table)} VALIDATE CONSTRAINT ${ident(t.names.fk)};`,
    locks: 'SHARE UPDATE EXCLUSIVE: reads and writes go on while it checks',
  }),
  run: ddlRun(),
  undo: () => null,
};
