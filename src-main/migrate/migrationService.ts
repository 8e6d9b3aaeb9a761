import type { Catalog } from '../../src-shared/catalog.ts';
import type { Input, Output } from '../../src-shared/contract.ts';
import { AppError } from '../../src-shared/result.ts';
import type { EventBus } from '../core/eventBus.ts';
import { parseDerive, planMigration, planSql, preflight, type PlanOptions } from './planner.ts';
import { migrationLog, migrationRuns, rollbackMigration, runMigration, verifyMigration, unfinishedRun, type MigrationProgress, type RunControl } from './runner.ts';
import { auditSchema } from './schemaAudit.ts';
import { connect } from './pg.ts';

/**
 * The migration's entry points for every door (console, HTTP host, CLI): one run at a time in
 * this process, its control (pause, throttle) and its latest progress for windows that open later.
 */
export class MigrationService {
  private control: RunControl | null = null;
  private progress: MigrationProgress | null = null;

  constructor(private readonly bus: EventBus) {}

  private planOptions(input: { tables?: string[]; derive?: Record<string, string>; notNull?: boolean; batchSize?: number }): PlanOptions {
    return {
      tables: input.tables,
      derive: input.derive ? Object.fromEntries(Object.entries(input.derive).map(([t, spec]) => [t, parseDerive(spec)])) : undefined,
      notNull: input.notNull,
      batchSize: input.batchSize,
    };
  }

  /** the run a crash, a pause or a failure left unfinished in the database, if any */
  private async unfinished(url: string): Promise<number | null> {
    const probe = await connect(url, 'tenantscope-migrate-probe');
    try {
      return await unfinishedRun(probe);
    } finally {
      await probe.end().catch(() => {});
    }
  }

  private log(runId: number | null, message: string): void {
    this.bus.emit('onMigrationLog', { runId, at: new Date().toISOString(), message });
  }

  audit(url: string, catalog: Catalog): Promise<Output<'migrate:audit'>> {
    return auditSchema(url, catalog).then((tables) => ({ tables }));
  }

  async plan(url: string, catalog: Catalog, input: Input<'migrate:plan'>): Promise<Output<'migrate:plan'>> {
    const plan = await planMigration(url, catalog, this.planOptions(input));
    return { plan, sql: planSql(plan), preflight: await preflight(url, plan) };
  }

  async run(url: string, catalog: Catalog, operator: string, input: Input<'migrate:run'>): Promise<Output<'migrate:run'>> {
    if (this.control) throw new AppError('conflict', 'A migration is running from this console already.');
    // resume the unfinished run when there is one (or when asked to); a new plan otherwise
    const pending = await this.unfinished(url);
    const resume = input.resume || pending !== null;
    if (input.dryRun) {
      const plan = resume ? null : await planMigration(url, catalog, this.planOptions(input));
      const checks = plan ? await preflight(url, plan) : [{ level: 'ok' as const, message: `Run ${pending} is unfinished: running would resume it.` }];
      return { runId: pending, status: 'dry-run', verification: null, plan, preflight: checks };
    }
    if (input.resume && pending === null) throw new AppError('not-found', 'There is no unfinished migration run to resume.');
    const plan = resume ? undefined : await planMigration(url, catalog, this.planOptions(input));
    const checks = plan ? await preflight(url, plan) : [];
    const failing = checks.filter((c) => c.level === 'fail');
    if (failing.length) throw new AppError('forbidden', failing.map((f) => f.message).join(' '));
    this.control = { paused: false, batchSize: input.batchSize ?? plan?.options.batchSize ?? 5000, delayMs: input.delayMs ?? 0 };
    let runId: number | null = pending;
    try {
      const r = await runMigration(url, {
        operator, plan, control: this.control,
        onProgress: (p) => { runId = p.runId; this.progress = p; this.bus.emit('onMigration', p); },
        onLog: (line) => this.log(runId, line),
      });
      return { ...r, plan: plan ?? null, preflight: checks };
    } finally {
      this.control = null;
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

  async status(url: string): Promise<Output<'migrate:status'>> {
    const runs = await migrationRuns(url);
    const unfinished = await this.unfinished(url);
    return { running: this.control ? this.progress : null, runs, unfinished, log: runs[0] ? await migrationLog(url, runs[0].id, 200) : [] };
  }

  verify(url: string, runId?: number): Promise<Output<'migrate:verify'>> {
    return verifyMigration(url, runId);
  }

  async rollback(url: string, operator: string, runId?: number): Promise<Output<'migrate:rollback'>> {
    if (this.control) throw new AppError('conflict', 'A migration is running: pause it before rolling back.');
    return rollbackMigration(url, { runId, operator, onLog: (line) => this.log(runId ?? null, line) });
  }
}
