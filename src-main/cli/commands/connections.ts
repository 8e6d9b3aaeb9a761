// tenantscope connections list|add|set|test|remove
import { safetyOf } from '../../../src-shared/safety.ts';
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import { call, CliFailure, json, program, run, usingServices, withServices } from '../kit.ts';
import { EXIT, table } from '../output.ts';

const connections = program.command('connections').description('CRM connections: list, add, test, remove');

/** Safe Mode levels a saved connection may have (demo is the built-in demo's alone). */
function safeLevel(v: string): string {
  if (v !== 'staging' && v !== 'production') throw new CliFailure({ code: 'invalid-input', message: `--level ${v}: say staging or production.` });
  return v;
}

connections
  .command('list')
  .description('List connections (the demo is always there)')
  .action(() =>
    run(json(), async (out) => {
      const services = await withServices(out);
      const { connections: list } = await call(services, 'connections:list', {});
      out.result({ connections: list }, () =>
        table([
          ['NAME', 'LEVEL', 'URL', 'SIGN-IN', 'IDENTITIES', 'DATABASE'],
          ...list.map((c) => [
            c.name,
            `${c.safety.level}${c.safety.chosen ? '' : ' (default)'}`,
            c.embedded ? '(embedded, started on demand)' : c.baseUrl,
            c.authKind,
            String(c.identities.length),
            c.hasDatabaseUrl ? 'yes' : 'no',
          ]),
        ]),
      );
      return EXIT.ok;
    }),
  );

connections
  .command('add')
  .description("Add a connection: discovered from the CRM's OpenAPI document (--openapi), from a profile file, or from the demo's shape with another address")
  .argument('[name]', 'connection name (with --openapi or --base-url)')
  .option('--openapi <url>', "the CRM's address or its OpenAPI document's: sign-in, whoami, paging and the tenancy catalog are discovered from it")
  .option('--db-env <VAR>', "an environment variable holding the CRM's database URL (tables and foreign keys for discovery; the migration)")
  .option('--profile <file>', 'a connection profile (JSON, see docs/connection-profile.md)')
  .option('--base-url <url>', 'the CRM API address, for a CRM shaped like the reference CRM')
  .option(
    '--identity <label=username[:PASSWORD_ENV]>',
    'an identity for isolation tests (repeatable)',
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  )
  .option('--replace', 'replace a connection of the same name', false)
  .option('--level <level>', `Safe Mode: staging or production (default: production unless the CRM is on this machine)`, safeLevel)
  .option('--color <#rrggbb>', "the connection's colour in the window's frame and badge (default: its level's)")
  .addHelpText(
    'after',
    '\nA FastAPI CRM in one command:\n  ACME_PW=... DB_URL=postgres://... tenantscope connections add mycrm --openapi https://crm.example.com \\\n    --db-env DB_URL --identity "Acme admin=admin@acme.example:ACME_PW" --identity ...',
  )
  .action(
    (
      name: string | undefined,
      o: { openapi?: string; dbEnv?: string; profile?: string; baseUrl?: string; identity: string[]; replace: boolean; level?: string; color?: string },
    ) =>
      run(json(), async (out) => {
        const safety = o.level || o.color ? { safety: { level: o.level ?? 'production', ...(o.color ? { color: o.color } : {}) } } : {};
        const services = await withServices(out);
        const identities = o.identity.map((spec) => {
          const m = spec.match(/^([^=]+)=([^:]+)(?::([A-Z_][A-Z0-9_]*))?$/);
          if (!m) throw new CliFailure({ code: 'invalid-input', message: `--identity "${spec}": expected LABEL=USERNAME or LABEL=USERNAME:PASSWORD_ENV` });
          return { label: m[1]!, username: m[2]!, ...(m[3] ? { passwordEnv: m[3] } : {}) };
        });
        if (o.dbEnv && !/^[A-Z_][A-Z0-9_]*$/.test(o.dbEnv))
          throw new CliFailure({
            code: 'invalid-input',
            message: `--db-env "${o.dbEnv}": expected an environment variable name (the URL itself never goes on a command line)`,
          });
        if (o.openapi) {
          if (!name) throw new CliFailure({ code: 'invalid-input', message: 'Give the connection a name: tenantscope connections add NAME --openapi URL' });
          const databaseUrl = o.dbEnv ? process.env[o.dbEnv] : undefined;
          if (o.dbEnv && !databaseUrl) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.dbEnv} is not set.` });
          out.info(`Reading ${o.openapi}${databaseUrl ? ' and the database' : ''}…`);
          const found = await call(services, 'connections:discover', {
            name,
            url: o.openapi,
            identities,
            ...(databaseUrl ? { databaseUrl } : {}),
            ...(o.dbEnv ? { databaseUrlEnv: o.dbEnv } : {}),
          });
          const { connection } = await call(services, 'connections:save', { profile: { ...found.profile, ...safety }, replace: o.replace });
          // sign in as the first identity whose password is at hand
          const first = identities.find((i) => i.passwordEnv && process.env[i.passwordEnv]);
          const test = await call(services, 'connections:test', {
            name,
            ...(first ? { username: first.username, password: process.env[first.passwordEnv!] } : {}),
          });
          out.result({ connection, notes: found.notes, toConfirm: found.toConfirm, usedDatabase: found.usedDatabase, test }, () =>
            [
              `Saved connection "${connection.name}" (${connection.baseUrl}) with ${found.profile.catalog.resources.length} resources.`,
              ...found.notes.map((n) => `  ${n}`),
              table(test.checks.map((c) => [c.status.toUpperCase(), c.name, c.message])),
              found.toConfirm.length
                ? `To confirm (tenantscope catalog discover --out FILE, edit, then add it with --profile; or Connections → Catalog):`
                : 'Nothing left to confirm.',
              ...found.toConfirm.map((c) => `  ${c.resource}: ${c.what.join('; ')}`),
            ].join('\n'),
          );
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
        Object.assign(profile, safety);
        const { connection } = await call(services, 'connections:save', { profile, replace: o.replace });
        out.result({ connection }, () => `Saved connection "${connection.name}" (${connection.baseUrl}), ${connection.safety.level}.`);
        return EXIT.ok;
      }),
  );

connections
  .command('set')
  .description('Change one setting of a saved connection')
  .argument('<name>', 'connection name')
  .option('--db-env <VAR>', "the environment variable holding the CRM's database URL")
  .option('--no-db-env', "forget the database URL's environment variable")
  .option('--level <level>', 'Safe Mode: staging or production', safeLevel)
  .option('--color <#rrggbb>', "the connection's colour in the window's frame and badge")
  .action((name: string, o: { dbEnv?: string | false; level?: string; color?: string }) =>
    run(json(), async (out) => {
      const services = await withServices(out);
      if (o.dbEnv === undefined && !o.level && !o.color)
        throw new CliFailure({ code: 'invalid-input', message: 'Nothing to change: give --db-env VAR (or --no-db-env), --level or --color.' });
      if (o.dbEnv && !/^[A-Z_][A-Z0-9_]*$/.test(o.dbEnv))
        throw new CliFailure({
          code: 'invalid-input',
          message: `--db-env "${o.dbEnv}": expected an environment variable name (the URL itself never goes on a command line)`,
        });
      const { profile } = await call(services, 'connections:get', { name });
      const { databaseUrlEnv: oldEnv, ...rest } = profile;
      const was = safetyOf(profile);
      const color = o.color ?? profile.safety?.color;
      const next = {
        ...rest,
        ...(o.dbEnv === undefined ? (oldEnv ? { databaseUrlEnv: oldEnv } : {}) : o.dbEnv ? { databaseUrlEnv: o.dbEnv } : {}),
        ...(o.level || o.color ? { safety: { level: o.level ?? was.level, ...(color ? { color } : {}) } } : {}),
      };
      const { connection } = await call(services, 'connections:save', { profile: next, replace: true });
      out.result({ connection }, () =>
        [
          o.dbEnv === undefined
            ? ''
            : `Connection "${name}": ${o.dbEnv ? `the database URL is read from $${o.dbEnv}${process.env[o.dbEnv] ? '' : ' (not set in this shell)'}` : 'no database URL variable'}.`,
          o.level || o.color ? `Connection "${name}": ${was.level} → ${connection.safety.level}, colour ${connection.safety.color}.` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
      return EXIT.ok;
    }),
  );

connections
  .command('test')
  .description('Reach the CRM, find its OpenAPI document, sign in and read the role')
  .argument('<name>', 'connection name')
  .option('--username <name>', 'sign in as this user (default: the first identity)')
  .addOption(new Option('--password-env <VAR>', 'read the password from this environment variable'))
  .addOption(new Option('--token-env <VAR>', 'read a pasted token from this environment variable'))
  .action((name: string, o: { username?: string; passwordEnv?: string; tokenEnv?: string }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        const password = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
        const token = o.tokenEnv ? process.env[o.tokenEnv] : undefined;
        if (o.passwordEnv && !password) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.passwordEnv} is not set.` });
        if (o.tokenEnv && !token) throw new CliFailure({ code: 'invalid-input', message: `The environment variable ${o.tokenEnv} is not set.` });
        const result = await call(services, 'connections:test', { name, username: o.username, password, token });
        out.result(
          result,
          () =>
            table(result.checks.map((c) => [c.status.toUpperCase(), c.name, c.message])) + `\n${result.ok ? 'Connection works.' : 'Connection has problems.'}`,
        );
        return result.ok ? EXIT.ok : EXIT.problem;
      }),
    ),
  );

connections
  .command('remove')
  .description('Remove a connection')
  .argument('<name>', 'connection name')
  .action((name: string) =>
    run(json(), async (out) => {
      const services = await withServices(out);
      const r = await call(services, 'connections:remove', { name });
      out.result(r, () => `Removed connection "${name}".`);
      return EXIT.ok;
    }),
  );
