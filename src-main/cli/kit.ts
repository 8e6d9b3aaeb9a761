// What every command shares: the root program and its global options, the one way a command
// runs (exit codes, errors as JSON or text), the services and the contract's calls, sign-in.
import { UNLOCK_MINUTES } from '../../src-shared/safety.ts';
import { Command } from 'commander';
import type { Channel, Input, Output } from '../../src-shared/contract.ts';
import type { AppErrorData } from '../../src-shared/result.ts';
import type { Services } from '../compose/services.ts';
import { resolveHome } from '../core/home.ts';
import { createLogger } from '../core/log.ts';
import { createOut, EXIT, type Out } from './output.ts';

export class CliFailure extends Error {
  constructor(readonly error: AppErrorData) {
    super(error.message);
  }
}

/**
 * The database URL a command was given: --db-env VAR (the URL stays out of the process list), or
 * --db URL without a password in it (a password on the command line is visible in `ps` to every
 * local user, so it is refused with the replacement spelled out).
 */
export function dbOf(o: { db?: string; dbEnv?: string }): string | undefined {
  if (o.dbEnv) {
    const url = process.env[o.dbEnv];
    if (!url) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.dbEnv} (--db-env) is not set.` });
    return url;
  }
  if (!o.db) return undefined;
  let password = '';
  try {
    password = new URL(o.db).password;
  } catch {
    /* the command checks the URL itself */
  }
  if (password)
    throw new CliFailure({
      code: 'invalid-input',
      message:
        "--db puts the database password on the command line, where every local user sees it (ps). Put the URL in an environment variable and name it instead: TENANTSCOPE_DB='postgres://...' tenantscope ... --db-env TENANTSCOPE_DB",
    });
  return o.db;
}

/** The CLI is the third door: it calls the same services through the same contract. */
export async function call<C extends Channel>(services: Services, channel: C, input: Input<C>): Promise<Output<C>> {
  const r = await services.dispatch(channel, input);
  if (!r.ok) throw new CliFailure(r.error);
  return r.value as Output<C>;
}

/**
 * The services, loaded when a command first needs them: `--help` and argument errors never load
 * the capabilities (PostgreSQL, SQLite, the HTTP server, the parser), so they answer at once.
 */
export async function withServices(out: Out, mode: 'cli' | 'browser' = 'cli'): Promise<Services> {
  const { createServices } = await import('../compose/services.ts');
  // the console's own log (the demo CRM's lines among it) only when asked for: it is not the command's output
  const verbose = Boolean(program.opts().verbose) || !!process.env.TENANTSCOPE_VERBOSE;
  const services = createServices({ home: resolveHome(), mode, log: createLogger('tenantscope', !verbose) });
  // what the command waits for, said once (the first start of the demo CRM takes a few seconds)
  services.demo.onChange((s) => {
    if (s.state === 'starting') out.info('Starting the demo CRM…');
    if (s.state === 'failed') out.info(`The demo CRM did not start: ${s.message ?? 'no reason given'}`);
  });
  return services;
}

/** Runs `fn` with the services and stops what they started (the demo CRM, open caches) afterwards. */
export async function usingServices<T>(out: Out, fn: (services: Services) => Promise<T>): Promise<T> {
  const services = await withServices(out);
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

export async function run(json: boolean, body: (out: Out) => Promise<number>): Promise<never> {
  const out = createOut(json);
  let code: number;
  try {
    code = await body(out);
  } catch (e) {
    const error: AppErrorData = e instanceof CliFailure ? e.error : { code: 'internal', message: (e as Error).message };
    if (json) process.stdout.write(JSON.stringify({ ok: false, error }, null, 2) + '\n');
    else process.stderr.write(`error (${error.code}): ${error.message}\n`);
    code = EXIT.failed;
  }
  process.exit(code);
}

export const program = new Command()
  .name('tenantscope')
  .description('Finish and prove the multi-tenancy of a SaaS CRM. Data lives in $TENANTSCOPE_HOME or the app-data folder.')
  .option('--json', 'print one JSON document on stdout (logs go to stderr)', false)
  .option('--verbose', "also print the console's own log (and the demo CRM's) on stderr", false)
  .option('--allow-writes', "Safe Mode: let this command write to a production connection's CRM or database (migrations, canary writes, eviction)", false)
  .showHelpAfterError()
  .addHelpText('after', '\nExit codes: 0 success, 1 the check found a problem, 2 the command could not do its work.');
export const json = () => Boolean(program.opts().json);

/**
 * Signs the operator in for a command: --token-env, or --as (default: the connection's first identity;
 * for a super admins' command, the first identity that is one) with --password-env or the connection's secret.
 */
export async function signInOperator(
  services: Services,
  o: { connection: string; as?: string; passwordEnv?: string; tokenEnv?: string; offline?: boolean },
  needs?: 'super_admin',
): Promise<string> {
  const who = await signInAs(services, o, needs);
  await safeModeFirst(services, o.connection);
  return who;
}

/**
 * Safe Mode at the CLI: the connection's level said first on stderr; a production connection's
 * writes unlocked for this command by --allow-writes (as the window's lock button does, with the
 * name the operator typed in the command line), and refused by the main process otherwise.
 */
async function safeModeFirst(services: Services, connection: string): Promise<void> {
  const allow = Boolean(program.opts().allowWrites);
  let s = await call(services, 'safety:status', {});
  if (s.level === 'production' && allow) s = await call(services, 'safety:unlock', { name: connection, minutes: UNLOCK_MINUTES.max });
  if (s.level === 'demo') return;
  process.stderr.write(
    `Connection ${connection}: ${s.level}${s.level === 'production' ? (s.writes ? ', writes allowed for this command (--allow-writes)' : ', read-only (Safe Mode; --allow-writes lets this command write)') : ''}\n`,
  );
}

async function signInAs(
  services: Services,
  o: { connection: string; as?: string; passwordEnv?: string; tokenEnv?: string; offline?: boolean },
  needs?: 'super_admin',
): Promise<string> {
  const profile = services.connections.get(o.connection);
  if (o.tokenEnv) {
    const token = process.env[o.tokenEnv];
    if (!token) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.tokenEnv} is not set.` });
    if (o.offline)
      throw new CliFailure({
        code: 'invalid-input',
        message: 'Offline sign-in checks a password against what this machine kept: give --password-env, not a token.',
      });
    const session = await call(services, 'session:signIn', { connection: o.connection, token });
    return session.user.email || session.user.id;
  }
  // a command for super admins, with no --as: the first of the connection's identities that is one
  if (needs === 'super_admin' && !o.as && !o.offline) {
    for (const identity of profile.identities) {
      const password = identity.username ? services.connections.secretFor(profile, identity.label) : undefined;
      if (!password) continue;
      // a user with no company is refused a session: not the one we look for
      const session = await call(services, 'session:signIn', { connection: o.connection, username: identity.username!, password }).catch((e: unknown) => {
        if (e instanceof CliFailure && e.error.code === 'forbidden') return null;
        throw e;
      });
      if (session?.role === 'super_admin') return identity.username!;
    }
    throw new CliFailure({
      code: 'forbidden',
      message: `None of the identities of "${o.connection}" whose password is at hand signs in as a super admin: give --as USER with --password-env VAR (or --token-env VAR).`,
    });
  }
  const username = o.as ?? profile.identities[0]?.username;
  if (!username) throw new CliFailure({ code: 'invalid-input', message: `Connection "${o.connection}" has no identities: give --as USER.` });
  const password = o.passwordEnv ? process.env[o.passwordEnv] : secretOf(services, profile, username);
  if (!password) throw new CliFailure({ code: 'invalid-input', message: `No password for ${username}: give --password-env VAR.` });
  if (o.offline) await call(services, 'session:openOffline', { connection: o.connection, username, password });
  else await call(services, 'session:signIn', { connection: o.connection, username, password });
  return username;
}

/**
 * The audit's session, without the CRM when it can: `--as` (with its password), else the first of
 * the connection's identities that this machine has seen sign in, a super admin before the others;
 * online only when no one can be opened offline and `--offline` was not given.
 */
export async function openAuditSession(
  services: Services,
  o: { connection: string; as?: string; passwordEnv?: string; offline: boolean },
): Promise<{ user: string; role: string }> {
  const profile = services.connections.get(o.connection);
  const candidates = o.as
    ? [{ username: o.as, password: o.passwordEnv ? process.env[o.passwordEnv] : secretOf(services, profile, o.as) }]
    : profile.identities.filter((i) => i.username).map((i) => ({ username: i.username!, password: services.connections.secretFor(profile, i.label) }));
  if (o.as && o.passwordEnv && !process.env[o.passwordEnv])
    throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.passwordEnv} is not set.` });
  // each opened replaces the one before: the first that opened is opened again only when no super admin came after it
  type Opened = { user: string; role: string; username: string; password: string };
  let first: Opened | null = null;
  let opened: Opened | null = null;
  let lastError: CliFailure | null = null;
  for (const c of candidates) {
    if (!c.password) continue;
    try {
      const s = await call(services, 'session:openOffline', { connection: o.connection, username: c.username, password: c.password });
      opened = { user: s.user.email || c.username, role: s.role, username: c.username, password: c.password };
      first ??= opened;
      if (s.role === 'super_admin') return opened;
    } catch (e) {
      if (!(e instanceof CliFailure)) throw e;
      lastError = e;
    }
  }
  if (first) {
    if (opened !== first) await call(services, 'session:openOffline', { connection: o.connection, username: first.username, password: first.password });
    return first;
  }
  if (!o.offline) {
    const username = await signInOperator(services, { connection: o.connection, as: o.as, passwordEnv: o.passwordEnv });
    const s = services.session.current()!;
    return { user: s.user.email || username, role: s.role };
  }
  if (lastError && lastError.error.code !== 'bad-credentials' && lastError.error.code !== 'not-found') throw lastError;
  throw new CliFailure({
    code: 'unauthenticated',
    message: `The audit runs as someone who signed in to "${o.connection}" on this machine before: give --as USER --password-env VAR${candidates.some((c) => c.password) ? " (none of the connection's identities opens offline here)" : ''}, or run it without --offline to sign in to the CRM.`,
  });
}

export function secretOf(services: Services, profile: ReturnType<Services['connections']['get']>, username: string): string | undefined {
  const label = profile.identities.find((i) => i.username === username)?.label;
  return label ? services.connections.secretFor(profile, label) : undefined;
}
