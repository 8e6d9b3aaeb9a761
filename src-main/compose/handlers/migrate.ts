import { AppError } from '../../../src-shared/result.ts';
import { MigrationService } from '../../migrate/migrationService.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';
import { caller } from '../scope.ts';

type Channels =
  | 'migrate:audit'
  | 'migrate:plan'
  | 'migrate:run'
  | 'migrate:control'
  | 'migrate:status'
  | 'migrate:verify'
  | 'migrate:backupVerify'
  | 'migrate:rlsPlan'
  | 'migrate:rlsApply'
  | 'migrate:rlsProve'
  | 'migrate:rlsRollback'
  | 'migrate:rollback';

export function migrateHandlers(k: Kernel): HandlersFor<Channels> {
  const migration = new MigrationService(k.bus, k.opts.home);
  /** the signed-in connection's catalog and the CRM's PostgreSQL (given, or the connection's) */
  const target = async (given?: string) => {
    const { s } = caller(k);
    await k.ensureCrm(s.connection);
    const url = given ?? k.connections.databaseUrl(s.connection);
    if (!url)
      throw new AppError('invalid-input', `Connection "${s.connection}" has no database URL: add the CRM's PostgreSQL to it (Connections), or give one.`);
    return { url, catalog: k.connections.get(s.connection).catalog, operator: s.user.email };
  };
  return {
    'migrate:audit': async ({ databaseUrl }) => {
      const t = await target(databaseUrl);
      return migration.audit(t.url, t.catalog);
    },
    'migrate:plan': async (input) => {
      const t = await target(input.databaseUrl);
      return migration.plan(t.url, t.catalog, input);
    },
    'migrate:run': async (input) => {
      const t = await target(input.databaseUrl);
      return migration.run(t.url, t.catalog, t.operator, input);
    },
    'migrate:control': (input) => migration.controlRun(input),
    'migrate:status': async ({ databaseUrl }) => migration.status((await target(databaseUrl)).url),
    'migrate:verify': async ({ runId, databaseUrl }) => migration.verify((await target(databaseUrl)).url, runId),
    'migrate:backupVerify': async ({ runId, databaseUrl }) => migration.verifyBackup((await target(databaseUrl)).url, runId),
    'migrate:rlsPlan': async ({ databaseUrl }) => {
      const t = await target(databaseUrl);
      return migration.rlsPlan(t.url, t.catalog);
    },
    'migrate:rlsApply': async ({ databaseUrl }) => {
      const t = await target(databaseUrl);
      return migration.rlsApply(t.url, t.catalog, t.operator);
    },
    'migrate:rlsProve': async ({ databaseUrl, role, company }) => {
      const t = await target(databaseUrl);
      return migration.rlsProve(t.url, t.catalog, { role, company });
    },
    'migrate:rlsRollback': async ({ databaseUrl }) => {
      const t = await target(databaseUrl);
      return migration.rlsRollback(t.url, t.operator);
    },
    'migrate:rollback': async ({ runId, databaseUrl, rls }) => {
      const t = await target(databaseUrl);
      return migration.rollback(t.url, t.operator, runId, rls);
    },
  };
}
