import { randomBytes, randomUUID } from 'node:crypto';
import type { Resource } from '../../src-shared/catalog.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { pick } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import type { Verdict } from '../../src-shared/tenancy.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { closeEntry, openEntry, placeEntry } from '../cache/queries/canaryLedger.ts';
import { finishRun, noteRunMessage, settleInterruptedRuns, startRun } from '../cache/queries/isolationRuns.ts';
import type { EventBus } from '../core/eventBus.ts';
import { CrmClient, describeFailure } from '../crm/crmClient.ts';
import { processAlive } from '../core/process.ts';
import { pagesOf } from '../crm/paging.ts';
import type { RetryPolicy } from '../crm/retry.ts';
import { exchange, type Answer, type Method } from '../crm/transport.ts';
import { cleanupCanaries } from './cleanup.ts';
import { ResourceProbe } from './probes.ts';
import { castOf, emptyReport, recorder, resourcesToProbe } from './report.ts';
import type { Evidence, IsolationReport, Operation, ProbeResult } from '../../src-shared/contract/isolation.ts';
import { excerpt, ListRefused, now, type ProbeDeps, type ProbeIdentity } from './kit.ts';

export { excerpt, ListRefused, now, OPERATIONS, type ProbeIdentity } from './kit.ts';
export type { Evidence, IsolationReport, Operation, ProbeResult };

/**
 * Proves, per resource and identity, that no company can list, search, read, change or delete
 * another company's records, or create one in another company's name: canary records are
 * created as the owner (each with a unique marker, written to a cleanup ledger first), then
 * probed as every other identity through the real API, writes verified by re-reading as the
 * owner. It updates and deletes only records it created.
 */
export class IsolationRunner implements ProbeDeps {
  private readonly client: CrmClient;
  /** time with at least one request in flight (the union, not the sum, of request times) */
  private waitMs = 0;
  private inFlight = 0;
  private flightStarted = 0;

  private requests = 0;
  private nextSlot = 0;

  private async timed<T>(fn: () => Promise<T>): Promise<T> {
    // a rate limit: requests at least minIntervalMs apart, over every worker
    const gap = this.opts.minIntervalMs ?? 0;
    if (gap > 0) {
      const at = Math.max(performance.now(), this.nextSlot);
      this.nextSlot = at + gap;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    this.requests++;
    if (this.inFlight++ === 0) this.flightStarted = performance.now();
    try {
      return await fn();
    } finally {
      if (--this.inFlight === 0) this.waitMs += performance.now() - this.flightStarted;
    }
  }

  constructor(
    readonly cache: OpenCache,
    readonly profile: ConnectionProfile,
    private readonly bus: EventBus,
    private readonly opts: { retry?: RetryPolicy; timeoutMs?: number; concurrency?: number; minIntervalMs?: number } = {},
  ) {
    this.client = new CrmClient(profile, opts.timeoutMs ?? 15_000);
  }

  /**
   * One request as an identity, through the adapter's transport: dropped connections, timeouts,
   * 429 and 5xx tried again (Retry-After honoured), one sign-in again on 401. A 401, 429 or 5xx
   * still there after the last try comes back as the answer: it is evidence, not an exception.
   */
  ask(who: ProbeIdentity, method: Method, url: string, body?: unknown, params?: Record<string, string | number>): Promise<Answer> {
    return this.timed(() => exchange(this.client, who, method, url, { body, params, policy: this.opts.retry }));
  }

  /**
   * Every page of a list as `who`, through the one page iterator. An answer other than 200 ends
   * it with a `ListRefused` carrying that answer (the evidence); a 200 without records where the
   * profile says is an AppError (the list could not be read).
   */
  pages(who: ProbeIdentity, url: string, query: Record<string, string | number> = {}, maxPages?: number) {
    const fetch = async (u: string, p: Record<string, string | number>) => {
      const res = await this.ask(who, 'GET', u, undefined, p);
      if (res.status !== 200) throw new ListRefused(res);
      return { data: res.data, headers: res.headers, url: res.request };
    };
    return pagesOf(this.profile.paging, this.profile.baseUrl, url, fetch, { size: this.profile.paging.maxLimit, query, maxPages });
  }

  /** A path template filled from a record's fields, its last parameter (the item's own) with `id`. */
  pathOf(template: string, record: Record<string, unknown>, id: string): string {
    const params = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    // own properties, the non-enumerable parent a nested create carries in its path included
    const values: Record<string, string> = {};
    for (const k of Object.getOwnPropertyNames(record)) if (record[k] !== null && record[k] !== undefined) values[k] = String(record[k]);
    const last = params[params.length - 1];
    if (last && id && /^(id|\w*Id|\w*_id)$/.test(last) && template.endsWith(`{${last}}`)) values[last] = id;
    return CrmClient.fillPath(template, values);
  }

  async run(identities: ProbeIdentity[], opts: { only?: string[]; readOnly?: boolean; signal?: AbortSignal } = {}): Promise<IsolationReport> {
    const started = performance.now();
    this.waitMs = 0;
    this.requests = 0;
    const raw = this.cache.raw;
    const readOnly = !!opts.readOnly;
    const { owner, probers } = castOf(identities);
    const resources = resourcesToProbe(this.profile.catalog, opts.only);
    // recorded once its inputs are accepted: a refused run leaves no run behind
    const runId = startRun(raw, now(), readOnly, process.pid);
    const report = emptyReport(runId, readOnly, owner, probers, resources);
    const record = recorder(raw, this.bus, report, started);

    // what the last run left behind goes first
    report.cleanup = await this.cleanup(identities);

    const refs = new Map<string, string>(); // resource -> an id of the owner's company, for {{ref:x}}
    try {
      const queue = [...resources];
      const worker = async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          if (opts.signal?.aborted) throw new AppError('cancelled', 'Isolation run cancelled.');
          await new ResourceProbe(this, r, owner, probers, refs, runId, readOnly, record).run();
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency ?? 4) }, worker));
    } catch (e) {
      report.complete = false;
      const err = e instanceof AppError ? e : describeFailure(e, this.profile.baseUrl);
      noteRunMessage(raw, runId, err.message);
      if (err.code !== 'cancelled') throw err;
    } finally {
      const after = await this.cleanup(identities);
      report.cleanup = { removed: report.cleanup.removed + after.removed, leftover: after.leftover };
      report.seconds = (performance.now() - started) / 1000;
      report.overhead = Math.max(0, 1 - this.waitMs / Math.max(1, performance.now() - started));
      report.requests = this.requests;
      const outcome = !report.complete ? 'incomplete' : report.counts.leak > 0 ? 'leaks' : 'ok';
      finishRun(raw, runId, {
        finishedAt: now(),
        outcome,
        probes: report.results.length,
        leaks: report.counts.leak,
        seconds: report.seconds,
        cleanup: report.cleanup,
      });
    }
    return report;
  }

  /**
   * Runs still marked running whose process is gone (killed, crashed) end as 'interrupted', with
   * what they had probed kept; a run of a live process (this one, or a CLI beside it) is left be.
   */
  static settleInterrupted(raw: OpenCache['raw']): number {
    return settleInterruptedRuns(raw, processAlive);
  }

  /**
   * Fills a body template: {{marker}}, and {{ref:x}} with a record of x in the owner's company. A
   * child whose parent travels in the path (/tickets/{ticketId}/comments) gets its parent in
   * `path` instead of the body.
   */
  private async body(
    resource: Resource,
    owner: ProbeIdentity,
    refs: Map<string, string>,
    marker: string,
    runId: number,
    readOnly: boolean,
  ): Promise<Record<string, unknown>> {
    const out = await this.templateBody(resource, owner, refs, marker, runId, readOnly);
    const d = resource.derivation;
    if (d.kind === 'parent' && out[d.field] === undefined)
      Object.defineProperty(out, d.field, {
        value: await this.refFor(d.resource, owner, refs, runId, readOnly),
        enumerable: false,
        writable: true,
        configurable: true,
      });
    return out;
  }

  private async templateBody(
    resource: Resource,
    owner: ProbeIdentity,
    refs: Map<string, string>,
    marker: string,
    runId: number,
    readOnly: boolean,
  ): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(resource.bodyTemplate ?? {})) {
      if (typeof v !== 'string') {
        out[k] = v;
        continue;
      }
      const ref = /^\{\{ref:([\w-]+)\}\}$/.exec(v);
      if (ref) {
        out[k] = await this.refFor(ref[1]!, owner, refs, runId, readOnly);
        continue;
      }
      out[k] = v.replaceAll('{{marker}}', marker);
    }
    return out;
  }

  private async refFor(name: string, owner: ProbeIdentity, refs: Map<string, string>, runId: number, readOnly: boolean): Promise<string> {
    const known = refs.get(name);
    if (known) return known;
    const target = this.profile.catalog.resources.find((r) => r.name === name);
    if (!target) throw new AppError('invalid-input', `The catalog has no resource "${name}" for a {{ref}}.`);
    // a canary of its own keeps the probes off real records
    const made = readOnly ? null : await this.createCanary(target, owner, refs, runId).catch(() => null);
    const id = made?.id ?? (await this.existingId(target, owner));
    if (!id) throw new AppError('bad-response', `No ${name} record of ${owner.label}'s company to point a canary at.`);
    refs.set(name, id);
    return id;
  }

  async existingId(resource: Resource, who: ProbeIdentity): Promise<string | null> {
    if (!resource.endpoints.list || /\{/.test(resource.endpoints.list)) return null;
    try {
      for await (const page of this.pages(who, resource.endpoints.list, {}, 1)) {
        const first = (page.items as Array<Record<string, unknown>>).find((x) => x && x[resource.idField] != null);
        return first ? String(first[resource.idField]) : null;
      }
    } catch (e) {
      if (!(e instanceof AppError)) throw e; // a list this identity cannot read has no record to offer
    }
    return null;
  }

  /** Creates a canary as the owner; the ledger entry comes first. */
  async createCanary(
    resource: Resource,
    owner: ProbeIdentity,
    refs: Map<string, string>,
    runId: number,
  ): Promise<{ id: string; marker: string; record: Record<string, unknown> } | null> {
    if (!resource.endpoints.create) return null;
    const marker = `ts-${randomBytes(6).toString('hex')}`;
    const body = await this.body(resource, owner, refs, marker, runId, false);
    const raw = this.cache.raw;
    const entry = openEntry(raw, { runId, resource: resource.name, marker, owner: owner.label, at: now() });
    const res = await this.ask(owner, 'POST', this.pathOf(resource.endpoints.create, body, ''), body);
    const id = res.status >= 200 && res.status < 300 ? pick(res.data, resource.idField) : undefined;
    if (id === undefined || id === null) {
      closeEntry(raw, entry, now(), `not created: ${res.status}`);
      throw new AppError('bad-response', `${res.request} answered ${res.status} creating a canary: ${excerpt(res.data)}`);
    }
    const record = { ...body, ...(res.data as object) };
    this.placeInLedger(entry, resource, record, String(id));
    return { id: String(id), marker, record };
  }

  /** Where a created record is deleted, or (no delete endpoint) where it is listed, so that the cleanup can confirm it went with its parent. */
  private placeInLedger(entry: number, resource: Resource, record: Record<string, unknown>, id: string): void {
    const del = resource.endpoints.delete ? this.pathOf(resource.endpoints.delete, record, id) : null;
    let list: string | null = null;
    if (!del && resource.endpoints.list) {
      try {
        list = this.pathOf(resource.endpoints.list, record, id);
      } catch {
        list = null;
      }
    }
    placeEntry(this.cache.raw, entry, id, del, list);
  }

  /** A field of the template to change, and its new value. */
  changeFor(resource: Resource, marker: string): { field: string; value: unknown } | null {
    if (resource.changeField) return { field: resource.changeField, value: `TenantScope probe ${marker || randomBytes(4).toString('hex')} changed` };
    for (const [k, v] of Object.entries(resource.bodyTemplate ?? {})) {
      if (typeof v === 'string' && v.includes('{{marker}}') && !/@/.test(v) && !/Pw1/.test(v))
        return { field: k, value: `TenantScope probe ${marker || randomBytes(4).toString('hex')} changed` };
      if (typeof v === 'number') return { field: k, value: v + 7 };
    }
    return null;
  }

  /**
   * Looks for the canary in the list (narrowed by updated_since when the profile can, and by extra
   * params). A refusal (4xx) is an answer: the canary is not listed. A list the console cannot read
   * (a 5xx, or a 200 without the records where the profile says) is `unreadable`, never "not found".
   */
  async findInList(
    resource: Resource,
    who: ProbeIdentity,
    canary: { id: string; record: Record<string, unknown> },
    extra: Record<string, string> | null,
  ): Promise<{ found: boolean; evidence: Evidence[]; unreadable?: string } | null> {
    const list = resource.endpoints.list;
    if (!list) return null;
    const params: Record<string, string | number> = { ...(extra ?? {}) };
    const inc = this.profile.incremental;
    const updated = canary.record[inc?.updatedAtField ?? 'updated_at'];
    if (inc?.updatedSinceParam && typeof updated === 'string') params[inc.updatedSinceParam] = updated;
    const url = this.pathOf(list, canary.record, canary.id);
    const evidence: Evidence[] = [];
    let first = true;
    try {
      for await (const page of this.pages(who, url, params, 50)) {
        const row = page.items.find((x) => x && String((x as Record<string, unknown>)[resource.idField]) === canary.id);
        if (first || row) evidence.push({ request: page.url, status: 200, excerpt: excerpt(row ?? page.items) });
        first = false;
        if (row) return { found: true, evidence };
        if (!page.items.length) break;
      }
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      const res = e instanceof ListRefused ? e.answer : null;
      if (res) evidence.push({ request: res.request, status: res.status, excerpt: excerpt(res.data) });
      // a refusal (4xx): not listed to this identity; a 5xx, or a 200 without the records where the profile says: never "not found"
      if (res && res.status < 500 && res.status !== 429) return { found: false, evidence };
      return { found: false, evidence, unreadable: `the list could not be read: ${res ? `${res.request} failed (${res.status})` : e.message}` };
    }
    return { found: false, evidence };
  }

  /** A refused read, update or delete: enforced, or an existence oracle when an unknown id answers differently. */
  async refusal(
    who: ProbeIdentity,
    resource: Resource,
    record: Record<string, unknown>,
    canaryId: string,
    res: Answer,
    method: 'GET' | 'PUT' | 'PATCH' | 'DELETE',
    body: unknown,
    evidence: Evidence[] = [{ request: res.request, status: res.status, excerpt: excerpt(res.data) }],
  ): Promise<[Verdict, string, Evidence[]]> {
    if (res.status >= 500) return ['error', `the CRM failed (${res.status})`, evidence];
    const template = method === 'GET' ? resource.endpoints.get! : method === 'DELETE' ? resource.endpoints.delete! : resource.endpoints.update!;
    const unknownId = randomUUID();
    const unknownPath = this.pathOf(template, record, /^\d+$/.test(canaryId) ? String(2_000_000_000 + Math.floor(Math.random() * 100_000_000)) : unknownId);
    const probe = await this.ask(who, method, unknownPath, method === 'GET' || method === 'DELETE' ? undefined : body);
    const ev = [...evidence, { request: `${probe.request} (an id that does not exist)`, status: probe.status, excerpt: excerpt(probe.data) }];
    if (probe.status !== res.status && res.status === 403 && probe.status === 404)
      return ['exists-oracle', `refused with 403 where an unknown id gets 404: the answer tells ${who.label} the record exists`, ev];
    return ['enforced', `refused (${res.status}), as for an id that does not exist`, ev];
  }

  /** Creates a record claiming the owner's company (its company field, owner or parent): it must land in the caller's own company or be refused. */
  async createForeign(
    resource: Resource,
    who: ProbeIdentity,
    owner: ProbeIdentity,
    refs: Map<string, string>,
    runId: number,
  ): Promise<[Verdict, string, Evidence[]]> {
    if (!resource.endpoints.create) return ['skipped', 'no create endpoint in the catalog', []];
    const d = resource.derivation;
    const marker = `ts-${randomBytes(6).toString('hex')}`;
    let body: Record<string, unknown>;
    try {
      body = await this.body(resource, owner, refs, marker, runId, false);
    } catch (e) {
      return ['skipped', `no body to create with: ${(e as Error).message}`, []];
    }
    let field: string;
    let claim: string;
    if (d.kind === 'own') {
      field = d.field;
      claim = owner.companyId!;
    } else if (d.kind === 'owner') {
      field = d.field;
      claim = owner.userId;
    } else if (d.kind === 'parent') {
      field = d.field;
      claim = String(body[d.field] ?? '');
    } else return ['skipped', 'the resource carries no company (shared data)', []];
    body[field] = claim;
    const entry = openEntry(this.cache.raw, { runId, resource: resource.name, marker, owner: who.label, at: now() });
    const res = await this.ask(who, 'POST', this.pathOf(resource.endpoints.create, body, ''), body);
    const ev = [{ request: `${res.request} with ${field}=${claim}`, status: res.status, excerpt: excerpt(res.data) }];
    const id = pick(res.data, resource.idField);
    if (res.status >= 200 && res.status < 300 && id != null) {
      this.placeInLedger(entry, resource, { ...body, ...(res.data as object) }, String(id));
      const landed = pick(res.data, field);
      if (String(landed) === claim) return ['leak', `${who.label} created a record in ${owner.label}'s company (${field}=${claim})`, ev];
      return ['enforced', `the record landed in ${who.label}'s own company (${field}=${String(landed)})`, ev];
    }
    closeEntry(this.cache.raw, entry, now(), `not created: ${res.status}`);
    if (res.status >= 500) return ['error', `the CRM failed (${res.status})`, ev];
    if (res.status === 409) return ['skipped', 'the CRM refused a duplicate (409): whether it would have landed in the other company cannot be told', ev];
    return ['enforced', `refused (${res.status})`, ev];
  }

  /** Deletes every canary the ledger holds open (cleanup.ts). */
  cleanup(identities: ProbeIdentity[]): Promise<IsolationReport['cleanup']> {
    return cleanupCanaries(this, identities);
  }
}
