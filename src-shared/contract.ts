import { z } from 'zod';
import { MigrationProgressSchema } from './migration.ts';
import { appChannels } from './contract/app.ts';
import { auditChannels } from './contract/audit.ts';
import { cacheChannels } from './contract/cache.ts';
import { catalogChannels } from './contract/catalog.ts';
import { codeChannels } from './contract/code.ts';
import { DemoStatusSchema, ProgressSchema, SessionSchema } from './contract/common.ts';
import { connectionsChannels } from './contract/connections.ts';
import { dataChannels } from './contract/data.ts';
import { isolationChannels } from './contract/isolation.ts';
import { migrateChannels } from './contract/migrate.ts';
import { safetyChannels } from './contract/safety.ts';
import { sessionChannels } from './contract/session.ts';
import { syncChannels } from './contract/sync.ts';
import { IsolationReportSchema } from './contract/isolation.ts';

export * from './contract/common.ts';
export { CheckSchema, ConnectionSummarySchema, type Check, type ConnectionSummary } from './contract/connections.ts';
export { DriftItemSchema, type DriftItemData } from './contract/catalog.ts';

/**
 * The one contract: every call (`domain:verb`) and every event, with zod schemas for what goes
 * in and what comes out (each domain's channels in contract/<domain>.ts). Electron IPC, the HTTP host, the CLI and the renderer client are all
 * typed from this object, and every door parses payloads with it.
 *
 * `access` says who may call: anyone (`public`), a signed-in operator (`signed-in`), a super
 * admin only (`super-admin`), or (`connection-admin`, the calls that change a connection) a super
 * admin signed in to the connection the call names, once that connection has been used (has a
 * cache); a connection nobody has used yet may be changed by whoever added it; `local-files`
 * reads a folder of this machine: a super admin in a window, the local operator at the CLI. The
 * main process enforces it on every call; the CLI, run by the local operator on their own files,
 * is not asked.
 */
export const contract = {
  ...appChannels,
  ...connectionsChannels,
  ...sessionChannels,
  ...safetyChannels,
  ...catalogChannels,
  ...syncChannels,
  ...isolationChannels,
  ...auditChannels,
  ...dataChannels,
  ...migrateChannels,
  ...cacheChannels,
  ...codeChannels,
};

/** What cannot work on the cache alone, and why: refused up front when the console is offline. */
export const NEEDS_CRM: Partial<Record<keyof typeof contract, string>> = {
  'sync:run': 'a sync reads the CRM.',
  'sync:prove': 'the proof compares the cache with the CRM.',
  'isolation:run': 'the isolation test probes the CRM.',
  'catalog:discover': "discovery reads the CRM's OpenAPI document.",
  'connections:discover': "discovery reads the CRM's OpenAPI document.",
  'catalog:check': 'the drift check reads the CRM.',
  'migrate:audit': "the schema audit reads the CRM's database.",
  'migrate:plan': "the plan reads the CRM's database.",
  'migrate:run': "the migration changes the CRM's database.",
  'migrate:status': "the migration runs live in the CRM's database.",
  'migrate:verify': "verification reads the CRM's database.",
  'migrate:rollback': "rollback changes the CRM's database.",
};

/**
 * The calls that write to the CRM, its database or its server, or delete what only a sync brings
 * back, each saying what it would do: Safe Mode refuses them on a production connection until the
 * operator unlocks writes (null: this input writes nothing, such as a dry run or a read-only run).
 */
export const WRITES: { [C in keyof typeof contract]?: (input: z.output<(typeof contract)[C]['input']>) => string | null } = {
  'migrate:run': (i) => (i.dryRun ? null : "a migration run adds company_id to the CRM's database"),
  'migrate:rollback': () => 'a rollback drops the company_id columns a run added',
  'migrate:rlsApply': () => 'applying row-level security changes what every connection to the database sees',
  'migrate:rlsRollback': () => 'removing row-level security changes what every connection to the database sees',
  'migrate:rlsProve': () => "the proof at the database writes into the CRM's tables (and rolls back)",
  'migrate:backupVerify': () => "verifying a backup restores it into a scratch database on the CRM's server",
  'isolation:run': (i) =>
    i.readOnly ? null : 'an isolation run with writes creates, changes and deletes canary records in the CRM (read-only runs are allowed)',
  'cache:evict': (i) => `evicting ${i.tenant} deletes its cached rows until the next sync`,
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
