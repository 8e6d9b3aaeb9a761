import { z } from 'zod';

/**
 * Safe Mode: every connection has a level and a colour. A production connection is read-only
 * until the operator unlocks writes for a while by typing its name; the main process refuses a
 * write call on it before then, whichever door the call comes through. Pure: shared by the main
 * process, the CLI and the renderer.
 */
export const SAFETY_LEVELS = ['demo', 'staging', 'production'] as const;
export type SafetyLevel = (typeof SAFETY_LEVELS)[number];

export const SafetySchema = z
  .object({
    level: z.enum(SAFETY_LEVELS),
    /** the frame and badge colour, #rrggbb; the level's own colour when left out */
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb')
      .optional(),
  })
  .strict();
export type Safety = z.infer<typeof SafetySchema>;

export const LEVEL_COLORS: Record<SafetyLevel, string> = { demo: '#2e7d32', staging: '#b26a00', production: '#c62828' };

export const LEVEL_HELP: Record<SafetyLevel, string> = {
  demo: 'the embedded demo CRM: anything goes',
  staging: 'writes allowed, with the usual confirmations',
  production: 'read-only until writes are unlocked for a while by typing the connection’s name',
};

/** How long an unlock lasts unless the operator says otherwise, and the longest it may. */
export const UNLOCK_MINUTES = { default: 15, max: 480 } as const;

/** localhost, 127.0.0.0/8 and ::1: a CRM on this machine. */
export function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]' || host === '::1';
}

/** The level a connection gets when nobody chose one: the demo is the demo; a CRM elsewhere than this machine is production. */
export function defaultLevel(p: { embedded: boolean; baseUrl: string }): SafetyLevel {
  return p.embedded ? 'demo' : isLoopback(p.baseUrl) ? 'staging' : 'production';
}

/** A connection's level and colour, as chosen or by default. */
export function safetyOf(p: { embedded: boolean; baseUrl: string; safety?: Safety }): Required<Safety> & { chosen: boolean } {
  const level = p.safety?.level ?? defaultLevel(p);
  return { level, color: p.safety?.color ?? LEVEL_COLORS[level], chosen: !!p.safety };
}
