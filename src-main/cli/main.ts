import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { Channel, Input, Output } from '../../src-shared/contract.ts';
import type { AppErrorData } from '../../src-shared/result.ts';
import { resolveHome } from '../core/home.ts';
import { createLogger } from '../core/log.ts';
import { progressRenderer } from './progressBars.ts';
import { toJunit, toMarkdown, toSarif } from '../../src-shared/reports/isolation.ts';
import { atOrAbove, auditHtml, auditMarkdown, auditSarif } from '../../src-shared/reports/audit.ts';
import { createServices, type Services } from '../compose/services.ts';
import { bytes as mib } from '../../src-shared/format.ts';
import { startHttpHost } from '../host/httpHost.ts';
import { runDoctor } from '../compose/doctor.ts';
import { OTHER_COLUMNS, otherColumnsText } from '../../src-shared/migration.ts';
import { VERDICT_ORDER } from '../../src-shared/tenancy.ts';
import { confirm, createOut, EXIT, table, type Out } from './output.ts';

class CliFailure extends Error {
  constructor(readonly error: AppErrorData) {
    super(error.message);
  }
}

/**
 * The database URL a command was given: --db-env VAR (the URL stays out of the process list), or
 * --db URL without a password in it (a password on the command line is visible in `ps` to every
 * local user, so it is refused with the replacement spelled out).
 */
function dbOf(o: { db?: string; dbEnv?: string }): string | undefined {
  if (o.dbEnv) {
    const url = process.env[o.dbEnv];
    if (!url) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.dbEnv} (--db-env) is not set.` });
    return url;
  }
  if (!o.db) return undefined;
  let password = '';
  try { password = new URL(o.db).password; } catch { /* the command checks the URL itself */ }
  if (password) throw new CliFailure({ code: 'invalid-input', message: '--db puts the database password on the command line, where every local user sees it (ps). Put the URL in an environment variable and name it instead: TENANTSCOPE_DB=\'postgres://...\' tenantscope ... --db-env TENANTSCOPE_DB' });
  return o.db;
}

/** The CLI is the third door: it calls the same services through the same contract. */
async function call<C extends Channel>(services: Services, channel: C, input: Input<C>): Promise<Output<C>> {
  const r = await services.dispatch(channel, input);
  if (!r.ok) throw new CliFailure(r.error);
  return r.value as Output<C>;
}

function withServices(out: Out, mode: 'cli' | 'browser' = 'cli') {
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
async function usingServices<T>(out: Out, fn: (services: Services) => Promise<T>): Promise<T> {
  const services = withServices(out);
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

async function run(json: boolean, body: (out: Out) => Promise<number>): Promise<never> {
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

const program = new Command()
  .name('tenantscope')
  .description('Finish and prove the multi-tenancy of a SaaS CRM. Data lives in $TENANTSCOPE_HOME or the app-data folder.')
  .option('--json', 'print one JSON document on stdout (logs go to stderr)', false)
  .option('--verbose', 'also print the console\'s own log (and the demo CRM\'s) on stderr', false)
  .showHelpAfterError()
  .addHelpText('after', '\nExit codes: 0 success, 1 the check found a problem, 2 the command could not do its work.');
const json = () => Boolean(program.opts().json);

program
  .command('doctor')
  .description('Check this machine: Node, the native SQLite module, Chromium, Electron, and that the demo CRM starts')
  .option('--no-demo', 'skip starting the demo CRM')
  .action((o: { demo: boolean }) => run(json(), async (out) => {
    const checks = await runDoctor({ home: resolveHome(), demo: o.demo, log: json() ? () => {} : (l) => out.info(l) });
    const ok = checks.every((c) => c.status !== 'fail');
    out.result({ ok, checks }, () => table(checks.map((c) => [c.status.toUpperCase(), c.name, c.message])));
    return ok ? EXIT.ok : EXIT.problem;
  }));

const connections = program.command('connections').description('CRM connections: list, add, test, remove');

connections
  .command('list')
  .description('List connections (the demo is always there)')
  .action(() => run(json(), async (out) => {
    const services = withServices(out);
    const { connections: list } = await call(services, 'connections:list', {});
    out.result({ connections: list }, () => table([['NAME', 'URL', 'SIGN-IN', 'IDENTITIES', 'DATABASE'], ...list.map((c) => [c.name, c.embedded ? '(embedded, started on demand)' : c.baseUrl, c.authKind, String(c.identities.length), c.hasDatabaseUrl ? 'yes' : 'no'])]));
    return EXIT.ok;
  }));

connections
  .command('add')
  .description('Add a connection: discovered from the CRM\'s OpenAPI document (--openapi), from a profile file, or from the demo\'s shape with another address')
  .argument('[name]', 'connection name (with --openapi or --base-url)')
  .option('--openapi <url>', 'the CRM\'s address or its OpenAPI document\'s: sign-in, whoami, paging and the tenancy catalog are discovered from it')
  .option('--db-env <VAR>', 'an environment variable holding the CRM\'s database URL (tables and foreign keys for discovery; the migration)')
  .option('--profile <file>', 'a connection profile (JSON, see docs/connection-profile.md)')
  .option('--base-url <url>', 'the CRM API address, for a CRM shaped like the reference CRM')
  .option('--identity <label=username[:PASSWORD_ENV]>', 'an identity for isolation tests (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--replace', 'replace a connection of the same name', false)
  .addHelpText('after', '\nA FastAPI CRM in one command:\n  ACME_PW=... DB_URL=postgres://... tenantscope connections add mycrm --openapi https://crm.example.com \\\n    --db-env DB_URL --identity "Acme admin=admin@acme.example:ACME_PW" --identity ...')
  .action((name: string | undefined, o: { openapi?: string; dbEnv?: string; profile?: string; baseUrl?: string; identity: string[]; replace: boolean }) => run(json(), async (out) => {
    const services = withServices(out);
    const identities = o.identity.map((spec) => {
      const m = spec.match(/^([^=]+)=([^:]+)(?::([A-Z_][A-Z0-9_]*))?$/);
      if (!m) throw new CliFailure({ code: 'invalid-input', message: `--identity "${spec}": expected LABEL=USERNAME or LABEL=USERNAME:PASSWORD_ENV` });
      return { label: m[1]!, username: m[2]!, ...(m[3] ? { passwordEnv: m[3] } : {}) };
    });
    if (o.dbEnv && !/^[A-Z_][A-Z0-9_]*$/.test(o.dbEnv)) throw new CliFailure({ code: 'invalid-input', message: `--db-env "${o.dbEnv}": expected an environment variable name (the URL itself never goes on a command line)` });
    if (o.openapi) {
      if (!name) throw new CliFailure({ code: 'invalid-input', message: 'Give the connection a name: tenantscope connections add NAME --openapi URL' });
      const databaseUrl = o.dbEnv ? process.env[o.dbEnv] : undefined;
      if (o.dbEnv && !databaseUrl) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.dbEnv} is not set.` });
      out.info(`Reading ${o.openapi}${databaseUrl ? ' and the database' : ''}…`);
      const found = await call(services, 'connections:discover', { name, url: o.openapi, identities, ...(databaseUrl ? { databaseUrl } : {}), ...(o.dbEnv ? { databaseUrlEnv: o.dbEnv } : {}) });
      const { connection } = await call(services, 'connections:save', { profile: found.profile, replace: o.replace });
      // sign in as the first identity whose password is at hand
      const first = identities.find((i) => i.passwordEnv && process.env[i.passwordEnv]);
      const test = await call(services, 'connections:test', { name, ...(first ? { username: first.username, password: process.env[first.passwordEnv!] } : {}) });
      out.result({ connection, notes: found.notes, toConfirm: found.toConfirm, usedDatabase: found.usedDatabase, test }, () => [
        `Saved connection "${connection.name}" (${connection.baseUrl}) with ${found.profile.catalog.resources.length} resources.`,
        ...found.notes.map((n) => `  ${n}`),
        table(test.checks.map((c) => [c.status.toUpperCase(), c.name, c.message])),
        found.toConfirm.length ? `To confirm (tenantscope catalog discover --out FILE, edit, then add it with --profile; or Connections → Catalog):` : 'Nothing left to confirm.',
        ...found.toConfirm.map((c) => `  ${c.resource}: ${c.what.join('; ')}`),
      ].join('\n'));
      return test.ok ? EXIT.ok : EXIT.problem;
    }
    let profile: Record<string, unknown>;
    if (o.profile) {
      try {
        profile = JSON.parse(readFileSync(o.profile, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new CliFailure({ code: 'invalid-input', message: `Cannot read the profile ${o.profile}: ${(e as Error).message}` });
      }
    } else {
      if (!name || !o.baseUrl) throw new CliFailure({ code: 'invalid-input', message: 'Give --profile FILE, or a name and --base-url URL.' });
      const { embedded: _e, demoPassword: _p, description: _d, ...shape } = services.connections.demoProfile();
      profile = { ...shape, name, baseUrl: o.baseUrl, identities: [] };
    }
    if (identities.length) profile.identities = identities;
    if (o.dbEnv) profile.databaseUrlEnv = o.dbEnv;
    const { connection } = await call(services, 'connections:save', { profile, replace: o.replace });
    out.result({ connection }, () => `Saved connection "${connection.name}" (${connection.baseUrl}).`);
    return EXIT.ok;
  }));

connections
  .command('set')
  .description('Change one setting of a saved connection')
  .argument('<name>', 'connection name')
  .option('--db-env <VAR>', 'the environment variable holding the CRM\'s database URL')
  .option('--no-db-env', 'forget the database URL\'s environment variable')
  .action((name: string, o: { dbEnv?: string | false }) => run(json(), async (out) => {
    const services = withServices(out);
    if (o.dbEnv === undefined) throw new CliFailure({ code: 'invalid-input', message: 'Nothing to change: give --db-env VAR (or --no-db-env).' });
    if (o.dbEnv && !/^[A-Z_][A-Z0-9_]*$/.test(o.dbEnv)) throw new CliFailure({ code: 'invalid-input', message: `--db-env "${o.dbEnv}": expected an environment variable name (the URL itself never goes on a command line)` });
    const { profile } = await call(services, 'connections:get', { name });
    const { databaseUrlEnv: _old, ...rest } = profile;
    const { connection } = await call(services, 'connections:save', { profile: { ...rest, ...(o.dbEnv ? { databaseUrlEnv: o.dbEnv } : {}) }, replace: true });
    out.result({ connection }, () => `Connection "${name}": ${o.dbEnv ? `the database URL is read from $${o.dbEnv}${process.env[o.dbEnv] ? '' : ' (not set in this shell)'}` : 'no database URL variable'}.`);
    return EXIT.ok;
  }));

connections
  .command('test')
  .description('Reach the CRM, find its OpenAPI document, sign in and read the role')
  .argument('<name>', 'connection name')
  .option('--username <name>', 'sign in as this user (default: the first identity)')
  .addOption(new Option('--password-env <VAR>', 'read the password from this environment variable'))
  .addOption(new Option('--token-env <VAR>', 'read a pasted token from this environment variable'))
  .action((name: string, o: { username?: string; passwordEnv?: string; tokenEnv?: string }) => run(json(), async (out) => usingServices(out, async (services) => {
    const password = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
    const token = o.tokenEnv ? process.env[o.tokenEnv] : undefined;
    if (o.passwordEnv && !password) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.passwordEnv} is not set.` });
    if (o.tokenEnv && !token) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.tokenEnv} is not set.` });
    const result = await call(services, 'connections:test', { name, username: o.username, password, token });
    out.result(result, () => table(result.checks.map((c) => [c.status.toUpperCase(), c.name, c.message])) + `\n${result.ok ? 'Connection works.' : 'Connection has problems.'}`);
    return result.ok ? EXIT.ok : EXIT.problem;
  })));

connections
  .command('remove')
  .description('Remove a connection')
  .argument('<name>', 'connection name')
  .action((name: string) => run(json(), async (out) => {
    const services = withServices(out);
    const r = await call(services, 'connections:remove', { name });
    out.result(r, () => `Removed connection "${name}".`);
    return EXIT.ok;
  }));

const catalog = program.command('catalog').description('The tenancy catalog: discover it from a CRM, check a saved one for drift');

catalog
  .command('discover')
  .description('Discover the tenancy catalog from a CRM\'s OpenAPI document, and its database when given')
  .requiredOption('--url <url>', 'the CRM\'s base URL, or the address of its OpenAPI document')
  .option('--db <url>', 'the CRM\'s PostgreSQL URL (no password in it: use --db-env): tables, foreign keys and company_id columns')
  .option('--db-env <VAR>', 'read the CRM\'s PostgreSQL URL from this environment variable')
  .option('--items-field <name>', 'where list answers keep their records', 'items')
  .option('--out <file>', 'write the catalog (JSON) to this file')
  .action((o: { url: string; db?: string; dbEnv?: string; itemsField: string; out?: string }) => run(json(), async (out) => {
    const databaseUrl = dbOf(o);
    out.info(`Reading ${o.url}${databaseUrl ? ' and its database' : ''}…`);
    const found = await usingServices(out, (services) => call(services, 'catalog:discover', { url: o.url, databaseUrl, itemsField: o.itemsField }));
    if (o.out) writeFileSync(o.out, JSON.stringify(found.catalog, null, 2) + '\n');
    const uncertain = found.catalog.resources.reduce((n, r) => n + r.uncertain.length, 0);
    out.result({ catalog: found.catalog, tenantsPath: found.tenantsPath, usedDatabase: found.usedDatabase }, () =>
      table([['RESOURCE', 'TABLE', 'CLASS', 'COMPANY FROM', 'PRIORITY', 'TO CONFIRM'], ...found.catalog.resources.map((r) => [
        r.name, r.table ?? '?', r.class,
        r.derivation.kind === 'none' ? '-' : r.derivation.kind === 'parent' ? `${r.derivation.field} -> ${r.derivation.resource}` : `${r.derivation.kind}: ${r.derivation.field}`,
        r.priority ?? '-', String(r.uncertain.length)])]) +
      `\n${found.catalog.resources.length} resources; ${uncertain} points to confirm${o.out ? `; written to ${o.out}` : ''}.`);
    return EXIT.ok;
  }));

catalog
  .command('check')
  .description('Compare a connection\'s saved catalog with what its CRM says now (exit 1 on drift)')
  .option('--connection <name>', 'connection name', 'demo')
  .option('--db <url>', 'the CRM\'s PostgreSQL URL (no password in it: use --db-env), to compare tables and company_id columns too')
  .option('--db-env <VAR>', 'read the CRM\'s PostgreSQL URL from this environment variable')
  .action((o: { connection: string; db?: string }) => run(json(), async (out) => usingServices(out, async (services) => {
    const { drift } = await call(services, 'catalog:check', { connection: o.connection, databaseUrl: dbOf(o) });
    out.result({ connection: o.connection, drift }, () => drift.length ? drift.map((d) => `${d.change.toUpperCase().padEnd(8)} ${d.message}`).join('\n') : `No drift: the catalog of "${o.connection}" matches its CRM.`);
    return drift.length ? EXIT.problem : EXIT.ok;
  })));

catalog
  .command('attach')
  .description('Put a catalog file (from `catalog discover --out`, edited and confirmed) into a saved connection')
  .argument('<connection>', 'connection name')
  .argument('<file>', 'the catalog (JSON)')
  .action((connection: string, file: string) => run(json(), async (out) => {
    const services = withServices(out);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CliFailure({ code: 'invalid-input', message: `Cannot read the catalog ${file}: ${(e as Error).message}` });
    }
    // a whole `catalog discover` answer carries the catalog under "catalog"
    const catalogIn = raw && typeof raw === 'object' && 'catalog' in raw && !('resources' in raw) ? (raw as { catalog: unknown }).catalog : raw;
    const { catalog: saved } = await call(services, 'catalog:save', { connection, catalog: catalogIn });
    const open = saved.resources.filter((r) => r.uncertain.length);
    out.result({ connection, resources: saved.resources.length, toConfirm: open.map((r) => ({ resource: r.name, what: r.uncertain })) }, () =>
      [`Connection "${connection}" now has the catalog of ${file}: ${saved.resources.length} resources.`, open.length ? `${open.length} still to confirm: ${open.map((r) => r.name).join(', ')}.` : 'Nothing left to confirm.'].join('\n'));
    return EXIT.ok;
  }));

/**
 * Signs the operator in for a command: --token-env, or --as (default: the connection's first identity;
 * for a super admins' command, the first identity that is one) with --password-env or the connection's secret.
 */
async function signInOperator(services: Services, o: { connection: string; as?: string; passwordEnv?: string; tokenEnv?: string; offline?: boolean }, needs?: 'super_admin'): Promise<string> {
  const profile = services.connections.get(o.connection);
  if (o.tokenEnv) {
    const token = process.env[o.tokenEnv];
    if (!token) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.tokenEnv} is not set.` });
    if (o.offline) throw new CliFailure({ code: 'invalid-input', message: 'Offline sign-in checks a password against what this machine kept: give --password-env, not a token.' });
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
    throw new CliFailure({ code: 'forbidden', message: `None of the identities of "${o.connection}" whose password is at hand signs in as a super admin: give --as USER with --password-env VAR (or --token-env VAR).` });
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
async function openAuditSession(services: Services, o: { connection: string; as?: string; passwordEnv?: string; offline: boolean }): Promise<{ user: string; role: string }> {
  const profile = services.connections.get(o.connection);
  const candidates = o.as
    ? [{ username: o.as, password: o.passwordEnv ? process.env[o.passwordEnv] : secretOf(services, profile, o.as) }]
    : profile.identities.filter((i) => i.username).map((i) => ({ username: i.username!, password: services.connections.secretFor(profile, i.label) }));
  if (o.as && o.passwordEnv && !process.env[o.passwordEnv]) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.passwordEnv} is not set.` });
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
  throw new CliFailure({ code: 'unauthenticated', message: `The audit runs as someone who signed in to "${o.connection}" on this machine before: give --as USER --password-env VAR${candidates.some((c) => c.password) ? ' (none of the connection\'s identities opens offline here)' : ''}, or run it without --offline to sign in to the CRM.` });
}

function secretOf(services: Services, profile: ReturnType<Services['connections']['get']>, username: string): string | undefined {
  const label = profile.identities.find((i) => i.username === username)?.label;
  return label ? services.connections.secretFor(profile, label) : undefined;
}

program
  .command('sync')
  .description('Sync tenants of a CRM into the local cache, then prove the cache against the server')
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', 'sign in as (default: the connection\'s first identity)')
  .option('--password-env <VAR>', 'read the password from this environment variable')
  .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
  .option('--tenant <name-or-id>', 'a tenant to sync (repeatable; default: your own or the selected one)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--all', 'every tenant (super admins)', false)
  .option('--page-size <n>', 'records a page', (v) => Number(v))
  .option('--no-prove', 'skip the comparison with the server')
  .action((o: { connection: string; as?: string; passwordEnv?: string; tenant: string[]; all: boolean; pageSize?: number; prove: boolean }) => run(json(), async (out) => usingServices(out, async (services) => {
    const username = await signInOperator(services, o);
    const bars = progressRenderer();
    const offProgress = services.bus.on('onProgress', (p) => { if (p.task.startsWith('sync:')) bars.update(p); });
    // Ctrl+C stops the sync cleanly: every page written stays, the next sync resumes there
    const cancel = () => void call(services, 'sync:cancel', {});
    process.once('SIGINT', cancel);
    let report;
    try {
      report = await call(services, 'sync:run', { tenants: o.tenant.length ? o.tenant : undefined, all: o.all, pageSize: o.pageSize });
    } finally {
      process.off('SIGINT', cancel);
      offProgress();
      bars.stop();
    }
    const synced = [...new Set(report.outcomes.map((x) => x.tenant))];
    const tenantIds = synced.includes('*') ? (await call(services, 'tenants:list', {})).tenants.map((t) => t.id) : synced;
    const proofs = o.prove ? (await Promise.all(tenantIds.map((t) => call(services, 'sync:prove', { tenant: t })))).flatMap((p) => p.proofs) : [];
    const failed = report.outcomes.filter((x) => x.status === 'failed');
    const drifted = proofs.filter((p) => p.status === 'drifted');
    const inSync = proofs.filter((p) => p.status === 'in-sync').length;
    out.result({ ...report, proofs }, () => [
      `Synced ${report.rows} rows in ${report.pages} pages (${report.retries} retries, ${report.deletions} deletions applied).`,
      report.retries ? `Retried: ${retrySummary(report.retried)}.` : '',
      ...failed.map((f) => `FAILED ${f.message}`),
      ...report.outcomes.filter((x) => x.status === 'warning').map((w) => `WARNING ${w.resource}: ${w.message}`),
      report.leaks ? `LEAK: the CRM returned ${report.leaks} rows of other companies to ${username} (see the audit).` : '',
      o.prove ? `Proof: ${inSync} in sync, ${drifted.length} drifted, ${proofs.filter((p) => p.status === 'counts-only').length} counts only${proofs.some((p) => p.basis === 'relist') ? ` (${proofs.filter((p) => p.basis === 'relist').length} by a fresh relist: the CRM serves no manifest)` : ''}.` : '',
      ...drifted.map((d) => `DRIFTED ${d.tenant} ${d.resource}: cache ${d.local.count} rows, server ${d.server?.count}${d.why ? `. ${d.why}` : ''}`),
    ].filter(Boolean).join('\n'));
    out.summary(`Synced ${report.rows} rows in ${report.pages} pages; ${failed.length} failed${report.leaks ? `; LEAK: ${report.leaks} rows of other companies` : ''}${o.prove ? `; proof: ${inSync} in sync, ${drifted.length} drifted` : ''}.`);
    return failed.length || drifted.length ? EXIT.failed : report.leaks ? EXIT.problem : EXIT.ok;
  })));

program
  .command('test')
  .description('Prove isolation: create canary records as one company, probe them as every other identity (list, search, read, update, delete, create), clean up')
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', 'operator to sign in as, a super admin (default: the connection\'s first identity)')
  .option('--password-env <VAR>', 'read the operator\'s password from this environment variable')
  .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
  .option('--only <resources>', 'comma-separated resources (default: every one in the catalog)')
  .option('--read-only', 'create nothing: probe existing records, reads only (for production)', false)
  .option('--concurrency <n>', 'resources probed at once', (v) => Number(v), 4)
  .option('--rate <n>', 'at most N requests a second to the CRM', (v) => Number(v))
  .addOption(new Option('--format <format>', 'report format').choices(['json', 'junit', 'sarif', 'md']).default('md'))
  .option('--out <file>', 'write the report to a file (default: stdout)')
  .action((o: { connection: string; as?: string; passwordEnv?: string; only?: string; readOnly: boolean; concurrency: number; rate?: number; format: 'json' | 'junit' | 'sarif' | 'md'; out?: string }) => run(json(), async (out) => usingServices(out, async (services) => {
    await signInOperator(services, o, 'super_admin');
    const bars = progressRenderer(process.stderr, 5000, 'probes');
    const off = services.bus.on('onProgress', (p) => { if (p.task.startsWith('isolation:')) bars.update({ ...p, parts: undefined }); });
    let report;
    try {
      report = await call(services, 'isolation:run', { only: o.only?.split(',').map((x) => x.trim()).filter(Boolean), readOnly: o.readOnly, concurrency: o.concurrency, ratePerSecond: o.rate });
    } finally {
      off();
      bars.stop();
    }
    const text = o.format === 'junit' ? toJunit(report) : o.format === 'sarif' ? toSarif(report) : o.format === 'md' ? toMarkdown(report) : JSON.stringify(report, null, 2) + '\n';
    if (o.out) {
      writeFileSync(o.out, text);
      out.info(`Wrote the ${o.format} report to ${o.out}.`);
    }
    const summary = `${report.results.length} probes: ${VERDICT_ORDER.map((v) => `${report.counts[v]} ${v}`).join(', ')}. Cleanup: ${report.cleanup.removed} removed, ${report.cleanup.leftover.length} left.`;
    if (json()) out.result(report, () => summary);
    else if (!o.out) out.text(text);
    out.summary(summary);
    return !report.complete || report.cleanup.leftover.length ? EXIT.failed : report.counts.leak > 0 ? EXIT.problem : EXIT.ok;
  })));

program
  .command('audit')
  .description('The tenancy audit, measured from the local cache with no network: models with and without company_id, rows missing it, cross-tenant references, leak evidence')
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', 'audit as (a user who signed in on this machine before; default: the connection\'s identities, a super admin first)')
  .option('--password-env <VAR>', 'read that user\'s password from this environment variable')
  .option('--offline', 'never ask the CRM: open the session from what this machine kept of the last sign-in', false)
  .addOption(new Option('--format <format>', 'report format').choices(['md', 'html', 'json', 'sarif']).default('md'))
  .addOption(new Option('--fail-on <severity>', 'exit 1 when an open finding is at or above this severity').choices(['high', 'medium', 'low']))
  .option('--out <file>', 'write the report to a file (default: stdout)')
  .option('--accept <findingId>', 'accept a finding (with --reason): it stays listed but no longer fails')
  .option('--reason <text>', 'why the finding is accepted')
  .action((o: { connection: string; as?: string; passwordEnv?: string; offline: boolean; format: 'md' | 'html' | 'json' | 'sarif'; failOn?: 'high' | 'medium' | 'low'; out?: string; accept?: string; reason?: string }) => run(json(), async (out) => usingServices(out, async (services) => {
    // the same door as the window: a session (who may see which tenants, who may accept), then the contract's calls
    const who = await openAuditSession(services, o);
    out.info(`Auditing as ${who.user} (${who.role.replace('_', ' ')}${who.role === 'super_admin' ? ', every tenant' : ', their own company'}).`);
    if (o.accept) await call(services, 'audit:accept', { id: o.accept, reason: o.reason ?? '' });
    const result = await call(services, 'audit:run', {});
    out.info(`${o.offline ? 'Offline: ' : ''}data as of ${result.asOf ?? 'never (nothing synced yet: run tenantscope sync first)'}.`);
    const text = o.format === 'html' ? auditHtml(result, o.connection) : o.format === 'sarif' ? auditSarif(result) : o.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : auditMarkdown(result, o.connection);
    if (o.out) {
      writeFileSync(o.out, text);
      out.info(`Wrote the ${o.format} audit to ${o.out}.`);
    }
    const open = result.findings.filter((f) => !f.accepted);
    const summary = `${open.length} open findings: ${result.counts.HIGH} HIGH, ${result.counts.MEDIUM} MEDIUM, ${result.counts.LOW} LOW; models migrated ${result.progress.modelsMigrated}/${result.progress.modelsTotal}; ${result.progress.rowsMissing} rows missing company_id.`;
    if (json()) out.result(result, () => summary);
    else if (!o.out) out.text(text);
    out.summary(summary);
    const failing = o.failOn ? atOrAbove(result.findings, o.failOn.toUpperCase() as 'HIGH' | 'MEDIUM' | 'LOW') : [];
    return failing.length ? EXIT.problem : EXIT.ok;
  })));

const migrate = program.command('migrate').description('The company_id migration of the CRM\'s PostgreSQL (super admins): audit, plan, run, verify, rollback, runs');

/** Options every migrate command takes: who signs in, which database, which tables. */
function migrateCommand(name: string, description: string, planning = false): Command {
  const c = migrate.command(name).description(description)
    .option('--connection <name>', 'connection name', 'demo')
    .option('--as <username>', 'sign in as (a super admin; default: the connection\'s first identity)')
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
    .option('--db <url>', 'the CRM\'s PostgreSQL (default: the connection\'s; no password in it: use --db-env)')
    .option('--db-env <VAR>', 'read the CRM\'s PostgreSQL URL from this environment variable');
  if (planning) {
    c.option('--tables <names>', 'only these tables, comma-separated (a child brings its parent)', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
      .option('--derive <table=spec>', 'how a table the catalog cannot derive gets its company: owner:<field> or parent:<resource>.<field> (repeatable)', (v: string, prev: Record<string, string>) => {
        const [t, spec] = v.split('=');
        return { ...prev, [t!]: spec ?? '' };
      }, {} as Record<string, string>)
      .option('--not-null', 'also add CHECK (company_id IS NOT NULL), validated, where no orphans are left', false)
      .option('--batch-size <n>', 'rows a backfill batch to start with (the runner adapts it)', (v) => Number(v));
  }
  return c;
}
type MigrateOpts = { connection: string; as?: string; passwordEnv?: string; db?: string; dbEnv?: string; tables?: string[]; derive?: Record<string, string>; notNull?: boolean; batchSize?: number };
const planInput = (o: MigrateOpts) => ({ tables: o.tables, derive: o.derive && Object.keys(o.derive).length ? o.derive : undefined, notNull: o.notNull ?? false, batchSize: o.batchSize, databaseUrl: dbOf(o) });

function planSummary(plan: Output<'migrate:plan'>['plan'], preflight: Output<'migrate:plan'>['preflight']): string {
  return [
    table([['phase', 'table', 'company from', 'rows', 'orphans', 'about', 'disk'],
      ...plan.tables.map((t) => [String(t.phase), t.table, t.derivation.kind === 'owner' ? `owner ${t.derivation.field}` : `parent ${t.derivation.parentTable}.${t.derivation.field}`, String(t.rows), String(t.orphansPredicted), `${Math.max(1, Math.ceil(t.estimate.seconds))} s`, `+${mib(t.estimate.columnBytes + t.estimate.indexBytes)} (+${mib(t.estimate.transientBytes)} until vacuum)`])]),
    `${plan.tables.length} tables, ${plan.steps.length} steps, ${plan.estimate.rows} rows; about ${Math.ceil(plan.estimate.seconds)} s of backfill and ${mib(plan.estimate.bytes)} more on disk.`,
    ...plan.skipped.filter((x) => !x.reason.endsWith('filled')).map((x) => `left as is: ${x.table}: ${x.reason}`),
    ...preflight.map((p) => `${p.level.toUpperCase()} ${p.message}`),
  ].join('\n');
}

migrateCommand('audit', 'Schema audit, read-only: tables without company_id, the seed\'s verify counts, missing indexes and foreign keys, children of another company, unique keys without company_id, Citus readiness')
  .action((o: MigrateOpts) => run(json(), async (out) => usingServices(out, async (services) => {
    await signInOperator(services, o, 'super_admin');
    const { tables } = await call(services, 'migrate:audit', { databaseUrl: dbOf(o) });
    const problems = tables.filter((t) => !t.hasCompanyId || t.missing > 0 || !t.indexOnCompanyId || !t.foreignKeyOnCompanyId || (t.childMismatches ?? 0) > 0 || t.uniqueWithoutCompany.length);
    out.result({ tables }, () => [
      table([['table', 'company_id', 'total', 'with', 'missing', 'index', 'fk', 'child ≠ parent', 'unique without company_id', 'Citus'],
        ...tables.map((t) => [t.table, t.hasCompanyId ? 'yes' : 'NO', String(t.total), String(t.withCompanyId), String(t.missing), t.hasCompanyId ? (t.indexOnCompanyId ? 'yes' : 'NO') : '–', t.hasCompanyId ? (t.foreignKeyOnCompanyId ? 'yes' : 'NO') : '–', t.childMismatches === null ? '–' : String(t.childMismatches), t.uniqueWithoutCompany.join(', ') || '–', t.citus.ready ? 'ready' : `${t.citus.blockers.length} blockers`])]),
      `${tables.filter((t) => t.hasCompanyId).length} of ${tables.length} tables have company_id; ${tables.reduce((a, t) => a + t.missing, 0)} rows miss it.`,
    ].join('\n'));
    return problems.length ? EXIT.problem : EXIT.ok;
  })));

migrateCommand('plan', 'The migration plan, read-only: derivation per table, parents first, lock-safe steps as SQL, estimates, preflight', true)
  .option('--out <file>', 'write the plan as SQL to this file')
  .action((o: MigrateOpts & { out?: string }) => run(json(), async (out) => usingServices(out, async (services) => {
    await signInOperator(services, o, 'super_admin');
    const r = await call(services, 'migrate:plan', planInput(o));
    if (o.out) {
      writeFileSync(o.out, r.sql);
      out.info(`Wrote the plan (${r.plan.steps.length} steps) as SQL to ${o.out}.`);
    }
    out.result(r, () => (o.out ? planSummary(r.plan, r.preflight) : `${r.sql}\n${planSummary(r.plan, r.preflight)}`));
    return r.preflight.some((p) => p.level === 'fail') ? EXIT.problem : EXIT.ok;
  })));

migrateCommand('run', 'Run the plan (or resume the unfinished run) with live progress; Ctrl+C pauses after the batch in hand', true)
  .option('--dry-run', 'plan and preflight only: change nothing', false)
  .option('--delay <ms>', 'pause between backfill batches', (v) => Number(v))
  .option('--resume', 'only resume the unfinished run (fail when there is none)', false)
  .option('--yes', 'do not ask on a terminal before changing the CRM\'s database', false)
  .action((o: MigrateOpts & { dryRun: boolean; delay?: number; resume: boolean; yes: boolean }) => run(json(), async (out) => usingServices(out, async (services) => {
    await signInOperator(services, o, 'super_admin');
    if (!o.dryRun) {
      const asked = await confirm(async () => {
        const { unfinished } = await call(services, 'migrate:status', { databaseUrl: dbOf(o) });
        return unfinished ? `Resume migration run ${unfinished} on the CRM's database?` : 'Add company_id to the CRM\'s database now (it keeps serving; Ctrl+C pauses, rollback undoes)?';
      }, { yes: o.yes });
      if (asked === 'no') {
        out.info('Nothing changed.');
        return EXIT.ok;
      }
    }
    const bars = progressRenderer(process.stderr, 5000, 'rows');
    const offProgress = services.bus.on('onMigration', (p) => {
      const running = p.tables.filter((t) => t.status === 'running');
      bars.update({ task: `migrate:${p.runId}`, label: `run ${p.runId} · step ${p.overall.stepsDone}/${p.overall.steps}`, done: p.overall.done, total: p.overall.total, message: p.message, rate: Math.round(p.overall.rate), etaSeconds: p.overall.etaSeconds === null ? null : Math.round(p.overall.etaSeconds),
        parts: running.map((t) => ({ label: `${t.table} ${t.step ?? ''}`, done: t.done, total: t.total, rate: Math.round(t.rate), etaSeconds: t.etaSeconds === null ? null : Math.round(t.etaSeconds) })) });
    });
    const offLog = services.bus.on('onMigrationLog', (l) => { if (process.env.TENANTSCOPE_VERBOSE || !process.stderr.isTTY) out.info(l.message); });
    const pause = () => { out.info('Pausing after the batch in hand…'); void call(services, 'migrate:control', { pause: true }); };
    process.once('SIGINT', pause);
    let r;
    try {
      r = await call(services, 'migrate:run', { ...planInput(o), dryRun: o.dryRun, delayMs: o.delay, resume: o.resume });
    } finally {
      process.off('SIGINT', pause);
      offProgress();
      offLog();
      bars.stop();
    }
    const v = r.verification;
    out.result(r, () => [
      r.status === 'dry-run' ? (r.plan ? `Dry run: nothing changed.\n${planSummary(r.plan, r.preflight)}` : `Dry run: ${r.preflight.map((p) => p.message).join(' ')}`) : '',
      r.status === 'paused' ? `Run ${r.runId} paused: everything done so far stays. Run \`tenantscope migrate run\` to resume.` : '',
      v ? verificationText(v) : '',
    ].filter(Boolean).join('\n'));
    out.summary(r.status === 'dry-run' ? 'Dry run: nothing changed.' : r.status === 'paused' ? `Run ${r.runId} paused.` : `Run ${r.runId} ${r.status}${v ? (v.ok ? ', verified' : ', NOT verified') : ''}.`);
    if (r.status === 'dry-run') return r.preflight.some((p) => p.level === 'fail') ? EXIT.problem : EXIT.ok;
    return r.status === 'done' && v?.ok ? EXIT.ok : r.status === 'paused' ? EXIT.ok : EXIT.problem;
  })));

function verificationText(v: Output<'migrate:verify'>): string {
  return [
    table([['table', 'rows', 'missing', 'orphans', 'index', 'foreign key', 'not null', OTHER_COLUMNS, 'problems'],
      ...v.tables.map((t) => [t.table, String(t.rows), String(t.missing), String(t.orphans.count), t.index, t.foreignKey, t.notNull, otherColumnsText(t.fingerprint, t.rows), t.problems.join('; ') || '–'])]),
    ...v.tables.filter((t) => t.orphans.count).map((t) => `orphans in ${t.table} (no owner or parent company): ${t.orphans.ids.join(', ')}${t.orphans.count > t.orphans.ids.length ? ` … and ${t.orphans.count - t.orphans.ids.length} more` : ''}`),
    v.ok ? `Run ${v.runId} verified: every row has company_id but the orphans listed; indexes, foreign keys and fingerprints as they should be.`
      : `Run ${v.runId} does NOT verify${v.fingerprintsEqual ? '' : ' (fingerprints differ: something other than the migration changed these tables, such as the application writing during the run)'}.`,
  ].join('\n');
}

migrateCommand('verify', 'Verify a run (the newest by default): company_id filled but for the orphans (listed by id), indexes, foreign keys, fingerprints')
  .option('--run <id>', 'the run to verify', (v) => Number(v))
  .action((o: MigrateOpts & { run?: number }) => run(json(), async (out) => usingServices(out, async (services) => {
    await signInOperator(services, o, 'super_admin');
    const v = await call(services, 'migrate:verify', { runId: o.run, databaseUrl: dbOf(o) });
    out.result(v, () => verificationText(v));
    return v.ok ? EXIT.ok : EXIT.problem;
  })));

migrateCommand('rollback', 'Remove exactly what a run added (the newest by default), then compare schema and fingerprints with before')
  .option('--run <id>', 'the run to roll back', (v) => Number(v))
  .option('--yes', 'confirm: the company_id columns the run added are dropped (asked on a terminal; needed elsewhere)', false)
  .action((o: MigrateOpts & { run?: number; yes: boolean }) => run(json(), async (out) => usingServices(out, async (services) => {
    const refusal = 'Rollback drops the company_id columns the run added (running `migrate run` again adds them back). Say --yes to go on.';
    if (!o.yes && !process.stdin.isTTY) throw new CliFailure({ code: 'invalid-input', message: refusal });
    await signInOperator(services, o, 'super_admin');
    const asked = await confirm(async () => {
      const runId = o.run ?? (await call(services, 'migrate:status', { databaseUrl: dbOf(o) })).runs[0]?.id;
      return `Roll back run ${runId ?? '(none recorded)'}? The company_id columns it added are dropped.`;
    }, { yes: o.yes });
    if (asked === 'no') {
      out.info('Nothing rolled back.');
      return EXIT.ok;
    }
    const r = await call(services, 'migrate:rollback', { runId: o.run, confirm: true, databaseUrl: dbOf(o) });
    out.result(r, () => [
      table([['table', 'schema as before', 'data as before'], ...r.tables.map((t) => [t.table, t.schemaEqual ? 'yes' : 'NO', t.fingerprintEqual ? 'yes' : 'NO'])]),
      r.ok ? `Run ${r.runId} rolled back: every table's schema and data are as before the run.` : `Run ${r.runId} rolled back, but some tables differ from before (the application wrote to them meanwhile).`,
    ].join('\n'));
    out.summary(r.ok ? `Run ${r.runId} rolled back; schema and data as before.` : `Run ${r.runId} rolled back; some tables differ from before.`);
    return r.ok ? EXIT.ok : EXIT.problem;
  })));

migrateCommand('runs', 'Every migration run recorded in the CRM\'s database: who, when, what, how it ended; and the newest run\'s log')
  .action((o: MigrateOpts) => run(json(), async (out) => usingServices(out, async (services) => {
    await signInOperator(services, o, 'super_admin');
    const r = await call(services, 'migrate:status', { databaseUrl: dbOf(o) });
    out.result({ runs: r.runs, unfinished: r.unfinished }, () => [
      table([['run', 'status', 'by', 'started', 'finished', 'tables', 'rows', 'message'], ...r.runs.map((x) => [String(x.id), x.status, x.startedBy, x.startedAt, x.finishedAt ?? '–', String(x.tables.length), String(x.rows), x.message ?? ''])]),
      r.unfinished ? `Run ${r.unfinished} is unfinished: \`tenantscope migrate run\` resumes it.` : '',
    ].filter(Boolean).join('\n'));
    return EXIT.ok;
  })));

const cacheCmd = program.command('cache').description('A tenant\'s cache as one file sealed with a passphrase, for support staff on another machine');
cacheCmd
  .command('export')
  .description('Seal one tenant\'s cache in a file (AES-256-GCM, key by scrypt; no secrets inside)')
  .requiredOption('--tenant <name-or-id>', 'the tenant (a company admin: their own)')
  .requiredOption('--passphrase-env <VAR>', 'read the passphrase (8+ characters) from this environment variable')
  .option('--out <file>', 'where to write it (default: tenantscope-<tenant>-<date>.tscopy here)')
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', 'sign in as (default: the connection\'s first identity)')
  .option('--password-env <VAR>', 'read the password from this environment variable')
  .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
  .option('--offline', 'open the cache offline instead of signing in to the CRM (someone who signed in here before)', false)
  .action((o: { tenant: string; passphraseEnv: string; out?: string; connection: string; as?: string; passwordEnv?: string; offline: boolean }) => run(json(), async (out) => usingServices(out, async (services) => {
    const passphrase = process.env[o.passphraseEnv];
    if (!passphrase) throw new CliFailure({ code: 'invalid-input', message: `${o.passphraseEnv} is not set: it holds the passphrase.` });
    await signInOperator(services, o);
    const r = await call(services, 'cache:export', { tenant: o.tenant, passphrase });
    const file = o.out ?? r.fileName;
    writeFileSync(file, Buffer.from(r.data, 'base64'));
    out.result({ file, rows: r.rows, bytes: r.bytes }, () => `Sealed ${r.rows} rows of ${o.tenant} in ${file} (${r.bytes} bytes). Give the passphrase separately.`);
    return EXIT.ok;
  })));
cacheCmd
  .command('import <file>')
  .description('Open a sealed tenant file as an offline connection (sign in to it later as "support" with the passphrase)')
  .requiredOption('--name <connection>', 'the connection it becomes')
  .requiredOption('--passphrase-env <VAR>', 'read the passphrase from this environment variable')
  .action((file: string, o: { name: string; passphraseEnv: string }) => run(json(), async (out) => usingServices(out, async (services) => {
    const passphrase = process.env[o.passphraseEnv];
    if (!passphrase) throw new CliFailure({ code: 'invalid-input', message: `${o.passphraseEnv} is not set: it holds the passphrase.` });
    let data: string;
    try { data = readFileSync(file).toString('base64'); } catch (e) { throw new CliFailure({ code: 'invalid-input', message: `Cannot read ${file}: ${(e as Error).message}` }); }
    const r = await call(services, 'cache:import', { name: o.name, data, passphrase });
    out.result({ connection: r.connection, tenant: r.tenant, rows: r.rows, exportedBy: r.exportedBy, exportedAt: r.exportedAt }, () => `Opened ${r.tenant.name}'s copy (${r.rows} rows, exported by ${r.exportedBy} on ${r.exportedAt}) as connection "${r.connection}". Audit it with \`tenantscope audit --connection ${r.connection} --offline\`.`);
    return EXIT.ok;
  })));

/** "12 × 503, 3 × timed out": what the sync retried, by reason. */
function retrySummary(lines: string[]): string {
  const by = new Map<string, number>();
  for (const l of lines) {
    const why = /\((.*)\), try \d+/.exec(l)?.[1] ?? 'other';
    by.set(why, (by.get(why) ?? 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n} × ${why}`).join(', ');
}

program
  .command('host')
  .description('Serve the console over HTTP on 127.0.0.1 (what npm start falls back to without Electron)')
  .option('--port <n>', 'port (default: any free port)', (v) => Number(v), 0)
  .option('--no-demo', 'do not start the demo CRM until it is used')
  .action((o: { port: number; demo: boolean }) => {
    const out = createOut(json());
    const services = createServices({ home: resolveHome(), mode: 'browser', startDemo: o.demo, log: createLogger('tenantscope') });
    void startHttpHost(services, { port: o.port }).then((host) => {
      process.stdout.write(`TENANTSCOPE_URL=${host.openUrl}\n`);
      out.info(`TenantScope is running at ${host.openUrl}\nOpen that address in your browser. Stop with Ctrl+C.`);
      const stop = async () => {
        await host.close().catch(() => {});
        await services.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    }, (e: Error) => {
      out.info(`error: the host could not start: ${e.message}`);
      process.exit(EXIT.failed);
    });
  });

program.parseAsync().catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(EXIT.failed);
});
