import { retryOnLock, underLockTimeout } from '../pg.ts';
import { ident } from '../../pgdb/target.ts';
import { stepState } from '../stepState.ts';
import type { StepKindDef } from './types.ts';

/**
 * CREATE INDEX CONCURRENTLY on company_id: reads and writes go on. It cannot run in a
 * transaction: an invalid index a crash or a lock timeout left is dropped and built again.
 */
export const companyIndex: StepKindDef = {
  kind: 'index',
  applies: () => true,
  make: (t) => ({
    sql: `CREATE INDEX CONCURRENTLY ${ident(t.names.index)} ON ${ident(t.table)} (company_id);`,
    locks: 'SHARE UPDATE EXCLUSIVE: reads and writes go on while it builds',
  }),
  run: async (ctx, step, t) => {
    const { c, run } = ctx;
    const name = t.names.index;
    const retries = ctx.opts.lockRetries ?? 30;
    await retryOnLock(
      retries,
      async () => {
        const found = (
          await c.query<{ valid: boolean }>(
            `SELECT x.indisvalid AS valid FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = $1 AND i.relname = $2`,
            [run.plan.schema, name],
          )
        ).rows[0];
        if (found?.valid) return;
        if (found) {
          ctx.log(`${t.table}: dropping the invalid index ${name} an interrupted build left`);
          await c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${ident(name)}`);
        }
        await underLockTimeout(c, run.plan.options.lockTimeoutMs, false, (tx) => tx.query(step.sql));
      },
      (n) => ctx.log(`${t.table}: the index build waited for a lock; retry ${n}/${retries}`),
    );
    await stepState.finished(c, run.id, step.n);
    return 'done';
  },
  undo: (t) => ({ what: `${t.table}: drop index`, sql: `DROP INDEX CONCURRENTLY IF EXISTS ${ident(t.names.index)}`, inTransaction: false }),
};
