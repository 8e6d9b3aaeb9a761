import { contract, isChannel, NEEDS_CRM, WRITES } from '../../src-shared/contract.ts';
import { describeIssues } from '../../src-shared/profile.ts';
import { AppError, type Result } from '../../src-shared/result.ts';
import { redact } from '../core/log.ts';
import { inWindow, MAIN_WINDOW } from '../core/window.ts';
import { requireConnectionAdmin, type Handlers, type Kernel } from './kernel.ts';

/**
 * The one door every other door goes through, as the given window (the main window when none is
 * given): parse the input, refuse what needs the CRM when offline, check access, run the handler,
 * parse its answer against the contract, and turn every error into the contract's error.
 */
export function createDispatch(k: Kernel, handlers: Handlers) {
  async function serve(channel: string, payload: unknown): Promise<Result<unknown>> {
    if (typeof channel !== 'string' || !isChannel(channel)) {
      return { ok: false, error: { code: 'unknown-channel', message: `There is no call named "${String(channel).slice(0, 80)}".` } };
    }
    const spec = contract[channel];
    const parsed = spec.input.safeParse(payload ?? {});
    if (!parsed.success) {
      const fields = describeIssues(parsed.error.issues);
      const first = Object.entries(fields)
        .slice(0, 3)
        .map(([key, v]) => `${key}: ${v}`)
        .join('; ');
      return { ok: false, error: { code: 'invalid-input', message: `Invalid input for ${channel}: ${first}`, fields } };
    }
    try {
      const access: string = spec.access;
      const session = k.session();
      const offline = session.current()?.offline ? NEEDS_CRM[channel] : undefined;
      if (offline) throw new AppError('offline', `Offline (data as of ${session.current()?.dataAsOf ?? 'never'}): ${offline} Sign in online to do it.`);
      if (access === 'signed-in') session.require();
      if (access === 'super-admin') session.requireSuperAdmin();
      // a folder of this machine (a source checkout): the operator at the CLI, a super admin in a window
      if (access === 'local-files' && k.opts.mode !== 'cli') session.requireSuperAdmin();
      if (access === 'connection-admin') requireConnectionAdmin(k, parsed.data as { name?: string; connection?: string; profile?: unknown });
      // Safe Mode: a production connection's writes wait for the operator's unlock, whichever door
      const write = (WRITES[channel] as ((i: unknown) => string | null) | undefined)?.(parsed.data);
      const on = write ? session.current()?.connection : undefined;
      if (write && on) k.safeMode.require(k.callerWindow(), k.connections.get(on), write);
      const handler = handlers[channel] as (input: unknown) => Promise<unknown> | unknown;
      const value = await handler(parsed.data);
      const out = spec.output.safeParse(value);
      if (!out.success) {
        k.log(`internal: ${channel} produced an answer outside the contract: ${JSON.stringify(describeIssues(out.error.issues))}`);
        return { ok: false, error: { code: 'internal', message: `${channel} failed inside the console; the log has the details.` } };
      }
      return { ok: true, value: out.data };
    } catch (e) {
      if (e instanceof AppError) return { ok: false, error: e.toJSON() };
      k.log(`internal: ${channel}: ${redact((e as Error).stack ?? String(e))}`);
      return { ok: false, error: { code: 'internal', message: `${channel} failed inside the console; the log has the details.` } };
    }
  }

  return function dispatch(channel: string, payload: unknown, from: { window?: string } = {}): Promise<Result<unknown>> {
    const window = from.window ?? MAIN_WINDOW;
    k.sessionOf(window);
    return inWindow(window, () => serve(channel, payload));
  };
}
