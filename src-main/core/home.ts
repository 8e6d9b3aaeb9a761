import { existsSync, mkdirSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** Where the console keeps its data: TENANTSCOPE_HOME when set, else the platform's app-data folder. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TENANTSCOPE_HOME
    ? resolve(env.TENANTSCOPE_HOME)
    : platform() === 'win32'
      ? join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'TenantScope')
      : platform() === 'darwin'
        ? join(homedir(), 'Library', 'Application Support', 'TenantScope')
        : join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'TenantScope');
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // connections, caches and secrets: this user's only
  return dir;
}

/**
 * The project root (profiles/, migrations/, src-crm/ live there): the nearest folder up from this
 * module with package.json and migrations/ (the sources, out/main and the built CLI in
 * out/cli/<fingerprint>/ sit at different depths).
 */
export const projectRoot = findRoot(import.meta.dirname);

function findRoot(from: string): string {
  for (let d = from; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'migrations'))) return d;
    if (dirname(d) === d) return resolve(from, '..', '..');
  }
}
