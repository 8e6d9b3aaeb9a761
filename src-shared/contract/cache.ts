import { z } from 'zod';
import { Name, SessionSchema, TenantSchema, type Channels } from './common.ts';

// A tenant's cache sealed in one file, and opened elsewhere.

export const cacheChannels = {
  'cache:export': {
    access: 'signed-in',
    summary:
      "One tenant's cache in one file sealed with a passphrase (AES-256-GCM, scrypt), for support staff on another machine; no secret inside (a company admin: their own company)",
    input: z.object({ tenant: z.string().min(1).max(200), passphrase: z.string().min(8, 'a passphrase of 8 characters or more').max(1024) }).strict(),
    output: z.object({ fileName: z.string(), data: z.string(), rows: z.number(), bytes: z.number() }),
  },
  'cache:import': {
    access: 'public',
    summary: 'Open a tenant export as a new connection and open the console offline on it (sign in later as "support" with the passphrase)',
    input: z.object({ name: Name, data: z.string().min(1), passphrase: z.string().min(1).max(1024) }).strict(),
    output: z.object({
      connection: z.string(),
      tenant: TenantSchema,
      rows: z.number(),
      exportedBy: z.string(),
      exportedAt: z.string(),
      session: SessionSchema,
    }),
  },
} as const satisfies Channels;
