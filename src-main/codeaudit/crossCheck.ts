// Static × dynamic: each finding of the source audit checked against what the isolation runner
// saw on the same (resource, operation) cell; a leak the runner saw that no finding explains is
// a finding of its own.
import type { CodeAuditResult, CodeFinding, CodeHandler } from '../../src-shared/contract/code.ts';
import { VERDICTS, type Verdict } from '../../src-shared/tenancy.ts';

export interface ProbeCell {
  resource: string;
  operation: string;
  identity: string;
  verdict: Verdict;
}

type Cell = 'leak' | 'enforced' | 'not-probed';

/** What the runner saw on a cell over every identity: a leak by any, enforced when every told probe was, else not probed. */
function cellOf(results: ProbeCell[]): { cell: Cell; leaking: string[]; enforced: string[] } {
  const leaking = results.filter((r) => r.verdict === 'leak').map((r) => r.identity);
  const enforced = results.filter((r) => VERDICTS[r.verdict].proof === 'proves').map((r) => r.identity);
  const against = results.filter((r) => VERDICTS[r.verdict].proof === 'against' && r.verdict !== 'leak');
  return { cell: leaking.length ? 'leak' : enforced.length && !against.length ? 'enforced' : 'not-probed', leaking, enforced };
}

/** The runner's operation words for a handler's (the runner reads an item as "read"). */
const key = (resource: string | null, operation: string | null) => `${resource} ${operation}`;

export function crossCheck(result: CodeAuditResult, probes: ProbeCell[], run: { runId: number; startedAt: string; connection: string }): CodeAuditResult {
  const byCell = new Map<string, ProbeCell[]>();
  for (const p of probes) byCell.set(key(p.resource, p.operation), [...(byCell.get(key(p.resource, p.operation)) ?? []), p]);
  const handlers: CodeHandler[] = result.handlers.map((h) => {
    const probed = byCell.get(key(h.resource, h.operation));
    return { ...h, dynamic: probed ? cellOf(probed).cell : 'not-probed' };
  });
  const explained = new Set<string>();
  const findings: CodeFinding[] = result.findings.map((f) => {
    if (!f.operation || f.kind === 'model-without-company') return f;
    explained.add(key(f.resource, f.operation));
    const probed = byCell.get(key(f.resource, f.operation));
    if (!probed) return { ...f, dynamic: 'not-probed', dynamicDetail: `Run ${run.runId} did not probe ${f.resource} ${f.operation}.` };
    const c = cellOf(probed);
    if (c.cell === 'leak') return { ...f, dynamic: 'confirmed', dynamicDetail: `Run ${run.runId} saw it leak to ${c.leaking.join(', ')}.` };
    if (c.cell === 'enforced') {
      const h = result.handlers.find((x) => x.handler === f.handler && x.path === f.path);
      const followed = h?.queries.find((q) => q.line === f.line && q.file === f.file)?.via.join(' → ') ?? f.handler;
      return {
        ...f,
        dynamic: 'refuted',
        dynamicDetail: `Run ${run.runId} saw it enforced for ${c.enforced.join(', ')}: the scoping happens where the analyzer stopped (it followed ${followed}, three levels of helpers; not the bodies of dependencies, middleware, decorators or database policies).`,
      };
    }
    return { ...f, dynamic: 'not-probed', dynamicDetail: `Run ${run.runId} could not tell on ${f.resource} ${f.operation} (skipped or errors).` };
  });
  for (const [cell, probed] of byCell) {
    const c = cellOf(probed);
    if (c.cell !== 'leak' || explained.has(cell)) continue;
    const [resource, operation] = cell.split(' ') as [string, CodeFinding['operation']];
    const h = handlers.find((x) => x.resource === resource && x.operation === operation);
    findings.push({
      id: `code:unexplained:${resource}:${operation}`,
      kind: 'unexplained-leak',
      severity: 'HIGH',
      file: h?.file ?? '',
      line: h?.line ?? 0,
      handler: h?.handler ?? null,
      method: h?.method ?? null,
      path: h?.path ?? null,
      resource,
      operation,
      title: `${resource} ${operation} leaks (run ${run.runId}) and the source does not say why`,
      does: h
        ? `The runner saw ${c.leaking.join(', ')} reach another company's ${resource}; ${h.handler} (${h.file}:${h.line}) reads as ${h.scoping.replace('-', ' ')}: the leak comes from code the analyzer did not follow.`
        : `The runner saw ${c.leaking.join(', ')} reach another company's ${resource}, and no handler in the source serves ${resource} ${operation}.`,
      after: 'Find where this endpoint reads the record (a dependency, middleware, another service) and scope it by company.',
      diff: null,
      noFix: 'the analyzer found no unscoped query to change',
      dynamic: 'confirmed',
      dynamicDetail: `Run ${run.runId} saw it leak to ${c.leaking.join(', ')}.`,
    });
  }
  const counts = { HIGH: 0, MEDIUM: 0, LOW: 0 };
  for (const f of findings) counts[f.severity]++;
  return { ...result, handlers, findings, counts, isolation: run };
}
