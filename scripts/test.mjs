// `npm test`: typecheck, lint, format, the fast tier, build, unit + integration tests, then end-to-end
// tests in Chromium; then a check that no test left a temporary folder (a home, an embedded
// cluster) behind. Ends with one line "tests: N passed, N failed, N skipped" summed over the runs.
// `npm run test:fast`, `test:unit`, `test:e2e` run one part.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const results = join(root, 'test-results');
mkdirSync(results, { recursive: true });

function step(label, cmd, args) {
  process.stderr.write(`\n── ${label} ──\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

function counts(file) {
  if (!existsSync(file)) return { passed: 0, failed: 0, skipped: 0 };
  const j = JSON.parse(readFileSync(file, 'utf8'));
  return { passed: j.numPassedTests, failed: j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0), skipped: j.numPendingTests + j.numTodoTests };
}

const only = process.argv[2]; // "fast", "unit" or "e2e" to run one part
// what the tests make in the temporary folder is named tenantscope-*: none of it may outlive the run
const ours = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('tenantscope-')));
const before = ours();
let ok = true;
if (!only) {
  ok = step('typecheck', bin('tsc'), ['-p', 'tsconfig.node.json', '--noEmit']) && ok;
  ok = step('typecheck (renderer)', bin('tsc'), ['-p', 'tsconfig.web.json', '--noEmit']) && ok;
  ok = step('typecheck (tests, benchmarks)', bin('tsc'), ['-p', 'tsconfig.test.json', '--noEmit']) && ok;
  ok = step('lint', bin('eslint'), ['.']) && ok;
  ok = step('format (Prettier: `npm run format` fixes it)', bin('prettier'), ['--check', '--log-level', 'warn', '.']) && ok;
  ok = step('sizes (files over 400 lines, functions over 80: ARCHITECTURE.md)', process.execPath, [join(root, 'scripts', 'sizes.mjs')]) && ok;
}
if (!only || only === 'e2e') ok = step('build', process.execPath, [join(root, 'scripts', 'build-if-stale.mjs')]) && ok;
const fastJson = join(results, 'fast.json');
const unitJson = join(results, 'unit.json');
const e2eJson = join(results, 'e2e.json');
for (const f of [fastJson, unitJson, e2eJson]) rmSync(f, { force: true });
if (!only || only === 'fast')
  ok =
    step('fast tier (no PostgreSQL, no network)', bin('vitest'), [
      'run',
      '-c',
      'vitest.fast.config.ts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${fastJson}`,
    ]) && ok;
if (!only || only === 'unit')
  ok = step('unit and integration tests', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${unitJson}`]) && ok;
if (!only || only === 'e2e') {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    process.stderr.write(`\nNo Chromium at ${chromium}: end-to-end tests cannot run (Debian: apt-get install -y chromium; or set CHROMIUM_PATH).\n`);
    ok = false;
  } else {
    ok =
      step('end-to-end tests (Chromium)', bin('vitest'), [
        'run',
        '-c',
        'vitest.e2e.config.ts',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${e2eJson}`,
      ]) && ok;
  }
}
const left = [...ours()].filter((n) => !before.has(n));
if (left.length) {
  process.stderr.write(
    `\nThe tests left ${left.length} temporary folders behind in ${tmpdir()} (a test must remove what it makes):\n${left.map((n) => `  ${n}`).join('\n')}\n`,
  );
  ok = false;
}
const parts = [fastJson, unitJson, e2eJson].map(counts);
const total = parts.reduce((t, p) => ({ passed: t.passed + p.passed, failed: t.failed + p.failed, skipped: t.skipped + p.skipped }), {
  passed: 0,
  failed: 0,
  skipped: 0,
});
process.stdout.write(`\ntests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
if (!ok && total.failed === 0) process.stdout.write('(a step other than the tests failed: see above)\n');
process.exit(ok && total.failed === 0 ? 0 : 1);
