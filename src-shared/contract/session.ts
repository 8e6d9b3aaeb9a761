import { z } from 'zod';
import { Empty, Name, Secret, SessionSchema, TenantSchema, type Channels } from './common.ts';

// Signing in (online, or offline on the cache) and the tenants a session sees.

export const sessionChannels = {
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
    summary:
      "Open the console offline on a connection's cache, as someone who signed in there online before (their password checked locally); actions that need the CRM are refused with the reason",
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
    summary: "Forget the operator's token",
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
} as const satisfies Channels;
