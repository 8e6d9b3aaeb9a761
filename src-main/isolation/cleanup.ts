import type { Resource } from '../../src-shared/catalog.ts';
import { closeEntry, noteEntry, openCanaries, type OpenCanary } from '../cache/queries/canaryLedger.ts';
import type { IsolationReport } from '../../src-shared/contract/isolation.ts';
import { CrmClient } from '../crm/crmClient.ts';
import { excerpt, ListRefused, now, type ProbeDeps, type ProbeIdentity } from './kit.ts';

/**
 * Deletes every canary the ledger holds open (this run's, or one killed before): as the identity
 * that created it, else as any identity that can; found by marker when the create's answer was
 * lost. What cannot be deleted is reported.
 */
export async function cleanupCanaries(runner: ProbeDeps, identities: ProbeIdentity[]): Promise<IsolationReport['cleanup']> {
  const raw = runner.cache.raw;
  const open = openCanaries(raw);
  /** records with no delete endpoint that go with their parent: confirmed once the parents are deleted */
  const withParent: Array<{ row: OpenCanary; order: ProbeIdentity[] }> = [];
  let removed = 0;
  const leftover: IsolationReport['cleanup']['leftover'] = [];
  // children before parents: the newest first
  for (const row of open) {
    const resource = runner.profile.catalog.resources.find((r) => r.name === row.resource);
    const creator = identities.find((i) => i.label === row.owner);
    const order = [...new Set([creator, ...identities.filter((i) => i.role === 'super_admin'), ...identities].filter((x): x is ProbeIdentity => !!x))];
    let id = row.record_id;
    let deletePath = row.delete_path;
    if (!id && resource?.endpoints.list && !/\{/.test(resource.endpoints.list) && runner.profile.searchParam) {
      const hit = await findByMarker(runner, resource, order, row.marker);
      if (!hit) {
        closeEntry(raw, row.id, now(), 'never created (the marker is nowhere)');
        continue;
      }
      ({ id, deletePath } = hit);
    }
    if (!deletePath && id && resource?.endpoints.delete && !/\{[^}]+\}.*\{/.test(resource.endpoints.delete))
      deletePath = CrmClient.fillPath(resource.endpoints.delete, { id });
    if (!deletePath && id && row.list_path) {
      withParent.push({ row, order });
      continue;
    }
    if (!deletePath || !id) {
      noteEntry(raw, row.id, 'no delete endpoint, or no way to find it');
      leftover.push({ resource: row.resource, id, marker: row.marker, note: 'no delete endpoint, or no way to find it' });
      continue;
    }
    const { gone, last } = await deleteAsAnyone(runner, order, deletePath);
    if (gone) {
      removed++;
      closeEntry(raw, row.id, now(), null);
    } else {
      noteEntry(raw, row.id, `could not delete: ${last}`);
      leftover.push({ resource: row.resource, id, marker: row.marker, note: `could not delete: ${last}` });
    }
  }
  for (const { row, order } of withParent) {
    const resource = runner.profile.catalog.resources.find((r) => r.name === row.resource);
    const still = await stillListed(runner, order, row.list_path!, resource?.idField ?? 'id', row.record_id);
    if (still === false) {
      removed++;
      closeEntry(raw, row.id, now(), 'went with its parent');
    } else {
      const note = still
        ? `no delete endpoint, and it is still listed at ${row.list_path}`
        : `no delete endpoint, and ${row.list_path} could not be read to confirm it is gone`;
      noteEntry(raw, row.id, note);
      leftover.push({ resource: row.resource, id: row.record_id, marker: row.marker, note });
    }
  }
  return { removed, leftover };
}

/** A canary whose create's answer was lost, found by its marker in the list as the first identity that can read it. */
async function findByMarker(
  runner: ProbeDeps,
  resource: Resource,
  order: ProbeIdentity[],
  marker: string,
): Promise<{ id: string; deletePath: string | null } | null> {
  for (const who of order) {
    let hit: Record<string, unknown> | undefined;
    let read = false;
    try {
      for await (const page of runner.pages(who, resource.endpoints.list!, { [runner.profile.searchParam!]: marker }, 200)) {
        hit = (page.items as Array<Record<string, unknown>>).find((x) => JSON.stringify(x).includes(marker));
        if (hit) break;
      }
      read = true;
    } catch {
      /* this identity cannot list it: the next may */
    }
    if (hit) {
      const id = String(hit[resource.idField]);
      return { id, deletePath: resource.endpoints.delete ? runner.pathOf(resource.endpoints.delete, hit, id) : null };
    }
    if (read) break;
  }
  return null;
}

/** 2xx from anyone: deleted; 404 from everyone (the super admin included): gone already. */
async function deleteAsAnyone(runner: ProbeDeps, order: ProbeIdentity[], deletePath: string): Promise<{ gone: boolean; last: string }> {
  let notFound = 0;
  let last = '';
  for (const who of order) {
    const res = await runner.ask(who, 'DELETE', deletePath).catch((e: Error) => ({ status: 0, data: e.message, request: '' }));
    if (res.status >= 200 && res.status < 300) return { gone: true, last };
    if (res.status === 404 || res.status === 410) notFound++;
    else last = `${res.status} ${excerpt(res.data)}`;
  }
  return { gone: notFound === order.length, last };
}

/** Whether a record with no delete endpoint is still listed under its parent: false once the parent's list is gone (404), null when no identity can read it. */
async function stillListed(runner: ProbeDeps, order: ProbeIdentity[], listPath: string, idField: string, recordId: string | null): Promise<boolean | null> {
  let still: boolean | null = null;
  for (const who of order) {
    try {
      still = false;
      for await (const page of runner.pages(who, listPath)) {
        if (page.items.some((x) => x && String((x as Record<string, unknown>)[idField]) === recordId)) {
          still = true;
          break;
        }
      }
      break;
    } catch (e) {
      // the parent is gone with it; any other failure: the next identity may read the list
      if (e instanceof ListRefused && (e.answer.status === 404 || e.answer.status === 410)) {
        still = false;
        break;
      }
      still = null;
    }
  }
  return still;
}
