// tenantscope migrate rls plan|apply|prove|rollback: row-level security as the phase after the backfill
import { writeFileSync } from 'node:fs';
import { call, CliFailure, dbOf, json, run, signInOperator, usingServices } from '../kit.ts';
import { confirm, EXIT, table } from '../output.ts';
import { migrate, migrateCommand, type MigrateOpts } from './migrate.ts';

const rls = migrate
  .command('rls')
  .description('Row-level security after the backfill: the database refuses another company’s rows whatever the code forgets (plan, apply, prove, rollback)');

migrateCommand('plan', 'Read-only: the tables that take policies (and those left out), the SQL, what the application must do, the pitfalls', false, rls)
  .option('--out <file>', 'write the phase as SQL to this file')
  .action((o: MigrateOpts & { out?: string }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        const r = await call(services, 'migrate:rlsPlan', { databaseUrl: dbOf(o) });
        if (o.out) writeFileSync(o.out, r.sql);
        out.result(r, () =>
          [
            o.out ? `Wrote the phase as SQL to ${o.out}.` : r.sql,
            `${r.tables.length} tables take policies${r.tables.some((t) => t.makeIndex) ? `; ${r.tables.filter((t) => t.makeIndex).length} get an index on company_id first` : ''}.`,
            ...r.left.map((l) => `left out: ${l.table}: ${l.reason}`),
            ...r.pitfalls.map((p) => `${p.level.toUpperCase()} ${p.message}`),
            r.applied ? `Phase ${r.applied.id} is applied (${r.applied.tables} tables, by ${r.applied.appliedBy}, ${r.applied.appliedAt}).` : 'Not applied.',
          ].join('\n'),
        );
        return EXIT.ok;
      }),
    ),
  );

/** apply and rollback change what every connection sees: asked on a terminal, --yes elsewhere */
async function asked(o: { yes: boolean }, question: string, refusal: string): Promise<boolean> {
  if (!o.yes && !process.stdin.isTTY) throw new CliFailure({ code: 'invalid-input', message: refusal });
  return (await confirm(question, { yes: o.yes })) !== 'no';
}

migrateCommand('apply', 'Apply the policies to every tenant table in one transaction (the indexes they need first)', false, rls)
  .option('--yes', 'confirm (asked on a terminal; needed elsewhere)', false)
  .action((o: MigrateOpts & { yes: boolean }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        if (
          !(await asked(o, 'Apply row-level security? Connections that do not set app.company_id will see no tenant rows.', 'Say --yes to apply the policies.'))
        ) {
          out.info('Nothing applied.');
          return EXIT.ok;
        }
        const r = await call(services, 'migrate:rlsApply', { confirm: true, databaseUrl: dbOf(o) });
        out.result(
          r,
          () =>
            `Row-level security phase ${r.id} applied to ${r.tables.length} tables${r.indexesMade.length ? ` (${r.indexesMade.length} indexes made)` : ''}. Prove it: tenantscope migrate rls prove --role <the application's role>.`,
        );
        return EXIT.ok;
      }),
    ),
  );

migrateCommand('prove', "The canary matrix at the database, as the application's role with another company set (all rolled back); exit 1 on a leak", false, rls)
  .option('--role <role>', "the application's database role (default: the user this console connects as)")
  .option('--company <id>', 'the company to act as (default: the one with the most users)')
  .action((o: MigrateOpts & { role?: string; company?: string }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        const r = await call(services, 'migrate:rlsProve', { databaseUrl: dbOf(o), role: o.role, company: o.company });
        const leaks = r.rows.filter((x) => [x.read, x.update, x.delete, x.insert].includes('leak'));
        out.result(r, () =>
          [
            `As ${r.role} with app.company_id = ${r.company}, against each table's row of another company:`,
            table([
              ['table', 'read', 'update', 'delete', 'insert', 'note'],
              ...r.rows.map((x) => [x.table, x.read, x.update, x.delete, x.insert, x.note ?? '']),
            ]),
            leaks.length ? `${leaks.length} tables leak at the database.` : 'No table leaks at the database.',
          ].join('\n'),
        );
        return leaks.length ? EXIT.problem : EXIT.ok;
      }),
    ),
  );

migrateCommand('rollback', "Take the phase back out: policies dropped, each table's RLS as it was, its indexes dropped", false, rls)
  .option('--yes', 'confirm (asked on a terminal; needed elsewhere)', false)
  .action((o: MigrateOpts & { yes: boolean }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        if (!(await asked(o, 'Remove the row-level security policies?', 'Say --yes to remove the policies.'))) {
          out.info('Nothing changed.');
          return EXIT.ok;
        }
        const r = await call(services, 'migrate:rlsRollback', { confirm: true, databaseUrl: dbOf(o) });
        out.result(r, () => `Row-level security phase ${r.id} rolled back: ${r.tables.length} tables as they were.`);
        return EXIT.ok;
      }),
    ),
  );
