import { z } from 'zod';
import { Phase2Schema, SeveritySchema } from './audit.ts';
import { Empty, type Channels } from './common.ts';

// The source audit: the CRM's backend read from a checkout (routes, models, how each handler
// scopes its queries), findings at file:line with a fix in the seed's AFTER style.

export const OperationSchema = z.enum(['list', 'read', 'create', 'update', 'delete']);
export type Operation = z.infer<typeof OperationSchema>;

/** How a handler (or one query) is scoped, strongest last; `public` is a handler with no user. */
export const CodeScopingSchema = z.enum(['public', 'no-queries', 'creates-only', 'unscoped', 'by-id', 'by-user', 'by-company']);

export const CodeHandlerSchema = z.object({
  file: z.string(),
  line: z.number(),
  handler: z.string(),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string(),
  resource: z.string().nullable(),
  operation: OperationSchema,
  authenticated: z.boolean(),
  /** the weakest scope of the tenant data it queries */
  scoping: CodeScopingSchema,
  /** the "No company associated" guard: true when every company filter is guarded, false when one compares with a company that may be None; null without company filters */
  guard: z.boolean().nullable(),
  queries: z.array(
    z.object({ file: z.string(), line: z.number(), model: z.string(), table: z.string(), scoping: CodeScopingSchema, via: z.array(z.string()) }),
  ),
  /** with an isolation run: what the runner saw on this handler's cell (resource and operation), over every identity */
  dynamic: z.enum(['leak', 'enforced', 'not-probed']).nullable().default(null),
});
export type CodeHandler = z.infer<typeof CodeHandlerSchema>;

export const CodeModelSchema = z.object({
  name: z.string(),
  table: z.string(),
  file: z.string(),
  line: z.number(),
  hasCompanyId: z.boolean(),
  /** whether its table has company_id in the database (null: the database was not read) */
  databaseHasCompanyId: z.boolean().nullable().default(null),
  columns: z.array(z.string()),
});
export type CodeModel = z.infer<typeof CodeModelSchema>;

export const CodeFindingSchema = z.object({
  /** stable across runs while the code does not move */
  id: z.string(),
  kind: z.enum(['unscoped-query', 'id-only-query', 'create-without-company', 'model-without-company', 'model-vs-database', 'unexplained-leak']),
  severity: SeveritySchema,
  file: z.string(),
  line: z.number(),
  handler: z.string().nullable(),
  method: z.string().nullable(),
  path: z.string().nullable(),
  resource: z.string().nullable(),
  operation: OperationSchema.nullable(),
  title: z.string(),
  /** what the code does */
  does: z.string(),
  /** what the seed's AFTER pattern makes it */
  after: z.string(),
  /** the fix as a unified diff (paths relative to the source folder), or null with the reason */
  diff: z.string().nullable(),
  noFix: z.string().nullable(),
  /** with an isolation run: the runner saw the leak (confirmed), saw the cell enforced (refuted), or did not probe it */
  dynamic: z.enum(['confirmed', 'refuted', 'not-probed']).nullable().default(null),
  dynamicDetail: z.string().nullable().default(null),
});
export type CodeFinding = z.infer<typeof CodeFindingSchema>;

export const CodeAuditResultSchema = z.object({
  root: z.string(),
  analyzer: z.string(),
  generatedAt: z.string(),
  files: z.number(),
  lines: z.number(),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  models: z.array(CodeModelSchema),
  handlers: z.array(CodeHandlerSchema),
  findings: z.array(CodeFindingSchema),
  counts: z.record(SeveritySchema, z.number()),
  /** every fix in one patch (paths relative to the source folder: git apply in it, or with --directory) */
  patch: z.string(),
  /** the isolation run the findings were checked against, if any */
  isolation: z.object({ runId: z.number(), startedAt: z.string(), connection: z.string() }).nullable().default(null),
  /** the fixes assume Phase 1 landed (company_id on every model) */
  afterMigration: z.boolean(),
  tookMs: z.number(),
  /** where the time went, in seconds: reading the files, parsing, analysing, writing the fixes' diffs */
  timings: z.object({ read: z.number(), parse: z.number(), analyze: z.number(), fixes: z.number() }),
});
export type CodeAuditResult = z.infer<typeof CodeAuditResultSchema>;

export const codeChannels = {
  'code:audit': {
    access: 'local-files',
    summary:
      "Audit the CRM backend's source in a folder of this machine (no CRM needed): routes, models, how every handler scopes its queries, findings at file:line with a fix in the seed's AFTER style; joined to a connection's catalog when one is named",
    input: z
      .object({
        src: z.string().min(1).max(4096),
        /** a connection whose catalog names resources and priorities */
        connection: z.string().max(63).optional(),
        afterMigration: z.boolean().default(false),
        /** compare the models with the connection's database (its tables' columns) */
        database: z.boolean().default(false),
        /** check each finding against an isolation run of the connection (a run id, or the latest) */
        isolationRun: z.union([z.number().int().positive(), z.literal('latest')]).optional(),
      })
      .strict(),
    output: CodeAuditResultSchema,
  },
  'code:handlers': {
    access: 'super-admin',
    summary:
      "The signed-in connection's last source audit (from its cache): each (resource, operation) with its handler, file, line and scoping, for the isolation matrix to link its cells to",
    input: Empty,
    output: Phase2Schema.nullable(),
  },
} satisfies Channels;
