// The checkout's files, read without following anything out of the tree: symlinks that leave it,
// binary and huge files are skipped (and said), nothing is written.
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { AppError } from '../../src-shared/result.ts';

export interface SourceFile {
  /** the path inside the checkout, with forward slashes */
  path: string;
  text: string;
}

export interface Skipped {
  path: string;
  reason: string;
}

/** A source file larger than this is not read (generated code, vendored bundles). */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** Folders no backend keeps its own code in. */
const IGNORED_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  '__pycache__',
  '.venv',
  'venv',
  'env',
  '.tox',
  '.mypy_cache',
  '.pytest_cache',
  'site-packages',
  'dist',
  'build',
]);

/** Every file with one of `exts` under `root`, in a stable order; what was not read is listed in `skipped`. */
export function readSource(root: string, exts: string[]): { files: SourceFile[]; skipped: Skipped[] } {
  let top: string;
  try {
    top = realpathSync(root);
    if (!statSync(top).isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw new AppError(
      'invalid-input',
      `The source folder ${root} cannot be read: ${(e as Error).message}. Give the folder of the CRM's backend checkout (--src).`,
    );
  }
  const files: SourceFile[] = [];
  const skipped: Skipped[] = [];
  const rel = (p: string) => relative(top, p).split(sep).join('/');
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      skipped.push({ path: rel(dir) || '.', reason: `cannot be listed: ${(e as Error).message}` });
      return;
    }
    for (const name of names) {
      const full = join(dir, name);
      let st = lstatSync(full);
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(full);
        } catch {
          skipped.push({ path: rel(full), reason: 'a broken symlink' });
          continue;
        }
        if (target !== top && !target.startsWith(top + sep)) {
          skipped.push({ path: rel(full), reason: 'a symlink that leaves the source folder (not followed)' });
          continue;
        }
        if (statSync(target).isDirectory()) {
          skipped.push({ path: rel(full), reason: 'a symlink to a folder inside the tree (read where it is)' });
          continue;
        }
        st = statSync(target);
      }
      if (st.isDirectory()) {
        if (!IGNORED_DIRS.has(name) && !name.startsWith('.')) walk(full);
        continue;
      }
      if (!st.isFile() || !exts.includes(extname(name))) continue;
      if (st.size > MAX_FILE_BYTES) {
        skipped.push({ path: rel(full), reason: `${Math.round(st.size / 1024)} KiB: larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` });
        continue;
      }
      const bytes = readFileSync(full);
      if (bytes.subarray(0, 8192).includes(0)) {
        skipped.push({ path: rel(full), reason: 'binary (a NUL byte)' });
        continue;
      }
      files.push({ path: rel(full), text: bytes.toString('utf8') });
    }
  };
  walk(top);
  return { files, skipped };
}
