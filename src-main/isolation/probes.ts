import type { Resource } from '../../src-shared/catalog.ts';
import { closeRecord } from '../cache/queries/canaryLedger.ts';
import type { Evidence, Operation, ProbeResult } from '../../src-shared/contract/isolation.ts';
import { pick } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import type { Verdict } from '../../src-shared/tenancy.ts';
import { describeFailure } from '../crm/crmClient.ts';
import { excerpt, now, OPERATIONS, type ProbeDeps, type ProbeIdentity } from './kit.ts';

type Canary = { id: string; marker: string; record: Record<string, unknown> };
/** a collection without an item path (a nested one) is listed and created into, never read, changed or deleted by id */
const NO_ITEM = 'no item path: the CRM serves no read, update or delete of one record of it';
const SUPER_ADMIN_WRITES = "a super admin may change any company's records";

/**
 * One resource's probes: a canary of the owner's company (or, read-only or refused, a record it
 * did not create, then only read), probed as every other identity: list, search, read by id,
 * update and delete (each verified by re-reading as someone who can), create in the owner's
 * company's name. Every probe ends in a verdict with its evidence.
 */
export class ResourceProbe {
  private canary: Canary | null = null;
  /** probing a record it did not create: reads only */
  private borrowed: boolean;
  private why = 'read-only run: no writes';
  /** who re-reads the canary to verify a write: the owner when they can, else a super admin */
  private verifier: ProbeIdentity | null = null;

  constructor(
    private readonly r: ProbeDeps,
    private readonly resource: Resource,
    private readonly owner: ProbeIdentity,
    private readonly probers: ProbeIdentity[],
    private readonly refs: Map<string, string>,
    private readonly runId: number,
    private readonly readOnly: boolean,
    private readonly record: (r: ProbeResult) => void,
  ) {
    this.borrowed = readOnly;
  }

  private out(identity: ProbeIdentity, operation: Operation, verdict: Verdict, detail: string, evidence: Evidence[] = []): void {
    this.record({ resource: this.resource.name, identity: identity.label, operation, verdict, detail, evidence });
  }

  private skipAll(why: string): void {
    for (const p of this.probers) for (const op of OPERATIONS) this.out(p, op, 'skipped', why);
  }

  async run(): Promise<void> {
    const { resource } = this;
    if (resource.class === 'global' || resource.derivation.kind === 'none') return this.skipAll('shared by every company (global data): nothing to isolate');
    const skip = await this.prepare();
    if (skip) return this.skipAll(skip);
    for (const who of this.probers) {
      if ((await this.probeAs(who)) === 'stop') break;
    }
  }

  /** The canary (or a borrowed record) and its verifier; a reason when there is nothing to probe with. */
  private async prepare(): Promise<string | null> {
    const { r, resource, owner } = this;
    try {
      if (!this.readOnly) this.canary = await r.createCanary(resource, owner, this.refs, this.runId);
    } catch (e) {
      const err = e instanceof AppError ? e : describeFailure(e, r.profile.baseUrl);
      if (err.code === 'unreachable') throw err;
      this.borrowed = true;
      this.why = `no canary of its own (${err.message}); a record it did not create is never changed`;
    }
    if (!this.canary && !this.borrowed) return 'no create endpoint in the catalog';
    if (!this.canary) {
      const id = await r.existingId(resource, owner);
      if (!id) return this.readOnly ? `${owner.label} lists no ${resource.name} record to probe with (read-only: nothing is created)` : this.why;
      this.canary = { id, marker: '', record: {} };
    }
    if (resource.endpoints.get) {
      for (const who of [owner, ...this.probers.filter((p) => p.role === 'super_admin')]) {
        if ((await r.ask(who, 'GET', this.getPath())).status === 200) {
          this.verifier = who;
          break;
        }
      }
    }
    return null;
  }

  private getPath(): string {
    return this.r.pathOf(this.resource.endpoints.get!, this.canary!.record, this.canary!.id);
  }

  /** Every operation as one identity; 'stop' when the canary is gone and none can be made again. */
  private async probeAs(who: ProbeIdentity): Promise<'next' | 'stop'> {
    const superAdmin = who.role === 'super_admin';
    await this.probeList(who);
    await this.probeSearch(who);
    if (!this.resource.endpoints.get) {
      for (const op of ['read', 'update', 'delete'] as const) this.out(who, op, 'skipped', NO_ITEM);
      if (superAdmin) this.out(who, 'create', 'skipped', SUPER_ADMIN_WRITES);
      else await this.probeCreate(who);
      return 'next';
    }
    await this.probeRead(who);
    if (superAdmin) {
      for (const op of ['update', 'delete', 'create'] as const) this.out(who, op, 'skipped', SUPER_ADMIN_WRITES);
      return 'next';
    }
    if (this.borrowed) {
      for (const op of ['update', 'delete'] as const) this.out(who, op, 'skipped', this.why);
      await this.probeCreate(who);
      return 'next';
    }
    if (!this.verifier) {
      for (const op of ['update', 'delete'] as const) this.out(who, op, 'skipped', 'no identity can re-read the canary to verify a write');
    } else {
      await this.probeUpdate(who, this.verifier);
      if ((await this.probeDelete(who, this.verifier)) === 'stop') return 'stop';
    }
    await this.probeCreate(who, true);
    return 'next';
  }

  /** Is the canary among what the CRM lists to this identity? */
  private async probeList(who: ProbeIdentity): Promise<void> {
    const listed = await this.r.findInList(this.resource, who, this.canary!, null);
    if (listed === null) this.out(who, 'list', 'skipped', 'no list endpoint in the catalog');
    else if (listed.unreadable) this.out(who, 'list', 'error', listed.unreadable, listed.evidence);
    else if (who.role === 'super_admin')
      this.out(
        who,
        'list',
        listed.found ? 'enforced' : 'error',
        listed.found
          ? "the super admin sees every company's canary, as expected"
          : 'the super admin does not see the canary: the list hides records a super admin should see',
        listed.evidence,
      );
    else
      this.out(
        who,
        'list',
        listed.found ? 'leak' : 'enforced',
        listed.found ? `${who.label} is listed ${this.owner.label}'s canary` : `the canary is not among what ${who.label} is listed`,
        listed.evidence,
      );
  }

  /** A search by the canary's marker. */
  private async probeSearch(who: ProbeIdentity): Promise<void> {
    const searchParam = this.r.profile.searchParam;
    const canary = this.canary!;
    const hasMarker = Object.values(this.resource.bodyTemplate ?? {}).some((v) => typeof v === 'string' && v.includes('{{marker}}'));
    if (!searchParam || !canary.marker || !hasMarker) {
      this.out(
        who,
        'search',
        'skipped',
        !searchParam
          ? 'the profile names no search parameter'
          : !hasMarker
            ? 'the body template carries no marker to search for'
            : 'the record probed carries no marker',
      );
      return;
    }
    const found = await this.r.findInList(this.resource, who, canary, { [searchParam]: canary.marker });
    if (!found) this.out(who, 'search', 'skipped', 'no list endpoint in the catalog');
    else if (found.unreadable) this.out(who, 'search', 'error', found.unreadable, found.evidence);
    else if (who.role === 'super_admin')
      this.out(
        who,
        'search',
        found.found ? 'enforced' : 'error',
        found.found ? 'the super admin finds the canary by its marker, as expected' : 'the super admin cannot find the canary by its marker',
        found.evidence,
      );
    else
      this.out(
        who,
        'search',
        found.found ? 'leak' : 'enforced',
        found.found ? `a search for the marker shows ${who.label} the canary` : 'a search for the marker finds nothing',
        found.evidence,
      );
  }

  /** Read by id, against an unknown id of the same shape. */
  private async probeRead(who: ProbeIdentity): Promise<void> {
    const canary = this.canary!;
    const read = await this.r.ask(who, 'GET', this.getPath());
    const readEv = [{ request: read.request, status: read.status, excerpt: excerpt(read.data) }];
    const sameRecord = read.status === 200 && String(pick(read.data, this.resource.idField)) === canary.id;
    if (who.role === 'super_admin')
      this.out(
        who,
        'read',
        sameRecord ? 'enforced' : 'error',
        sameRecord ? 'the super admin reads the canary, as expected' : `the super admin cannot read the canary (${read.status})`,
        readEv,
      );
    else if (sameRecord) this.out(who, 'read', 'leak', `${who.label} reads ${this.owner.label}'s canary by id`, readEv);
    else this.out(who, 'read', ...(await this.r.refusal(who, this.resource, canary.record, canary.id, read, 'GET', undefined)));
  }

  /** An update, verified by re-reading. */
  private async probeUpdate(who: ProbeIdentity, verifier: ProbeIdentity): Promise<void> {
    const { r, resource } = this;
    const canary = this.canary!;
    const change = r.changeFor(resource, canary.marker);
    if (!resource.endpoints.update || !change) {
      this.out(who, 'update', 'skipped', !change ? 'the body template has no field to change' : 'no update endpoint in the catalog');
      return;
    }
    const method = resource.updateMethod ?? 'PUT';
    const res = await r.ask(who, method, r.pathOf(resource.endpoints.update, canary.record, canary.id), { [change.field]: change.value });
    const after = await r.ask(verifier, 'GET', this.getPath());
    const ev = [
      { request: res.request, status: res.status, excerpt: excerpt(res.data) },
      { request: `${after.request} (as ${verifier.label})`, status: after.status, excerpt: excerpt(after.data) },
    ];
    const changed = after.status === 200 && pick(after.data, change.field) === change.value;
    if (changed) this.out(who, 'update', 'leak', `${who.label} changed ${this.owner.label}'s canary (${change.field})`, ev);
    else if (after.status !== 200)
      this.out(who, 'update', 'error', `${verifier.label} can no longer read the canary to verify the update (${after.status})`, ev);
    else if (res.status >= 200 && res.status < 300) this.out(who, 'update', 'suspect', `the CRM answered ${res.status} but the canary is unchanged`, ev);
    else this.out(who, 'update', ...(await r.refusal(who, resource, canary.record, canary.id, res, method, { [change.field]: change.value }, ev)));
  }

  /** A delete, verified by re-reading; a canary deleted is made again for the next identities ('stop' when it cannot be). */
  private async probeDelete(who: ProbeIdentity, verifier: ProbeIdentity): Promise<'ok' | 'stop'> {
    const { r, resource } = this;
    const canary = this.canary!;
    if (!resource.endpoints.delete) {
      this.out(who, 'delete', 'skipped', 'no delete endpoint in the catalog');
      return 'ok';
    }
    const res = await r.ask(who, 'DELETE', r.pathOf(resource.endpoints.delete, canary.record, canary.id));
    const after = await r.ask(verifier, 'GET', this.getPath());
    const ev = [
      { request: res.request, status: res.status, excerpt: excerpt(res.data) },
      { request: `${after.request} (as ${verifier.label})`, status: after.status, excerpt: excerpt(after.data) },
    ];
    if (after.status === 404 || after.status === 410) {
      this.out(who, 'delete', 'leak', `${who.label} deleted ${this.owner.label}'s canary`, ev);
      closeRecord(r.cache.raw, resource.name, canary.id, now(), `deleted by ${who.label}'s probe`);
      // the next identities need a canary to probe
      try {
        const again = await r.createCanary(resource, this.owner, this.refs, this.runId);
        if (!again) return 'stop';
        this.canary = again;
      } catch {
        return 'stop';
      }
    } else if (res.status >= 200 && res.status < 300) this.out(who, 'delete', 'suspect', `the CRM answered ${res.status} but the canary is still there`, ev);
    else this.out(who, 'delete', ...(await r.refusal(who, resource, canary.record, canary.id, res, 'DELETE', undefined, ev)));
    return 'ok';
  }

  /** A create in the owner's company's name (not in a read-only run). */
  private async probeCreate(who: ProbeIdentity, writesAllowed = false): Promise<void> {
    if (this.readOnly && !writesAllowed) this.out(who, 'create', 'skipped', this.why);
    else this.out(who, 'create', ...(await this.r.createForeign(this.resource, who, this.owner, this.refs, this.runId)));
  }
}
