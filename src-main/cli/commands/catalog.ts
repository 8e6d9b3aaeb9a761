// tenantscope catalog discover|check|attach: the tenancy catalog of a CRM
import { readFileSync, writeFileSync } from 'node:fs';
import { call, CliFailure, dbOf, json, program, run, usingServices, withServices } from '../kit.ts';
import { EXIT, table } from '../output.ts';

const catalog = program.command('catalog').description('The tenancy catalog: discover it from a CRM, check a saved one for drift');

catalog
  .command('discover')
  .description("Discover the tenancy catalog from a CRM's OpenAPI document, and its database when given")
  .requiredOption('--url <url>', "the CRM's base URL, or the address of its OpenAPI document")
  .option('--db <url>', "the CRM's PostgreSQL URL (no password in it: use --db-env): tables, foreign keys and company_id columns")
  .option('--db-env <VAR>', "read the CRM's PostgreSQL URL from this environment variable")
  .option('--items-field <name>', 'where list answers keep their records', 'items')
  .option('--out <file>', 'write the catalog (JSON) to this file')
  .action((o: { url: string; db?: string; dbEnv?: string; itemsField: string; out?: string }) =>
    run(json(), async (out) => {
      const databaseUrl = dbOf(o);
      out.info(`Reading ${o.url}${databaseUrl ? ' and its database' : ''}…`);
      const found = await usingServices(out, (services) => call(services, 'catalog:discover', { url: o.url, databaseUrl, itemsField: o.itemsField }));
      if (o.out) writeFileSync(o.out, JSON.stringify(found.catalog, null, 2) + '\n');
      const uncertain = found.catalog.resources.reduce((n, r) => n + r.uncertain.length, 0);
      out.result(
        { catalog: found.catalog, tenantsPath: found.tenantsPath, usedDatabase: found.usedDatabase },
        () =>
          table([
            ['RESOURCE', 'TABLE', 'CLASS', 'COMPANY FROM', 'PRIORITY', 'TO CONFIRM'],
            ...found.catalog.resources.map((r) => [
              r.name,
              r.table ?? '?',
              r.class,
              r.derivation.kind === 'none'
                ? '-'
                : r.derivation.kind === 'parent'
                  ? `${r.derivation.field} -> ${r.derivation.resource}`
                  : `${r.derivation.kind}: ${r.derivation.field}`,
              r.priority ?? '-',
              String(r.uncertain.length),
            ]),
          ]) + `\n${found.catalog.resources.length} resources; ${uncertain} points to confirm${o.out ? `; written to ${o.out}` : ''}.`,
      );
      return EXIT.ok;
    }),
  );

catalog
  .command('check')
  .description("Compare a connection's saved catalog with what its CRM says now (exit 1 on drift)")
  .option('--connection <name>', 'connection name', 'demo')
  .option('--db <url>', "the CRM's PostgreSQL URL (no password in it: use --db-env), to compare tables and company_id columns too")
  .option('--db-env <VAR>', "read the CRM's PostgreSQL URL from this environment variable")
  .action((o: { connection: string; db?: string }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        const { drift } = await call(services, 'catalog:check', { connection: o.connection, databaseUrl: dbOf(o) });
        out.result({ connection: o.connection, drift }, () =>
          drift.length
            ? drift.map((d) => `${d.change.toUpperCase().padEnd(8)} ${d.message}`).join('\n')
            : `No drift: the catalog of "${o.connection}" matches its CRM.`,
        );
        return drift.length ? EXIT.problem : EXIT.ok;
      }),
    ),
  );

catalog
  .command('attach')
  .description('Put a catalog file (from `catalog discover --out`, edited and confirmed) into a saved connection')
  .argument('<connection>', 'connection name')
  .argument('<file>', 'the catalog (JSON)')
  .action((connection: string, file: string) =>
    run(json(), async (out) => {
      const services = await withServices(out);
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
        [
          `Connection "${connection}" now has the catalog of ${file}: ${saved.resources.length} resources.`,
          open.length ? `${open.length} still to confirm: ${open.map((r) => r.name).join(', ')}.` : 'Nothing left to confirm.',
        ].join('\n'),
      );
      return EXIT.ok;
    }),
  );
