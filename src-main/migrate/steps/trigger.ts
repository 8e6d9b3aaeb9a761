import { ident } from '../../pgdb/target.ts';
import { dollarQuoted, sourceJoin, STATE_SCHEMA } from '../sql.ts';
import { ddlRun, type StepKindDef } from './types.ts';

/** A trigger that fills company_id on insert and update while old code still writes rows without it. */
export const trigger: StepKindDef = {
  kind: 'trigger',
  applies: () => true,
  make: (t, opts) => {
    // the trigger runs in the application's sessions, whatever their search_path: name the schema
    const src = sourceJoin(t.derivation, 'NEW', opts.schema);
    const watched = ident(t.derivation.field);
    return {
      sql: `CREATE FUNCTION ${STATE_SCHEMA}.${ident(t.names.fn)}() RETURNS trigger LANGUAGE plpgsql AS ${dollarQuoted(`
BEGIN
  -- old code writes rows without company_id: take it from the ${t.derivation.kind === 'owner' ? 'owner' : 'parent row'}, and follow a change of ${t.derivation.kind === 'owner' ? 'owner' : 'parent'}
  IF NEW.company_id IS NULL OR (TG_OP = 'UPDATE' AND NEW.${watched} IS DISTINCT FROM OLD.${watched} AND NEW.company_id IS NOT DISTINCT FROM OLD.company_id) THEN
    NEW.company_id := (SELECT ${src.value} FROM ${src.from} WHERE ${src.on});
  END IF;
  RETURN NEW;
END `)};
CREATE TRIGGER ${ident(t.names.trigger)} BEFORE INSERT OR UPDATE ON ${ident(t.table)} FOR EACH ROW EXECUTE FUNCTION ${STATE_SCHEMA}.${ident(t.names.fn)}();`,
      locks: 'SHARE ROW EXCLUSIVE for a catalog change only',
    };
  },
  run: ddlRun(),
  undo: (t, { stateSchema }) => ({
    what: `${t.table}: drop trigger`,
    sql: `DROP TRIGGER IF EXISTS ${ident(t.names.trigger)} ON ${ident(t.table)}; DROP FUNCTION IF EXISTS ${stateSchema}.${ident(t.names.fn)}()`,
    inTransaction: true,
  }),
};
