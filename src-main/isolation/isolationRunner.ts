import { randomBytes, randomUUID } from 'node:crypto';
import type { Resource } from '../../src-shared/catalog.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { pick } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import { noVerdicts, type Verdict } from '../../src-shared/tenancy.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import { finishRun, noteRunMessage, probeSaver, settleInterruptedRuns, startRun } from '../cache/queries/isolationRuns.ts';
import type { EventBus } from '../core/eventBus.ts';
import { CrmClient, describeFailure } from '../crm/crmClient.ts';
import { processAlive } from '../core/process.ts';
import { pagesOf } from '../crm/paging.ts';
import type { RetryPolicy } from '../crm/retry.ts';
import { exchange, type Answer, type CrmIdentity, type Method } from '../crm/transport.ts';
import { OPERATIONS as ALL_OPERATIONS, type Evidence, type IsolationReport, type Operation, type ProbeResult } from '../../src-shared/contract/isolation.ts';

/** An identity the runner probes with: anyone signed in through the adapter (transport.signInIdentities). */
export type ProbeIdentity = CrmIdentity;

export type { Evidence, IsolationReport, Operation, ProbeResult };
export const OPERATIONS: Operation[] = [...ALL_OPERATIONS];

/** A list answered with something other than 200: the answer is the evidence. */
class ListRefused extends AppError {
  constructor(readonly answer: Answer) {
    super('bad-response', `${answer.request} answered ${answer.status}`);
  }
}

const excerpt = (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data) ?? '').slice(0, 240);
const now = () => new Date().toISOString();

/**
 * Proves, per resource and identity, that no company can list, search, read, change or delete
 * another company's records, or create one in another company's name: canary records are
 * created as the owner (each with a unique marker, written to a cleanup ledger first), then
 * probed as every other identity through the real API, writes verified by re-reading as the
 * owner. It updates and deletes only records it created.
 */
export class IsolationRunner {
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
    private readonly cache: OpenCache,
    private readonly profile: ConnectionProfile,
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
  private ask(who: ProbeIdentity, method: Method, url: string, body?: unknown, params?: Record<string, string | number>): Promise<Answer> {
    return this.timed(() => exchange(this.client, who, method, url, { body, params, policy: this.opts.retry }));
  }

  /**
   * Every page of a list as `who`, through the one page iterator. An answer other than 200 ends
   * it with a `ListRefused` carrying that answer (the evidence); a 200 without records where the
   * profile says is an AppError (the list could not be read).
   */
  private pages(who: ProbeIdentity, url: string, query: Record<string, string | number> = {}, maxPages?: number) {
    const fetch = async (u: string, p: Record<string, string | number>) => {
      const res = await this.ask(who, 'GET', u, undefined, p);
      if (res.status !== 200) throw new ListRefused(res);
      return { data: res.data, headers: res.headers, url: res.request };
    };
    return pagesOf(this.profile.paging, this.profile.baseUrl, url, fetch, { size: this.profile.paging.maxLimit, query, maxPages });
  }

  /** A path template filled from a record's fields, its last parameter (the item's own) with `id`. */
  private pathOf(template: string, record: Record<string, unknown>, id: string): string {
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
    const owner = identities.find((i) => i.companyId && i.role === 'company_admin') ?? identities.find((i) => i.companyId && i.role !== 'super_admin');
    if (!owner) throw new AppError('invalid-input', 'The isolation runner needs an identity with a company to own the canary records (a company admin).');
    const company = owner.companyId!;
    // the owner's colleagues are not probed: the boundary under test is between companies
    const probers = identities.filter((i) => i !== owner && (i.role === 'super_admin' || i.companyId !== company));
    if (!probers.some((i) => i.role !== 'super_admin' && i.companyId)) throw new AppError('invalid-input', 'The isolation runner needs an identity of a second company to probe with.');
    const resources = this.profile.catalog.resources.filter((r) => (r.endpoints.get || r.endpoints.list || r.endpoints.create) && (!opts.only?.length || opts.only.includes(r.name)));
    const unknown = opts.only?.filter((n) => !this.profile.catalog.resources.some((r) => r.name === n)) ?? [];
    if (unknown.length) throw new AppError('invalid-input', `No resource named ${unknown.join(', ')} in the catalog.`);
    // recorded once its inputs are accepted: a refused run leaves no run behind
    const runId = startRun(raw, now(), readOnly, process.pid);

    const report: IsolationReport = {
      runId, readOnly, owner: owner.label, identities: probers.map((p) => p.label), resources: resources.map((r) => r.name), results: [],
      counts: noVerdicts(),
      cleanup: { removed: 0, leftover: [] }, complete: true, seconds: 0, overhead: 0, requests: 0,
    };
    const total = resources.length * probers.length * OPERATIONS.length;
    const save = probeSaver(raw, runId);
    const record = (r: ProbeResult) => {
      report.results.push(r);
      report.counts[r.verdict]++;
      save(r);
      this.bus.emit('onIsolationResult', { runId, result: r });
      const secs = Math.max((performance.now() - started) / 1000, 0.001);
      const rate = report.results.length / secs;
      this.bus.emit('onProgress', { task: `isolation:${runId}`, label: `${r.resource} · ${r.identity} · ${r.operation}`, done: report.results.length, total, message: `${r.verdict}: ${r.detail}`, rate: Math.round(rate), etaSeconds: Math.ceil((total - report.results.length) / Math.max(rate, 0.001)) });
    };

    // what the last run left behind goes first
    report.cleanup = await this.cleanup(identities);

    const refs = new Map<string, string>(); // resource -> an id of the owner's company, for {{ref:x}}
    try {
      const queue = [...resources];
      const worker = async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          if (opts.signal?.aborted) throw new AppError('cancelled', 'Isolation run cancelled.');
          await this.probeResource(r, owner, probers, refs, runId, readOnly, record);
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
      finishRun(raw, runId, { finishedAt: now(), outcome, probes: report.results.length, leaks: report.counts.leak, seconds: report.seconds, cleanup: report.cleanup });
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
  private async body(resource: Resource, owner: ProbeIdentity, refs: Map<string, string>, marker: string, runId: number, readOnly: boolean): Promise<Record<string, unknown>> {
    const out = await this.templateBody(resource, owner, refs, marker, runId, readOnly);
    const d = resource.derivation;
    if (d.kind === 'parent' && out[d.field] === undefined) Object.defineProperty(out, d.field, { value: await this.refFor(d.resource, owner, refs, runId, readOnly), enumerable: false, writable: true, configurable: true });
    return out;
  }

  private async templateBody(resource: Resource, owner: ProbeIdentity, refs: Map<string, string>, marker: string, runId: number, readOnly: boolean): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(resource.bodyTemplate ?? {})) {
      if (typeof v !== 'string') { out[k] = v; continue; }
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

  private async existingId(resource: Resource, who: ProbeIdentity): Promise<string | null> {
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
  private async createCanary(resource: Resource, owner: ProbeIdentity, refs: Map<string, string>, runId: number): Promise<{ id: string; marker: string; record: Record<string, unknown> } | null> {
    if (!resource.endpoints.create) return null;
    const marker = `ts-${randomBytes(6).toString('hex')}`;
    const body = await this.body(resource, owner, refs, marker, runId, false);
    const raw = this.cache.raw;
    const entry = Number(raw.prepare('INSERT INTO canary_ledger (run_id, resource, marker, owner, created_at) VALUES (?, ?, ?, ?, ?)').run(runId, resource.name, marker, owner.label, now()).lastInsertRowid);
    const res = await this.ask(owner, 'POST', this.pathOf(resource.endpoints.create, body, ''), body);
    const id = res.status >= 200 && res.status < 300 ? pick(res.data, resource.idField) : undefined;
    if (id === undefined || id === null) {
      raw.prepare('UPDATE canary_ledger SET removed_at = ?, note = ? WHERE id = ?').run(now(), `not created: ${res.status}`, entry);
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
      try { list = this.pathOf(resource.endpoints.list, record, id); } catch { list = null; }
    }
    this.cache.raw.prepare('UPDATE canary_ledger SET record_id = ?, delete_path = ?, list_path = ? WHERE id = ?').run(id, del, list, entry);
  }

  private async probeResource(resource: Resource, owner: ProbeIdentity, probers: ProbeIdentity[], refs: Map<string, string>, runId: number, readOnly: boolean, record: (r: ProbeResult) => void): Promise<void> {
    const out = (identity: ProbeIdentity, operation: Operation, verdict: Verdict, detail: string, evidence: Evidence[] = []) =>
      record({ resource: resource.name, identity: identity.label, operation, verdict, detail, evidence });
    const skipAll = (why: string) => { for (const p of probers) for (const op of OPERATIONS) out(p, op, 'skipped', why); };
    if (resource.class === 'global' || resource.derivation.kind === 'none') return skipAll('shared by every company (global data): nothing to isolate');

    let canary: { id: string; marker: string; record: Record<string, unknown> } | null = null;
    // without a canary of its own (read-only, or the CRM refuses a second one) it probes an existing
    // record, and then only reads: it never changes a record it did not create
    let borrowed = readOnly;
    let why = 'read-only run: no writes';
    try {
      if (!readOnly) canary = await this.createCanary(resource, owner, refs, runId);
    } catch (e) {
      const err = e instanceof AppError ? e : describeFailure(e, this.profile.baseUrl);
      if (err.code === 'unreachable') throw err;
      borrowed = true;
      why = `no canary of its own (${err.message}); a record it did not create is never changed`;
    }
    if (!canary && !borrowed) return skipAll('no create endpoint in the catalog');
    if (!canary) {
      const id = await this.existingId(resource, owner);
      if (!id) return skipAll(readOnly ? `${owner.label} lists no ${resource.name} record to probe with (read-only: nothing is created)` : why);
      canary = { id, marker: '', record: {} };
    }
    const hasMarker = Object.values(resource.bodyTemplate ?? {}).some((v) => typeof v === 'string' && v.includes('{{marker}}'));
    const getPath = () => this.pathOf(resource.endpoints.get!, canary!.record, canary!.id);
    const change = this.changeFor(resource, canary.marker);
    // writes are verified by re-reading: as the owner when the owner can read it, else as a super admin
    const readsIt = async (who: ProbeIdentity) => (await this.ask(who, 'GET', getPath())).status === 200;
    let verifier: ProbeIdentity | null = null;
    if (resource.endpoints.get) {
      for (const who of [owner, ...probers.filter((p) => p.role === 'super_admin')]) {
        if (await readsIt(who)) { verifier = who; break; }
      }
    }
    // a collection without an item path (a nested one) is listed and created into, never read, changed or deleted by id
    const noItem = 'no item path: the CRM serves no read, update or delete of one record of it';

    for (const who of probers) {
      const superAdmin = who.role === 'super_admin';
      // list: is the canary among what the CRM lists to this identity?
      const listed = await this.findInList(resource, who, canary, null);
      if (listed === null) out(who, 'list', 'skipped', 'no list endpoint in the catalog');
      else if (listed.unreadable) out(who, 'list', 'error', listed.unreadable, listed.evidence);
      else if (superAdmin) out(who, 'list', listed.found ? 'enforced' : 'error', listed.found ? 'the super admin sees every company\'s canary, as expected' : 'the super admin does not see the canary: the list hides records a super admin should see', listed.evidence);
      else out(who, 'list', listed.found ? 'leak' : 'enforced', listed.found ? `${who.label} is listed ${owner.label}'s canary` : `the canary is not among what ${who.label} is listed`, listed.evidence);

      // search by the canary's marker
      const searchParam = this.profile.searchParam;
      if (!searchParam || !canary.marker || !hasMarker) out(who, 'search', 'skipped', !searchParam ? 'the profile names no search parameter' : !hasMarker ? 'the body template carries no marker to search for' : 'the record probed carries no marker');
      else {
        const found = await this.findInList(resource, who, canary, { [searchParam]: canary.marker });
        if (!found) out(who, 'search', 'skipped', 'no list endpoint in the catalog');
        else if (found.unreadable) out(who, 'search', 'error', found.unreadable, found.evidence);
        else if (superAdmin) out(who, 'search', found.found ? 'enforced' : 'error', found.found ? 'the super admin finds the canary by its marker, as expected' : 'the super admin cannot find the canary by its marker', found.evidence);
        else out(who, 'search', found.found ? 'leak' : 'enforced', found.found ? `a search for the marker shows ${who.label} the canary` : 'a search for the marker finds nothing', found.evidence);
      }

      if (!resource.endpoints.get) {
        for (const op of ['read', 'update', 'delete'] as const) out(who, op, 'skipped', noItem);
        if (superAdmin) out(who, 'create', 'skipped', 'a super admin may change any company\'s records');
        else if (readOnly) out(who, 'create', 'skipped', why);
        else out(who, 'create', ...(await this.createForeign(resource, who, owner, refs, runId)));
        continue;
      }

      // read by id, against an unknown id of the same shape
      const read = await this.ask(who, 'GET', getPath());
      const readEv = [{ request: read.request, status: read.status, excerpt: excerpt(read.data) }];
      const sameRecord = read.status === 200 && String(pick(read.data, resource.idField)) === canary.id;
      if (superAdmin) out(who, 'read', sameRecord ? 'enforced' : 'error', sameRecord ? 'the super admin reads the canary, as expected' : `the super admin cannot read the canary (${read.status})`, readEv);
      else if (sameRecord) out(who, 'read', 'leak', `${who.label} reads ${owner.label}'s canary by id`, readEv);
      else out(who, 'read', ...(await this.refusal(who, resource, canary.record, canary.id, read, 'GET', undefined)));

      if (superAdmin) {
        for (const op of ['update', 'delete', 'create'] as const) out(who, op, 'skipped', 'a super admin may change any company\'s records');
        continue;
      }
      if (borrowed) {
        for (const op of ['update', 'delete'] as const) out(who, op, 'skipped', why);
        if (readOnly) out(who, 'create', 'skipped', why);
        else out(who, 'create', ...(await this.createForeign(resource, who, owner, refs, runId)));
        continue;
      }

      // update, verified by re-reading as the owner
      if (!verifier) {
        for (const op of ['update', 'delete'] as const) out(who, op, 'skipped', 'no identity can re-read the canary to verify a write');
      } else if (!resource.endpoints.update || !change) out(who, 'update', 'skipped', !change ? 'the body template has no field to change' : 'no update endpoint in the catalog');
      else {
        const method = resource.updateMethod ?? 'PUT';
        const res = await this.ask(who, method, this.pathOf(resource.endpoints.update, canary.record, canary.id), { [change.field]: change.value });
        const after = await this.ask(verifier, 'GET', getPath());
        const ev = [{ request: res.request, status: res.status, excerpt: excerpt(res.data) }, { request: `${after.request} (as ${verifier.label})`, status: after.status, excerpt: excerpt(after.data) }];
        const changed = after.status === 200 && pick(after.data, change.field) === change.value;
        if (changed) out(who, 'update', 'leak', `${who.label} changed ${owner.label}'s canary (${change.field})`, ev);
        else if (after.status !== 200) out(who, 'update', 'error', `${verifier.label} can no longer read the canary to verify the update (${after.status})`, ev);
        else if (res.status >= 200 && res.status < 300) out(who, 'update', 'suspect', `the CRM answered ${res.status} but the canary is unchanged`, ev);
        else out(who, 'update', ...(await this.refusal(who, resource, canary.record, canary.id, res, method, { [change.field]: change.value }, ev)));
      }

      // delete, verified by re-reading as the owner (or a super admin)
      if (!verifier) { /* said above */ } else if (!resource.endpoints.delete) out(who, 'delete', 'skipped', 'no delete endpoint in the catalog');
      else {
        const res = await this.ask(who, 'DELETE', this.pathOf(resource.endpoints.delete, canary.record, canary.id));
        const after = await this.ask(verifier, 'GET', getPath());
        const ev = [{ request: res.request, status: res.status, excerpt: excerpt(res.data) }, { request: `${after.request} (as ${verifier.label})`, status: after.status, excerpt: excerpt(after.data) }];
        if (after.status === 404 || after.status === 410) {
          out(who, 'delete', 'leak', `${who.label} deleted ${owner.label}'s canary`, ev);
          this.cache.raw.prepare('UPDATE canary_ledger SET removed_at = ?, note = ? WHERE resource = ? AND record_id = ?').run(now(), `deleted by ${who.label}'s probe`, resource.name, canary.id);
          // the next identities need a canary to probe
          try {
            const again = await this.createCanary(resource, owner, refs, runId);
            if (!again) break;
            canary = again;
          } catch {
            break;
          }
        } else if (res.status >= 200 && res.status < 300) out(who, 'delete', 'suspect', `the CRM answered ${res.status} but the canary is still there`, ev);
        else out(who, 'delete', ...(await this.refusal(who, resource, canary.record, canary.id, res, 'DELETE', undefined, ev)));
      }

      // create in the owner's company's name
      out(who, 'create', ...(await this.createForeign(resource, who, owner, refs, runId)));
    }
  }

  /** A field of the template to change, and its new value. */
  private changeFor(resource: Resource, marker: string): { field: string; value: unknown } | null {
    if (resource.changeField) return { field: resource.changeField, value: `TenantScope probe ${marker || randomBytes(4).toString('hex')} changed` };
    for (const [k, v] of Object.entries(resource.bodyTemplate ?? {})) {
      if (typeof v === 'string' && v.includes('{{marker}}') && !/@/.test(v) && !/Pw1/.test(v)) return { field: k, value: `TenantScope probe ${marker || randomBytes(4).toString('hex')} changed` };
      if (typeof v === 'number') return { field: k, value: v + 7 };
    }
    return null;
  }

  /**
   * Looks for the canary in the list (narrowed by updated_since when the profile can, and by extra
   * params). A refusal (4xx) is an answer: the canary is not listed. A list the console cannot read
   * (a 5xx, or a 200 without the records where the profile says) is `unreadable`, never "not found".
   */
  private async findInList(resource: Resource, who: ProbeIdentity, canary: { id: string; record: Record<string, unknown> }, extra: Record<string, string> | null): Promise<{ found: boolean; evidence: Evidence[]; unreadable?: string } | null> {
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
  private async refusal(who: ProbeIdentity, resource: Resource, record: Record<string, unknown>, canaryId: string, res: Answer, method: 'GET' | 'PUT' | 'PATCH' | 'DELETE', body: unknown, evidence: Evidence[] = [{ request: res.request, status: res.status, excerpt: excerpt(res.data) }]): Promise<[Verdict, string, Evidence[]]> {
    if (res.status >= 500) return ['error', `the CRM failed (${res.status})`, evidence];
    const template = method === 'GET' ? resource.endpoints.get! : method === 'DELETE' ? resource.endpoints.delete! : resource.endpoints.update!;
    const unknownId = randomUUID();
    const unknownPath = this.pathOf(template, record, /^\d+$/.test(canaryId) ? String(2_000_000_000 + Math.floor(Math.random() * 100_000_000)) : unknownId);
    const probe = await this.ask(who, method, unknownPath, method === 'GET' || method === 'DELETE' ? undefined : body);
    const ev = [...evidence, { request: `${probe.request} (an id that does not exist)`, status: probe.status, excerpt: excerpt(probe.data) }];
    if (probe.status !== res.status && res.status === 403 && probe.status === 404) return ['exists-oracle', `refused with 403 where an unknown id gets 404: the answer tells ${who.label} the record exists`, ev];
    return ['enforced', `refused (${res.status}), as for an id that does not exist`, ev];
  }

  /** Creates a record claiming the owner's company (its company field, owner or parent): it must land in the caller's own company or be refused. */
  private async createForeign(resource: Resource, who: ProbeIdentity, owner: ProbeIdentity, refs: Map<string, string>, runId: number): Promise<[Verdict, string, Evidence[]]> {
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
    if (d.kind === 'own') { field = d.field; claim = owner.companyId!; }
    else if (d.kind === 'owner') { field = d.field; claim = owner.userId; }
    else if (d.kind === 'parent') { field = d.field; claim = String(body[d.field] ?? ''); }
    else return ['skipped', 'the resource carries no company (shared data)', []];
    body[field] = claim;
    const entry = Number(this.cache.raw.prepare('INSERT INTO canary_ledger (run_id, resource, marker, owner, created_at) VALUES (?, ?, ?, ?, ?)').run(runId, resource.name, marker, who.label, now()).lastInsertRowid);
    const res = await this.ask(who, 'POST', this.pathOf(resource.endpoints.create, body, ''), body);
    const ev = [{ request: `${res.request} with ${field}=${claim}`, status: res.status, excerpt: excerpt(res.data) }];
    const id = pick(res.data, resource.idField);
    if (res.status >= 200 && res.status < 300 && id != null) {
      this.placeInLedger(entry, resource, { ...body, ...(res.data as object) }, String(id));
      const landed = pick(res.data, field);
      if (String(landed) === claim) return ['leak', `${who.label} created a record in ${owner.label}'s company (${field}=${claim})`, ev];
      return ['enforced', `the record landed in ${who.label}'s own company (${field}=${String(landed)})`, ev];
    }
    this.cache.raw.prepare('UPDATE canary_ledger SET removed_at = ?, note = ? WHERE id = ?').run(now(), `not created: ${res.status}`, entry);
    if (res.status >= 500) return ['error', `the CRM failed (${res.status})`, ev];
    if (res.status === 409) return ['skipped', 'the CRM refused a duplicate (409): whether it would have landed in the other company cannot be told', ev];
    return ['enforced', `refused (${res.status})`, ev];
  }

  /**
   * Deletes every canary the ledger holds open (this run's, or one killed before): as the identity
   * that created it, else as any identity that can; found by marker when the create's answer was
   * lost. What cannot be deleted is reported.
   */
  async cleanup(identities: ProbeIdentity[]): Promise<IsolationReport['cleanup']> {
    const raw = this.cache.raw;
    const open = raw.prepare('SELECT id, resource, marker, record_id, delete_path, list_path, owner FROM canary_ledger WHERE removed_at IS NULL ORDER BY id DESC').all() as Array<{ id: number; resource: string; marker: string; record_id: string | null; delete_path: string | null; list_path: string | null; owner: string }>;
    /** records with no delete endpoint that go with their parent: confirmed once the parents are deleted */
    const withParent: Array<{ row: (typeof open)[number]; order: ProbeIdentity[] }> = [];
    const done = raw.prepare('UPDATE canary_ledger SET removed_at = ?, note = ? WHERE id = ?');
    const keep = raw.prepare('UPDATE canary_ledger SET note = ? WHERE id = ?');
    let removed = 0;
    const leftover: IsolationReport['cleanup']['leftover'] = [];
    // children before parents: the newest first
    for (const row of open) {
      const resource = this.profile.catalog.resources.find((r) => r.name === row.resource);
      const creator = identities.find((i) => i.label === row.owner);
      const order = [...new Set([creator, ...identities.filter((i) => i.role === 'super_admin'), ...identities].filter((x): x is ProbeIdentity => !!x))];
      let id = row.record_id;
      let deletePath = row.delete_path;
      if (!id && resource?.endpoints.list && !/\{/.test(resource.endpoints.list) && this.profile.searchParam) {
        for (const who of order) {
          let hit: Record<string, unknown> | undefined;
          let read = false;
          try {
            for await (const page of this.pages(who, resource.endpoints.list, { [this.profile.searchParam]: row.marker }, 200)) {
              hit = (page.items as Array<Record<string, unknown>>).find((x) => JSON.stringify(x).includes(row.marker));
              if (hit) break;
            }
            read = true;
          } catch { /* this identity cannot list it: the next may */ }
          if (hit) {
            id = String(hit[resource.idField]);
            deletePath = resource.endpoints.delete ? this.pathOf(resource.endpoints.delete, hit, id) : null;
            break;
          }
          if (read) break;
        }
        if (!id) { done.run(now(), 'never created (the marker is nowhere)', row.id); continue; }
      }
      if (!deletePath && id && resource?.endpoints.delete && !/\{[^}]+\}.*\{/.test(resource.endpoints.delete)) deletePath = CrmClient.fillPath(resource.endpoints.delete, { id });
      if (!deletePath && id && row.list_path) {
        withParent.push({ row, order });
        continue;
      }
      if (!deletePath || !id) {
        keep.run('no delete endpoint, or no way to find it', row.id);
        leftover.push({ resource: row.resource, id, marker: row.marker, note: 'no delete endpoint, or no way to find it' });
        continue;
      }
      // 2xx from anyone: deleted; 404 from everyone (the super admin included): gone already
      let gone = false;
      let notFound = 0;
      let last = '';
      for (const who of order) {
        const res = await this.ask(who, 'DELETE', deletePath).catch((e: Error) => ({ status: 0, data: e.message, request: '' }));
        if (res.status >= 200 && res.status < 300) { gone = true; break; }
        if (res.status === 404 || res.status === 410) notFound++;
        else last = `${res.status} ${excerpt(res.data)}`;
      }
      if (!gone && notFound === order.length) gone = true;
      if (gone) {
        removed++;
        done.run(now(), null, row.id);
      } else {
        keep.run(`could not delete: ${last}`, row.id);
        leftover.push({ resource: row.resource, id, marker: row.marker, note: `could not delete: ${last}` });
      }
    }
    for (const { row, order } of withParent) {
      const resource = this.profile.catalog.resources.find((r) => r.name === row.resource);
      let still: boolean | null = null;
      for (const who of order) {
        try {
          still = false;
          for await (const page of this.pages(who, row.list_path!)) {
            if (page.items.some((x) => x && String((x as Record<string, unknown>)[resource?.idField ?? 'id']) === row.record_id)) { still = true; break; }
          }
          break;
        } catch (e) {
          // the parent is gone with it; any other failure: the next identity may read the list
          if (e instanceof ListRefused && (e.answer.status === 404 || e.answer.status === 410)) { still = false; break; }
          still = null;
        }
      }
      if (still === false) {
        removed++;
        done.run(now(), 'went with its parent', row.id);
      } else {
        const note = still ? `no delete endpoint, and it is still listed at ${row.list_path}` : `no delete endpoint, and ${row.list_path} could not be read to confirm it is gone`;
        keep.run(note, row.id);
        leftover.push({ resource: row.resource, id: row.record_id, marker: row.marker, note });
      }
    }
    return { removed, leftover };
  }
}
