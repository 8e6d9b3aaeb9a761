/**
 * bench/migrate: the company_id migration of the legacy tables, ours against the seed's script, on
 * the same data in the same run. The reference CRM's scale seed fills an embedded PostgreSQL; two
 * byte-for-byte copies of that database are made (CREATE DATABASE … TEMPLATE). On one, the seed's
 * script runs as psql would run it: per table ALTER TABLE ADD COLUMN … REFERENCES, CREATE INDEX,
 * one UPDATE … FROM. On the other, `tenantscope migrate run`'s runner: nullable column, trigger,
 * batched backfill by key range, CREATE INDEX CONCURRENTLY, foreign key NOT VALID then VALIDATE.
 *
 * During each, a writer plays the application: it inserts rows (as old code, without company_id)
 * and updates existing rows of the big legacy tables, one statement at a time, and records how long
 * each waited.
 *
 * Figures: rows/s of each (all the steps, rows of the legacy tables / seconds), ours also for the
 * backfill alone, and the writer's longest wait during each; the backup ours takes before its
 * first change (size, time, MiB/s, against the plan's estimate) and its restore into a scratch
 * database (time, every table's fingerprint equal to the source's as of the dump); the fill
 * trigger's cost on each table's writes as the plan measures it (with / without, max and median).
 * Targets: ours at least 50% of the seed script's rows/s; the writer's longest wait during ours at
 * most 200 ms; the backup restores equal; the trigger slows no table's writes more than 1.3×.
 * Options: --rows N (1000000 rows in the legacy tables), --tenants N (50).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { benchArg, log } from './_crm.ts';
import { createDb, createPool, migrate, startEmbeddedPostgres } from '../src-crm/db.ts';
import { seedScale } from '../src-crm/seed.ts';
import { ConnectionProfileSchema } from '../src-shared/profile.ts';
import { projectRoot } from '../src-main/core/home.ts';
import { planMigration } from '../src-main/migrate/planner.ts';
import type { MigrationPlan } from '../src-shared/migration.ts';
import { migrationRuns, runMigration } from '../src-main/migrate/runner.ts';
import { verifyBackup } from '../src-main/migrate/backup.ts';
import { measureTriggerCost } from '../src-main/migrate/triggerCost.ts';
import { PgTarget } from '../src-main/pgdb/target.ts';

const legacyRows = benchArg('rows', 1_000_000);
const tenants = benchArg('tenants', 50);
// the scale seed puts about 61% of its rows in the 21 legacy tables (measured: 89,902 of 147,541)
const seedRows = Math.ceil(legacyRows / 0.6);
const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bench-migrate-'));

const server = await startEmbeddedPostgres(join(dir, 'pg'), { fresh: true, log });
const urlOf = (db: string) => {
  const u = new URL(server.url);
  u.pathname = `/${db}`;
  return u.toString();
};
try {
  log(`seeding ${seedRows} rows (about ${legacyRows} in the legacy tables) over ${tenants} tenants…`);
  const pool = createPool(server.url);
  const db = createDb(pool);
  await migrate(db);
  let t0 = performance.now();
  await seedScale(db, pool, { tenants, rows: seedRows });
  await db.destroy();
  log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const catalog = ConnectionProfileSchema.parse({
    ...JSON.parse(readFileSync(join(projectRoot, 'profiles', 'reference-crm.json'), 'utf8')),
    embedded: false,
    name: 'bench',
    baseUrl: 'http://127.0.0.1:1',
  }).catalog;

  const admin = new pg.Client({ connectionString: urlOf('postgres') });
  await admin.connect();
  for (const copy of ['seed_script', 'ours']) {
    await admin.query(`DROP DATABASE IF EXISTS ${copy}`);
    await admin.query(`CREATE DATABASE ${copy} TEMPLATE crm STRATEGY FILE_COPY`);
  }
  await admin.end();

  // the plan is the same for both: its order (parents first) and derivations drive the seed-style script too
  const plan = await planMigration(urlOf('seed_script'), catalog);
  const rows = plan.estimate.rows;
  log(`${plan.tables.length} legacy tables, ${rows} rows`);

  /** The application: inserts as old code and updates of existing rows, one at a time, each timed. */
  async function writer(url: string, plan: MigrationPlan) {
    const c = new pg.Client({ connectionString: url, application_name: 'bench-writer' });
    await c.connect();
    const users = (await c.query(`SELECT id FROM users WHERE company_id IS NOT NULL LIMIT 50`)).rows.map((r) => r.id);
    const big = plan.tables.filter((t) => t.rows > 1000).map((t) => t.table);
    const ids = new Map<string, string[]>();
    for (const t of big)
      ids.set(
        t,
        (await c.query(`SELECT id FROM ${t} TABLESAMPLE SYSTEM (1) LIMIT 500`)).rows.map((r) => r.id),
      );
    const waits: number[] = [];
    let worst = { ms: 0, what: '' };
    let running = true;
    const done = (async () => {
      for (let i = 0; running; i++) {
        const t = big[i % big.length]!;
        const list = ids.get(t)!;
        const ops: [string, string, unknown[]][] = [
          [`update ${t}`, `UPDATE ${t} SET updated_at = clock_timestamp() WHERE id = $1`, [list[i % list.length]]],
          i % 2
            ? ['insert calls', `INSERT INTO calls (user_id, from_number, to_number) VALUES ($1, '+1', '+2')`, [users[i % users.length]]]
            : ['insert emails', `INSERT INTO emails (owner_id, from_address, to_address, subject) VALUES ($1, 'a@x', 'b@y', 's')`, [users[i % users.length]]],
        ];
        for (const [what, text, params] of ops) {
          const s = performance.now();
          await c.query(text, params);
          const ms = performance.now() - s;
          waits.push(ms);
          if (ms > worst.ms) worst = { ms, what };
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await done;
        await c.end();
        const sorted = [...waits].sort((a, b) => a - b);
        return { ops: waits.length, maxMs: Math.round(worst.ms), worst: worst.what, p99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0) };
      },
    };
  }

  // the seed's script, extended to all legacy tables with the same derivations, statement by statement
  log("the seed's script…");
  const seedClient = new pg.Client({ connectionString: urlOf('seed_script') });
  await seedClient.connect();
  await seedClient.query('SELECT count(*) FROM calls'); // warm, as ours is below
  const seedWriter = await writer(urlOf('seed_script'), plan);
  let seedUpdateMs = 0;
  t0 = performance.now();
  for (const t of plan.tables) {
    await seedClient.query(`ALTER TABLE ${t.table} ADD COLUMN IF NOT EXISTS company_id UUID REFERENCES companies(id)`);
    await seedClient.query(`CREATE INDEX IF NOT EXISTS idx_${t.table}_company_id ON ${t.table}(company_id)`);
    const u = performance.now();
    const d = t.derivation;
    await seedClient.query(
      d.kind === 'owner'
        ? `UPDATE ${t.table} x SET company_id = u.company_id FROM users u WHERE x.${d.field} = u.id AND x.company_id IS NULL`
        : `UPDATE ${t.table} x SET company_id = p.company_id FROM ${d.parentTable} p WHERE x.${d.field} = p.id AND x.company_id IS NULL`,
    );
    seedUpdateMs += performance.now() - u;
  }
  const seedMs = performance.now() - t0;
  const seedWaits = await seedWriter.stop();
  await seedClient.end();
  log(
    `seed script: ${(seedMs / 1000).toFixed(1)} s (${Math.round(rows / (seedMs / 1000))} rows/s); writer's longest wait ${seedWaits.maxMs} ms (${seedWaits.worst})`,
  );

  log('ours…');
  const oursUrl = urlOf('ours');
  const oursPlan = await planMigration(oursUrl, catalog);
  // what the fill trigger costs each table's writes, as the plan measures it before switching it on
  const probe = new PgTarget(oursUrl);
  const triggerCost = await measureTriggerCost(probe, oursPlan).finally(() => probe.end());
  const ratios = triggerCost.filter((x) => x.ratio !== null).map((x) => x.ratio!);
  const triggerFigures = {
    max: Math.max(...ratios),
    median: [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!,
    tables: Object.fromEntries(triggerCost.map((x) => [x.table, x.ratio === null ? { note: x.note } : { insert: x.insertRatio, ownerChange: x.updateRatio }])),
  };
  log(
    `fill trigger cost (with / without, on copies of up to 400 rows): max ${triggerFigures.max}× (${triggerCost.find((x) => x.ratio === triggerFigures.max)?.table}), median ${triggerFigures.median}×`,
  );
  const warm = new pg.Client({ connectionString: oursUrl });
  await warm.connect();
  await warm.query('SELECT count(*) FROM calls');
  const oursWriter = await writer(oursUrl, oursPlan);
  t0 = performance.now();
  const result = await runMigration(oursUrl, {
    operator: 'bench',
    plan: oursPlan,
    backup: { dir: join(dir, 'backups') },
    onLog: (l) => {
      if (process.env.BENCH_VERBOSE) log(l);
    },
  });
  const wholeMs = performance.now() - t0;
  const oursWaits = await oursWriter.stop();
  const timing = (
    await warm.query(
      `SELECT extract(epoch FROM max(finished_at) - min(started_at)) * 1000 AS steps_ms,
      sum(extract(epoch FROM finished_at - started_at) * 1000) FILTER (WHERE kind = 'backfill') AS backfill_ms
    FROM tenantscope_migration.steps WHERE run_id = $1`,
      [result.runId],
    )
  ).rows[0];
  await warm.end();
  const stepsMs = Number(timing.steps_ms);
  const backfillMs = Number(timing.backfill_ms);
  const structurallyOk = result.verification?.tables.every((t) => t.ok) ?? false;
  log(
    `ours: steps ${(stepsMs / 1000).toFixed(1)} s (${Math.round(rows / (stepsMs / 1000))} rows/s), backfill alone ${(backfillMs / 1000).toFixed(1)} s; with fingerprints and verification ${(wholeMs / 1000).toFixed(1)} s; every table verified (rows filled but orphans, index, foreign key) ${structurallyOk}; writer's longest wait ${oursWaits.maxMs} ms (${oursWaits.worst})`,
  );

  // the backup taken before the first change, restored into a scratch database and compared
  const backup = (await migrationRuns(oursUrl))[0]!.backup;
  const v0 = performance.now();
  const restored = await verifyBackup(oursUrl, join(dir, 'backups'), result.runId);
  const verifyMs = performance.now() - v0;
  const backupFigures =
    backup?.taken === true
      ? {
          format: backup.format,
          tool: backup.tool,
          bytes: backup.bytes,
          seconds: +backup.seconds.toFixed(2),
          mbPerSecond: +(backup.bytes / 1048576 / backup.seconds).toFixed(1),
          estimate: oursPlan.backupEstimate,
          verifySeconds: +(verifyMs / 1000).toFixed(2),
          restoredEqual: restored.ok,
        }
      : null;
  log(
    backupFigures
      ? `backup: ${backupFigures.tool}, ${(backupFigures.bytes / 1048576).toFixed(1)} MiB in ${backupFigures.seconds} s (${backupFigures.mbPerSecond} MiB/s; estimated ${(oursPlan.backupEstimate!.bytes / 1048576).toFixed(1)} MiB, ${oursPlan.backupEstimate!.seconds.toFixed(1)} s); restored into a scratch database in ${backupFigures.verifySeconds} s, every table equal: ${restored.ok}`
      : 'backup: none taken',
  );

  const seedRate = rows / (seedMs / 1000);
  const oursRate = rows / (stepsMs / 1000);
  const figures = {
    rows,
    tables: plan.tables.length,
    seedScript: {
      seconds: +(seedMs / 1000).toFixed(2),
      rowsPerSecond: Math.round(seedRate),
      updateSeconds: +(seedUpdateMs / 1000).toFixed(2),
      writer: seedWaits,
    },
    ours: {
      seconds: +(stepsMs / 1000).toFixed(2),
      rowsPerSecond: Math.round(oursRate),
      backfillSeconds: +(backfillMs / 1000).toFixed(2),
      backfillRowsPerSecond: Math.round(rows / (backfillMs / 1000)),
      withChecksSeconds: +(wholeMs / 1000).toFixed(2),
      verified: structurallyOk,
      writer: oursWaits,
    },
    backup: backupFigures,
    triggerOverhead: triggerFigures,
    throughputRatio: +(oursRate / seedRate).toFixed(2),
    writerMaxWaitRatio: +(oursWaits.maxMs / Math.max(1, seedWaits.maxMs)).toFixed(3),
  };
  const targets = { throughputRatio: '>= 0.5', oursWriterMaxWaitMs: '<= 200', backupRestoresEqual: true, triggerOverheadMax: '<= 1.3' };
  const met =
    figures.throughputRatio >= 0.5 && oursWaits.maxMs <= 200 && figures.ours.verified && backupFigures?.restoredEqual === true && triggerFigures.max <= 1.3;
  console.log(JSON.stringify({ bench: 'migrate', ...figures, targets, met }));
} finally {
  await server.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  rmSync(server.clusterDir, { recursive: true, force: true });
}
