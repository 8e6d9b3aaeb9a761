import { z } from 'zod';
import { Empty, ProgressSchema, type Channels } from './common.ts';

// The synced cache: run, cancel, status, the proof against the CRM, eviction.

/** A tenant's resource compared with the CRM: counts, latest updated_at and a hash; a drift by id where the ids are known. */
export const ProofSchema = z.object({
  tenant: z.string(),
  resource: z.string(),
  status: z.enum(['in-sync', 'drifted', 'counts-only']),
  /** what the server side rests on: the CRM's manifest, or a fresh relist by the console */
  basis: z.enum(['manifest', 'relist']).optional(),
  local: z.object({ count: z.number(), latest: z.string().nullable(), hash: z.string() }),
  server: z.object({ count: z.number(), latest: z.string().nullable(), hash: z.string().nullable() }).nullable(),
  asOf: z.string(),
  /** whose listing the server's side is (the operator who proved) */
  by: z.string().optional(),
  /** whose listings filled the cached rows compared */
  cachedBy: z.array(z.string()).optional(),
  /** a drift shown row by row (a relist has the ids; a manifest gives counts and a hash only), up to 20 ids each */
  diff: z
    .object({
      missing: z.array(z.string()),
      extra: z.array(z.string()),
      changed: z.array(z.string()),
      counts: z.object({ missing: z.number(), extra: z.number(), changed: z.number() }),
    })
    .optional(),
  /** a drift in words: what differs, and the likely cause */
  why: z.string().optional(),
});

/** How one tenant's resource went in a sync. */
export const ResourceOutcomeSchema = z.object({
  tenant: z.string(),
  resource: z.string(),
  status: z.enum(['synced', 'warning', 'skipped', 'failed']),
  rows: z.number(),
  pages: z.number(),
  message: z.string().nullable(),
});

export const SyncReportSchema = z.object({
  runId: z.number(),
  rows: z.number(),
  pages: z.number(),
  retries: z.number(),
  leaks: z.number(),
  deletions: z.number(),
  outcomes: z.array(ResourceOutcomeSchema),
  /** each retried request, with why and which try */
  retried: z.array(z.string()),
  /** a first sync into an empty cache loaded like a database: its indexes built once at the end */
  load: z
    .object({
      rows: z.number(),
      duplicates: z.number(),
      indexSeconds: z.number(),
      /** where indexSeconds went: each index built, copies removed, references filled, rows counted, the commit */
      steps: z.array(z.object({ step: z.string(), seconds: z.number() })).default([]),
    })
    .optional(),
});
export type Proof = z.output<typeof ProofSchema>;
export type ResourceOutcome = z.output<typeof ResourceOutcomeSchema>;
export type SyncReport = z.output<typeof SyncReportSchema>;

export const syncChannels = {
  'sync:run': {
    access: 'signed-in',
    summary: 'Sync tenants into the cache: a super admin any (or all), everyone else their own',
    input: z
      .object({
        tenants: z.array(z.string().min(1).max(200)).max(1000).optional(),
        all: z.boolean().default(false),
        pageSize: z.number().int().min(1).max(1000).optional(),
      })
      .strict(),
    output: SyncReportSchema,
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
      partitions: z.array(
        z.object({
          company_id: z.string(),
          rows: z.number(),
          deleted: z.number(),
          last_sync: z.string().nullable(),
          leaks: z.number(),
          proven: z.number(),
          drifted: z.number(),
          proof_as_of: z.string().nullable(),
        }),
      ),
      /** the sync running now (started from any window or door), with its latest progress */
      running: z.object({ label: z.string(), startedAt: z.string(), progress: ProgressSchema.nullable() }).nullable(),
      /** the last sync that ended: ok, partial, failed or cancelled */
      lastRun: z
        .object({
          outcome: z.string(),
          rows: z.number(),
          retries: z.number(),
          startedAt: z.string(),
          finishedAt: z.string().nullable(),
          message: z.string().nullable(),
        })
        .nullable(),
    }),
  },
  'sync:prove': {
    access: 'signed-in',
    summary: "Compare a tenant's cache with the server: count, latest updated_at and a hash per resource",
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
    summary: "Remove a tenant's partition from the cache",
    input: z.object({ tenant: z.string().min(1).max(200) }).strict(),
    output: z.object({ tenant: z.string(), evicted: z.number(), remaining: z.number() }),
  },
} as const satisfies Channels;
