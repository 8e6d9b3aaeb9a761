import type { TablePlan } from '../../../src-shared/migration.ts';
import { ident } from '../../pgdb/target.ts';
import { dollarQuoted, sourceJoin, STATE_SCHEMA } from '../sql.ts';
import { ddlRun, type StepKindDef } from './types.ts';

/**
 * The fill function: old code writes rows without company_id, so take it from the owner or parent
 * row, and follow a change of owner or parent. `fn` is its qualified name; `value` stands in for
 * the parent's company_id where the preflight measures a copy before the parent has the column.
 */
export function fillFunctionSql(t: TablePlan, schema: string, fn: string, value?: string): string {
  // the trigger runs in the application's sessions, whatever their search_path: name the schema
  const src = { ...sourceJoin(t.derivation, 'NEW', schema), ...(value ? { value } : {}) };
  const watched = ident(t.derivation.field);
  return `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${dollarQuoted(`
BEGIN
  -- old code writes rows without company_id: take it from the ${t.derivation.kind === 'owner' ? 'owner' : 'parent row'}, and follow a change of ${t.derivation.kind === 'owner' ? 'owner' : 'parent'}
  IF NEW.company_id IS NULL OR (TG_OP = 'UPDATE' AND NEW.${watched} IS DISTINCT FROM OLD.${watched} AND NEW.company_id IS NOT DISTINCT FROM OLD.company_id) THEN
    NEW.company_id := (SELECT ${src.value} FROM ${src.from} WHERE ${src.on});
  END IF;
  RETURN NEW;
END `)};`;
}

/**
 * The trigger: on every insert, and on the updates that set the owner or parent column (an update
 * of other columns keeps the row's company and does not call it: the backfill fills rows not yet
 * filled).
 */
export const fillTriggerSql = (t: TablePlan, name: string, table: string, fn: string) =>
  `CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE OF ${ident(t.derivation.field)} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}()`;

/** A trigger that fills company_id on insert and update while old code still writes rows without it. */
export const trigger: StepKindDef = {
  kind: 'trigger',
  applies: () => true,
  make: (t, opts) => ({
    sql: `${fillFunctionSql(t, opts.schema, `${STATE_SCHEMA}.${ident(t.names.fn)}`)}
${fillTriggerSql(t, ident(t.names.trigger), ident(t.table), `${STATE_SCHEMA}.${ident(t.names.fn)}`)};`,
    locks: 'SHARE ROW EXCLUSIVE for a catalog change only',
  }),
  run: ddlRun(),
  undo: (t, { stateSchema }) => ({
    what: `${t.table}: drop trigger`,
    sql: `DROP TRIGGER IF EXISTS ${ident(t.names.trigger)} ON ${ident(t.table)}; DROP FUNCTION IF EXISTS ${stateSchema}.${ident(t.names.fn)}()`,
    inTransaction: true,
  }),
};
