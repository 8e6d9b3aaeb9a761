import { Command } from 'cmdk';
import { useEffect, useMemo, useState } from 'react';
import type { Output } from '../../src-shared/contract.ts';
import { paletteScore } from '../../src-shared/paletteScore.ts';
import { scopeOf } from '../../src-shared/scope.ts';
import { call } from '../api.ts';
import { useAudit } from '../stores/auditStore.ts';
import { useData } from '../stores/dataStore.ts';
import { useIsolation } from '../stores/isolationStore.ts';
import { useMigration } from '../stores/migrationStore.ts';
import { useSafety } from '../stores/safetyStore.ts';
import { useSession } from '../stores/sessionStore.ts';
import { useSync } from '../stores/syncStore.ts';
import { useUi, VIEWS } from '../stores/uiStore.ts';

/** One thing the palette can do: found by its label and keywords, run on Enter. */
interface Entry {
  id: string;
  group: 'Views' | 'Actions' | 'Tenants' | 'Resources' | 'Saved views' | 'Findings' | 'Isolation runs' | 'Migration runs';
  label: string;
  hint?: string;
  keywords?: string[];
  shortcut?: string;
  run(): void | Promise<void>;
}

const RECENT = 'tenantscope.palette.recent';
const recent = (): string[] => {
  try {
    const r = JSON.parse(localStorage.getItem(RECENT) ?? '[]') as unknown;
    return Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
};
const remember = (id: string) => localStorage.setItem(RECENT, JSON.stringify([id, ...recent().filter((x) => x !== id)].slice(0, 8)));

/** What the palette lists beyond the views and actions, read when it opens (each on its own: one refused is left out). */
interface Lists {
  resources: string[];
  views: Output<'views:list'>['views'];
  isolationRuns: Output<'isolation:runs'>['runs'];
  migrationRuns: Output<'migrate:status'>['runs'];
}
const EMPTY: Lists = { resources: [], views: [], isolationRuns: [], migrationRuns: [] };

/**
 * Ctrl/Cmd+K: one box over every view, tenant, resource, saved view, finding, isolation and
 * migration run, and the actions (sync, prove, isolation test, audit, plan…); fuzzy, by keyboard
 * alone (cmdk: arrows, Enter, Escape), the recent choices first, the shortcuts beside their entry.
 */
export function CommandPalette({ open, setOpen }: { open: boolean; setOpen: (open: boolean) => void }) {
  const session = useSession((s) => s.session);
  const tenants = useSession((s) => s.tenants);
  const [lists, setLists] = useState<Lists>(EMPTY);
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState('');
  const superAdmin = !!session && scopeOf(session).everyCompany;
  useEffect(() => {
    if (!open || !session) return;
    setQuery('');
    let live = true;
    const tenant = session.selectedTenant ?? undefined;
    const take = <K extends keyof Lists>(k: K, p: Promise<Lists[K]>) =>
      void p.then(
        (v) => live && setLists((l) => ({ ...l, [k]: v })),
        () => {},
      );
    take(
      'resources',
      call('records:resources', { tenant }).then((r) => r.resources.map((x) => x.resource)),
    );
    take(
      'views',
      call('views:list', {}).then((r) => r.views),
    );
    if (superAdmin && !session.offline) {
      take(
        'isolationRuns',
        call('isolation:runs', {}).then((r) => r.runs.slice(0, 10)),
      );
      take(
        'migrationRuns',
        call('migrate:status', {}).then((r) => r.runs.slice(0, 10)),
      );
    }
    return () => {
      live = false;
    };
  }, [open, session, superAdmin]);

  const entries = useMemo(() => (session ? entriesFor(session, tenants, lists, superAdmin) : []), [session, tenants, lists, superAdmin]);
  if (!session) return null;
  const byId = new Map(entries.map((e) => [e.id, e]));
  const recents = recent()
    .map((id) => byId.get(id))
    .filter((e): e is Entry => !!e);
  // ranked here, not by cmdk (its own sort does not see entries that arrive after the typing): the
  // groups by their best entry, each group's entries by score, the first of all selected
  const scored = entries
    .map((e) => ({ e, s: paletteScore(e.label, [e.group, ...(e.keywords ?? [])], query) }))
    .filter((x) => x.s > 0)
    .sort((a, b) => b.s - a.s);
  const groups = [...new Set(scored.map((x) => x.e.group))];
  const shown: Array<{ group: string; entries: Entry[]; prefix: string }> = [
    ...(!query && recents.length ? [{ group: 'Recent', entries: recents, prefix: 'recent:' }] : []),
    ...groups.map((g) => ({ group: g, entries: scored.filter((x) => x.e.group === g).map((x) => x.e), prefix: '' })),
  ];
  const first = shown[0]?.entries[0];
  const firstValue = first ? `${first.label} ${shown[0]!.prefix}${first.id}` : '';
  const choose = (e: Entry) => {
    remember(e.id);
    setOpen(false);
    void e.run();
  };
  const item = (e: Entry, prefix = '') => (
    <Command.Item key={prefix + e.id} value={`${e.label} ${prefix}${e.id}`} onSelect={() => choose(e)} data-testid={`palette-item-${prefix}${e.id}`}>
      <span>{e.label}</span>
      {e.hint && <span className="muted small">{e.hint}</span>}
      {e.shortcut && <kbd>{e.shortcut}</kbd>}
    </Command.Item>
  );
  return (
    <Command.Dialog
      shouldFilter={false}
      value={selected && shown.some((g) => g.entries.some((e) => `${e.label} ${g.prefix}${e.id}` === selected)) ? selected : firstValue}
      onValueChange={setSelected}
      open={open}
      onOpenChange={setOpen}
      label="Command palette"
      className="palette"
      overlayClassName="palette-overlay"
      contentClassName="palette-content"
      data-testid="palette"
    >
      <Command.Input
        value={query}
        onValueChange={(q) => {
          setQuery(q);
          // a new question: the best answer is the one chosen, until the arrows move
          setSelected('');
        }}
        placeholder="Go to a view, a tenant, a resource, a run… or do something"
        data-testid="palette-input"
      />
      <Command.List>
        <Command.Empty>Nothing matches.</Command.Empty>
        {shown.map((g) => (
          <Command.Group key={g.group} heading={g.group}>
            {g.entries.map((e) => item(e, g.prefix))}
          </Command.Group>
        ))}
      </Command.List>
      <div className="palette-keys small muted">↑↓ to move · Enter to choose · Esc to close · Ctrl+K opens this anywhere · Alt+1…6 switch views</div>
    </Command.Dialog>
  );
}

function entriesFor(
  session: NonNullable<ReturnType<typeof useSession.getState>['session']>,
  tenants: ReturnType<typeof useSession.getState>['tenants'],
  lists: Lists,
  superAdmin: boolean,
): Entry[] {
  const ui = useUi.getState();
  const tenant = tenants.find((t) => t.id === session.selectedTenant) ?? (session.company ? { id: session.company.id, name: session.company.name } : null);
  const safety = useSafety.getState().status;
  const out: Entry[] = VIEWS.map((v, i) => ({
    id: `view:${v.id}`,
    group: 'Views',
    label: v.label,
    hint: 'view',
    shortcut: `Alt+${i + 1}`,
    run: () => ui.show(v.id),
  }));
  const online = !session.offline;
  if (online && tenant)
    out.push(
      {
        id: 'action:sync',
        group: 'Actions',
        label: `Sync ${tenant.name}`,
        keywords: ['fetch', 'cache'],
        run: () => void go('tenants', () => useSync.getState().sync({ tenants: [tenant.name] }, tenant.name)),
      },
      {
        id: 'action:prove',
        group: 'Actions',
        label: `Prove ${tenant.name} against the CRM`,
        keywords: ['proof', 'drift'],
        run: () => void go('tenants', () => useSync.getState().prove(tenant.id)),
      },
    );
  if (online && superAdmin)
    out.push(
      {
        id: 'action:sync-all',
        group: 'Actions',
        label: 'Sync all tenants',
        run: () => void go('tenants', () => useSync.getState().sync({ all: true }, 'every tenant')),
      },
      {
        id: 'action:isolation',
        group: 'Actions',
        label: 'Run isolation test…',
        hint: 'opens the Isolation view',
        keywords: ['leak', 'canary', 'probe'],
        run: () => ui.show('isolation'),
      },
      {
        id: 'action:plan',
        group: 'Actions',
        label: 'Plan the migration',
        hint: 'read-only',
        keywords: ['company_id', 'migrate'],
        run: () => void go('migration', () => useMigration.getState().makePlan({ tables: [], notNull: false })),
      },
    );
  out.push({
    id: 'action:audit',
    group: 'Actions',
    label: 'Run the audit',
    keywords: ['findings', 'report'],
    run: () => void go('audit', () => useAudit.getState().run()),
  });
  if (safety?.level === 'production')
    out.push(
      safety.writes
        ? {
            id: 'action:lock',
            group: 'Actions',
            label: `Lock writes on ${safety.connection}`,
            keywords: ['safe mode'],
            run: () => void useSafety.getState().lock(),
          }
        : {
            id: 'action:unlock',
            group: 'Actions',
            label: `Unlock writes on ${safety.connection}…`,
            hint: 'the button at the top',
            keywords: ['safe mode'],
            run: () => document.querySelector<HTMLButtonElement>('[data-testid="safety-unlock"]')?.click(),
          },
    );
  out.push(
    { id: 'action:theme', group: 'Actions', label: `Switch to the ${ui.theme === 'dark' ? 'light' : 'dark'} theme`, run: () => ui.toggleTheme() },
    { id: 'action:sign-out', group: 'Actions', label: 'Sign out', run: () => void useSession.getState().signOut() },
  );
  if (session.canSwitchTenant)
    for (const t of tenants)
      out.push({
        id: `tenant:${t.id}`,
        group: 'Tenants',
        label: t.name,
        hint: t.id === session.selectedTenant ? 'inspecting' : 'inspect',
        run: () => void useSession.getState().selectTenant(t.id),
      });
  for (const r of lists.resources)
    out.push({
      id: `resource:${r}`,
      group: 'Resources',
      label: r,
      hint: 'in the Data view',
      run: () => {
        useData.getState().setResource(r);
        ui.show('data');
      },
    });
  for (const v of lists.views)
    out.push({
      id: `saved:${v.id}`,
      group: 'Saved views',
      label: v.name,
      hint: v.resource,
      run: () => {
        ui.show('data');
        void useData.getState().applyView(v);
      },
    });
  for (const f of useAudit.getState().audit?.findings ?? [])
    out.push({
      id: `finding:${f.id}`,
      group: 'Findings',
      label: f.title,
      hint: f.severity,
      keywords: [f.resource ?? '', f.check],
      run: () => {
        ui.show('audit');
        useAudit.getState().select(f);
      },
    });
  for (const r of lists.isolationRuns)
    out.push({
      id: `isolation:${r.id}`,
      group: 'Isolation runs',
      label: `Isolation run ${r.id}`,
      hint: `${r.outcome} · ${r.leaks} leak${r.leaks === 1 ? '' : 's'} · ${new Date(r.startedAt).toLocaleString()}`,
      run: () => {
        ui.show('isolation');
        void useIsolation.getState().show(r.id);
      },
    });
  for (const r of lists.migrationRuns)
    out.push({
      id: `migration:${r.id}`,
      group: 'Migration runs',
      label: `Migration run ${r.id}`,
      hint: `${r.status} · by ${r.startedBy}`,
      run: () => ui.show('migration'),
    });
  return out;
}

/** Shows a view, then does what was asked there (the view shows its progress). */
async function go(view: Parameters<ReturnType<typeof useUi.getState>['show']>[0], then: () => Promise<void>): Promise<void> {
  useUi.getState().show(view);
  await then();
}
