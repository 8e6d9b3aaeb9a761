import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { projectRoot } from '../../src-main/core/home.ts';
import { createTestDatabase } from './crm.ts';

/**
 * The FastAPI fixture CRM (tests/fixtures/fastapi-crm): a Python program in the seed's stack,
 * started on a fresh database of the run's PostgreSQL and a port it picks itself.
 */
export const FIXTURE_DIR = join(projectRoot, 'tests', 'fixtures', 'fastapi-crm');

export interface FixtureTruth {
  identities: { password: string; super_admin: string; company_admins: Record<string, string>; users: Record<string, string>; no_company: string };
  collections: Record<string, string>;
  derivation: Record<string, { kind: string; field?: string; resource?: string }>;
  leaks: Record<string, string[]>;
  tables_without_company_id: string[];
  orphans: Record<string, number>;
  cross_tenant_references: Array<{ resource: string; field: string; count: number }>;
  global_rows: Record<string, number>;
}

export const fixtureTruth = (): FixtureTruth => JSON.parse(readFileSync(join(FIXTURE_DIR, 'truth.json'), 'utf8'));

export interface FastapiCrm {
  url: string;
  databaseUrl: string;
  pool: pg.Pool;
  truth: FixtureTruth;
  close(): Promise<void>;
}

/** The Python with Debian's FastAPI packages (not a pyenv shim on PATH); FASTAPI_PYTHON overrides. */
export const fixturePython = () => process.env.FASTAPI_PYTHON ?? '/usr/bin/python3';

/** Starts the fixture CRM (or the backend of a copy of it: `backend`, a patched checkout) on a fresh database. */
export async function startFastapiCrm(env: Record<string, string> = {}, backend = join(FIXTURE_DIR, 'backend')): Promise<FastapiCrm> {
  const database = await createTestDatabase();
  let child: ChildProcess | undefined;
  try {
    child = spawn(fixturePython(), [join(backend, 'serve.py')], {
      cwd: backend,
      env: { ...process.env, ...env, DATABASE_URL: database.url, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        const m = out.match(/CRM_URL=(\S+)/);
        if (m) resolve(m[1]!);
      });
      child!.stderr!.on('data', (d) => (err += d));
      child!.on('exit', (code) => reject(new Error(`the FastAPI fixture exited ${code} before it served: ${err.slice(-2000)}`)));
    });
    const pool = new pg.Pool({ connectionString: database.url, max: 3 });
    const proc = child;
    return {
      url,
      databaseUrl: database.url,
      pool,
      truth: fixtureTruth(),
      close: async () => {
        await new Promise<void>((resolve) => {
          if (proc.exitCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        });
        await pool.end();
        await database.drop();
      },
    };
  } catch (e) {
    child?.kill('SIGKILL');
    await database.drop();
    throw e;
  }
}
