// bench/cli: how fast the command line answers. `tenantscope --help` and `connections list` (a
// fresh data folder) from the built CLI, against `node -e 0` in the same run (Node's own start),
// and the same commands from the TypeScript sources through tsx (TENANTSCOPE_FROM_SOURCE=1, how
// the CLI ran before it was built). Also the first run after a source changed (the build).
// Targets: --help ≤ 300 ms, connections list ≤ 500 ms (medians).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin', 'tenantscope.mjs');
const RUNS = Number(process.argv[2] ?? 9);
const log = (line: string) => process.stderr.write(line + '\n');
const home = mkdtempSync(join(tmpdir(), 'bench-cli-'));

function time(args: string[], env: Record<string, string> = {}): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, TENANTSCOPE_HOME: home, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-500)}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  // the first run after a source changed builds (touch one source: a new fingerprint)
  const touched = join(root, 'src-main', 'cli', 'main.ts');
  const now = new Date();
  utimesSync(touched, now, now);
  const firstMs = time([bin, '--help']);
  const samples: Record<string, number[]> = { node: [], help: [], list: [], helpFromSource: [], listFromSource: [] };
  for (let i = 0; i < RUNS; i++) {
    samples.node!.push(time(['-e', '0']));
    samples.help!.push(time([bin, '--help']));
    samples.list!.push(time([bin, 'connections', 'list']));
    if (i < 3) {
      samples.helpFromSource!.push(time([bin, '--help'], { TENANTSCOPE_FROM_SOURCE: '1' }));
      samples.listFromSource!.push(time([bin, 'connections', 'list'], { TENANTSCOPE_FROM_SOURCE: '1' }));
    }
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.round(median(v))])) as {
    node: number;
    help: number;
    list: number;
    helpFromSource: number;
    listFromSource: number;
  };
  log(`node -e 0: ${m.node} ms; --help ${m.help} ms (${(m.help / m.node).toFixed(1)}x), connections list ${m.list} ms (${(m.list / m.node).toFixed(1)}x)`);
  log(
    `from the sources through tsx: --help ${m.helpFromSource} ms, connections list ${m.listFromSource} ms; first run after a change (build) ${Math.round(firstMs)} ms`,
  );
  const result = {
    bench: 'cli',
    runs: RUNS,
    nodeStartMs: m.node,
    helpMs: m.help,
    listMs: m.list,
    helpVsNode: +(m.help / m.node).toFixed(1),
    listVsNode: +(m.list / m.node).toFixed(1),
    fromSource: { helpMs: m.helpFromSource, listMs: m.listFromSource },
    firstRunAfterChangeMs: Math.round(firstMs),
    targets: { helpMs: 300, listMs: 500 },
    met: m.help <= 300 && m.list <= 500,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  rmSync(home, { recursive: true, force: true });
}
