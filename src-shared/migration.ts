import { z } from 'zod';

/**
 * What the company_id migration says through the contract: the schema audit, the plan, live
 * progress, the verification, rollback and the runs recorded in the CRM's database.
 */
const Priority = z.enum(['HIGH', 'MEDIUM', 'LOW']).nullable();
export const StepKindSchema = z.enum(['add-column', 'trigger', 'backfill', 'index', 'fk', 'fk-validate', 'check', 'check-validate']);
export type StepKind = z.output<typeof StepKindSchema>;

export const TableAuditSchema = z.object({
  resource: z.string(),
  table: z.string(),
  priority: z.string().nullable(),
  hasCompanyId: z.boolean(),
  /** the seed's verify query: total, with company_id, missing */
  total: z.number(),
  withCompanyId: z.number(),
  missing: z.number(),
  indexOnCompanyId: z.boolean(),
  foreignKeyOnCompanyId: z.boolean(),
  /** rows whose company_id differs from the company of a row they reference (owner, parent, any reference; both tables have the column); null when no referenced table has it */
  childMismatches: z.number().nullable(),
  /** each reference to a table with company_id: how many rows point into another company, and the first ids */
  crossReferences: z.array(z.object({ field: z.string(), resource: z.string(), table: z.string(), count: z.number(), ids: z.array(z.string()) })).default([]),
  /** unique constraints and unique indexes that leave company_id out: they disclose what exists in other tenants */
  uniqueWithoutCompany: z.array(z.string()),
  /** for a tenant-distributed PostgreSQL (Citus): primary, unique and foreign keys that leave company_id out */
  citus: z.object({ ready: z.boolean(), blockers: z.array(z.string()) }),
});
export type TableAudit = z.output<typeof TableAuditSchema>;

export const PlanStepSchema = z.object({
  n: z.number(),
  table: z.string(),
  kind: StepKindSchema,
  /** the SQL as it runs (the backfill shows one batch, $1 the last key done, $2 the batch size) */
  sql: z.string(),
  /** the lock it takes and for how long, in words */
  locks: z.string(),
});
export type PlanStep = z.output<typeof PlanStepSchema>;

export const TableDerivationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('owner'), field: z.string(), usersTable: z.string() }),
  z.object({ kind: z.literal('parent'), field: z.string(), parentTable: z.string() }),
]);
export type TableDerivation = z.output<typeof TableDerivationSchema>;

export const TablePlanSchema = z.object({
  resource: z.string(),
  table: z.string(),
  priority: Priority,
  /** 1: HIGH (critical tables first), 2: MEDIUM, 3: LOW */
  phase: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  derivation: TableDerivationSchema,
  /** the primary key the backfill walks in ranges */
  key: z.string(),
  /** every column but company_id, in order: the fingerprint covers them */
  columns: z.array(z.string()),
  rows: z.number(),
  /** rows whose owner or parent gives no company: they stay NULL and verify lists them */
  orphansPredicted: z.number(),
  estimate: z.object({ seconds: z.number(), columnBytes: z.number(), indexBytes: z.number(), transientBytes: z.number() }),
  names: z.object({ index: z.string(), fk: z.string(), check: z.string(), trigger: z.string(), fn: z.string() }),
  note: z.string().nullable(),
});
export type TablePlan = z.output<typeof TablePlanSchema>;

/**
 * What the runner watches between batches, each with the threshold that makes it wait. The
 * defaults and why (after GitLab's batched background migrations, which pause on the same):
 */
export const HEALTH_SIGNALS = {
  replicaLagSeconds: { label: 'replica lag', unit: 's', default: 10, why: 'replicas that serve reads fall behind the writes the backfill makes' },
  walMiBPerSecond: {
    label: 'WAL written',
    unit: 'MiB/s',
    default: 64,
    why: 'replicas and the WAL archive must take in every page the backfill changes (with neither, it is shown and never waited on)',
  },
  archiveBacklog: { label: 'WAL archive backlog', unit: 'segments', default: 50, why: 'segments waiting to be archived: a backup that falls behind' },
  vacuumOnTable: {
    label: 'vacuum on the table',
    unit: 'running',
    default: 0,
    why: "the backfill's updates compete with a vacuum of the same table (an anti-wraparound one must finish)",
  },
  longestTransactionSeconds: {
    label: 'longest open transaction',
    unit: 's',
    default: 300,
    why: 'an old snapshot keeps every dead row the backfill leaves: the table bloats until it ends',
  },
  databaseLatencyMs: { label: 'database latency', unit: 'ms', default: 200, why: 'a trivial query that answers slowly: the server is struggling' },
  probeMs: { label: 'application probe', unit: 'ms', default: 1000, why: "the application's own URL answering slowly (when one is given)" },
} as const;
export type HealthSignalName = keyof typeof HEALTH_SIGNALS;
export const HealthThresholdsSchema = z.object(
  Object.fromEntries(Object.keys(HEALTH_SIGNALS).map((k) => [k, z.number().min(0).max(1e9).optional()])) as Record<
    HealthSignalName,
    z.ZodOptional<z.ZodNumber>
  >,
);
export type HealthThresholds = z.output<typeof HealthThresholdsSchema>;

/** One signal as last sampled: null when it cannot be read here (no replica, no archive, no probe). */
export const HealthSignalSchema = z.object({
  name: z.string(),
  label: z.string(),
  unit: z.string(),
  value: z.number().nullable(),
  threshold: z.number(),
  ok: z.boolean(),
  note: z.string().nullable(),
});
export type HealthSignal = z.output<typeof HealthSignalSchema>;

export const MigrationPlanSchema = z.object({
  createdAt: z.string(),
  /** host and database, never the password */
  database: z.string(),
  /** the schema the CRM's tables live in */
  schema: z.string(),
  /** the table company_id points at (the users table's company_id references it) */
  companiesTable: z.string(),
  /** the type company_id is added as: the users table's company_id type (plans made before it was kept: uuid) */
  companyIdType: z.string().optional(),
  options: z.object({
    notNull: z.boolean(),
    batchSize: z.number(),
    lockTimeoutMs: z.number(),
    /** thresholds of the signals the runner waits on (the defaults for those left out) */
    health: HealthThresholdsSchema.optional(),
  }),
  tables: z.array(TablePlanSchema),
  steps: z.array(PlanStepSchema),
  /** tables the planner cannot derive: a person has to say how (--derive) */
  asks: z.array(z.object({ table: z.string(), reason: z.string() })),
  /** tables left as they are, and why (already have company_id, rows they miss) */
  skipped: z.array(z.object({ table: z.string(), reason: z.string() })),
  estimate: z.object({ rows: z.number(), seconds: z.number(), bytes: z.number() }),
  /** the backup taken before the first DDL: about this big (the tables' data) and this long (plans made before backups lack it) */
  backupEstimate: z.object({ bytes: z.number(), seconds: z.number() }).optional(),
});
export type MigrationPlan = z.output<typeof MigrationPlanSchema>;

/** The types the migration adds company_id as, by information_schema's name for the users table's column. */
export const COMPANY_ID_TYPES: Readonly<Record<string, string>> = {
  uuid: 'uuid',
  integer: 'integer',
  bigint: 'bigint',
  smallint: 'smallint',
  text: 'text',
  'character varying': 'varchar',
};

export const RunStatusSchema = z.enum(['running', 'paused', 'done', 'failed', 'rolled-back']);
export type RunStatus = z.output<typeof RunStatusSchema>;

export const TableProgressSchema = z.object({
  table: z.string(),
  phase: z.number(),
  status: z.enum(['pending', 'running', 'done', 'failed']),
  step: StepKindSchema.nullable(),
  done: z.number(),
  total: z.number(),
  rate: z.number(),
  etaSeconds: z.number().nullable(),
});
export type TableProgress = z.output<typeof TableProgressSchema>;

export const MigrationProgressSchema = z.object({
  runId: z.number(),
  status: RunStatusSchema,
  tables: z.array(TableProgressSchema),
  overall: z.object({ done: z.number(), total: z.number(), rate: z.number(), etaSeconds: z.number().nullable(), steps: z.number(), stepsDone: z.number() }),
  batchSize: z.number(),
  delayMs: z.number(),
  message: z.string().nullable(),
  /** the signals as last sampled, and why the run waits now (null: it does not) */
  health: z
    .object({ signals: z.array(HealthSignalSchema), waiting: z.string().nullable() })
    .nullable()
    .default(null),
});
export type MigrationProgress = z.output<typeof MigrationProgressSchema>;

export const TableVerificationSchema = z.object({
  table: z.string(),
  hasColumn: z.boolean(),
  rows: z.number(),
  missing: z.number(),
  /** rows whose owner or parent gives no company: they stay NULL, by id (first 100) */
  orphans: z.object({ count: z.number(), ids: z.array(z.string()) }),
  /** rows that are NULL but could be filled (must be 0) */
  fillableMissing: z.number(),
  /** rows whose company_id differs from their owner's or parent's (must be 0) */
  mismatched: z.number(),
  index: z.enum(['valid', 'invalid', 'missing']),
  foreignKey: z.enum(['validated', 'not-valid', 'missing']),
  notNull: z.enum(['validated', 'not-valid', 'missing', 'skipped']),
  /** the table's other columns, hashed, before the run and now */
  fingerprint: z.object({ before: z.string(), now: z.string(), rowsBefore: z.number(), equal: z.boolean() }),
  ok: z.boolean(),
  problems: z.array(z.string()),
});
export type TableVerification = z.output<typeof TableVerificationSchema>;

export const VerificationSchema = z.object({
  runId: z.number(),
  ok: z.boolean(),
  /** every table's other columns are as before (false when the application wrote during the run) */
  fingerprintsEqual: z.boolean(),
  tables: z.array(TableVerificationSchema),
});
export type Verification = z.output<typeof VerificationSchema>;

/** A table in a backup: its rows and the fingerprint of its other columns in the dump's snapshot. */
export const BackupTableSchema = z.object({ table: z.string(), rows: z.number(), fingerprint: z.string() });

/**
 * The backup a run took before its first DDL, or why it took none. `pg_dump` is the custom format
 * (pg_restore restores it); `copy` is TenantScope's own when no pg_dump on this machine is as new
 * as the server: the tables' definitions and COPY data in one snapshot, plain SQL gzipped
 * (`gunzip -c FILE | psql` restores it).
 */
export const BackupRecordSchema = z.discriminatedUnion('taken', [
  z.object({
    taken: z.literal(true),
    format: z.enum(['pg_dump', 'copy']),
    /** the program and version that wrote it */
    tool: z.string(),
    path: z.string(),
    bytes: z.number(),
    sha256: z.string(),
    takenAt: z.string(),
    seconds: z.number(),
    tables: z.array(BackupTableSchema),
    /** why this format (no pg_dump new enough, …) */
    note: z.string().nullable(),
  }),
  z.object({ taken: z.literal(false), by: z.string(), at: z.string(), reason: z.string() }),
]);
export type BackupRecord = z.output<typeof BackupRecordSchema>;

/** A backup restored into a scratch database and compared with the source as of the dump. */
export const BackupVerificationSchema = z.object({
  runId: z.number(),
  ok: z.boolean(),
  format: z.enum(['pg_dump', 'copy']),
  path: z.string(),
  /** the file's SHA-256 equals the one recorded when it was taken */
  checksumEqual: z.boolean(),
  scratchDatabase: z.string(),
  seconds: z.number(),
  tables: z.array(
    z.object({
      table: z.string(),
      rowsAtDump: z.number(),
      rowsRestored: z.number(),
      fingerprintAtDump: z.string(),
      fingerprintRestored: z.string(),
      equal: z.boolean(),
    }),
  ),
  problems: z.array(z.string()),
});
export type BackupVerification = z.output<typeof BackupVerificationSchema>;

export const RunRecordSchema = z.object({
  id: z.number(),
  startedBy: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  status: RunStatusSchema,
  tables: z.array(z.string()),
  rows: z.number(),
  message: z.string().nullable(),
  rolledBackBy: z.string().nullable(),
  /** null for runs from before backups were kept */
  backup: BackupRecordSchema.nullable().default(null),
});
export type RunRecord = z.output<typeof RunRecordSchema>;

export const RollbackResultSchema = z.object({
  runId: z.number(),
  ok: z.boolean(),
  /** per table: schema and fingerprint equal to before the run */
  tables: z.array(z.object({ table: z.string(), schemaEqual: z.boolean(), fingerprintEqual: z.boolean() })),
});
export type RollbackResult = z.output<typeof RollbackResultSchema>;

/** The default limit: the plan refuses a table whose writes the fill trigger slows more than this (the operator may raise it). */
export const MAX_TRIGGER_OVERHEAD = 1.5;

/** What the fill trigger costs a table's writes: with it over without, on a copy of a sample of its rows (null: not measured, and why). */
export const TriggerCostSchema = z.object({
  table: z.string(),
  sampleRows: z.number(),
  insertRatio: z.number().nullable(),
  updateRatio: z.number().nullable(),
  /** the larger of the two */
  ratio: z.number().nullable(),
  note: z.string().nullable(),
});
export type TriggerCost = z.output<typeof TriggerCostSchema>;

export const PreflightItemSchema = z.object({ level: z.enum(['ok', 'warn', 'fail']), message: z.string() });
export type PreflightItem = z.output<typeof PreflightItemSchema>;
export const PreflightSchema = z.array(PreflightItemSchema);

/**
 * The words for what a run did to a table's other columns (their fingerprint before and after),
 * the same in the window, the CLI and the reports.
 */
export const OTHER_COLUMNS = 'other columns';
export function otherColumnsText(fingerprint: { equal: boolean; rowsBefore: number }, rowsNow: number): string {
  return fingerprint.equal ? 'unchanged' : `changed (${fingerprint.rowsBefore.toLocaleString('en-US')} → ${rowsNow.toLocaleString('en-US')} rows)`;
}
