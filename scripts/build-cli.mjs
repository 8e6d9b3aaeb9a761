// The CLI built to JavaScript once, and again only when a source changed: `out/cli/<fingerprint>/`
// (esbuild: one bundle, each lazily imported capability a chunk of its own). A fingerprint is the
// path, size and mtime of every source; a build goes to a temporary folder renamed into place, so
// two commands started at once never see half a build.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const SOURCES = ['src-main', 'src-shared', 'package.json', 'scripts/build-cli.mjs'];
const outRoot = join(root, 'out', 'cli');

function walk(path, into) {
  const s = statSync(path);
  if (!s.isDirectory()) return into.push(`${path}\0${s.size}\0${s.mtimeMs}`);
  for (const e of readdirSync(path).sort()) walk(join(path, e), into);
}

/** What the sources are now, in a few hundred stats. */
export function fingerprint() {
  const lines = [];
  for (const p of SOURCES) walk(join(root, p), lines);
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

/** The built CLI's entry for the sources as they are, building it first when needed. */
export async function cliEntry({ quiet = true } = {}) {
  const fp = fingerprint();
  const dir = join(outRoot, fp);
  const entry = join(dir, 'main.mjs');
  if (existsSync(entry)) return entry;
  if (!quiet) process.stderr.write('Building the command line (esbuild)…\n');
  const { build } = await import('esbuild');
  const tmp = join(outRoot, `.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(outRoot, { recursive: true });
  try {
    await build({
      entryPoints: [join(root, 'src-main', 'cli', 'main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      splitting: true,
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      sourcemap: 'linked',
      logLevel: 'error',
    });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // another command built the same sources first: use theirs
      if (!existsSync(entry)) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  prune(fp);
  return entry;
}

/** Builds of older sources, an hour after they were made (a command still running may be loading their chunks). */
function prune(keep) {
  for (const name of readdirSync(outRoot)) {
    if (name === keep) continue;
    const p = join(outRoot, name);
    if (Date.now() - statSync(p).mtimeMs > 3_600_000) rmSync(p, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await cliEntry({ quiet: false })}\n`);
