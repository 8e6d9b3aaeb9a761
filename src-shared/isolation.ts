import { VERDICTS, verdictsWhere, type Verdict } from './tenancy.ts';

/** a verdict that tells whether the CRM kept the tenant apart (not a skip, not a probe that failed) */
const told = (v: Verdict) => VERDICTS[v].outcome === 'pass' || VERDICTS[v].outcome === 'fail';

export interface ProbeKey {
  resource: string;
  identity: string;
  operation: string;
  verdict: Verdict;
}

/**
 * A run in one sentence, the same live and reloaded: probes, time, verdicts, cleanup. The time and
 * the cleanup are unknown for a run that never finished (null).
 */
export function isolationSummary(run: {
  probes: number;
  seconds: number | null;
  counts: Partial<Record<Verdict, number>>;
  cleanup: { removed: number; leftover: unknown[] } | null;
}): string {
  const n = (v: Verdict) => run.counts[v] ?? 0;
  const time = run.seconds === null ? '' : ` in ${run.seconds.toFixed(1)} s`;
  const cleanup =
    run.cleanup === null
      ? ' Cleanup: not recorded (the run did not finish).'
      : ` Cleanup: ${run.cleanup.removed} canaries removed${run.cleanup.leftover.length ? `, ${run.cleanup.leftover.length} could not be removed` : ', none left'}.`;
  return `${run.probes} probes${time}: ${verdictsWhere((v) => v.proof === 'against')
    .map((v) => `${n(v)} ${v}`)
    .join(', ')}.${cleanup}`;
}

export type DiffKind = 'new leak' | 'fixed' | 'still leaking';

/** Leaks between two runs, probe by probe: new (leaks now, did not before), fixed, still leaking. */
export function diffRuns(before: ProbeKey[], after: ProbeKey[]): Array<{ kind: DiffKind; resource: string; identity: string; operation: string }> {
  const key = (p: ProbeKey) => `${p.resource}\u0000${p.identity}\u0000${p.operation}`;
  const was = new Map(before.map((p) => [key(p), p.verdict]));
  const now = new Map(after.map((p) => [key(p), p.verdict]));
  const out: Array<{ kind: DiffKind; resource: string; identity: string; operation: string }> = [];
  for (const k of new Set([...was.keys(), ...now.keys()])) {
    const [resource, identity, operation] = k.split('\u0000') as [string, string, string];
    const a = was.get(k) === 'leak';
    const b = now.get(k) === 'leak';
    // a probe that did not run this time (skipped, or not in --only) is neither fixed nor new
    if (a && b) out.push({ kind: 'still leaking', resource, identity, operation });
    else if (!a && b) out.push({ kind: 'new leak', resource, identity, operation });
    else if (a && now.has(k) && told(now.get(k)!)) out.push({ kind: 'fixed', resource, identity, operation });
  }
  const order: Record<DiffKind, number> = { 'new leak': 0, 'still leaking': 1, fixed: 2 };
  return out.sort((x, y) => order[x.kind] - order[y.kind] || x.resource.localeCompare(y.resource));
}
