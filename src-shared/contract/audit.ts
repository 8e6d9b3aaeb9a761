import { z } from 'zod';
import type { Channels } from './common.ts';

// The tenancy audit, measured from the cache: findings, reports, acceptance.

export const SeveritySchema = z.enum(['HIGH', 'MEDIUM', 'LOW']);

export const FindingSchema = z.object({
  /** stable across runs: the check, the resource and what it is about */
  id: z.string(),
  check: z.enum(['missing-company-id', 'orphans', 'cross-tenant-reference', 'leak-evidence', 'not-shared', 'user-without-company', 'super-admins']),
  severity: SeveritySchema,
  title: z.string(),
  resource: z.string().nullable(),
  count: z.number(),
  /** up to 20 record ids, and the path that proves the finding */
  evidence: z.object({ ids: z.array(z.string()), path: z.string() }),
  remediation: z.string(),
  sql: z.string().nullable(),
  accepted: z.object({ reason: z.string(), by: z.string(), at: z.string() }).nullable(),
});

export const ModelStatusSchema = z.object({
  resource: z.string(),
  table: z.string().nullable(),
  priority: SeveritySchema.nullable(),
  /** the cached rows carry the company field (measured; the catalog's word when nothing is cached) */
  hasCompanyId: z.boolean(),
  rows: z.number(),
  missing: z.number(),
  fillable: z.number(),
  orphans: z.number(),
  /** rows with no owner that the catalog says every company shares (not orphans) */
  shared: z.number().optional(),
});

/** The seed's Phase 2 as the last source audit of the connection measured it (code audit --connection). */
export const Phase2Schema = z.object({
  generatedAt: z.string(),
  root: z.string(),
  findings: z.number(),
  isolationRunId: z.number().nullable(),
  files: z.array(z.object({ file: z.string(), counts: z.record(SeveritySchema, z.number()), handlers: z.array(z.string()) })),
  /** each (resource, operation) the source serves: its handler, where, and how it scopes (the isolation matrix links its cells to them) */
  handlers: z
    .array(z.object({ resource: z.string(), operation: z.string(), handler: z.string(), file: z.string(), line: z.number(), scoping: z.string() }))
    .default([]),
});
export type Phase2 = z.output<typeof Phase2Schema>;

export const AuditResultSchema = z.object({
  runId: z.number(),
  generatedAt: z.string(),
  asOf: z.string().nullable(),
  scope: z.string(),
  models: z.array(ModelStatusSchema),
  findings: z.array(FindingSchema),
  counts: z.record(SeveritySchema, z.number()),
  progress: z.object({
    modelsMigrated: z.number(),
    modelsTotal: z.number(),
    rowsMissing: z.number(),
    endpointsProven: z.number(),
    endpointsProbed: z.number(),
    isolationRunId: z.number().nullable(),
  }),
  diff: z
    .object({ previousRunId: z.number(), new: z.array(z.string()), fixed: z.array(z.string()), accepted: z.array(z.string()), stillOpen: z.array(z.string()) })
    .nullable(),
  /** the files to update in the backend's source, from the last source audit run with this connection */
  phase2: Phase2Schema.nullable().default(null),
});
export type AuditResult = z.output<typeof AuditResultSchema>;
export type Finding = z.output<typeof FindingSchema>;
export type ModelStatus = z.output<typeof ModelStatusSchema>;

export const auditChannels = {
  'audit:run': {
    access: 'signed-in',
    summary: 'The tenancy audit, measured from the cache with no network (a company admin: their own partition; a super admin: every one, or one tenant)',
    input: z.object({ tenant: z.string().min(1).max(200).optional() }).strict(),
    output: AuditResultSchema,
  },
  'audit:report': {
    access: 'signed-in',
    summary: "The audit document, in the seed audit's shape, as Markdown or HTML (measured now, from the cache)",
    input: z.object({ format: z.enum(['md', 'html']).default('md') }).strict(),
    output: z.object({ fileName: z.string(), text: z.string() }),
  },
  'audit:accept': {
    access: 'super-admin',
    summary: 'Accept a finding with a reason: it stays listed but no longer fails the audit',
    input: z.object({ id: z.string().regex(/^[0-9a-f]{12}$/), reason: z.string().min(1).max(500) }).strict(),
    output: z.object({ accepted: z.string() }),
  },
} as const satisfies Channels;
