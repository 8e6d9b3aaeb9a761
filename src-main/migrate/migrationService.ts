import type { Catalog } from '../../src-shared/catalog.ts';
import type { Input, Output } from '../../src-shared/contract.ts';
import type { PreflightItem } from '../../src-shared/migration.ts';
import { AppError } from '../../src-shared/result.ts';
import type { EventBus } from '../core/eventBus.ts';
import { onTarget, type PgTarget } from '../pgdb/target.ts';
import { parseDerive, type PlanOptions } from './plan.ts';
import { planMigration, planSql, preflight } from './planner.ts';
import {
  migrationLog,
  migrationRuns,
  rollbackMigration,
  runMigration,
  verifyMigration,
  unfinishedRun,
  type MigrationProgress,
  type RunControl,
} from './runner.ts';
import { auditSchema } from './schemaAudit.ts';
import { backupDirFor, backupPreflight, verifyBackup } from './backup.ts';
import { readRlsPlan, rlsPitfalls, rlsSql } from './rls.ts';
import { appliedRls, applyRls, proveRls, rollbackRls } from './rlsPhase.ts';
import { MAX_TRIGGER_OVERHEAD, measureTriggerCost, triggerCostPreflight } from './triggerCost.ts';
import type { TriggerCost } from '../../src-shared/migration.ts';

/**
 * The migration's entry points for every door (console, HTTP host, CLI): one run at a time in
 * this process, its control (pause, throttle) and its latest progress for windows that open later.
 * Each call opens one pool on the CRM's database (`PgTarget`) that all its reads and the run share,
 * and ends it when the call ends.
 */
export class MigrationService {
  private control: RunControl | null = null;
  private progress: MigrationProgress | null = null;

  /** `home`: where backups are kept (under backups/<database>) */
  constructor(
    private readonly bus: EventBus,
    private readonly home: string,
  ) {}

  /** the preflight, the fill trigger's measured cost (a table over the limit fails it) and the backup's line */
  private async checks(
    target: PgTarget,
    plan: Awaited<ReturnType<typeof planMigration>>,
    opts: { backup: boolean; maxTriggerOverhead?: number },
  ): Promise<{ preflight: PreflightItem[]; triggerCost: TriggerCost[] }> {
    const checks = await preflight(target, plan);
    if (!plan.tables.length) return { preflight: checks, triggerCost: [] };
    const limit = opts.maxTriggerOverhead ?? MAX_TRIGGER_OVERHEAD;
    const triggerCost = await measureTriggerCost(target, plan, limit);
    checks.push(...triggerCostPreflight(triggerCost, limit));
    if (!opts.backup) checks.push({ level: 'warn', message: 'No backup is taken before the first change (--no-backup); the run records that.' });
    else checks.push(...(await backupPreflight(target, plan, backupDirFor(this.home, target.url))));
    return { preflight: checks, triggerCost };
  }

  private planOptions(input: {
    tables?: string[];
    derive?: Record<string, string>;
    notNull?: boolean;
    batchSize?: number;
    health?: PlanOptions['health'];
  }): PlanOptions {
    return {
      health: input.health,
      tables: input.tables,
      derive: input.derive ? Object.fromEntries(Object.entries(input.derive).map(([t, spec]) => [t, parseDerive(spec)])) : undefined,
      notNull: input.notNull,
      batchSize: input.batchSize,
    };
  }

  /** the run a crash, a pause or a failure left unfinished in the database, if any */
  private unfinished(target: PgTarget): Promise<number | null> {
    return target.reading('tenantscope-migrate-probe', unfinishedRun);
  }

  private log(runId: number | null, message: string): void {
    this.bus.emit('onMigrationLog', { runId, at: new Date().toISOString(), message });
  }

  audit(url: string, catalog: Catalog): Promise<Output<'migrate:audit'>> {
    return auditSchema(url, catalog).then((tables) => ({ tables }));
  }

  plan(url: string, catalog: Catalog, input: Input<'migrate:plan'>): Promise<Output<'migrate:plan'>> {
    return onTarget(url, async (target) => {
      const plan = await planMigration(target, catalog, this.planOptions(input));
      const checks = await this.checks(target, plan, { backup: true, maxTriggerOverhead: input.maxTriggerOverhead });
      if (!input.rls) return { plan, sql: planSql(plan), ...checks };
      // the phase as it will be once this plan has run: its tables have company_id and its index
      const rls = await target.reading('tenantscope-rls-plan', (c) => readRlsPlan(c, catalog, plan));
      return { plan, sql: planSql(plan), ...checks, rls: { sql: rlsSql(rls), tables: rls.tables.map((t) => t.table), left: rls.left } };
    });
  }

  run(url: string, catalog: Catalog, operator: string, input: Input<'migrate:run'>): Promise<Output<'migrate:run'>> {
    if (this.control) return Promise.reject(new AppError('conflict', 'A migration is running from this console already.'));
    return onTarget(url, (target) => this.runOn(target, catalog, operator, input));
  }

  private async runOn(target: PgTarget, catalog: Catalog, operator: string, input: Input<'migrate:run'>): Promise<Output<'migrate:run'>> {
    // resume the unfinished run when there is one (or when asked to); a new plan otherwise
    const pending = await this.unfinished(target);
    const resume = input.resume || pending !== null;
    if (input.dryRun) {
      const plan = resume ? null : await planMigration(target, catalog, this.planOptions(input));
      const checks = plan
        ? (await this.checks(target, plan, { backup: input.backup !== false, maxTriggerOverhead: input.maxTriggerOverhead })).preflight
        : [{ level: 'ok' as const, message: `Run ${pending} is unfinished: running would resume it.` }];
      return { runId: pending, status: 'dry-run', verification: null, plan, preflight: checks };
    }
    if (input.resume && pending === null) throw new AppError('not-found', 'There is no unfinished migration run to resume.');
    const plan = resume ? undefined : await planMigration(target, catalog, this.planOptions(input));
    const checks = plan ? (await this.checks(target, plan, { backup: input.backup !== false, maxTriggerOverhead: input.maxTriggerOverhead })).preflight : [];
    const failing = checks.filter((c) => c.level === 'fail');
    if (failing.length) throw new AppError('forbidden', failing.map((f) => f.message).join(' '));
    this.control = { paused: false, batchSize: input.batchSize ?? plan?.options.batchSize ?? 5000, delayMs: input.delayMs ?? 0 };
    let runId: number | null = pending;
    try {
      const r = await runMigration(target, {
        operator,
        plan,
        health: { probeUrl: input.probeUrl },
        backup: input.backup !== false ? { dir: backupDirFor(this.home, target.url) } : { skip: `run without a backup (--no-backup) by ${operator}` },
        control: this.control,
        onProgress: (p) => {
          runId = p.runId;
          this.progress = p;
          this.bus.emit('onMigration', p);
        },
        onLog: (line) => this.log(runId, line),
      });
      if (!input.rls) return { ...r, plan: plan ?? null, preflight: checks };
      return { ...r, plan: plan ?? null, preflight: checks, rls: await this.rlsAfter(target, catalog, operator, r) };
    } finally {
      this.control = null;
    }
  }

  /** The row-level security phase after a run: applied only once the run is done and verified. */
  private async rlsAfter(
    target: PgTarget,
    catalog: Catalog,
    operator: string,
    r: { runId: number | null; status: string; verification: { ok: boolean } | null },
  ): Promise<NonNullable<Output<'migrate:run'>['rls']>> {
    const not = (message: string) => {
      this.log(r.runId, message);
      return { applied: null, message };
    };
    if (r.status !== 'done' || !r.verification?.ok)
      return not(`row-level security not applied: run ${r.runId} is ${r.status === 'done' ? 'done but does not verify' : r.status}`);
    try {
      const a = await applyRls(target, catalog, operator, (l) => this.log(r.runId, l));
      return { applied: { id: a.id, tables: a.tables }, message: `row-level security phase ${a.id} applied to ${a.tables.length} tables` };
    } catch (e) {
      return not(`row-level security not applied: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  controlRun(input: Input<'migrate:control'>): Output<'migrate:control'> {
    const c = this.control;
    if (!c) return { running: false, paused: false, batchSize: null, delayMs: null };
    if (input.pause !== undefined) c.paused = input.pause;
    if (input.batchSize !== undefined) c.batchSize = input.batchSize;
    if (input.delayMs !== undefined) c.delayMs = input.delayMs;
    if (input.pause) this.log(this.progress?.runId ?? null, 'pause asked: the run stops after the batch in hand');
    return { running: true, paused: c.paused, batchSize: c.batchSize, delayMs: c.delayMs };
  }

  status(url: string): Promise<Output<'migrate:status'>> {
    return onTarget(url, async (target) => {
      const runs = await migrationRuns(target);
      const unfinished = await this.unfinished(target);
      return { running: this.control ? this.progress : null, runs, unfinished, log: runs[0] ? await migrationLog(target, runs[0].id, 200) : [] };
    });
  }

  verify(url: string, runId?: number): Promise<Output<'migrate:verify'>> {
    return verifyMigration(url, runId);
  }

  verifyBackup(url: string, runId?: number): Promise<Output<'migrate:backupVerify'>> {
    return verifyBackup(url, backupDirFor(this.home, url), runId);
  }

  rlsPlan(url: string, catalog: Catalog): Promise<Output<'migrate:rlsPlan'>> {
    return onTarget(url, (target) =>
      target.reading('tenantscope-rls-plan', async (c) => {
        const plan = await readRlsPlan(c, catalog);
        return {
          tables: plan.tables.map((t) => ({ table: t.table, shared: t.shared, index: t.index, makeIndex: t.makeIndex })),
          left: plan.left,
          sql: rlsSql(plan),
          pitfalls: await rlsPitfalls(c, plan),
          applied: await appliedRls(c),
        };
      }),
    );
  }

  rlsApply(url: string, catalog: Catalog, operator: string): Promise<Output<'migrate:rlsApply'>> {
    return applyRls(url, catalog, operator, (l) => this.log(null, l));
  }

  rlsProve(url: string, catalog: Catalog, input: { role?: string; company?: string }): Promise<Output<'migrate:rlsProve'>> {
    return proveRls(url, catalog, input);
  }

  rlsRollback(url: string, operator: string): Promise<Output<'migrate:rlsRollback'>> {
    return rollbackRls(url, operator, (l) => this.log(null, l));
  }

  async rollback(url: string, operator: string, runId?: number, rls = false): Promise<Output<'migrate:rollback'>> {
    if (this.control) throw new AppError('conflict', 'A migration is running: pause it before rolling back.');
    // the policies read company_id: with rls, the phase comes out first (the run's rollback refuses otherwise)
    if (rls && (await onTarget(url, (t) => t.reading('tenantscope-rls-plan', appliedRls)))) await this.rlsRollback(url, operator);
    return rollbackMigration(url, { runId, operator, onLog: (line) => this.log(runId ?? null, line) });
  }
}
