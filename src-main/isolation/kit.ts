import type { Resource } from '../../src-shared/catalog.ts';
import { OPERATIONS as ALL_OPERATIONS, type Evidence, type Operation } from '../../src-shared/contract/isolation.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import type { Verdict } from '../../src-shared/tenancy.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import type { Page } from '../crm/paging.ts';
import type { Answer, CrmIdentity, Method } from '../crm/transport.ts';

/** An identity the runner probes with: anyone signed in through the adapter (transport.signInIdentities). */
export type ProbeIdentity = CrmIdentity;

export const OPERATIONS: Operation[] = [...ALL_OPERATIONS];

/** A list answered with something other than 200: the answer is the evidence. */
export class ListRefused extends AppError {
  constructor(readonly answer: Answer) {
    super('bad-response', `${answer.request} answered ${answer.status}`);
  }
}

export const excerpt = (data: unknown) => (typeof data === 'string' ? data : (JSON.stringify(data) ?? '')).slice(0, 240);
export const now = () => new Date().toISOString();

type Canary = { id: string; marker: string; record: Record<string, unknown> };

/** What a resource's probes and the cleanup ask of the runner (probes.ts, cleanup.ts): requests as an identity, canaries, verdicts of refusals. */
export interface ProbeDeps {
  readonly cache: OpenCache;
  readonly profile: ConnectionProfile;
  ask(who: ProbeIdentity, method: Method, url: string, body?: unknown, params?: Record<string, string | number>): Promise<Answer>;
  pages(who: ProbeIdentity, url: string, query?: Record<string, string | number>, maxPages?: number): AsyncGenerator<Page>;
  pathOf(template: string, record: Record<string, unknown>, id: string): string;
  createCanary(resource: Resource, owner: ProbeIdentity, refs: Map<string, string>, runId: number): Promise<Canary | null>;
  existingId(resource: Resource, who: ProbeIdentity): Promise<string | null>;
  changeFor(resource: Resource, marker: string): { field: string; value: unknown } | null;
  findInList(
    resource: Resource,
    who: ProbeIdentity,
    canary: { id: string; record: Record<string, unknown> },
    extra: Record<string, string> | null,
  ): Promise<{ found: boolean; evidence: Evidence[]; unreadable?: string } | null>;
  refusal(
    who: ProbeIdentity,
    resource: Resource,
    record: Record<string, unknown>,
    canaryId: string,
    res: Answer,
    method: 'GET' | 'PUT' | 'PATCH' | 'DELETE',
    body: unknown,
    evidence?: Evidence[],
  ): Promise<[Verdict, string, Evidence[]]>;
  createForeign(resource: Resource, who: ProbeIdentity, owner: ProbeIdentity, refs: Map<string, string>, runId: number): Promise<[Verdict, string, Evidence[]]>;
}
