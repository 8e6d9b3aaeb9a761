import type { PlanStep, StepKind, TablePlan } from '../../../src-shared/migration.ts';
import { addColumn } from './addColumn.ts';
import { backfill } from './backfill.ts';
import { foreignKey, foreignKeyValidate } from './foreignKey.ts';
import { companyIndex } from './index.ts';
import { notNullCheck, notNullValidate } from './notNull.ts';
import { trigger } from './trigger.ts';
import type { StepKindDef, StepOptions } from './types.ts';

/**
 * Every step kind, in the order a table's steps run: add the column nullable (metadata only) →
 * a trigger that fills it while old code writes rows without it → backfill by key range → index
 * CONCURRENTLY → foreign key NOT VALID, then VALIDATE → optionally CHECK (company_id IS NOT NULL)
 * NOT VALID, then VALIDATE. Rollback undoes them in reverse.
 */
export const STEP_KINDS: readonly StepKindDef[] = [addColumn, trigger, backfill, companyIndex, foreignKey, foreignKeyValidate, notNullCheck, notNullValidate];

const BY_KIND = new Map(STEP_KINDS.map((k) => [k.kind, k]));

export function stepKind(kind: StepKind): StepKindDef {
  const def = BY_KIND.get(kind);
  if (!def) throw new Error(`no step kind ${kind}`);
  return def;
}

/** The steps of one table, numbered from `start`; the runner runs each step's SQL as it stands here (every DDL under lock_timeout). */
export function stepsFor(t: TablePlan, opts: StepOptions, start: number): PlanStep[] {
  return STEP_KINDS.filter((k) => k.applies(opts)).map((k, i) => ({ n: start + i, table: t.table, kind: k.kind, ...k.make(t, opts) }));
}
