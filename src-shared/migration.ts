import { z } from 'zod';

/**
 * What the company_id migration says through the contract: the schema audit, the plan, live
 * progress, the verification, rollback and the runs recorded in the CRM's database.
 */
const Priority = z.enum(['HIGH', 'MEDIUM', 'LOW']).nullable();
export const StepKindSchema = z.enum(['add-column', 'trigger', 'backfill', 'index', 'fk', 'fk-validate', 'check', 'check-validate']);

export const TableAuditSchema = z.object({
  resource: z.string(), table: z.string(), priority: z.string().nullable(), hasCompanyId: z.boolean(),
  total: z.number(), withCompanyId: z.number(), missing: z.number(),
  indexOnCompanyId: z.boolean(), foreignKeyOnCompanyId: z.boolean(), childMismatches: z.number().nullable(),
  uniqueWithoutCompany: z.array(z.string()), citus: z.object({ ready: z.boolean(), blockers: z.array(z.string()) }),
});

export const PlanStepSchema = z.object({ n: z.number(), table: z.string(), kind: StepKindSchema, sql: z.string(), locks: z.string() });

export const TablePlanSchema = z.object({
  resource: z.string(), table: z.string(), priority: Priority, phase: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  derivation: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('owner'), field: z.string(), usersTable: z.string() }),
    z.object({ kind: z.literal('parent'), field: z.string(), parentTable: z.string() }),
  ]),
  key: z.string(), columns: z.array(z.string()), rows: z.number(), orphansPredicted: z.number(),
  estimate: z.object({ seconds: z.number(), columnBytes: z.number(), indexBytes: z.number(), transientBytes: z.number() }),
  names: z.object({ index: z.string(), fk: z.string(), check: z.string(), trigger: z.string(), fn: z.string() }),
  note: z.string().nullable(),
});

export const MigrationPlanSchema = z.object({
  createdAt: z.string(), database: z.string(), schema: z.string(), companiesTable: z.string(),
  options: z.object({ notNull: z.boolean(), batchSize: z.number(), lockTimeoutMs: z.number() }),
  tables: z.array(TablePlanSchema), steps: z.array(PlanStepSchema),
  asks: z.array(z.object({ table: z.string(), reason: z.string() })),
  skipped: z.array(z.object({ table: z.string(), reason: z.string() })),
  estimate: z.object({ rows: z.number(), seconds: z.number(), bytes: z.number() }),
});

export const RunStatusSchema = z.enum(['running', 'paused', 'done', 'failed', 'rolled-back']);

export const MigrationProgressSchema = z.object({
  runId: z.number(), status: RunStatusSchema,
  tables: z.array(z.object({
    table: z.string(), phase: z.number(), status: z.enum(['pending', 'running', 'done', 'failed']), step: StepKindSchema.nullable(),
    done: z.number(), total: z.number(), rate: z.number(), etaSeconds: z.number().nullable(),
  })),
  overall: z.object({ done: z.number(), total: z.number(), rate: z.number(), etaSeconds: z.number().nullable(), steps: z.number(), stepsDone: z.number() }),
  batchSize: z.number(), delayMs: z.number(), message: z.string().nullable(),
});
export type MigrationProgressData = z.infer<typeof MigrationProgressSchema>;

export const VerificationSchema = z.object({
  runId: z.number(), ok: z.boolean(), fingerprintsEqual: z.boolean(),
  tables: z.array(z.object({
    table: z.string(), hasColumn: z.boolean(), rows: z.number(), missing: z.number(),
    orphans: z.object({ count: z.number(), ids: z.array(z.string()) }), fillableMissing: z.number(), mismatched: z.number(),
    index: z.enum(['valid', 'invalid', 'missing']), foreignKey: z.enum(['validated', 'not-valid', 'missing']), notNull: z.enum(['validated', 'not-valid', 'missing', 'skipped']),
    fingerprint: z.object({ before: z.string(), now: z.string(), rowsBefore: z.number(), equal: z.boolean() }),
    ok: z.boolean(), problems: z.array(z.string()),
  })),
});
export type VerificationData = z.infer<typeof VerificationSchema>;

export const RunRecordSchema = z.object({
  id: z.number(), startedBy: z.string(), startedAt: z.string(), finishedAt: z.string().nullable(), status: RunStatusSchema,
  tables: z.array(z.string()), rows: z.number(), message: z.string().nullable(), rolledBackBy: z.string().nullable(),
});
export type RunRecordData = z.infer<typeof RunRecordSchema>;

export const RollbackResultSchema = z.object({
  runId: z.number(), ok: z.boolean(),
  tables: z.array(z.object({ table: z.string(), schemaEqual: z.boolean(), fingerprintEqual: z.boolean() })),
});

export const PreflightSchema = z.array(z.object({ level: z.enum(['ok', 'warn', 'fail']), message: z.string() }));

/**
 * The words for what a run did to a table's other columns (their fingerprint before and after),
 * the same in the window, the CLI and the reports.
 */
export const OTHER_COLUMNS = 'other columns';
export function otherColumnsText(fingerprint: { equal: boolean; rowsBefore: number }, rowsNow: number): string {
  return fingerprint.equal ? 'unchanged' : `changed (${fingerprint.rowsBefore.toLocaleString('en-US')} → ${rowsNow.toLocaleString('en-US')} rows)`;
}
