import type pg from 'pg';
import type { MigrationPlan, MigrationProgress, PlanStep, StepKind, TablePlan, TableProgress } from '../../../src-shared/migration.ts';
import type { LoadedRun } from '../state.ts';
import type { HealthOptions, HealthWatch } from '../health.ts';

/** What a table's steps are made from besides the table: the plan's options. */
export interface StepOptions {
  notNull: boolean;
  schema: string;
  companiesTable: string;
  /** the type company_id is added as (one of COMPANY_ID_TYPES) */
  companyIdType: string;
}

/** Changed while a run goes on (the console's pause button, the throttle). */
export interface RunControl {
  paused: boolean;
  batchSize: number;
  delayMs: number;
}

export interface RunOptions {
  operator: string;
  /** a new plan to run; without it, the unfinished run is resumed */
  plan?: MigrationPlan;
  control?: RunControl;
  /** a batch should hold its row locks at most this long: larger ones shrink, shorter ones grow */
  maxBatchMs?: number;
  /**
   * before the first DDL: a backup into `dir`, or none for the reason given (recorded with the
   * run; left out, the run records that its caller asked for none)
   */
  backup?: { dir: string } | { skip: string };
  /** the application probe, how often to sample while waiting, stand-in samplers (the thresholds are the plan's) */
  health?: Omit<HealthOptions, 'thresholds'>;
  /** DDL retries when lock_timeout hits, before the run fails */
  lockRetries?: number;
  onProgress?: (p: MigrationProgress) => void;
  onLog?: (line: string) => void;
}

/** What a step is given to run: the run's connection and state, its log and progress, the throttle. */
export interface StepContext {
  /** the run's connection (search_path set to the CRM's schema; it holds the runner's lock) */
  readonly c: pg.ClientBase;
  /** a second connection, to see who waits on the run's locks */
  readonly monitor: pg.ClientBase;
  readonly run: LoadedRun;
  readonly opts: RunOptions;
  readonly control: RunControl;
  /** the database's health signals: `clear` waits while one is over its threshold */
  readonly health: HealthWatch;
  /** the batch size and pause in use now (the backfill's throttle moves them) */
  throttle: { size: number; delay: number };
  log(line: string): void;
  emit(): void;
  progressOf(table: string): TableProgress;
  /** a DDL with its step's state, in one transaction under lock_timeout, retried while it hits; a string from `body` skips the step with that reason */
  ddl(step: PlanStep, body: (c: pg.ClientBase) => Promise<string | void>): Promise<void>;
}

/** What undoes a step on rollback: one statement, and whether it may run in a transaction. */
export interface Undo {
  what: string;
  sql: string;
  inTransaction: boolean;
}

/**
 * One kind of migration step: the SQL the plan shows (and the runner runs), when a table's plan
 * has it, how it runs (with what may skip it), and what undoes it. The runner loops over a
 * table's steps; rollback undoes them in reverse.
 */
export interface StepKindDef {
  kind: StepKind;
  /** whether a table's plan has this step */
  applies(opts: StepOptions): boolean;
  make(t: TablePlan, opts: StepOptions): { sql: string; locks: string };
  run(ctx: StepContext, step: PlanStep, t: TablePlan): Promise<'done' | 'paused'>;
  /** null: nothing to undo (a validation, the backfill's values go with the column) */
  undo(t: TablePlan, opts: { addedColumn: boolean; stateSchema: string }): Undo | null;
}

/** A step whose SQL runs as the plan shows it, in one transaction, after the checks that may skip it. */
export function ddlRun(check?: (c: pg.ClientBase, t: TablePlan, ctx: StepContext) => Promise<string | void>): StepKindDef['run'] {
  return async (ctx, step, t) => {
    await ctx.ddl(step, async (c) => {
      const skip = await check?.(c, t, ctx);
      if (skip) return skip;
      await c.query(step.sql);
    });
    return 'done';
  };
}
