import { z } from 'zod';
import { Empty, ProgressSchema, type Channels } from './common.ts';

// The synced cache: run, cancel, status, the proof against the CRM, eviction.

/** A tenant's resource compared with the CRM: counts, latest updated_at and a hash; a drift by id where the ids are known. */
export const ProofSchema = z.object({
  tenant: z.string(), resource: z.string(), status: z.enum(['in-sync', 'drifted', 'counts-only']), basis: z.enum(['manifest', 'relist']).optional(),
  local: z.object({ count: z.number(), latest: z.string().nullable(), hash: z.string() }),
  server: z.object({ count: z.number(), latest: z.string().nullable(), hash: z.string().nullable() }).nullable(),
  asOf: z.string(),
  by: z.string().optional(),
  cachedBy: z.array(z.string()).optional(),
  diff: z.object({ missing: z.array(z.string()), extra: z.array(z.string()), changed: z.array(z.string()), counts: z.object({ missing: z.number(), extra: z.number(), changed: z.number() }) }).optional(),
  why: z.string().optional(),
});

export const syncChannels = {
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
} as const satisfies Channels;
