// `npm test`: typecheck, lint, build, unit + integration tests, then end-to-end tests in Chromium.
// Ends with one line "tests: N passed, N failed, N skipped" summed over both runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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

const only = process.argv[2]; // "unit" or "e2e" to run one part
let ok = true;
if (!only) {
  ok = step('typecheck', bin('tsc'), ['-p', 'tsconfig.node.json', '--noEmit']) && ok;
  ok = step('typecheck (renderer)', bin('tsc'), ['-p', 'tsconfig.web.json', '--noEmit']) && ok;
  ok = step('typecheck (tests, benchmarks)', bin('tsc'), ['-p', 'tsconfig.test.json', '--noEmit']) && ok;
  ok = step('lint', bin('eslint'), ['.']) && ok;
}
if (!only || only === 'e2e') ok = step('build', process.execPath, [join(root, 'scripts', 'build-if-stale.mjs')]) && ok;
const unitJson = join(results, 'unit.json');
const e2eJson = join(results, 'e2e.json');
rmSync(unitJson, { force: true });
rmSync(e2eJson, { force: true });
if (!only || only === 'unit') ok = step('unit and integration tests', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${unitJson}`]) && ok;
if (!only || only === 'e2e') {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    process.stderr.write(`\nNo Chromium at ${chromium}: end-to-end tests cannot run (Debian: apt-get install -y chromium; or set CHROMIUM_PATH).\n`);
    ok = false;
  } else {
    ok = step('end-to-end tests (Chromium)', bin('vitest'), ['run', '-c', 'vitest.e2e.config.ts', '--reporter=default', '--reporter=json', `--outputFile.json=${e2eJson}`]) && ok;
  }
}
const a = counts(unitJson);
const b = counts(e2eJson);
const total = { passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped };
process.stdout.write(`\ntests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
if (!ok && total.failed === 0) process.stdout.write('(a step other than the tests failed: see above)\n');
process.exit(ok && total.failed === 0 ? 0 : 1);
