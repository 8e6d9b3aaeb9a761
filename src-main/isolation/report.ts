import type { Catalog, Resource } from '../../src-shared/catalog.ts';
import type { IsolationReport, ProbeResult } from '../../src-shared/contract/isolation.ts';
import { AppError } from '../../src-shared/result.ts';
import { noVerdicts } from '../../src-shared/tenancy.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { probeSaver } from '../cache/queries/isolationRuns.ts';
import type { EventBus } from '../core/eventBus.ts';
import { OPERATIONS, type ProbeIdentity } from './kit.ts';

/** Who a run is between, what it probes, and the report it fills as results come in. */

/**
 * The owner of the canaries (a company admin, or another identity with a company) and the
 * identities that probe them: everyone of another company, and super admins. The owner's
 * colleagues are not probed: the boundary under test is between companies.
 */
export function castOf(identities: ProbeIdentity[]): { owner: ProbeIdentity; probers: ProbeIdentity[] } {
  const owner = identities.find((i) => i.companyId && i.role === 'company_admin') ?? identities.find((i) => i.companyId && i.role !== 'super_admin');
  if (!owner) throw new AppError('invalid-input', 'The isolation runner needs an identity with a company to own the canary records (a company admin).');
  const probers = identities.filter((i) => i !== owner && (i.role === 'super_admin' || i.companyId !== owner.companyId));
  if (!probers.some((i) => i.role !== 'super_admin' && i.companyId))
    throw new AppError('invalid-input', 'The isolation runner needs an identity of a second company to probe with.');
  return { owner, probers };
}

/** The catalog's resources with an endpoint to probe, only those named when `only` is given (an unknown name is refused). */
export function resourcesToProbe(catalog: Catalog, only?: string[]): Resource[] {
  const unknown = only?.filter((n) => !catalog.resources.some((r) => r.name === n)) ?? [];
  if (unknown.length) throw new AppError('invalid-input', `No resource named ${unknown.join(', ')} in the catalog.`);
  return catalog.resources.filter((r) => (r.endpoints.get || r.endpoints.list || r.endpoints.create) && (!only?.length || only.includes(r.name)));
}

export function emptyReport(runId: number, readOnly: boolean, owner: ProbeIdentity, probers: ProbeIdentity[], resources: Resource[]): IsolationReport {
  return {
    runId,
    readOnly,
    owner: owner.label,
    identities: probers.map((p) => p.label),
    resources: resources.map((r) => r.name),
    results: [],
    counts: noVerdicts(),
    cleanup: { removed: 0, leftover: [] },
    complete: true,
    seconds: 0,
    overhead: 0,
    requests: 0,
  };
}

/** Records each result as it comes: in the report, in the cache (a killed run keeps what it probed), and as events with the rate and time left. */
export function recorder(raw: OpenCache['raw'], bus: EventBus, report: IsolationReport, started: number): (r: ProbeResult) => void {
  const total = report.resources.length * report.identities.length * OPERATIONS.length;
  const save = probeSaver(raw, report.runId);
  return (r) => {
    report.results.push(r);
    report.counts[r.verdict]++;
    save(r);
    bus.emit('onIsolationResult', { runId: report.runId, result: r });
    const secs = Math.max((performance.now() - started) / 1000, 0.001);
    const rate = report.results.length / secs;
    bus.emit('onProgress', {
      task: `isolation:${report.runId}`,
      label: `${r.resource} · ${r.identity} · ${r.operation}`,
      done: report.results.length,
      total,
      message: `${r.verdict}: ${r.detail}`,
      rate: Math.round(rate),
      etaSeconds: Math.ceil((total - report.results.length) / Math.max(rate, 0.001)),
    });
  };
}
