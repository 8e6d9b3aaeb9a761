// tenantscope migrate backup verify: restore a run's backup into a scratch database and compare it with the source as of the dump
import { call, dbOf, json, run, signInOperator, usingServices } from '../kit.ts';
import { EXIT, table } from '../output.ts';
import { migrate, migrateCommand, type MigrateOpts } from './migrate.ts';

const backup = migrate
  .command('backup')
  .description('The backup a run takes of its tables before the first change (pg_dump, or TenantScope’s own COPY backup)');

migrateCommand(
  'verify',
  "Restore a run's backup (the newest run's by default) into a scratch database, then compare each table's rows and fingerprint with the source as of the dump",
  false,
  backup,
)
  .argument('[run]', 'the run whose backup to verify', (v) => Number(v))
  .action((runId: number | undefined, o: MigrateOpts) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        await signInOperator(services, o, 'super_admin');
        out.info('Restoring the backup into a scratch database…');
        const v = await call(services, 'migrate:backupVerify', { runId, databaseUrl: dbOf(o) });
        out.result(v, () =>
          [
            `${v.path} (${v.format === 'pg_dump' ? 'pg_dump, custom format' : 'TenantScope COPY backup'}): checksum ${v.checksumEqual ? 'as taken' : 'CHANGED'}`,
            v.tables.length
              ? table([
                  ['table', 'rows at the dump', 'rows restored', 'fingerprint'],
                  ...v.tables.map((t) => [t.table, String(t.rowsAtDump), String(t.rowsRestored), t.equal ? 'equal' : 'DIFFERS']),
                ])
              : '',
            ...v.problems.map((p) => `problem: ${p}`),
            v.ok
              ? `Run ${v.runId}'s backup restores: every table equal to the source as of the dump (${v.seconds.toFixed(1)} s, scratch database dropped).`
              : `Run ${v.runId}'s backup does NOT restore as taken.`,
          ]
            .filter(Boolean)
            .join('\n'),
        );
        out.summary(v.ok ? `Backup of run ${v.runId} verified (${v.tables.length} tables).` : `Backup of run ${v.runId} failed verification.`);
        return v.ok ? EXIT.ok : EXIT.problem;
      }),
    ),
  );
