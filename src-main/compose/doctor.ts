import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../core/home.ts';
import { DemoCrm } from '../demo/demoCrm.ts';
import { openSqlite } from '../core/sqlite.ts';
import { CACHE_KEY_ENV, CACHE_KEY_MIN, cacheKeyFromEnv } from '../cache/cacheFiles.ts';

export interface DoctorCheck {
  name: string;
  status: 'pass' | 'fail' | 'warn';
  message: string;
}

export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

/** Path of the Electron binary if one is installed, without trying to download it. */
export function electronBinary(): string | null {
  const dir = join(projectRoot, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

export async function runDoctor(opts: { home: string; demo: boolean; log: (l: string) => void }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  checks.push(
    major > 20 || (major === 20 && minor >= 19)
      ? { name: 'node', status: 'pass', message: `Node ${process.versions.node}` }
      : { name: 'node', status: 'fail', message: `Node ${process.versions.node}: TenantScope needs 20.19 or newer` },
  );
  try {
    const db = openSqlite(':memory:');
    const v = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
    db.close();
    checks.push({
      name: 'native-sqlite',
      status: 'pass',
      message: `better-sqlite3-multiple-ciphers loads (SQLite ${v}, SQLCipher 4 format available, Node ABI ${process.versions.modules})`,
    });
  } catch (e) {
    checks.push({
      name: 'native-sqlite',
      status: 'fail',
      message: `better-sqlite3-multiple-ciphers does not load: ${(e as Error).message.split('\n')[0]}. Run \`npm rebuild better-sqlite3-multiple-ciphers\`.`,
    });
  }
  try {
    checks.push(
      cacheKeyFromEnv()
        ? { name: 'cache-encryption', status: 'pass', message: `Caches are encrypted at rest (SQLCipher 4, passphrase from ${CACHE_KEY_ENV})` }
        : {
            name: 'cache-encryption',
            status: 'warn',
            message: `Caches are plain SQLite files (0600 in a 0700 folder): set ${CACHE_KEY_ENV} to a passphrase of ${CACHE_KEY_MIN} characters or more to encrypt them at rest`,
          },
    );
  } catch (e) {
    checks.push({ name: 'cache-encryption', status: 'fail', message: (e as Error).message });
  }
  const chromium = chromiumPath();
  checks.push(
    chromium
      ? { name: 'chromium', status: 'pass', message: `Chromium at ${chromium} (end-to-end tests and benchmarks)` }
      : { name: 'chromium', status: 'warn', message: 'No Chromium found: end-to-end tests need it (Debian: apt-get install chromium, or set CHROMIUM_PATH)' },
  );
  const electron = electronBinary();
  checks.push(
    electron
      ? { name: 'electron', status: 'pass', message: `Electron binary at ${electron}` }
      : { name: 'electron', status: 'warn', message: 'No Electron binary: npm start serves the console in your browser instead' },
  );
  if (opts.demo) {
    const demo = new DemoCrm(join(opts.home, 'demo-crm'), opts.log);
    const t0 = Date.now();
    const s = await demo.start();
    await demo.stop();
    checks.push(
      s.state === 'running'
        ? { name: 'demo-crm', status: 'pass', message: `The demo CRM starts (${((Date.now() - t0) / 1000).toFixed(1)} s)` }
        : { name: 'demo-crm', status: 'fail', message: s.message ?? 'The demo CRM did not start' },
    );
  }
  return checks;
}
