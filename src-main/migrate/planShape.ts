import { COMPANY_ID_TYPES, HEALTH_SIGNALS, StepKindSchema, type MigrationPlan } from '../../src-shared/migration.ts';
import { AppError } from '../../src-shared/result.ts';

const PLAN_LIMITS = { batchSize: [1, 1_000_000], lockTimeoutMs: [1, 600_000] } as const;

/** The refusal of a plan read back from the database that is not what TenantScope wrote. */
export const changedPlan = (runId: number, what: string) =>
  new AppError(
    'conflict',
    `The plan stored with migration run ${runId} was changed in the database (${what}): it is not run. Roll the run back (tenantscope migrate rollback --run ${runId}) or make a new plan.`,
  );

/**
 * A plan read back from the database (a run to resume or roll back) is trusted for nothing: its
 * numbers must be integers in range, and its steps of known kinds on its own tables. Enough for a
 * rollback, which runs no step's SQL (it undoes each step by its kind, every name quoted); the
 * runner checks the steps' SQL too (storedPlan.ts).
 */
export function checkPlanShape(plan: MigrationPlan, runId: number): void {
  for (const [key, [lo, hi]] of Object.entries(PLAN_LIMITS) as Array<[keyof typeof PLAN_LIMITS, readonly [number, number]]>) {
    const v = plan.options?.[key];
    if (!Number.isSafeInteger(v) || v < lo || v > hi)
      throw changedPlan(runId, `options.${key} is ${JSON.stringify(v)}, not a whole number from ${lo} to ${hi}`);
  }
  if (
    typeof plan.options.notNull !== 'boolean' ||
    typeof plan.schema !== 'string' ||
    typeof plan.companiesTable !== 'string' ||
    !Array.isArray(plan.tables) ||
    !Array.isArray(plan.steps)
  )
    throw changedPlan(runId, 'its shape');
  for (const [key, v] of Object.entries(plan.options.health ?? {}))
    if (!(key in HEALTH_SIGNALS) || typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw changedPlan(runId, `options.health.${key} is ${JSON.stringify(v)}, not a threshold`);
  if (plan.companyIdType !== undefined && !Object.values(COMPANY_ID_TYPES).includes(plan.companyIdType))
    throw changedPlan(runId, `companyIdType is ${JSON.stringify(plan.companyIdType)}`);
  const tables = new Set(plan.tables.map((t) => t.table));
  const odd = plan.steps.find((s) => !StepKindSchema.safeParse(s.kind).success || !tables.has(s.table));
  if (odd) throw changedPlan(runId, `a step of kind ${JSON.stringify(odd.kind)} on ${JSON.stringify(odd.table)}`);
}
