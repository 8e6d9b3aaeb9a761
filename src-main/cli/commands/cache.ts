// tenantscope cache export|import: a tenant's cache sealed in one file for support staff
import { readFileSync, writeFileSync } from 'node:fs';
import { call, CliFailure, json, program, run, signInOperator, usingServices } from '../kit.ts';
import { EXIT } from '../output.ts';

const cacheCmd = program.command('cache').description("A tenant's cache as one file sealed with a passphrase, for support staff on another machine");
cacheCmd
  .command('export')
  .description("Seal one tenant's cache in a file (AES-256-GCM, key by scrypt; no secrets inside)")
  .requiredOption('--tenant <name-or-id>', 'the tenant (a company admin: their own)')
  .requiredOption('--passphrase-env <VAR>', 'read the passphrase (8+ characters) from this environment variable')
  .option('--out <file>', 'where to write it (default: tenantscope-<tenant>-<date>.tscopy here)')
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', "sign in as (default: the connection's first identity)")
  .option('--password-env <VAR>', 'read the password from this environment variable')
  .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
  .option('--offline', 'open the cache offline instead of signing in to the CRM (someone who signed in here before)', false)
  .action((o: { tenant: string; passphraseEnv: string; out?: string; connection: string; as?: string; passwordEnv?: string; offline: boolean }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        const passphrase = process.env[o.passphraseEnv];
        if (!passphrase) throw new CliFailure({ code: 'invalid-input', message: `${o.passphraseEnv} is not set: it holds the passphrase.` });
        await signInOperator(services, o);
        const r = await call(services, 'cache:export', { tenant: o.tenant, passphrase });
        const file = o.out ?? r.fileName;
        writeFileSync(file, Buffer.from(r.data, 'base64'));
        out.result(
          { file, rows: r.rows, bytes: r.bytes },
          () => `Sealed ${r.rows} rows of ${o.tenant} in ${file} (${r.bytes} bytes). Give the passphrase separately.`,
        );
        return EXIT.ok;
      }),
    ),
  );
cacheCmd
  .command('import <file>')
  .description('Open a sealed tenant file as an offline connection (sign in to it later as "support" with the passphrase)')
  .requiredOption('--name <connection>', 'the connection it becomes')
  .requiredOption('--passphrase-env <VAR>', 'read the passphrase from this environment variable')
  .action((file: string, o: { name: string; passphraseEnv: string }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        const passphrase = process.env[o.passphraseEnv];
        if (!passphrase) throw new CliFailure({ code: 'invalid-input', message: `${o.passphraseEnv} is not set: it holds the passphrase.` });
        let data: string;
        try {
          data = readFileSync(file).toString('base64');
        } catch (e) {
          throw new CliFailure({ code: 'invalid-input', message: `Cannot read ${file}: ${(e as Error).message}` });
        }
        const r = await call(services, 'cache:import', { name: o.name, data, passphrase });
        out.result(
          { connection: r.connection, tenant: r.tenant, rows: r.rows, exportedBy: r.exportedBy, exportedAt: r.exportedAt },
          () =>
            `Opened ${r.tenant.name}'s copy (${r.rows} rows, exported by ${r.exportedBy} on ${r.exportedAt}) as connection "${r.connection}". Audit it with \`tenantscope audit --connection ${r.connection} --offline\`.`,
        );
        return EXIT.ok;
      }),
    ),
  );
