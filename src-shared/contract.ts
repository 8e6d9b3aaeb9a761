import { z } from 'zod';
import { AUTH_KINDS, ConnectionProfileSchema, IdentitySchema } from './profile.ts';
import { CatalogSchema } from './catalog.ts';
import { RoleSchema, VerdictSchema } from './tenancy.ts';
import { MigrationPlanSchema, MigrationProgressSchema, PreflightSchema, RollbackResultSchema, RunRecordSchema, TableAuditSchema, VerificationSchema } from './migration.ts';

/**
 * The one contract: every call (`domain:verb`) and every event, with zod schemas for what goes
 * in and what comes out. Electron IPC, the HTTP host, the CLI and the renderer client are all
 * typed from this object, and every door parses payloads with it.
 *
 * `access` says who may call: anyone (`public`), a signed-in operator (`signed-in`), a super
 * admin only (`super-admin`), or (`connection-admin`, the calls that change a connection) a super
 * admin signed in to the connection the call names, once that connection has been used (has a
 * cache); a connection nobody has used yet may be changed by whoever added it. The main process
 * enforces it on every call; the CLI, run by the local operator on their own files, is not asked.
 */
const Empty = z.object({}).strict();
const Name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a connection name: lower-case letters, digits, "-" or "_"');

export const DemoStatusSchema = z.object({
  state: z.enum(['stopped', 'starting', 'running', 'failed']),
  url: z.string().nullable(),
  message: z.string().nullable(),
});
export type DemoStatus = z.infer<typeof DemoStatusSchema>;

export const ConnectionSummarySchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  baseUrl: z.string(),
  embedded: z.boolean(),
  authKind: z.enum(AUTH_KINDS),
  identities: z.array(IdentitySchema),
  hasDatabaseUrl: z.boolean(),
  /** identities whose secret is held right now (in memory, the OS keyring or safeStorage) */
  secretsHeld: z.array(z.string()),
});
export type ConnectionSummary = z.infer<typeof ConnectionSummarySchema>;

export const CheckSchema = z.object({
  name: z.enum(['reachable', 'openapi', 'crm', 'sign-in', 'role', 'lists']),
  status: z.enum(['pass', 'fail', 'warn', 'skipped']),
  code: z.string().nullable(),
  message: z.string(),
});
export type Check = z.infer<typeof CheckSchema>;

export const TenantSchema = z.object({ id: z.string(), name: z.string() });
export type Tenant = z.infer<typeof TenantSchema>;

export const SessionSchema = z.object({
  connection: z.string(),
  user: z.object({ id: z.string(), email: z.string(), name: z.string() }),
  role: RoleSchema,
  company: TenantSchema.nullable(),
  /** only super admins switch tenants */
  canSwitchTenant: z.boolean(),
  selectedTenant: z.string().nullable(),
  signedInAt: z.string(),
  /** opened on the cache with no CRM: actions that need the CRM are refused with the reason */
  offline: z.boolean().default(false),
  /** offline: when the cached data was last synced */
  dataAsOf: z.string().nullable().default(null),
});
export type Session = z.output<typeof SessionSchema>;

const Secret = z.string().min(1).max(4096);

export const DriftItemSchema = z.object({
  resource: z.string(),
  change: z.enum(['added', 'removed', 'changed']),
  field: z.string().nullable(),
  saved: z.unknown(),
  now: z.unknown(),
  message: z.string(),
});
export type DriftItemData = z.infer<typeof DriftItemSchema>;

/** Progress of long work (a sync): rows done, the total when known, rate and ETA, the parts running now. */
const ProgressSchema = z.object({
    task: z.string(),
    label: z.string(),
    done: z.number(),
    total: z.number().nullable(),
    message: z.string().nullable(),
    /** rows (or items) a second so far, and seconds left when the total is known */
    rate: z.number().optional(),
    etaSeconds: z.number().nullable().optional(),
    /** the parts running now (a sync: one per tenant and resource being listed) */
    parts: z.array(z.object({ label: z.string(), done: z.number(), total: z.number().nullable(), rate: z.number(), etaSeconds: z.number().nullable() })).optional(),
});

const SeveritySchema = z.enum(['HIGH', 'MEDIUM', 'LOW']);
const SavedViewSchema = z.object({
  id: z.number(), name: z.string(), resource: z.string(), tenant: z.string().nullable(), createdAt: z.string(),
  state: z.object({
    search: z.string().max(200).optional(),
    sort: z.object({ field: z.string().max(100), dir: z.enum(['asc', 'desc']) }).strict().optional(),
    filters: z.array(z.object({ field: z.string().max(100), op: z.enum(['eq', 'contains', 'empty', 'not-empty']), value: z.string().max(200).optional() }).strict()).max(20).optional(),
    columns: z.array(z.string().max(100)).max(200).optional(),
  }).strict(),
});
const DbUrl = z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').max(2048);
const Ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a table or column name');
const MigrateOptions = z.object({
  /** only these tables (a child brings its parent) */
  tables: z.array(Ident).max(500).optional(),
  /** how to derive company_id for tables the catalog cannot derive: owner:<field> or parent:<resource>.<field> */
  derive: z.record(Ident, z.string().regex(/^(owner:[A-Za-z_][A-Za-z0-9_]*|parent:[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)$/, 'owner:<field> or parent:<resource>.<field>')).optional(),
  notNull: z.boolean().default(false),
  batchSize: z.number().int().min(1).max(100_000).optional(),
  databaseUrl: DbUrl.optional(),
}).strict();
const FindingSchema = z.object({
  id: z.string(), check: z.string(), severity: SeveritySchema, title: z.string(), resource: z.string().nullable(), count: z.number(),
  evidence: z.object({ ids: z.array(z.string()), path: z.string() }), remediation: z.string(), sql: z.string().nullable(),
  accepted: z.object({ reason: z.string(), by: z.string(), at: z.string() }).nullable(),
});
const AuditResultSchema = z.object({
  runId: z.number(), generatedAt: z.string(), asOf: z.string().nullable(), scope: z.string(),
  models: z.array(z.object({ resource: z.string(), table: z.string().nullable(), priority: SeveritySchema.nullable(), hasCompanyId: z.boolean(), rows: z.number(), missing: z.number(), fillable: z.number(), orphans: z.number(), shared: z.number().optional() })),
  findings: z.array(FindingSchema),
  counts: z.record(SeveritySchema, z.number()),
  progress: z.object({ modelsMigrated: z.number(), modelsTotal: z.number(), rowsMissing: z.number(), endpointsProven: z.number(), endpointsProbed: z.number(), isolationRunId: z.number().nullable() }),
  diff: z.object({ previousRunId: z.number(), new: z.array(z.string()), fixed: z.array(z.string()), accepted: z.array(z.string()), stillOpen: z.array(z.string()) }).nullable(),
});

const EvidenceSchema = z.object({ request: z.string(), status: z.number(), excerpt: z.string() });
const IsolationReportSchema = z.object({
  runId: z.number(), readOnly: z.boolean(), owner: z.string(), identities: z.array(z.string()), resources: z.array(z.string()),
  results: z.array(z.object({ resource: z.string(), identity: z.string(), operation: z.enum(['list', 'search', 'read', 'update', 'delete', 'create']), verdict: VerdictSchema, detail: z.string(), evidence: z.array(EvidenceSchema) })),
  counts: z.record(VerdictSchema, z.number()),
  cleanup: z.object({ removed: z.number(), leftover: z.array(z.object({ resource: z.string(), id: z.string().nullable(), marker: z.string(), note: z.string() })) }),
  complete: z.boolean(), seconds: z.number(), overhead: z.number(), requests: z.number(),
});

/** A tenant's resource compared with the CRM: counts, latest updated_at and a hash; a drift by id where the ids are known. */
const ProofSchema = z.object({
  tenant: z.string(), resource: z.string(), status: z.enum(['in-sync', 'drifted', 'counts-only']), basis: z.enum(['manifest', 'relist']).optional(),
  local: z.object({ count: z.number(), latest: z.string().nullable(), hash: z.string() }),
  server: z.object({ count: z.number(), latest: z.string().nullable(), hash: z.string().nullable() }).nullable(),
  asOf: z.string(),
  by: z.string().optional(),
  cachedBy: z.array(z.string()).optional(),
  diff: z.object({ missing: z.array(z.string()), extra: z.array(z.string()), changed: z.array(z.string()), counts: z.object({ missing: z.number(), extra: z.number(), changed: z.number() }) }).optional(),
  why: z.string().optional(),
});

export const contract = {
  'app:info': {
    access: 'public',
    summary: 'Version, where the console keeps its data, how it is running, and the demo CRM state',
    input: Empty,
    output: z.object({
      version: z.string(), mode: z.enum(['desktop', 'browser', 'cli']), home: z.string(), demo: DemoStatusSchema,
      /** what encrypts the caches at rest: a passphrase (TENANTSCOPE_CACHE_KEY), the OS keyring (desktop), or nothing */
      cacheEncryption: z.enum(['passphrase', 'os-keyring', 'off']),
    }),
  },
  'connections:list': {
    access: 'public',
    summary: 'Every saved connection, the demo first',
    input: Empty,
    output: z.object({ connections: z.array(ConnectionSummarySchema) }),
  },
  'connections:get': {
    access: 'public',
    summary: 'One connection profile',
    input: z.object({ name: Name }).strict(),
    output: z.object({ profile: ConnectionProfileSchema, hasDatabaseUrl: z.boolean() }),
  },
  'connections:discover': {
    access: 'public',
    summary: 'A whole connection profile from a CRM\'s address (its OpenAPI document) and, when given, its database: sign-in, whoami, paging, the catalog; nothing is saved',
    input: z
      .object({
        name: Name,
        url: z.string().min(1).max(2048),
        /** read once for tables and foreign keys; saved only if the connection is saved with it */
        databaseUrl: z.string().max(2048).optional(),
        /** the environment variable that will hold the database URL (CI); saved in the profile, never the URL */
        databaseUrlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional(),
        identities: z.array(IdentitySchema).max(50).default([]),
      })
      .strict(),
    output: z.object({
      profile: ConnectionProfileSchema,
      notes: z.array(z.string()),
      toConfirm: z.array(z.object({ resource: z.string(), what: z.array(z.string()) })),
      usedDatabase: z.boolean(),
    }),
  },
  'connections:save': {
    access: 'connection-admin',
    summary: 'Add a connection, or replace one with `replace: true`',
    input: z
      .object({
        profile: z.unknown(),
        replace: z.boolean().default(false),
        /** PostgreSQL URL for super-admin work; kept with the secrets, never in the profile file */
        databaseUrl: z.string().max(2048).nullable().optional(),
        /** passwords or tokens by identity label; kept in memory, the OS keyring or safeStorage */
        secrets: z.record(z.string(), Secret).optional(),
      })
      .strict(),
    output: z.object({ connection: ConnectionSummarySchema, notice: z.string().optional() }),
  },
  'connections:remove': {
    access: 'connection-admin',
    summary: 'Remove a connection; answers an undo token valid for ten minutes',
    input: z.object({ name: Name }).strict(),
    output: z.object({ removed: z.string(), undoToken: z.string() }),
  },
  'connections:restore': {
    access: 'public',
    summary: 'Undo a removal',
    input: z.object({ undoToken: z.string().min(1).max(200) }).strict(),
    output: z.object({ connection: ConnectionSummarySchema }),
  },
  'connections:test': {
    access: 'public',
    summary: 'Reach the CRM, find its OpenAPI document, sign in and read the role',
    input: z
      .object({ name: Name, username: z.string().min(1).max(320).optional(), password: Secret.optional(), token: Secret.optional() })
      .strict(),
    output: z.object({ ok: z.boolean(), checks: z.array(CheckSchema), role: RoleSchema.nullable() }),
  },
  'session:signIn': {
    access: 'public',
    summary: 'Sign the operator in to a connection; the role in the token decides what the console shows',
    input: z
      .object({ connection: Name, username: z.string().min(1).max(320).optional(), password: Secret.optional(), token: Secret.optional() })
      .strict()
      .refine((v) => (v.username && v.password) || v.token, { message: 'give a username and password, or a token' }),
    output: SessionSchema,
  },
  'session:openOffline': {
    access: 'public',
    summary: 'Open the console offline on a connection\'s cache, as someone who signed in there online before (their password checked locally); actions that need the CRM are refused with the reason',
    input: z.object({ connection: Name, username: z.string().min(1).max(320), password: Secret }).strict(),
    output: SessionSchema,
  },
  'session:current': {
    access: 'public',
    summary: 'The signed-in operator, if any',
    input: Empty,
    output: z.object({ session: SessionSchema.nullable() }),
  },
  'session:signOut': {
    access: 'public',
    summary: 'Forget the operator\'s token',
    input: Empty,
    output: z.object({ signedOut: z.boolean() }),
  },
  'tenants:list': {
    access: 'signed-in',
    summary: 'Companies the operator may inspect: every one for a super admin, their own otherwise',
    input: Empty,
    output: z.object({ tenants: z.array(TenantSchema), selected: z.string().nullable() }),
  },
  'tenants:select': {
    access: 'signed-in',
    summary: 'Switch the tenant being inspected (super admins; others may only select their own)',
    input: z.object({ companyId: z.string().min(1).max(100) }).strict(),
    output: z.object({ selected: z.string() }),
  },
  'catalog:get': {
    access: 'public',
    summary: 'The tenancy catalog saved in a connection profile',
    input: z.object({ connection: Name }).strict(),
    output: z.object({ catalog: CatalogSchema, editable: z.boolean() }),
  },
  'catalog:discover': {
    access: 'public',
    summary: 'Discover the catalog from a connection\'s CRM (its OpenAPI document, and its database when the connection has a URL), or from an address not yet saved; nothing is saved',
    input: z
      .object({
        connection: Name.optional(),
        useDatabase: z.boolean().default(true),
        /** an address (the CRM's, or its OpenAPI document's) instead of a saved connection */
        url: z.string().min(1).max(2048).optional(),
        /** with url: the CRM's PostgreSQL, read once for tables and foreign keys */
        databaseUrl: z.string().max(2048).optional(),
        /** with url: where list answers keep their records */
        itemsField: z.string().min(1).max(100).optional(),
      })
      .strict()
      .refine((x) => !!x.connection !== !!x.url, { message: 'give a connection or a url, not both', path: ['connection'] }),
    output: z.object({ catalog: CatalogSchema, drift: z.array(DriftItemSchema), tenantsPath: z.string().nullable(), usedDatabase: z.boolean() }),
  },
  'catalog:save': {
    access: 'connection-admin',
    summary: 'Save an edited or discovered catalog into the connection profile',
    input: z.object({ connection: Name, catalog: z.unknown() }).strict(),
    output: z.object({ catalog: CatalogSchema }),
  },
  'catalog:check': {
    access: 'connection-admin',
    summary: 'Compare the saved catalog with what the CRM says now (its database too, when a URL is held or given)',
    input: z.object({ connection: Name, databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').max(2048).optional() }).strict(),
    output: z.object({ drift: z.array(DriftItemSchema) }),
  },
  'sync:run': {
    access: 'signed-in',
    summary: 'Sync tenants into the cache: a super admin any (or all), everyone else their own',
    input: z.object({ tenants: z.array(z.string().min(1).max(200)).max(1000).optional(), all: z.boolean().default(false), pageSize: z.number().int().min(1).max(1000).optional() }).strict(),
    output: z.object({
      runId: z.number(), rows: z.number(), pages: z.number(), retries: z.number(), leaks: z.number(), deletions: z.number(),
      outcomes: z.array(z.object({ tenant: z.string(), resource: z.string(), status: z.enum(['synced', 'warning', 'skipped', 'failed']), rows: z.number(), pages: z.number(), message: z.string().nullable() })),
      retried: z.array(z.string()),
    }),
  },
  'isolation:run': {
    access: 'super-admin',
    summary: 'Run the isolation matrix with the connection\'s identities: canaries created, probed by every other company, cleaned up',
    input: z.object({
      only: z.array(z.string().min(1).max(100)).max(200).optional(),
      readOnly: z.boolean().default(false),
      /** resources probed at once */
      concurrency: z.number().int().min(1).max(16).default(4),
      /** at most this many requests a second to the CRM (production: be gentle) */
      ratePerSecond: z.number().positive().max(10_000).optional(),
    }).strict(),
    output: IsolationReportSchema,
  },
  'isolation:runs': {
    access: 'super-admin',
    summary: 'The isolation runs recorded in the cache, newest first',
    input: Empty,
    output: z.object({ runs: z.array(z.object({ id: z.number(), startedAt: z.string(), finishedAt: z.string().nullable(), readOnly: z.boolean(), outcome: z.string(), probes: z.number(), leaks: z.number(), message: z.string().nullable() })) }),
  },
  'isolation:results': {
    access: 'super-admin',
    summary: 'One recorded isolation run with every verdict and its evidence',
    input: z.object({ runId: z.number().int().positive() }).strict(),
    output: z.object({
      run: z.object({
        id: z.number(), startedAt: z.string(), finishedAt: z.string().nullable(), outcome: z.string(), readOnly: z.boolean(),
        seconds: z.number().nullable(), cleanup: z.object({ removed: z.number(), leftover: z.array(z.unknown()) }).nullable(),
      }),
      results: IsolationReportSchema.shape.results,
    }),
  },
  'audit:run': {
    access: 'signed-in',
    summary: 'The tenancy audit, measured from the cache with no network (a company admin: their own partition; a super admin: every one, or one tenant)',
    input: z.object({ tenant: z.string().min(1).max(200).optional() }).strict(),
    output: AuditResultSchema,
  },
  'audit:report': {
    access: 'signed-in',
    summary: 'The audit document, in the seed audit\'s shape, as Markdown or HTML (measured now, from the cache)',
    input: z.object({ format: z.enum(['md', 'html']).default('md') }).strict(),
    output: z.object({ fileName: z.string(), text: z.string() }),
  },
  'records:get': {
    access: 'signed-in',
    summary: 'One cached record with its provenance, what it points at (crossing tenants flagged with the audit finding) and who points at it (a company admin: records of their own partition only)',
    input: z.object({ resource: z.string().min(1).max(100), id: z.string().min(1).max(200) }).strict(),
    output: z.object({
      record: z.object({ companyId: z.string(), resource: z.string(), id: z.string(), updatedAt: z.string().nullable(), deleted: z.boolean(), payload: z.record(z.string(), z.unknown()), fetchedBy: z.string(), fetchedFrom: z.string(), fetchedAt: z.string() }).nullable(),
      refs: z.array(z.object({ field: z.string(), resource: z.string(), id: z.string(), companyId: z.string().nullable(), crossTenant: z.boolean(), finding: z.object({ id: z.string(), title: z.string(), severity: z.string() }).nullable() })).default([]),
      referencedBy: z.array(z.object({ resource: z.string(), id: z.string(), field: z.string(), companyId: z.string(), crossTenant: z.boolean() })).default([]),
    }),
  },
  'tenants:overview': {
    access: 'signed-in',
    summary: 'Every tenant the operator may see, from the cache: users, rows per priority group, rows missing company_id, open findings, last sync and proof; rows per resource; findings over time; the sync history',
    input: Empty,
    output: z.object({
      tenants: z.array(z.object({
        id: z.string(), name: z.string(), users: z.number(), rows: z.number(),
        byPriority: z.object({ company: z.number(), HIGH: z.number(), MEDIUM: z.number(), LOW: z.number() }),
        missingCompanyId: z.number(), openFindings: z.number().nullable(), findingsOfAll: z.boolean(), lastSync: z.string().nullable(),
        proof: z.object({ proven: z.number(), drifted: z.number(), asOf: z.string().nullable() }),
      })),
      resources: z.array(z.object({ tenant: z.string(), resource: z.string(), rows: z.number(), missing: z.number(), priority: z.string() })),
      findingsHistory: z.array(z.object({ at: z.string(), scope: z.string(), HIGH: z.number(), MEDIUM: z.number(), LOW: z.number() })),
      syncHistory: z.array(z.object({ startedAt: z.string(), seconds: z.number().nullable(), identity: z.string(), outcome: z.string(), rows: z.number(), retries: z.number() })),
    }),
  },
  'records:resources': {
    access: 'signed-in',
    summary: 'The resources the cache holds for a tenant, with row counts (a company admin: their own company)',
    input: z.object({ tenant: z.string().min(1).max(200).optional() }).strict(),
    output: z.object({ tenant: z.string(), resources: z.array(z.object({ resource: z.string(), rows: z.number() })), asOf: z.string().nullable() }),
  },
  'records:query': {
    access: 'signed-in',
    summary: 'A window of one tenant\'s cached rows of one resource: sorted, filtered, searched in the payload, with the count of all that match (no network)',
    input: z.object({
      tenant: z.string().min(1).max(200).optional(),
      resource: z.string().min(1).max(100),
      search: z.string().max(200).optional(),
      sort: z.object({ field: z.string().max(100), dir: z.enum(['asc', 'desc']) }).strict().optional(),
      filters: z.array(z.object({ field: z.string().max(100), op: z.enum(['eq', 'contains', 'empty', 'not-empty']), value: z.string().max(200).optional() }).strict()).max(20).optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(500).default(100),
      includeDeleted: z.boolean().default(false),
      /** count every matching row too (the grid asks once, with its first window) */
      count: z.boolean().default(true),
    }).strict(),
    output: z.object({ tenant: z.string(), total: z.number().nullable(), columns: z.array(z.string()), rows: z.array(z.object({ id: z.string(), updatedAt: z.string().nullable(), deleted: z.boolean(), fields: z.record(z.string(), z.unknown()) })) }),
  },
  'views:list': {
    access: 'signed-in',
    summary: 'The operator\'s saved views of the Data view',
    input: Empty,
    output: z.object({ views: z.array(SavedViewSchema) }),
  },
  'views:save': {
    access: 'signed-in',
    summary: 'Save (or replace, by name) a view of the Data view: resource, tenant, search, sort, filters, columns',
    input: z.object({ name: z.string().min(1).max(80), resource: z.string().min(1).max(100), tenant: z.string().max(200).nullable(), state: SavedViewSchema.shape.state }).strict(),
    output: z.object({ view: SavedViewSchema }),
  },
  'views:delete': {
    access: 'signed-in',
    summary: 'Delete a saved view',
    input: z.object({ id: z.number().int().positive() }).strict(),
    output: z.object({ deleted: z.boolean() }),
  },
  'audit:accept': {
    access: 'super-admin',
    summary: 'Accept a finding with a reason: it stays listed but no longer fails the audit',
    input: z.object({ id: z.string().regex(/^[0-9a-f]{12}$/), reason: z.string().min(1).max(500) }).strict(),
    output: z.object({ accepted: z.string() }),
  },
  'sync:cancel': {
    access: 'signed-in',
    summary: 'Stop the running sync; every page written before it stays, and the next sync resumes there',
    input: Empty,
    output: z.object({ cancelled: z.boolean() }),
  },
  'sync:status': {
    access: 'signed-in',
    summary: 'Per partition of the cache: rows, deleted rows, last sync, leak evidence (own partition only for company admins)',
    input: Empty,
    output: z.object({
      partitions: z.array(z.object({ company_id: z.string(), rows: z.number(), deleted: z.number(), last_sync: z.string().nullable(), leaks: z.number(), proven: z.number(), drifted: z.number(), proof_as_of: z.string().nullable() })),
      /** the sync running now (started from any window or door), with its latest progress */
      running: z.object({ label: z.string(), startedAt: z.string(), progress: ProgressSchema.nullable() }).nullable(),
      /** the last sync that ended: ok, partial, failed or cancelled */
      lastRun: z.object({ outcome: z.string(), rows: z.number(), retries: z.number(), startedAt: z.string(), finishedAt: z.string().nullable(), message: z.string().nullable() }).nullable(),
    }),
  },
  'sync:prove': {
    access: 'signed-in',
    summary: 'Compare a tenant\'s cache with the server: count, latest updated_at and a hash per resource',
    input: z.object({ tenant: z.string().min(1).max(200) }).strict(),
    output: z.object({ proofs: z.array(ProofSchema) }),
  },
  'sync:proofs': {
    access: 'signed-in',
    summary: 'The proofs kept in the cache for a tenant (the last of each resource), a drift with what differs and why',
    input: z.object({ tenant: z.string().min(1).max(200) }).strict(),
    output: z.object({ proofs: z.array(ProofSchema) }),
  },
  'cache:evict': {
    access: 'signed-in',
    summary: 'Remove a tenant\'s partition from the cache',
    input: z.object({ tenant: z.string().min(1).max(200) }).strict(),
    output: z.object({ tenant: z.string(), evicted: z.number(), remaining: z.number() }),
  },
  'migrate:audit': {
    access: 'super-admin',
    summary: 'Schema audit of the CRM\'s PostgreSQL, read-only: company_id per table, the seed\'s verify counts, indexes, foreign keys, children of another company, unique keys, Citus readiness',
    input: z.object({ databaseUrl: DbUrl.optional() }).strict(),
    output: z.object({ tables: z.array(TableAuditSchema) }),
  },
  'migrate:plan': {
    access: 'super-admin',
    summary: 'The company_id migration plan (read-only): derivation per table, lock-safe steps as SQL, estimates, and a preflight of the database',
    input: MigrateOptions,
    output: z.object({ plan: MigrationPlanSchema, sql: z.string(), preflight: PreflightSchema }),
  },
  'migrate:run': {
    access: 'super-admin',
    summary: 'Run a new plan, or resume the unfinished run; answers when it is done (verified), paused or failed. dryRun: plan and preflight only',
    input: MigrateOptions.extend({ dryRun: z.boolean().default(false), delayMs: z.number().int().min(0).max(60_000).optional(), resume: z.boolean().default(false) }).strict(),
    output: z.object({ runId: z.number().nullable(), status: z.enum(['running', 'paused', 'done', 'failed', 'rolled-back', 'dry-run']), verification: VerificationSchema.nullable(), plan: MigrationPlanSchema.nullable(), preflight: PreflightSchema }),
  },
  'migrate:control': {
    access: 'super-admin',
    summary: 'Pause the running migration (it stops after the batch in hand; run again to resume), or change its batch size and pause between batches',
    input: z.object({ pause: z.boolean().optional(), batchSize: z.number().int().min(1).max(100_000).optional(), delayMs: z.number().int().min(0).max(60_000).optional() }).strict(),
    output: z.object({ running: z.boolean(), paused: z.boolean(), batchSize: z.number().nullable(), delayMs: z.number().nullable() }),
  },
  'migrate:status': {
    access: 'super-admin',
    summary: 'The migration running now (with its progress), the runs recorded in the CRM\'s database, and the newest run\'s log',
    input: z.object({ databaseUrl: DbUrl.optional() }).strict(),
    output: z.object({ running: MigrationProgressSchema.nullable(), runs: z.array(RunRecordSchema), unfinished: z.number().nullable(), log: z.array(z.object({ at: z.string(), message: z.string() })) }),
  },
  'migrate:verify': {
    access: 'super-admin',
    summary: 'Verify a run (the newest by default): company_id filled but for the orphans (by id), index, foreign key, NOT NULL, fingerprints of the other columns',
    input: z.object({ runId: z.number().int().positive().optional(), databaseUrl: DbUrl.optional() }).strict(),
    output: VerificationSchema,
  },
  'migrate:rollback': {
    access: 'super-admin',
    summary: 'Remove exactly what a run added (the newest by default); checks schema and fingerprints against before the run',
    input: z.object({ runId: z.number().int().positive().optional(), confirm: z.literal(true, { message: 'rollback drops the columns the run added: confirm it' }), databaseUrl: DbUrl.optional() }).strict(),
    output: RollbackResultSchema,
  },
  'cache:export': {
    access: 'signed-in',
    summary: 'One tenant\'s cache in one file sealed with a passphrase (AES-256-GCM, scrypt), for support staff on another machine; no secret inside (a company admin: their own company)',
    input: z.object({ tenant: z.string().min(1).max(200), passphrase: z.string().min(8, 'a passphrase of 8 characters or more').max(1024) }).strict(),
    output: z.object({ fileName: z.string(), data: z.string(), rows: z.number(), bytes: z.number() }),
  },
  'cache:import': {
    access: 'public',
    summary: 'Open a tenant export as a new connection and open the console offline on it (sign in later as "support" with the passphrase)',
    input: z.object({ name: Name, data: z.string().min(1), passphrase: z.string().min(1).max(1024) }).strict(),
    output: z.object({ connection: z.string(), tenant: TenantSchema, rows: z.number(), exportedBy: z.string(), exportedAt: z.string(), session: SessionSchema }),
  },
  'demo:status': {
    access: 'public',
    summary: 'State of the embedded demo CRM',
    input: Empty,
    output: DemoStatusSchema,
  },
  'demo:start': {
    access: 'public',
    summary: 'Start the embedded demo CRM if it is not running',
    input: Empty,
    output: DemoStatusSchema,
  },
} as const satisfies Record<string, { access: 'public' | 'signed-in' | 'super-admin' | 'connection-admin'; summary: string; input: z.ZodType; output: z.ZodType }>;

/** What cannot work on the cache alone, and why: refused up front when the console is offline. */
export const NEEDS_CRM: Partial<Record<keyof typeof contract, string>> = {
  'sync:run': 'a sync reads the CRM.',
  'sync:prove': 'the proof compares the cache with the CRM.',
  'isolation:run': 'the isolation test probes the CRM.',
  'catalog:discover': 'discovery reads the CRM\'s OpenAPI document.',
  'connections:discover': 'discovery reads the CRM\'s OpenAPI document.',
  'catalog:check': 'the drift check reads the CRM.',
  'migrate:audit': 'the schema audit reads the CRM\'s database.',
  'migrate:plan': 'the plan reads the CRM\'s database.',
  'migrate:run': 'the migration changes the CRM\'s database.',
  'migrate:status': 'the migration runs live in the CRM\'s database.',
  'migrate:verify': 'verification reads the CRM\'s database.',
  'migrate:rollback': 'rollback changes the CRM\'s database.',
};

export type Contract = typeof contract;
export type Channel = keyof Contract;
export type Input<C extends Channel> = z.input<Contract[C]['input']>;
export type Output<C extends Channel> = z.output<Contract[C]['output']>;
export const CHANNELS = Object.keys(contract) as Channel[];

export function isChannel(name: string): name is Channel {
  return Object.prototype.hasOwnProperty.call(contract, name);
}

/** Events the main process pushes to every door (IPC `event`, HTTP server-sent events). */
export const events = {
  onProgress: ProgressSchema,
  /** one isolation probe decided (the matrix fills as they come) */
  onIsolationResult: z.object({ runId: z.number(), result: IsolationReportSchema.shape.results.element }),
  onStatus: z.object({ demo: DemoStatusSchema, session: SessionSchema.nullable() }),
  /** the running migration: per table and overall */
  onMigration: MigrationProgressSchema,
  onMigrationLog: z.object({ runId: z.number().nullable(), at: z.string(), message: z.string() }),
} as const;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;
