// tenantscope migrate audit|plan|run|verify|rollback|runs: the company_id migration of the CRM's PostgreSQL
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { bytes as mib } from '../../../src-shared/format.ts';
import { HEALTH_SIGNALS } from '../../../src-shared/migration.ts';
import { call, CliFailure, dbOf, json, program, run, signInOperator, usingServices } from '../kit.ts';
import { confirm, EXIT, table } from '../output.ts';
import { planSummary, verificationText, watchRun } from './migrateShow.ts';

export const migrate = program
  .command('migrate')
  .description("The company_id migration of the CRM's PostgreSQL (super admins): audit, plan, run, verify, rollback, runs");

/** Options every migrate command takes: who signs in, which database, which tables. */
export function migrateCommand(name: string, description: string, planning = false, parent: Command = migrate): Command {
  const c = parent
    .command(name)
    .description(description)
    .option('--connection <name>', 'connection name', 'demo')
    .option('--as <username>', "sign in as (a super admin; default: the connection's first identity)")
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
    .option('--db <url>', "the CRM's PostgreSQL (default: the connection's; no password in it: use --db-env)")
    .option('--db-env <VAR>', "read the CRM's PostgreSQL URL from this environment variable");
  if (planning) {
    c.option('--tables <names>', 'only these tables, comma-separated (a child brings its parent)', (v: string) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
      .option(
        '--derive <table=spec>',
        'how a table the catalog cannot derive gets its company: owner:<field> or parent:<resource>.<field> (repeatable)',
        (v: string, prev: Record<string, string>) => {
          const [t, spec] = v.split('=');
          return { ...prev, [t!]: spec ?? '' };
        },
        {} as Record<string, string>,
      )
      .option('--not-null', 'also add CHECK (company_id IS NOT NULL), validated, where no orphans are left', false)
      .option('--batch-size <n>', 'rows a backfill batch to start with (the runner adapts it)', (v) => Number(v))
      .option(
        '--health <signal=threshold>',
        `wait while a signal is over this (repeatable): ${Object.entries(HEALTH_SIGNALS)
          .map(([k, v]) => `${k} (${v.unit}, default ${v.default})`)
          .join(', ')}`,
        (v: string, prev: Record<string, number>) => {
          const [k, n] = v.split('=');
          if (!k || !(k in HEALTH_SIGNALS) || n === undefined || !Number.isFinite(Number(n)))
            throw new CliFailure({ code: 'invalid-input', message: `--health ${v}: say one of ${Object.keys(HEALTH_SIGNALS).join(', ')}, =, a number.` });
          return { ...prev, [k]: Number(n) };
        },
        {} as Record<string, number>,
      )
      .option(
        '--max-trigger-overhead <ratio>',
        'refuse a table whose writes the fill trigger slows more than this, as measured on a copy of its rows (default 1.5)',
        (v) => Number(v),
      )
      .option('--rls', 'row-level security after the backfill: plan shows the phase beside the plan; run applies it once the run is done and verified', false);
  }
  return c;
}
export type MigrateOpts = {
  connection: string;
  as?: string;
  passwordEnv?: string;
  db?: string;
  dbEnv?: string;
  tables?: string[];
  derive?: Record<string, string>;
  notNull?: boolean;
  batchSize?: number;
  maxTriggerOverhead?: number;
  health?: Record<string, number>;
  rls?: boolean;
};
const planInput = (o: MigrateOpts) => ({
  tables: o.tables,
  derive: o.derive && Object.keys(o.derive).length ? o.derive : undefined,
  notNull: o.notNull ?? false,
  batchSize: o.batchSize,
  maxTriggerOverhead: o.maxTriggerOverhead,
  health: o.health && Object.keys(o.health).length ? o.health : undefined,
  rls: o.rls ?? false,
  databaseUrl: dbOf(o),
});

migrateCommand(
  'audit',
  "Schema audit, read-only: tables without company_id, the seed's verify counts, missing indexes and foreign keys, children of another company, unique keys without company_id, Citus readiness",
).action((o: MigrateOpts) =>
  run(json(), async (out) =>
    usingServices(out, async (services) => {
      await signInOperator(services, o, 'super_admin');
      const { tables } = await call(services, 'migrate:audit', { databaseUrl: dbOf(o) });
      const problems = tables.filter(
        (t) =>
          !t.hasCompanyId || t.missing > 0 || !t.indexOnCompanyId || !t.foreignKeyOnCompanyId || (t.childMismatches ?? 0) > 0 || t.uniqueWithoutCompany.length,
      );
      out.result({ tables }, () =>
        [
          table([
            ['table', 'company_id', 'total', 'with', 'missing', 'index', 'fk', 'into another company', 'unique without company_id', 'Citus'],
            ...tables.map((t) => [
              t.table,
              t.hasCompanyId ? 'yes' : 'NO',
              String(t.total),
              String(t.withCompanyId),
              String(t.missing),
              t.hasCompanyId ? (t.indexOnCompanyId ? 'yes' : 'NO') : '–',
              t.hasCompanyId ? (t.foreignKeyOnCompanyId ? 'yes' : 'NO') : '–',
              t.childMismatches === null
                ? '–'
                : t.crossReferences
                    .filter((x) => x.count)
                    .map((x) => `${x.count} by ${x.field}`)
                    .join(', ') || '0',
              t.uniqueWithoutCompany.join(', ') || '–',
              t.citus.ready ? 'ready' : `${t.citus.blockers.length} blockers`,
            ]),
          ]),
          `${tables.filter((t) => t.hasCompanyId).length} of ${tables.length} tables have company_id; ${tables.reduce((a, t) => a + t.missing, 0)} rows miss it.`,
          ...tables.flatMap((t) =>
            t.crossReferences
              .filter((x) => x.count)
              .map(
                (x) =>
                  `${t.table}.${x.field} points into another company's ${x.table} ${x.count} times: ${x.ids.join(', ')}${x.count > x.ids.length ? ', …' : ''}`,
              ),
          ),
        ].join('\n'),
      );
      return problems.length ? EXIT.problem : EXIT.ok;
    }),
  ),
);

migrateCommand('plan', 'The migration plan, read-only: derivation per table, parents first, lock-safe steps as SQL, estimates, preflight', true)
  .option('--out <file>', 'write the plan as SQL to this file')
  .action((o: MigrateOpts & { out?: string }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        const r = await call(services, 'migrate:plan', planInput(o));
        // with --rls the phase follows the plan in the same SQL, as it will run: after the backfill
        const sql = r.rls ? `${r.sql}\n-- Then, once the run is done and verified:\n${r.rls.sql}` : r.sql;
        if (o.out) {
          writeFileSync(o.out, sql);
          out.info(
            `Wrote the plan (${r.plan.steps.length} steps${r.rls ? `, then row-level security on ${r.rls.tables.length} tables` : ''}) as SQL to ${o.out}.`,
          );
        }
        const rlsLine = r.rls
          ? `\nThen row-level security on ${r.rls.tables.length} tables${r.rls.left.length ? `; left out: ${r.rls.left.map((l) => `${l.table} (${l.reason})`).join(', ')}` : ''}.`
          : '';
        out.result(r, () => (o.out ? '' : `${sql}\n`) + planSummary(r.plan, r.preflight, r.triggerCost) + rlsLine);
        return r.preflight.some((p) => p.level === 'fail') ? EXIT.problem : EXIT.ok;
      }),
    ),
  );

migrateCommand('run', 'Run the plan (or resume the unfinished run) with live progress; Ctrl+C pauses after the batch in hand', true)
  .option('--dry-run', 'plan and preflight only: change nothing', false)
  .option('--delay <ms>', 'pause between backfill batches', (v) => Number(v))
  .option('--resume', 'only resume the unfinished run (fail when there is none)', false)
  .option('--no-backup', 'take no backup of the tables before the first change (the run records that it took none)')
  .option('--probe-url <url>', 'time this application URL with every health sample: the run waits while it answers slowly or with an error')
  .option('--yes', "do not ask on a terminal before changing the CRM's database", false)
  .action((o: MigrateOpts & { dryRun: boolean; delay?: number; resume: boolean; backup: boolean; probeUrl?: string; yes: boolean }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        if (!o.dryRun) {
          const asked = await confirm(
            async () => {
              const { unfinished } = await call(services, 'migrate:status', { databaseUrl: dbOf(o) });
              return unfinished
                ? `Resume migration run ${unfinished} on the CRM's database?`
                : "Add company_id to the CRM's database now (it keeps serving; Ctrl+C pauses, rollback undoes)?";
            },
            { yes: o.yes },
          );
          if (asked === 'no') {
            out.info('Nothing changed.');
            return EXIT.ok;
          }
        }
        const stopWatching = watchRun(services, out);
        let r;
        try {
          r = await call(services, 'migrate:run', {
            ...planInput(o),
            dryRun: o.dryRun,
            delayMs: o.delay,
            resume: o.resume,
            backup: o.backup,
            probeUrl: o.probeUrl,
          });
        } finally {
          stopWatching();
        }
        const v = r.verification;
        out.result(r, () =>
          [
            r.status === 'dry-run'
              ? r.plan
                ? `Dry run: nothing changed.\n${planSummary(r.plan, r.preflight)}`
                : `Dry run: ${r.preflight.map((p) => p.message).join(' ')}`
              : '',
            r.status === 'paused' ? `Run ${r.runId} paused: everything done so far stays. Run \`tenantscope migrate run\` to resume.` : '',
            v ? verificationText(v) : '',
            r.rls ? `${r.rls.message[0]!.toUpperCase()}${r.rls.message.slice(1)}.` : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
        out.summary(
          r.status === 'dry-run'
            ? 'Dry run: nothing changed.'
            : r.status === 'paused'
              ? `Run ${r.runId} paused.`
              : `Run ${r.runId} ${r.status}${v ? (v.ok ? ', verified' : ', NOT verified') : ''}.`,
        );
        if (r.status === 'dry-run') return r.preflight.some((p) => p.level === 'fail') ? EXIT.problem : EXIT.ok;
        if (r.rls && !r.rls.applied && r.status === 'done') return EXIT.problem;
        return r.status === 'done' && v?.ok ? EXIT.ok : r.status === 'paused' ? EXIT.ok : EXIT.problem;
      }),
    ),
  );

migrateCommand('verify', 'Verify a run (the newest by default): company_id filled but for the orphans (listed by id), indexes, foreign keys, fingerprints')
  .option('--run <id>', 'the run to verify', (v) => Number(v))
  .action((o: MigrateOpts & { run?: number }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        const v = await call(services, 'migrate:verify', { runId: o.run, databaseUrl: dbOf(o) });
        out.result(v, () => verificationText(v));
        return v.ok ? EXIT.ok : EXIT.problem;
      }),
    ),
  );

migrateCommand('rollback', 'Remove exactly what a run added (the newest by default), then compare schema and fingerprints with before')
  .option('--run <id>', 'the run to roll back', (v) => Number(v))
  .option('--yes', 'confirm: the company_id columns the run added are dropped (asked on a terminal; needed elsewhere)', false)
  .option('--rls', 'take the row-level security phase out first (its policies read the columns the rollback drops)', false)
  .action((o: MigrateOpts & { run?: number; yes: boolean; rls: boolean }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        const refusal = 'Rollback drops the company_id columns the run added (running `migrate run` again adds them back). Say --yes to go on.';
        if (!o.yes && !process.stdin.isTTY) throw new CliFailure({ code: 'invalid-input', message: refusal });
        await signInOperator(services, o, 'super_admin');
        const asked = await confirm(
          async () => {
            const runId = o.run ?? (await call(services, 'migrate:status', { databaseUrl: dbOf(o) })).runs[0]?.id;
            return `Roll back ${o.rls ? 'the row-level security phase, then ' : ''}run ${runId ?? '(none recorded)'}? The company_id columns it added are dropped.`;
          },
          { yes: o.yes },
        );
        if (asked === 'no') {
          out.info('Nothing rolled back.');
          return EXIT.ok;
        }
        const r = await call(services, 'migrate:rollback', { runId: o.run, confirm: true, rls: o.rls, databaseUrl: dbOf(o) });
        out.result(r, () =>
          [
            table([
              ['table', 'schema as before', 'data as before'],
              ...r.tables.map((t) => [t.table, t.schemaEqual ? 'yes' : 'NO', t.fingerprintEqual ? 'yes' : 'NO']),
            ]),
            r.ok
              ? `Run ${r.runId} rolled back: every table's schema and data are as before the run.`
              : `Run ${r.runId} rolled back, but some tables differ from before (the application wrote to them meanwhile).`,
          ].join('\n'),
        );
        out.summary(r.ok ? `Run ${r.runId} rolled back; schema and data as before.` : `Run ${r.runId} rolled back; some tables differ from before.`);
        return r.ok ? EXIT.ok : EXIT.problem;
      }),
    ),
  );

migrateCommand('runs', "Every migration run recorded in the CRM's database: who, when, what, how it ended; and the newest run's log").action((o: MigrateOpts) =>
  run(json(), async (out) =>
    usingServices(out, async (services) => {
      await signInOperator(services, o, 'super_admin');
      const r = await call(services, 'migrate:status', { databaseUrl: dbOf(o) });
      out.result({ runs: r.runs, unfinished: r.unfinished }, () =>
        [
          table([
            ['run', 'status', 'by', 'started', 'finished', 'tables', 'rows', 'backup', 'message'],
            ...r.runs.map((x) => [
              String(x.id),
              x.status,
              x.startedBy,
              x.startedAt,
              x.finishedAt ?? '–',
              String(x.tables.length),
              String(x.rows),
              !x.backup ? '–' : x.backup.taken ? `${x.backup.tool}, ${mib(x.backup.bytes)}` : 'none',
              x.message ?? '',
            ]),
          ]),
          r.unfinished ? `Run ${r.unfinished} is unfinished: \`tenantscope migrate run\` resumes it.` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
      return EXIT.ok;
    }),
  ),
);
