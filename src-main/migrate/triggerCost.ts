import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { MigrationPlan, PreflightItem, TablePlan, TriggerCost } from '../../src-shared/migration.ts';
import { ident, type PgTarget } from '../pgdb/target.ts';
import { dollarQuoted } from './sql.ts';
import { fillFunctionSql, fillTriggerSql } from './steps/trigger.ts';

/**
 * What the fill trigger costs the application's writes, measured before it is switched on: for
 * each planned table, a sample of its rows is copied into two tables beside it shaped like it (its
 * columns, defaults and indexes, and company_id), one with a copy of the plan's fill trigger. On
 * both, in turns, single-row inserts without company_id (as old code writes them), then single-row
 * updates that move a row to another owner or parent (the updates the trigger fires on), each
 * statement parsed and planned as an application's driver has it; a small sample is repeated
 * until about 300 of each are timed. Each ratio is the median over chunks of 20 statements of the
 * time with the trigger over the time without. Both copies check the real table's foreign keys
 * (by a stand-in trigger: a real foreign key would lock the table it references). All of it in a
 * transaction that is rolled back: the CRM's tables are only read (and the rows the checks look at
 * share-locked for its length, as the application's own writes lock them).
 */

import { MAX_TRIGGER_OVERHEAD } from '../../src-shared/migration.ts';
export { MAX_TRIGGER_OVERHEAD };
const SAMPLE = 400;
const STATEMENTS = 300;
const CHUNK = 20;

/**
 * The timing, server-side: `reps` times, both copies emptied, then the sample inserted chunk by
 * chunk and updated chunk by chunk, each chunk on both copies in turns (which first alternates).
 * Answers (kind, plain µs, trigger µs) triples, kind 1 for inserts and 2 for updates: a pause of
 * the machine spoils a chunk, not the measure.
 */
function timingFunction(statements: Record<Loop, string>, copies: Record<'plain' | 'trig', string>): string {
  // each statement parsed and planned as an application's is (its driver sends text), not a plan cached by PL/pgSQL
  const literal = (sql: string) => `'${sql.replace(/'/g, "''")}'`;
  const timed = (loop: Loop, into: string) => `t0 := clock_timestamp();
      FOR i IN a..b LOOP EXECUTE ${literal(statements[loop])} USING i, n; END LOOP;
      ${into} := extract(epoch FROM clock_timestamp() - t0) * 1000000;`;
  const chunks = (op: 'insert' | 'update', kind: number) => `a := 1;
    WHILE a <= n LOOP
      b := least(n, a + ${CHUNK} - 1);
      k := k + 1;
      IF k % 2 = 0 THEN
      ${timed(`plain_${op}`, 'p')}
      ${timed(`trig_${op}`, 't')}
      ELSE
      ${timed(`trig_${op}`, 't')}
      ${timed(`plain_${op}`, 'p')}
      END IF;
      s := s || ARRAY[${kind}, p, t]::float8[];
      a := b + 1;
    END LOOP;`;
  return `CREATE FUNCTION pg_temp.ts_time(n int, reps int) RETURNS float8[] LANGUAGE plpgsql AS ${dollarQuoted(`
DECLARE s float8[] := '{}'; t0 timestamptz; a int; b int; k int := 0; p float8; t float8;
BEGIN
  FOR r IN 1..reps LOOP
    DELETE FROM ${copies.plain};
    DELETE FROM ${copies.trig};
    ${chunks('insert', 1)}
    ${chunks('update', 2)}
  END LOOP;
  RETURN s;
END `)}`;
}

const median = (xs: number[]) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

type Loop = `${'plain' | 'trig'}_${'insert' | 'update'}`;

const notMeasured = (table: string, note: string): TriggerCost => ({ table, sampleRows: 0, insertRatio: null, updateRatio: null, ratio: null, note });

/**
 * The real table's foreign-key checks, on both copies: a foreign key on a copy would lock the
 * table it references (SHARE ROW EXCLUSIVE) until the measure ends, so a stand-in trigger runs the
 * query PostgreSQL's own check runs (the referenced row, FOR KEY SHARE), after each insert and
 * each update that changes the key. Without it a table whose parent lookup is dear would look
 * slower with the trigger than it will be (its writes already pay for that lookup once).
 */
async function foreignKeyStandIn(c: pg.ClientBase, src: string, fn: string): Promise<string | null> {
  const { rows } = await c.query<{ cols: string[]; ref: string; refcols: string[] }>(
    `SELECT ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o) AS cols,
       format('%I.%I', rn.nspname, rc.relname) AS ref,
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o) AS refcols
     FROM pg_constraint k JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     WHERE k.conrelid = $1::regclass AND k.contype = 'f'`,
    [src],
  );
  if (!rows.length) return null;
  const checks = rows.map((fk) => {
    const present = fk.cols.map((col) => `NEW.${ident(col)} IS NOT NULL`).join(' AND ');
    const changed = fk.cols.map((col) => `NEW.${ident(col)} IS DISTINCT FROM OLD.${ident(col)}`).join(' OR ');
    const match = fk.cols.map((col, i) => `x.${ident(fk.refcols[i]!)} = NEW.${ident(col)}`).join(' AND ');
    // the referenced table's name comes from format('%I.%I'): quoted by the server
    return `IF ${present} AND (TG_OP = 'INSERT' OR ${changed}) THEN PERFORM 1 FROM ONLY ${fk.ref} x WHERE ${match} FOR KEY SHARE OF x; END IF;`;
  });
  const body = ['', 'BEGIN', ...checks.map((x) => `  ${x}`), '  RETURN NULL;', 'END '].join('\n');
  await c.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${dollarQuoted(body)}`);
  return fn;
}

/** The two copies of the table, their timed loops, and the trigger on one of them. */
async function prepare(c: pg.ClientBase, schema: string, t: TablePlan, parentPlanned: boolean, companyIdType: string): Promise<number> {
  const src = `${ident(schema)}.${ident(t.table)}`;
  const cols = t.columns.map(ident).join(', ');
  const F = ident(t.derivation.field);
  const K = ident(t.key);
  await c.query(`CREATE TEMP TABLE ts_src ON COMMIT DROP AS SELECT row_number() OVER () AS ts_n, x.* FROM (SELECT ${cols} FROM ${src} LIMIT ${SAMPLE}) x`);
  const n = Number((await c.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_temp.ts_src')).rows[0]!.n);
  if (n === 0) return 0;
  await c.query('CREATE INDEX ON pg_temp.ts_src (ts_n)');
  // the copies are ordinary tables beside the original (written to the WAL as it is), in a transaction that is rolled back
  const suffix = randomBytes(4).toString('hex');
  const named = (what: string) => `${ident(schema)}.${ident(`tenantscope_probe_${what}_${suffix}`)}`;
  const copies = { plain: named('plain'), trig: named('trig') };
  const statements = {} as Record<Loop, string>;
  for (const copy of ['plain', 'trig'] as const) {
    await c.query(`CREATE TABLE ${copies[copy]} (LIKE ${src} INCLUDING DEFAULTS INCLUDING INDEXES)`);
    await c.query(`ALTER TABLE ${copies[copy]} ADD COLUMN company_id ${companyIdType}`);
    statements[`${copy}_insert`] = `INSERT INTO ${copies[copy]} (${cols}) SELECT ${cols} FROM pg_temp.ts_src WHERE ts_n = $1`;
    // each row to the next sample row's owner or parent: a change of owner, as a reassignment is
    statements[`${copy}_update`] =
      `UPDATE ${copies[copy]} x SET ${F} = b.${F} FROM pg_temp.ts_src a, pg_temp.ts_src b WHERE a.ts_n = $1 AND b.ts_n = $1 % $2 + 1 AND x.${K} = a.${K}`;
  }
  await c.query(timingFunction(statements, copies));
  const fks = await foreignKeyStandIn(c, src, named('fks'));
  if (fks)
    for (const copy of Object.values(copies)) await c.query(`CREATE TRIGGER ts_fks AFTER INSERT OR UPDATE ON ${copy} FOR EACH ROW EXECUTE FUNCTION ${fks}()`);
  // a parent the plan migrates first has no company_id yet: the same lookup, reading its row (ctid) for the value
  await c.query(fillFunctionSql(t, schema, named('fill'), parentPlanned ? `(CASE WHEN s.ctid IS NULL THEN NULL END)::${companyIdType}` : undefined));
  await c.query(fillTriggerSql(t, 'ts_fill', copies.trig, named('fill')));
  return n;
}

async function measureTable(c: pg.ClientBase, schema: string, t: TablePlan, parentPlanned: boolean, companyIdType: string): Promise<TriggerCost> {
  await c.query('BEGIN');
  try {
    const n = await prepare(c, schema, t, parentPlanned, companyIdType);
    if (n === 0) {
      await c.query('ROLLBACK');
      return notMeasured(t.table, 'no rows to sample');
    }
    const reps = Math.min(50, Math.ceil(STATEMENTS / n));
    const triples = (await c.query<{ s: number[] }>('SELECT pg_temp.ts_time($1, $2) AS s', [n, reps])).rows[0]!.s.map(Number);
    const ratios: Record<number, number[]> = { 1: [], 2: [] };
    for (let k = 0; k + 2 < triples.length; k += 3) if (triples[k + 1]! > 0) ratios[triples[k]!]!.push(triples[k + 2]! / triples[k + 1]!);
    await c.query('ROLLBACK');
    const insertRatio = median(ratios[1]!);
    const updateRatio = median(ratios[2]!);
    return {
      table: t.table,
      sampleRows: n,
      insertRatio: +insertRatio.toFixed(2),
      updateRatio: +updateRatio.toFixed(2),
      ratio: +Math.max(insertRatio, updateRatio).toFixed(2),
      note: null,
    };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    return notMeasured(t.table, `not measured: ${(e as Error).message}`);
  }
}

/**
 * The trigger's cost on each planned table, one table at a time. A table over `limit` is measured
 * twice more and keeps its lowest: a busy machine can spoil one measure, while a trigger that is
 * really slow (a lookup without an index) is slow every time.
 */
export async function measureTriggerCost(target: PgTarget, plan: MigrationPlan, limit = MAX_TRIGGER_OVERHEAD): Promise<TriggerCost[]> {
  const planned = new Set(plan.tables.map((t) => t.table));
  const c = await target.client('tenantscope-trigger-cost');
  try {
    const out: TriggerCost[] = [];
    for (const t of plan.tables) {
      const parentPlanned = t.derivation.kind === 'parent' && planned.has(t.derivation.parentTable);
      let best = await measureTable(c, plan.schema, t, parentPlanned, plan.companyIdType ?? 'uuid');
      for (let again = 0; again < 2 && best.ratio !== null && best.ratio > limit; again++) {
        const next = await measureTable(c, plan.schema, t, parentPlanned, plan.companyIdType ?? 'uuid');
        if (next.ratio !== null && next.ratio < best.ratio!) best = next;
      }
      out.push(best);
    }
    return out;
  } finally {
    c.release(true);
  }
}

/** The preflight's lines: a refusal for each table over the limit, else the worst ratio. */
export function triggerCostPreflight(costs: TriggerCost[], limit: number): PreflightItem[] {
  const over = costs.filter((x) => x.ratio !== null && x.ratio > limit);
  const out: PreflightItem[] = over.map((x) => ({
    level: 'fail',
    message: `${x.table}: the fill trigger makes its writes ${x.ratio}× slower (inserts ${x.insertRatio}×, changes of owner or parent ${x.updateRatio}×, measured on a copy of ${x.sampleRows} rows), above the limit ${limit}×. Raise the limit (--max-trigger-overhead) or leave the table out (--tables).`,
  }));
  for (const x of costs.filter((c) => c.note && c.note !== 'no rows to sample')) out.push({ level: 'warn', message: `${x.table}: trigger overhead ${x.note}` });
  const measured = costs.filter((x) => x.ratio !== null);
  if (!over.length && measured.length) {
    const worst = measured.reduce((a, b) => (b.ratio! > a.ratio! ? b : a));
    out.push({
      level: 'ok',
      message: `The fill trigger slows writes at most ${worst.ratio}× (${worst.table}; inserts ${worst.insertRatio}×, changes of owner or parent ${worst.updateRatio}×), measured on copies of up to ${SAMPLE} rows a table (updates of other columns do not fire it); the limit is ${limit}×.`,
    });
  }
  return out;
}
