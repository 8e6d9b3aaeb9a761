// Builds better-sqlite3 for the installed Electron's ABI into .native/, leaving node_modules' Node build alone.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

export function electronNativePath() {
  const abi = readFileSync(join(root, 'node_modules', 'electron', 'abi_version'), 'utf8').trim();
  return join(root, '.native', `electron-${abi}-${process.platform}-${process.arch}`, 'better_sqlite3.node');
}

export function buildElectronNative({ log = (l) => process.stderr.write(l + '\n') } = {}) {
  const target = electronNativePath();
  if (existsSync(target)) return target;
  const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
  const work = mkdtempSync(join(tmpdir(), 'tenantscope-native-'));
  try {
    cpSync(join(root, 'node_modules', 'better-sqlite3-multiple-ciphers'), work, { recursive: true });
    rmSync(join(work, 'build'), { recursive: true, force: true });
    log(`Building better-sqlite3-multiple-ciphers for Electron ${electronVersion}…`);
    const prebuilt = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'prebuild-install', 'bin.js'), '--runtime', 'electron', '--target', electronVersion],
      { cwd: work, stdio: 'inherit' },
    );
    if (prebuilt.status !== 0) {
      const gyp = spawnSync('npx', ['--yes', 'node-gyp', 'rebuild', '--release', `--target=${electronVersion}`, '--dist-url=https://electronjs.org/headers'], {
        cwd: work,
        stdio: 'inherit',
      });
      if (gyp.status !== 0) throw new Error('could not build better-sqlite3 for Electron (no prebuilt binary and no compiler or headers)');
    }
    mkdirSync(join(target, '..'), { recursive: true });
    copyFileSync(join(work, 'build', 'Release', 'better_sqlite3.node'), target);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.stdout.write(buildElectronNative() + '\n');
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(2);
  }
}
