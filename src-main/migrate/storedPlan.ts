import type { MigrationPlan, PlanStep } from '../../src-shared/migration.ts';
import { changedPlan, checkPlanShape } from './planShape.ts';
import { stepsFor } from './steps/registry.ts';

/**
 * A plan read back from the database before the runner runs any of it: its shape and numbers
 * (planShape.ts), and every step's SQL must be the SQL that its tables make now; the runner runs
 * only those. A plan changed in tenantscope_migration is refused, naming what differs.
 */
export function checkStoredPlan(plan: MigrationPlan, runId: number): void {
  checkPlanShape(plan, runId);
  const rebuilt: PlanStep[] = [];
  for (const t of plan.tables)
    rebuilt.push(
      ...stepsFor(
        t,
        { notNull: plan.options.notNull, schema: plan.schema, companiesTable: plan.companiesTable, companyIdType: plan.companyIdType ?? 'uuid' },
        rebuilt.length + 1,
      ),
    );
  if (rebuilt.length !== plan.steps.length) throw changedPlan(runId, `${plan.steps.length} steps where its tables make ${rebuilt.length}`);
  rebuilt.forEach((r, i) => {
    const s = plan.steps[i]!;
    if (s.n !== r.n || s.table !== r.table || s.kind !== r.kind || s.sql !== r.sql)
      throw changedPlan(runId, `step ${i + 1} (${String(s.table)}: ${String(s.kind)}) is not the step its table makes`);
  });
}
