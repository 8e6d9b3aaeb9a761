import { z } from 'zod';
import { SAFETY_LEVELS, UNLOCK_MINUTES } from '../safety.ts';
import { Empty, type Channels } from './common.ts';

// Safe Mode: the signed-in connection's level, and unlocking a production connection's writes for a while.

const SafetyStatusSchema = z.object({
  connection: z.string(),
  level: z.enum(SAFETY_LEVELS),
  color: z.string(),
  chosen: z.boolean(),
  /** production only: until when writes are unlocked for this window */
  unlockedUntil: z.string().nullable(),
  /** whether a write call would be served now */
  writes: z.boolean(),
});

export const safetyChannels = {
  'safety:status': {
    access: 'signed-in',
    summary: "Safe Mode on the signed-in connection: its level and colour, and whether this window's writes are unlocked (until when)",
    input: Empty,
    output: SafetyStatusSchema,
  },
  'safety:unlock': {
    access: 'signed-in',
    summary: "Unlock writes on the signed-in production connection for this window, for some minutes, by typing the connection's name",
    input: z
      .object({
        /** the connection's name, typed by the operator */
        name: z.string().max(200),
        minutes: z.number().int().min(1).max(UNLOCK_MINUTES.max).default(UNLOCK_MINUTES.default),
      })
      .strict(),
    output: SafetyStatusSchema,
  },
  'safety:lock': {
    access: 'signed-in',
    summary: "Lock the signed-in connection's writes again for this window",
    input: Empty,
    output: SafetyStatusSchema,
  },
} as const satisfies Channels;
