import { z } from 'zod';
import {
  BackupVerificationSchema,
  HealthThresholdsSchema,
  MigrationPlanSchema,
  MigrationProgressSchema,
  PreflightSchema,
  RollbackResultSchema,
  RunRecordSchema,
  TableAuditSchema,
  TriggerCostSchema,
  VerificationSchema,
} from '../migration.ts';
import { DbUrl, Ident, type Channels } from './common.ts';
import { VerdictSchema } from '../tenancy.ts';

// The company_id migration of the CRM's PostgreSQL.

export const MigrateOptions = z
  .object({
    /** only these tables (a child brings its parent) */
    tables: z.array(Ident).max(500).optional(),
    /** how to derive company_id for tables the catalog cannot derive: owner:<field> or parent:<resource>.<field> */
    derive: z
      .record(
        Ident,
        z
          .string()
          .regex(/^(owner:[A-Za-z_][A-Za-z0-9_]*|parent:[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)$/, 'owner:<field> or parent:<resource>.<field>'),
      )
      .optional(),
    notNull: z.boolean().default(false),
    batchSize: z.number().int().min(1).max(100_000).optional(),
    /** thresholds of the signals the runner waits on between batches (defaults for those left out) */
    health: HealthThresholdsSchema.strict().optional(),
    /** refuse a table whose writes the fill trigger slows more than this (default 1.5) */
    maxTriggerOverhead: z.number().min(1).max(100).optional(),
    /** plan: the row-level security phase as it will be after this plan; run: apply it once the run is done and verified */
    rls: z.boolean().default(false),
    databaseUrl: DbUrl.optional(),
  })
  .strict();

/** The row-level security phase planned beside a migration plan, as SQL. */
const RlsPhasePlanSchema = z.object({ sql: z.string(), tables: z.array(z.string()), left: z.array(z.object({ table: z.string(), reason: z.string() })) });

export const migrateChannels = {
  'migrate:audit': {
    access: 'super-admin',
    summary:
      "Schema audit of the CRM's PostgreSQL, read-only: company_id per table, the seed's verify counts, indexes, foreign keys, children of another company, unique keys, Citus readiness",
    input: z.object({ databaseUrl: DbUrl.optional() }).strict(),
    output: z.object({ tables: z.array(TableAuditSchema) }),
  },
  'migrate:plan': {
    access: 'super-admin',
    summary: 'The company_id migration plan (read-only): derivation per table, lock-safe steps as SQL, estimates, and a preflight of the database',
    input: MigrateOptions,
    output: z.object({
      plan: MigrationPlanSchema,
      sql: z.string(),
      preflight: PreflightSchema,
      triggerCost: z.array(TriggerCostSchema),
      /** with rls: the phase that follows this plan */
      rls: RlsPhasePlanSchema.optional(),
    }),
  },
  'migrate:run': {
    access: 'super-admin',
    summary: 'Run a new plan, or resume the unfinished run; answers when it is done (verified), paused or failed. dryRun: plan and preflight only',
    input: MigrateOptions.extend({
      dryRun: z.boolean().default(false),
      delayMs: z.number().int().min(0).max(60_000).optional(),
      resume: z.boolean().default(false),
      /** an application URL timed with each health sample: the run waits while it answers slowly or in error */
      probeUrl: z
        .string()
        .max(2000)
        .regex(/^https?:\/\//, 'an http or https URL')
        .optional(),
      /** a backup of the tables before the first change (false: none, and the run records that) */
      backup: z.boolean().default(true),
    }).strict(),
    output: z.object({
      runId: z.number().nullable(),
      status: z.enum(['running', 'paused', 'done', 'failed', 'rolled-back', 'dry-run']),
      verification: VerificationSchema.nullable(),
      plan: MigrationPlanSchema.nullable(),
      preflight: PreflightSchema,
      /** with rls: the phase applied after the verified run, or why it was not */
      rls: z.object({ applied: z.object({ id: z.number(), tables: z.array(z.string()) }).nullable(), message: z.string() }).optional(),
    }),
  },
  'migrate:control': {
    access: 'super-admin',
    summary: 'Pause the running migration (it stops after the batch in hand; run again to resume), or change its batch size and pause between batches',
    input: z
      .object({
        pause: z.boolean().optional(),
        batchSize: z.number().int().min(1).max(100_000).optional(),
        delayMs: z.number().int().min(0).max(60_000).optional(),
      })
      .strict(),
    output: z.object({ running: z.boolean(), paused: z.boolean(), batchSize: z.number().nullable(), delayMs: z.number().nullable() }),
  },
  'migrate:status': {
    access: 'super-admin',
    summary: "The migration running now (with its progress), the runs recorded in the CRM's database, and the newest run's log",
    input: z.object({ databaseUrl: DbUrl.optional() }).strict(),
    output: z.object({
      running: MigrationProgressSchema.nullable(),
      runs: z.array(RunRecordSchema),
      unfinished: z.number().nullable(),
      log: z.array(z.object({ at: z.string(), message: z.string() })),
    }),
  },
  'migrate:verify': {
    access: 'super-admin',
    summary:
      'Verify a run (the newest by default): company_id filled but for the orphans (by id), index, foreign key, NOT NULL, fingerprints of the other columns',
    input: z.object({ runId: z.number().int().positive().optional(), databaseUrl: DbUrl.optional() }).strict(),
    output: VerificationSchema,
  },
  'migrate:backupVerify': {
    access: 'super-admin',
    summary:
      "Restore a run's backup (the newest run's by default) into a scratch database and compare every table's fingerprint with the source's as of the dump",
    input: z.object({ runId: z.number().int().positive().optional(), databaseUrl: DbUrl.optional() }).strict(),
    output: BackupVerificationSchema,
  },
  'migrate:rlsPlan': {
    access: 'super-admin',
    summary:
      'The row-level security phase, read-only: the tables that take policies (and those left out, and why), the SQL, what the application must do, and the pitfalls read from the database',
    input: z.object({ databaseUrl: DbUrl.optional() }).strict(),
    output: z.object({
      tables: z.array(z.object({ table: z.string(), shared: z.boolean(), index: z.string().nullable(), makeIndex: z.boolean() })),
      left: z.array(z.object({ table: z.string(), reason: z.string() })),
      sql: z.string(),
      pitfalls: PreflightSchema,
      applied: z.object({ id: z.number(), appliedBy: z.string(), appliedAt: z.string(), tables: z.number() }).nullable(),
    }),
  },
  'migrate:rlsApply': {
    access: 'super-admin',
    summary: 'Apply the row-level security phase: the indexes it needs, then every tenant table’s policies in one transaction',
    input: z
      .object({ databaseUrl: DbUrl.optional(), confirm: z.literal(true, { message: 'the policies change what every connection sees: confirm it' }) })
      .strict(),
    output: z.object({ id: z.number(), tables: z.array(z.string()), indexesMade: z.array(z.string()) }),
  },
  'migrate:rlsProve': {
    access: 'super-admin',
    summary:
      "The canary matrix at the database: as the application's role with another company set, read, update, delete and insert each table's row of a company not its own (all rolled back)",
    input: z.object({ databaseUrl: DbUrl.optional(), role: Ident.optional(), company: z.string().max(100).optional() }).strict(),
    output: z.object({
      role: z.string(),
      company: z.string(),
      rows: z.array(
        z.object({ table: z.string(), read: VerdictSchema, update: VerdictSchema, delete: VerdictSchema, insert: VerdictSchema, note: z.string().nullable() }),
      ),
    }),
  },
  'migrate:rlsRollback': {
    access: 'super-admin',
    summary: 'Take the row-level security phase back out: its policies dropped, each table’s RLS as it was, the indexes it made dropped',
    input: z.object({ databaseUrl: DbUrl.optional(), confirm: z.literal(true, { message: 'rollback removes the policies: confirm it' }) }).strict(),
    output: z.object({ id: z.number(), tables: z.array(z.string()) }),
  },
  'migrate:rollback': {
    access: 'super-admin',
    summary: 'Remove exactly what a run added (the newest by default); checks schema and fingerprints against before the run',
    input: z
      .object({
        runId: z.number().int().positive().optional(),
        confirm: z.literal(true, { message: 'rollback drops the columns the run added: confirm it' }),
        /** take the row-level security phase out first (its policies read the columns the rollback drops) */
        rls: z.boolean().default(false),
        databaseUrl: DbUrl.optional(),
      })
      .strict(),
    output: RollbackResultSchema,
  },
} as const satisfies Channels;
