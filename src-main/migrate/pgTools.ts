import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * PostgreSQL's own client programs (pg_dump, pg_restore) on this machine: the newest pair whose
 * major version is at least the server's (pg_dump refuses a newer server). Looked for in
 * TENANTSCOPE_PG_BIN, the PATH, and where Debian, the PGDG packages and Homebrew put them.
 * Nothing here runs what a CRM or a file says: the programs are the machine's, their arguments ours.
 */

const run = promisify(execFile);

export interface PgTools {
  dir: string;
  version: string;
  major: number;
}

export interface PgToolsFound {
  /** the pair to use, or null when none is new enough */
  tools: PgTools | null;
  /** every pair seen, to say why none fits */
  seen: PgTools[];
}

const exe = (dir: string, name: string) => join(dir, process.platform === 'win32' ? `${name}.exe` : name);

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Versioned install folders: /usr/lib/postgresql/<n>/bin, /usr/pgsql-<n>/bin, Homebrew's postgresql@<n>. */
function versionedDirs(): string[] {
  const out: string[] = [];
  const under = (root: string, match: RegExp, tail: string) => {
    try {
      for (const name of readdirSync(root)) if (match.test(name)) out.push(join(root, name, tail));
    } catch {
      /* not on this machine */
    }
  };
  under('/usr/lib/postgresql', /^\d+$/, 'bin');
  under('/usr', /^pgsql-\d+$/, 'bin');
  under('/opt/homebrew/opt', /^postgresql@\d+$/, 'bin');
  under('/usr/local/opt', /^postgresql@\d+$/, 'bin');
  return out;
}

export function candidateDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [env.TENANTSCOPE_PG_BIN, ...(env.PATH ?? '').split(delimiter), ...versionedDirs()].filter((d): d is string => !!d);
  return [...new Set(dirs)];
}

/** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → 15.18, major 15. */
export function parseVersion(text: string): { version: string; major: number } | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text);
  return m ? { version: m[2] ? `${m[1]}.${m[2]}` : m[1]!, major: Number(m[1]) } : null;
}

/** The pg_dump/pg_restore pair to use against a server of `serverMajor`, and every pair seen. */
export async function findPgTools(serverMajor: number, env: NodeJS.ProcessEnv = process.env): Promise<PgToolsFound> {
  const seen: PgTools[] = [];
  for (const dir of candidateDirs(env)) {
    if (!executable(exe(dir, 'pg_dump')) || !executable(exe(dir, 'pg_restore'))) continue;
    try {
      const v = parseVersion((await run(exe(dir, 'pg_dump'), ['--version'], { timeout: 5000 })).stdout);
      if (v && !seen.some((s) => s.version === v.version)) seen.push({ dir, ...v });
    } catch {
      /* a broken install: not a candidate */
    }
  }
  const fit = seen.filter((s) => s.major >= serverMajor).sort((a, b) => b.major - a.major);
  return { tools: fit[0] ?? null, seen };
}

export const pgDumpPath = (t: PgTools) => exe(t.dir, 'pg_dump');
export const pgRestorePath = (t: PgTools) => exe(t.dir, 'pg_restore');

/**
 * How a client program reaches the database: the URL without its password on the command line
 * (where `ps` shows it), the password in PGPASSWORD.
 */
export function connectionFor(url: string, applicationName: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const env: NodeJS.ProcessEnv = { ...process.env, PGAPPNAME: applicationName, PGCONNECT_TIMEOUT: '10' };
  delete env.PGPASSWORD;
  if (password) env.PGPASSWORD = password;
  return { dbname: u.toString(), env };
}
