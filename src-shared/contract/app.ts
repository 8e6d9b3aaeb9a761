import { z } from 'zod';
import { DemoStatusSchema, Empty, type Channels } from './common.ts';

// The app and its embedded demo CRM.

export const appChannels = {
  'app:info': {
    access: 'public',
    summary: 'Version, where the console keeps its data, how it is running, and the demo CRM state',
    input: Empty,
    output: z.object({
      version: z.string(),
      mode: z.enum(['desktop', 'browser', 'cli']),
      home: z.string(),
      demo: DemoStatusSchema,
      /** what encrypts the caches at rest: a passphrase (TENANTSCOPE_CACHE_KEY), the OS keyring (desktop), or nothing */
      cacheEncryption: z.enum(['passphrase', 'os-keyring', 'off']),
    }),
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
} as const satisfies Channels;
