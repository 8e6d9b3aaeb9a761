import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src-crm/db.ts';

/**
 * A PostgreSQL cluster of the machine's own packages (Debian's /usr/lib/postgresql/<n>/bin),
 * older than the embedded one: a server whose pg_dump this machine has. Made in the test file's
 * temporary folder on a free port, run as the postgres user when the tests run as root, stopped
 * and removed by `stop`.
 */
export function debianPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((n) => /^\d+$/.test(n) && existsSync(join(root, n, 'bin', 'initdb')) && existsSync(join(root, n, 'bin', 'pg_dump')))
    .map(Number)
    .sort((a, b) => b - a);
  return majors.length ? join(root, String(majors[0]), 'bin') : null;
}

export async function startDebianPostgres(bin: string): Promise<{ adminUrl: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'debian-pg-'));
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : null;
  if (user !== null) chownSync(dir, user, user);
  const as = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' });
  const data = join(dir, 'data');
  as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  as(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
