import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Every test file gets a temporary folder of its own as TMPDIR (os.tmpdir() and every child
 * process the file starts follow it: CLIs, CRMs, embedded PostgreSQL clusters, homes), removed
 * with all it holds once the file's last hook has run, passed or failed. A full temporary folder
 * breaks the machine; nothing a test makes outlives its file.
 */
const outer = tmpdir();
const root = mkdtempSync(join(outer, 'tenantscope-test-'));
// as root, embedded PostgreSQL runs as the postgres user, which must pass through (not list) it
chmodSync(root, 0o711);
process.env.TMPDIR = root;

// registered first, so it runs after the file's own afterAll hooks (which stop what they started)
afterAll(() => {
  process.env.TMPDIR = outer;
  rmSync(root, { recursive: true, force: true });
});
