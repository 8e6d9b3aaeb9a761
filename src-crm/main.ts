#!/usr/bin/env node
/**
 * The reference CRM: `npm run crm -- --seed demo [--port N] [--profile legacy|fixed|FILE]`.
 * Prints CRM_URL=... and DATABASE_URL=... on lines of their own, then serves until stopped.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createDb, createPool, migrate, startEmbeddedPostgres, type EmbeddedServer } from './db.ts';
import { loadProfile } from './enforcement.ts';
import { Tokens } from './auth.ts';
import { buildCrmServer } from './server.ts';
import { ensureAppRole, rlsMode } from './rlsMode.ts';
import { seedDemo, seedScale } from './seed.ts';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

const program = new Command()
  .name('crm')
  .description('The reference CRM of the TenantScope seed audit, on real PostgreSQL')
  .option('--seed <kind>', 'demo | scale | none', 'none')
  .option('--tenants <n>', 'companies for --seed scale', int('--tenants'), 10)
  .option('--rows <n>', 'rows in all for --seed scale', int('--rows'), 100000)
  .option('--port <n>', 'port to listen on (default: any free port)', int('--port'), 0)
  .option('--profile <name>', 'enforcement profile: legacy, fixed or a JSON file', 'legacy')
  .option('--data-dir <dir>', 'folder for the embedded PostgreSQL (ignored with DATABASE_URL)', process.env.CRM_DATA_DIR ?? join(homedir(), '.tenantscope-crm'))
  .option('--fresh', 'start the embedded PostgreSQL from an empty data folder', false)
  .option('--token-ttl <seconds>', 'lifetime of access tokens', int('--token-ttl'), 3600)
  .option('--frozen-writes', 'write as old code does: only the columns each table had at start (a company_id added later is left to the database)', false)
  .option('--exit-after-seed', 'seed, print the URLs and exit', false)
  .option(
    '--rls-role <role>',
    "row-level security mode: each request's queries in one transaction as this role (made if missing) with app.company_id set to the caller's company; super admins as the connection's role",
    process.env.CRM_RLS_ROLE,
  )
  .showHelpAfterError();

async function main() {
  program.parse();
  const o = program.opts<{
    seed: string;
    tenants: number;
    rows: number;
    port: number;
    profile: string;
    dataDir: string;
    fresh: boolean;
    tokenTtl: number;
    exitAfterSeed: boolean;
    frozenWrites: boolean;
    rlsRole?: string;
  }>();
  const log = (line: string) => process.stderr.write(`[crm] ${line}\n`);
  if (!['demo', 'scale', 'none'].includes(o.seed)) throw new Error(`--seed must be demo, scale or none, not "${o.seed}"`);
  const profile = loadProfile(o.profile);

  let embedded: EmbeddedServer | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(o.dataDir, { fresh: o.fresh, log });
    databaseUrl = embedded.url;
  }
  const pool = createPool(databaseUrl);
  const db = createDb(pool);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await server?.close().catch(() => {});
    await db.destroy().catch(() => {});
    await embedded?.stop().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  let server: Awaited<ReturnType<typeof buildCrmServer>> | undefined;
  try {
    for (const name of await migrate(db)) log(`migrated ${name}`);
    if (o.seed === 'demo') {
      const s = await seedDemo(db);
      log(s.created ? `seeded demo: ${s.companies} companies, ${s.users} users` : 'demo data already present');
    } else if (o.seed === 'scale') {
      const t0 = Date.now();
      const s = await seedScale(db, pool, { tenants: o.tenants, rows: o.rows, onProgress: (d, t) => log(`seeding ${d}/${t}`) });
      log(`seeded ${o.rows} rows in ${s.companies} companies in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (o.exitAfterSeed) {
      process.stdout.write(`DATABASE_URL=${databaseUrl}\n`);
      return stop(0);
    }
    const tokens = new Tokens(jwtSecret(o.dataDir), o.tokenTtl);
    if (o.rlsRole) await ensureAppRole(pool, o.rlsRole);
    const rls = o.rlsRole ? rlsMode(pool, tokens, o.rlsRole) : undefined;
    server = await buildCrmServer({ db, profile, tokens, frozenWrites: o.frozenWrites, rls });
    const address = await server.listen({ host: '127.0.0.1', port: o.port });
    process.stdout.write(`CRM_URL=${address}\nDATABASE_URL=${databaseUrl}\nPROFILE=${profile.name}\n`);
  } catch (e) {
    log(`error: ${(e as Error).message}`);
    await stop(2);
  }
}

/** The signing key lives beside the data so that tokens survive a restart of the same CRM. */
function jwtSecret(dataDir: string): string {
  if (process.env.CRM_JWT_SECRET) return process.env.CRM_JWT_SECRET;
  const file = join(dataDir, 'jwt-secret');
  try {
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('hex');
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  } catch {
    return randomBytes(32).toString('hex');
  }
}

main().catch((e: Error) => {
  process.stderr.write(`[crm] error: ${e.message}\n`);
  process.exit(2);
});
