// `npm run test:repeat -- <test file> [N] [-t <name pattern>]`: runs one test file N times (10 by
// default), one run after another, and prints how many of them passed; a way to see a flaky test.
// Exit 0 when every run passed, 1 when any failed, 2 on bad arguments.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const nameAt = args.indexOf('-t');
const name = nameAt >= 0 ? args.splice(nameAt, 2)[1] : undefined;
const [file, countArg] = args;
const count = countArg === undefined ? 10 : Number(countArg);
if (!file || !existsSync(resolve(file)) || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: npm run test:repeat -- <test file> [N] [-t <test name pattern>]\n');
  process.exit(2);
}
const rel = relative(root, resolve(file));
const e2e = rel.startsWith(join('tests', 'e2e'));
if (e2e) {
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-if-stale.mjs')], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(2);
}

const out = mkdtempSync(join(tmpdir(), 'tenantscope-repeat-'));
let passed = 0;
const failures = [];
try {
  for (let i = 1; i <= count; i++) {
    const json = join(out, `run-${i}.json`);
    const t0 = Date.now();
    const r = spawnSync(
      join(root, 'node_modules', '.bin', 'vitest'),
      [
        'run',
        ...(e2e ? ['-c', 'vitest.e2e.config.ts'] : []),
        rel,
        ...(name ? ['-t', name] : []),
        '--reporter=dot',
        '--reporter=json',
        `--outputFile.json=${json}`,
      ],
      { cwd: root, encoding: 'utf8', env: process.env },
    );
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    let summary = 'no result';
    let ok = false;
    if (existsSync(json)) {
      const j = JSON.parse(readFileSync(json, 'utf8'));
      ok = r.status === 0 && j.numFailedTests === 0 && j.numPassedTests > 0;
      summary = `${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests} skipped`;
      if (!ok) {
        for (const s of j.testResults ?? []) {
          for (const a of s.assertionResults ?? [])
            if (a.status === 'failed') failures.push(`run ${i}: ${a.fullName}: ${(a.failureMessages ?? [])[0]?.split('\n')[0] ?? ''}`);
        }
      }
    }
    if (ok) passed++;
    else if (summary === 'no result') failures.push(`run ${i}: vitest exited ${r.status}: ${(r.stderr || r.stdout).split('\n').slice(-5).join(' ')}`);
    process.stderr.write(`run ${i}/${count}: ${ok ? 'pass' : 'FAIL'} (${summary}) in ${secs} s\n`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
for (const f of failures) process.stderr.write(`${f}\n`);
process.stdout.write(`${rel}${name ? ` -t "${name}"` : ''}: passed ${passed} of ${count}\n`);
process.exit(passed === count ? 0 : 1);
