import { z } from 'zod';
import { RoleSchema } from '../tenancy.ts';

// Pieces every domain of the contract uses: names, secrets, a tenant, a session, progress.

export const Empty = z.object({}).strict();

export const Name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a connection name: lower-case letters, digits, "-" or "_"');

export const DemoStatusSchema = z.object({
  state: z.enum(['stopped', 'starting', 'running', 'failed']),
  url: z.string().nullable(),
  message: z.string().nullable(),
});

export type DemoStatus = z.infer<typeof DemoStatusSchema>;

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

export const Secret = z.string().min(1).max(4096);

/** Progress of long work (a sync): rows done, the total when known, rate and ETA, the parts running now. */
export const ProgressSchema = z.object({
  task: z.string(),
  label: z.string(),
  done: z.number(),
  total: z.number().nullable(),
  message: z.string().nullable(),
  /** rows (or items) a second so far, and seconds left when the total is known */
  rate: z.number().optional(),
  etaSeconds: z.number().nullable().optional(),
  /** the parts running now (a sync: one per tenant and resource being listed) */
  parts: z
    .array(z.object({ label: z.string(), done: z.number(), total: z.number().nullable(), rate: z.number(), etaSeconds: z.number().nullable() }))
    .optional(),
});

export const DbUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
  .max(2048);

export const Ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a table or column name');

/** A domain's channels, each with who may call it, what goes in and what comes out. */
export type Channels = Record<
  string,
  { access: 'public' | 'signed-in' | 'super-admin' | 'connection-admin' | 'local-files'; summary: string; input: z.ZodType; output: z.ZodType }
>;
