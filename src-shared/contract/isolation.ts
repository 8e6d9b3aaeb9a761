import { z } from 'zod';
import { VerdictSchema } from '../tenancy.ts';
import { Empty, type Channels } from './common.ts';

// The isolation matrix: runs, their verdicts and evidence.

export const OPERATIONS = ['list', 'search', 'read', 'update', 'delete', 'create'] as const;
export const OperationSchema = z.enum(OPERATIONS);

/** one request and what it answered, cut short */
export const EvidenceSchema = z.object({ request: z.string(), status: z.number(), excerpt: z.string() });

export const ProbeResultSchema = z.object({
  resource: z.string(),
  identity: z.string(),
  operation: OperationSchema,
  verdict: VerdictSchema,
  detail: z.string(),
  evidence: z.array(EvidenceSchema),
});

export const IsolationReportSchema = z.object({
  runId: z.number(),
  readOnly: z.boolean(),
  owner: z.string(),
  identities: z.array(z.string()),
  resources: z.array(z.string()),
  results: z.array(ProbeResultSchema),
  counts: z.record(VerdictSchema, z.number()),
  cleanup: z.object({
    removed: z.number(),
    leftover: z.array(z.object({ resource: z.string(), id: z.string().nullable(), marker: z.string(), note: z.string() })),
  }),
  complete: z.boolean(),
  seconds: z.number(),
  /** share of the wall time with no request in flight: the runner's own work */
  overhead: z.number(),
  requests: z.number(),
});
export type Operation = z.output<typeof OperationSchema>;
export type Evidence = z.output<typeof EvidenceSchema>;
export type ProbeResult = z.output<typeof ProbeResultSchema>;
export type IsolationReport = z.output<typeof IsolationReportSchema>;

export const isolationChannels = {
  'isolation:run': {
    access: 'super-admin',
    summary: "Run the isolation matrix with the connection's identities: canaries created, probed by every other company, cleaned up",
    input: z
      .object({
        only: z.array(z.string().min(1).max(100)).max(200).optional(),
        readOnly: z.boolean().default(false),
        /** resources probed at once */
        concurrency: z.number().int().min(1).max(16).default(4),
        /** at most this many requests a second to the CRM (production: be gentle) */
        ratePerSecond: z.number().positive().max(10_000).optional(),
      })
      .strict(),
    output: IsolationReportSchema,
  },
  'isolation:runs': {
    access: 'super-admin',
    summary: 'The isolation runs recorded in the cache, newest first',
    input: Empty,
    output: z.object({
      runs: z.array(
        z.object({
          id: z.number(),
          startedAt: z.string(),
          finishedAt: z.string().nullable(),
          readOnly: z.boolean(),
          outcome: z.string(),
          probes: z.number(),
          leaks: z.number(),
          message: z.string().nullable(),
        }),
      ),
    }),
  },
  'isolation:results': {
    access: 'super-admin',
    summary: 'One recorded isolation run with every verdict and its evidence',
    input: z.object({ runId: z.number().int().positive() }).strict(),
    output: z.object({
      run: z.object({
        id: z.number(),
        startedAt: z.string(),
        finishedAt: z.string().nullable(),
        outcome: z.string(),
        readOnly: z.boolean(),
        seconds: z.number().nullable(),
        cleanup: z.object({ removed: z.number(), leftover: z.array(z.unknown()) }).nullable(),
      }),
      results: IsolationReportSchema.shape.results,
    }),
  },
} as const satisfies Channels;
