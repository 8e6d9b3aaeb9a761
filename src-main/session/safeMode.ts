import type { Output } from '../../src-shared/contract.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import { safetyOf, UNLOCK_MINUTES } from '../../src-shared/safety.ts';

type SafetyStatus = Output<'safety:status'>;

/**
 * Safe Mode's unlocks: a production connection refuses writes until the operator types its name,
 * and then only for a while. Held per window (each tab of the HTTP host, the desktop window, the
 * CLI's one process) and connection, in memory only: a restart locks everything again.
 */
export class SafeMode {
  private readonly until = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  private key = (window: string, connection: string) => `${window}\u0000${connection}`;

  status(window: string, profile: ConnectionProfile): SafetyStatus {
    const s = safetyOf(profile);
    const until = this.until.get(this.key(window, profile.name));
    const open = until !== undefined && until > this.now();
    return {
      connection: profile.name,
      ...s,
      unlockedUntil: s.level === 'production' && open ? new Date(until).toISOString() : null,
      writes: s.level !== 'production' || open,
    };
  }

  /** Unlocks writes on a production connection for `minutes`, once the operator has typed its name exactly. */
  unlock(window: string, profile: ConnectionProfile, typed: string, minutes: number = UNLOCK_MINUTES.default): SafetyStatus {
    if (typed !== profile.name)
      throw new AppError('invalid-input', `Type the connection's name, "${profile.name}", exactly to unlock writes on it.`, {
        name: `"${profile.name}"`,
      });
    const m = Math.min(Math.max(1, Math.round(minutes)), UNLOCK_MINUTES.max);
    this.until.set(this.key(window, profile.name), this.now() + m * 60_000);
    return this.status(window, profile);
  }

  lock(window: string, connection?: string): void {
    for (const k of [...this.until.keys()])
      if (k.startsWith(`${window}\u0000`) && (connection === undefined || k === this.key(window, connection))) this.until.delete(k);
  }

  /** Refuses `what` on a production connection whose writes are locked for this window. */
  require(window: string, profile: ConnectionProfile, what: string): void {
    const s = this.status(window, profile);
    if (s.writes) return;
    throw new AppError(
      'read-only',
      `"${profile.name}" is a production connection, read-only in Safe Mode: ${what}. Unlock writes first by typing its name (the lock button at the top of the window; --allow-writes at the CLI).`,
    );
  }
}
