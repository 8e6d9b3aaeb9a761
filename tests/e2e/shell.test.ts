import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchCrm } from '../../bench/_crm.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, root, screenshot, startHost, type RunningHost } from './harness.ts';
import { ui } from './locators.ts';

let host: RunningHost;
let browser: Browser;
/** one browser profile, as a person has: the printed address lets it in once, and each page is a tab of it */
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  host = await startHost();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await host?.stop();
});

async function openSignedOut(): Promise<Page> {
  page = await context.newPage();
  await page.goto(host.url);
  // a new tab signs in for itself, whoever another tab is signed in as
  await ui(page).app('signed-out').waitFor();
  return page;
}

async function signIn(p: Page, email: string) {
  const u = ui(p);
  await u.signIn.username.fill(email);
  await u.signIn.password.fill('demo');
  await u.signIn.submit.click();
}

/** A call through the host's door from the page, with the page's token (what the window's buttons do). */
function callHost(p: Page, channel: string, payload: unknown): Promise<any> {
  return p.evaluate(
    async ([c, body]) => {
      const tab = sessionStorage.getItem('tenantscope.window') ?? '';
      return fetch(`/api/call/${c}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenantscope-window': tab },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    },
    [channel, payload] as const,
  );
}

/** A fresh page signed in through the demo identity's quick button. */
async function openSignedInAs(email: string): Promise<Page> {
  const p = await openSignedOut();
  await ui(p).signIn.quick(email).click();
  await ui(p).app('ready').waitFor({ timeout: 90_000 });
  return p;
}

describe('console shell on the demo CRM', () => {
  it('a super admin signs in, sees every tenant, and switches to Globex', async () => {
    const p = await openSignedOut();
    const u = ui(p);
    await screenshot(p, 'sign-in');
    await signIn(p, 'super@tenantscope.test');
    await u.app('ready').waitFor({ timeout: 90_000 });
    expect(await u.shell.role.textContent()).toBe('Super admin');
    // the first start says what to do first: sync, audit, isolation; dismissed, it stays away
    const tour = p.getByTestId('first-run');
    expect(await tour.locator('li').evaluateAll((xs) => xs.map((x) => x.getAttribute('data-testid')))).toEqual([
      'first-run-tenants',
      'first-run-audit',
      'first-run-isolation',
    ]);
    await screenshot(p, 'first-run');
    await p.getByTestId('first-run-audit').getByRole('button').click();
    await u.view('audit').waitFor();
    await p.getByTestId('first-run-dismiss').click();
    await tour.waitFor({ state: 'detached' });
    await p.reload();
    await u.app('ready').waitFor();
    expect(await tour.count()).toBe(0);
    const options = await u.shell.switcher.locator('option').allTextContents();
    expect(options.sort()).toEqual(['Acme Corporation', 'Globex Corporation', 'Initech']);
    await u.shell.switcher.selectOption({ label: 'Globex Corporation' });
    await expect.poll(() => u.tenants.selectedRow.locator('td').first().textContent()).toMatch(/^Globex Corporation/);
    expect(await u.shell.statusBar.textContent()).toContain('super@tenantscope.test (super_admin)');
    await screenshot(p, 'tenants-super-admin');
    await u.shell.signOut.click();
    await u.app('signed-out').waitFor();
    await p.close();
  });

  it('each tab signs in for itself, keeps its sign-in over a reload, and the printed address does not let a second browser in', async () => {
    const first = await openSignedInAs('super@tenantscope.test');
    const second = await openSignedOut(); // waits for the sign-in screen: the super admin's session is not this tab's
    await signIn(second, 'admin@acme.test');
    await ui(second).app('ready').waitFor({ timeout: 60_000 });
    expect(await ui(second).shell.role.textContent()).toBe('Company admin');
    await first.reload();
    await ui(first).app('ready').waitFor();
    expect(await ui(first).shell.role.textContent()).toBe('Super admin');
    await ui(first).shell.signOut.click();
    await second.reload();
    await ui(second).app('ready').waitFor();
    expect(await ui(second).shell.role.textContent()).toBe('Company admin');
    // another browser (another profile, no cookie) with the same printed address
    const stranger = await browser.newPage();
    const answer = await stranger.goto(host.url);
    expect(answer?.status()).toBe(401);
    expect(await stranger.textContent('body')).toContain('has been used: it lets one browser in, once');
    await screenshot(stranger, 'address-used');
    await Promise.all([first.close(), second.close(), stranger.close()]);
  });

  it('a company admin has no switcher, sees their company only, and the host refuses Globex', async () => {
    const p = await openSignedInAs('admin@acme.test');
    const u = ui(p);
    expect(await u.shell.switcher.count()).toBe(0);
    expect(await u.shell.ownCompany.textContent()).toBe('Acme Corporation');
    expect(await p.locator('[data-testid="tenants-table"] tbody tr').count()).toBe(1);
    await screenshot(p, 'tenants-company-admin');
    // go around the UI: ask the host directly, with this page's token, for another tenant
    const answer = await p.evaluate(async () => {
      const tab = sessionStorage.getItem('tenantscope.window')!;
      const post = (channel: string, body: unknown) =>
        fetch(`/api/call/${channel}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-tenantscope-window': tab },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));
      const info = await post('tenants:list', {});
      const me = info.body.value.tenants[0].id as string;
      // a syntactically valid id of a company that is not the operator's
      const other = me.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
      return post('tenants:select', { companyId: other });
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('forbidden');
    await p.close();
  });

  it("a user with no company is refused with the seed's message", async () => {
    const p = await openSignedOut();
    const u = ui(p);
    await signIn(p, 'nobody@tenantscope.test');
    await u.signIn.error.waitFor();
    expect(await u.signIn.error.textContent()).toMatch(/^No company associated/);
    await screenshot(p, 'sign-in-no-company');
    await p.close();
  });

  it('keyboard navigation and themes', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    const u = ui(p);
    await p.keyboard.press('Alt+5');
    await u.view('data').waitFor();
    await p.keyboard.press('Alt+3');
    await u.view('migration').waitFor();
    await p.keyboard.press('Alt+6');
    await u.view('connections').waitFor();
    const before = await p.evaluate(() => document.documentElement.dataset.theme);
    await u.shell.theme.click();
    const after = await p.evaluate(() => document.documentElement.dataset.theme);
    expect(after).not.toBe(before);
    expect(['light', 'dark']).toContain(after);
    await u.connections.test('demo').click();
    await u.connections.checks('demo').waitFor();
    expect(await u.connections.checks('demo').textContent()).toContain('Signed in as super@tenantscope.test');
    await screenshot(p, `connections-${after}`);
    await p.close();
  });

  it('the command palette: every view, a tenant, a resource and an action by keyboard alone, the last choice first next time', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    const u = ui(p);
    const palette = async (typed: string, pick?: string) => {
      await p.keyboard.press('Control+K');
      await p.getByTestId('palette-input').waitFor();
      await p.keyboard.type(typed);
      // what the palette reads when it opens (resources, runs) comes a moment later
      if (pick) await expect.poll(() => p.locator('[cmdk-item][data-selected="true"]').getAttribute('data-testid')).toBe(`palette-item-${pick}`);
      await p.keyboard.press('Enter');
      await p.getByTestId('palette-input').waitFor({ state: 'detached' });
    };
    for (const [typed, view] of [
      ['audit', 'audit'],
      ['migration', 'migration'],
      ['isolation', 'isolation'],
      ['data', 'data'],
      ['connections', 'connections'],
      ['tenants', 'tenants'],
    ] as const) {
      await palette(typed);
      await u.view(view).waitFor();
    }
    // a tenant, then an action on it
    await palette(
      'globex',
      `tenant:${(await callHost(p, 'tenants:list', {})).value.tenants.find((t: { name: string }) => t.name === 'Globex Corporation').id}`,
    );
    await expect.poll(() => u.shell.switcher.locator('option:checked').textContent()).toBe('Globex Corporation');
    await palette('sync globex', 'action:sync');
    await p.getByTestId('sync-report').waitFor({ timeout: 60_000 });
    expect(await p.getByTestId('sync-report').textContent()).toMatch(/^Synced \d+ rows/);
    // a resource opens in the Data view
    await palette('calls', 'resource:calls');
    await u.view('data').waitFor();
    await expect.poll(() => p.getByTestId('data-resource').inputValue()).toBe('calls');
    // next time, the last choice comes first; shortcuts are listed; Escape closes it
    await p.keyboard.press('Control+K');
    await p.getByTestId('palette-input').waitFor();
    expect(await p.locator('[cmdk-item]').first().getAttribute('data-testid')).toBe('palette-item-recent:resource:calls');
    expect(await p.getByTestId('palette-item-view:migration').textContent()).toContain('Alt+3');
    await p.keyboard.type('sig');
    expect(await p.locator('[cmdk-item][data-selected="true"]').textContent()).toContain('Sign out');
    await screenshot(p, 'palette');
    await p.keyboard.press('Escape');
    await p.getByTestId('palette-input').waitFor({ state: 'detached' });
    await u.shell.theme.click();
    await p.getByTestId('palette-open').click();
    await p.getByTestId('palette-input').waitFor();
    await screenshot(p, 'palette-dark');
    await p.keyboard.press('Escape');
    await u.shell.theme.click();
    await p.close();
  });

  it('adds, tests, removes and restores a connection from the Connections view', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    const u = ui(p);
    await u.shell.nav('connections').click();
    await u.connections.add.click();
    await u.connections.name.fill('elsewhere');
    // nothing answers there: said in the form, and nothing is saved
    await u.connections.url.fill('http://127.0.0.1:9');
    await u.connections.identities.fill('Admin=admin@acme.test');
    await u.connections.discover.click();
    await expect.poll(() => u.connections.form.getByRole('alert').textContent()).toMatch(/Nothing answers at http:\/\/127\.0\.0\.1:9/);
    await screenshot(p, 'connections-unreachable');
    expect(await u.connections.card('elsewhere').count()).toBe(0);
    // the CRM's address alone: what it found, and what a person must confirm, before saving
    const crmUrl = (await callHost(p, 'demo:status', {})).value.url as string;
    await u.connections.url.fill(crmUrl);
    await u.connections.discover.click();
    await u.connections.discovered.waitFor();
    expect(await u.connections.discovered.textContent()).toMatch(
      /32 resources \(no database: tables are guesses\).*auth: a JSON sign-in at \/api\/auth\/login with email and password.*whoami: \/api\/auth\/me/,
    );
    // Safe Mode: on this machine it would be staging; the person says production, in a colour of theirs
    expect(await p.getByTestId('connection-level').locator('option').first().textContent()).toBe('by its address (staging)');
    await p.getByTestId('connection-level').selectOption('production');
    await p.getByTestId('connection-color').fill('#8e24aa');
    await p.getByTestId('connection-safety').scrollIntoViewIfNeeded();
    await screenshot(p, 'connections-safe-mode-fields');
    await u.connections.save.scrollIntoViewIfNeeded();
    await screenshot(p, 'connections-discovered');
    await u.connections.save.click();
    await u.connections.card('elsewhere').waitFor();
    expect(await p.getByTestId('connection-level-elsewhere').textContent()).toBe('production');
    expect(await p.getByTestId('connection-level-demo').textContent()).toBe('demo');
    expect(await p.getByTestId('connection-level-elsewhere').getAttribute('style')).toContain('#8e24aa');
    await screenshot(p, 'connections-levels');
    await u.connections.test('elsewhere').click();
    await u.connections.checks('elsewhere').waitFor();
    expect(await u.connections.checks('elsewhere').textContent()).toMatch(/The API has the sign-in, whoami and companies endpoints the profile names/);
    await u.connections.remove('elsewhere').click();
    await u.connections.card('elsewhere').waitFor({ state: 'detached' });
    await u.connections.undo.click();
    await u.connections.card('elsewhere').waitFor();
    await p.close();
  });

  it("shows the demo's catalog with the seed's counts, finds no drift, and edits a discovered catalog of another connection", async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    const u = ui(p);
    await u.shell.nav('connections').click();
    await u.connections.catalog('demo').click();
    await u.catalog.summary.waitFor();
    expect(await u.catalog.summary.textContent()).toBe('32 resources: 11 with company_id, 11 HIGH, 7 MEDIUM, 3 LOW without · 0 to confirm');
    await u.catalog.discover.click();
    await u.catalog.drift.waitFor();
    expect(await u.catalog.drift.textContent()).toBe('No drift: the CRM matches the saved catalog (API and database read).');
    await screenshot(p, 'catalog-demo');

    // a connection of one's own to the same CRM, without its database: discovery leaves points to confirm
    const demoUrl = await p.evaluate(async () => {
      const tab = sessionStorage.getItem('tenantscope.window')!;
      const r = await fetch('/api/call/demo:status', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenantscope-window': tab },
        body: '{}',
      });
      return (await r.json()).value.url as string;
    });
    await u.connections.add.click();
    await u.connections.name.fill('mine');
    await u.connections.url.fill(demoUrl);
    await u.connections.discover.click();
    await u.connections.discovered.waitFor();
    await u.connections.save.click();
    await u.connections.catalog('mine').click();
    await u.catalog.discover.click();
    await u.catalog.drift.waitFor();
    await u.catalog.uncertain('documents_signatures').waitFor();
    await u.catalog.priority('calls').selectOption('MEDIUM');
    // what names a contact where a call points at one
    await p.getByTestId('label-field-contacts').fill('email');
    await u.catalog.save.click();
    await p.getByText('Catalog saved.').waitFor();
    await screenshot(p, 'catalog-edited');
    await p.reload();
    await u.app('ready').waitFor();
    await u.shell.nav('connections').click();
    await u.connections.catalog('mine').click();
    await u.catalog.priority('calls').waitFor();
    expect(await u.catalog.priority('calls').inputValue()).toBe('MEDIUM');
    expect(await p.getByTestId('label-field-contacts').inputValue()).toBe('email');
    await p.close();
  });

  it('syncs a tenant with progress, proves it against the server, and evicts it', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    const row = p.getByTestId('tenant-Globex Corporation');
    await row.getByTestId('sync-Globex Corporation').click();
    await p.getByTestId('sync-report').waitFor({ timeout: 60_000 });
    expect(await p.getByTestId('sync-report').textContent()).toMatch(/^Synced \d+ rows in \d+ pages/);
    await expect.poll(() => row.getByTestId('tenant-proof').textContent()).toMatch(/^in sync, as of/);
    expect(Number(await row.getByTestId('tenant-rows').textContent())).toBeGreaterThan(100);
    expect(await p.getByTestId('sync-state').textContent()).toMatch(/^Sync: cache as of/);
    await screenshot(p, 'tenants-synced');
    // a contact added on the server after the sync: Prove finds the drift, and it opens with what differs
    const crmUrl = (await callHost(p, 'demo:status', {})).value.url as string;
    const login = (await (
      await fetch(`${crmUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@globex.test', password: 'demo' }),
      })
    ).json()) as { access_token: string };
    expect(
      (
        await fetch(`${crmUrl}/api/contacts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${login.access_token}` },
          body: JSON.stringify({ first_name: 'Drift', last_name: 'Test', email: `drift-${Date.now()}@globex.test` }),
        })
      ).status,
    ).toBe(201);
    await row.getByRole('button', { name: 'Prove' }).click();
    await expect.poll(() => row.getByTestId('tenant-proof').textContent()).toMatch(/^drifted \(1\), as of .+ · what differs\?$/);
    await row.getByTestId('tenant-proof').getByRole('button').click();
    const why = p.getByTestId('drift-why-contacts');
    await why.waitFor();
    expect(await why.textContent()).toMatch(
      /^The cache holds (\d+) rows and the CRM's manifest says (\d+)\. A manifest gives counts and a hash, not ids: sync again to bring the cache up to date\.$/,
    );
    await screenshot(p, 'tenants-drift-explained');
    p.once('dialog', (d) => void d.accept());
    await row.getByTestId('evict-Globex Corporation').click();
    await expect.poll(() => row.getByTestId('tenant-rows').textContent()).toBe('not synced');
    await p.close();
  });

  it('a long sync shows its progress (rows of the total, rate, ETA, the listings running) after a reload, and Cancel stops it keeping what it wrote', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    // enough rows that a sync of one record a request outlasts the checks below on any machine: 1,500
    // notifications more (600 were not enough on a loaded CI run: the sync ended before Cancel was pressed)
    const crmUrl = (await callHost(p, 'demo:status', {})).value.url as string;
    const login = (await (
      await fetch(`${crmUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@initech.test', password: 'demo' }),
      })
    ).json()) as { access_token: string };
    for (let i = 0; i < 1500; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          fetch(`${crmUrl}/api/notifications`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${login.access_token}` },
            body: JSON.stringify({ title: `reminder ${i + k}`, body: 'to make the sync long' }),
          }).then((r) => expect(r.status).toBe(201)),
        ),
      );
    }
    // a slow sync, a record a request, started outside this page: the view must find it and follow it
    await p.evaluate(() => {
      const tab = sessionStorage.getItem('tenantscope.window') ?? '';
      (window as unknown as { pendingSync: Promise<unknown> }).pendingSync = fetch('/api/call/sync:run', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenantscope-window': tab },
        body: JSON.stringify({ all: true, pageSize: 1 }),
      }).then((r) => r.json());
    });
    // reload once the main process has the sync under way (its state, not a delay)
    await expect
      .poll(async () => ((await callHost(p, 'sync:status', {})) as { value: { running: unknown } }).value.running, { timeout: 30_000 })
      .not.toBeNull();
    await p.reload();
    await ui(p).app('ready').waitFor({ timeout: 30_000 });
    const card = p.getByTestId('sync-progress');
    await card.waitFor({ timeout: 10_000 });
    await expect
      .poll(() => p.getByTestId('sync-overall').textContent(), { timeout: 10_000 })
      .toMatch(/^[\d,]+ of [\d,]+ rows.*\d+ rows\/s · \d+ (s|min \d+ s) left$/);
    await expect.poll(() => p.getByTestId('sync-part').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(Number(await card.getByRole('progressbar').first().getAttribute('aria-valuenow'))).toBeGreaterThan(0);
    await screenshot(p, 'tenants-sync-progress');
    await p.getByTestId('sync-cancel').click();
    await card.waitFor({ state: 'detached', timeout: 15_000 });
    expect(await p.getByTestId('sync-notice').textContent()).toMatch(
      /^The last sync was cancelled: Sync cancelled after \d+ rows; every page written before it is kept/,
    );
    await screenshot(p, 'tenants-sync-cancelled');
    const status = (await callHost(p, 'sync:status', {})) as { value: { running: unknown; lastRun: { outcome: string }; partitions: Array<{ rows: number }> } };
    expect(status.value.running).toBeNull();
    expect(status.value.lastRun.outcome).toBe('cancelled');
    expect(status.value.partitions.reduce((a, x) => a + x.rows, 0)).toBeGreaterThan(0);
    await p.close();
  });

  it('runs the isolation matrix: it fills with verdicts, a leak opens its evidence, and a second run is compared with the first', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    await p.getByTestId('nav-isolation').click();
    await p.getByTestId('iso-only').fill('calls, contacts, sms_messages');
    await p.getByTestId('iso-run').click();
    await p.getByTestId('iso-summary').waitFor({ timeout: 60_000 });
    expect(await p.getByTestId('iso-summary').textContent()).toMatch(
      /^90 probes in [\d.]+ s: 24 leak, 0 suspect, 0 exists-oracle, 0 error\. Cleanup: \d+ canaries removed, none left\.$/,
    );
    // the demo CRM is the seed's before-state: a Globex admin reads Acme's call by id; contacts are scoped
    const leak = p.getByTestId('cell-calls-Globex admin-read');
    expect(await leak.getAttribute('aria-label')).toBe('calls, Globex admin, read: leak');
    expect(await p.getByTestId('cell-contacts-Globex admin-read').getAttribute('aria-label')).toBe('contacts, Globex admin, read: enforced');
    await leak.click();
    expect(await p.getByTestId('iso-evidence').textContent()).toMatch(/Globex admin reads Acme admin's canary by id.*GET \/api\/calls\/[0-9a-f-]{36} → 200/);
    await screenshot(p, 'isolation-matrix');
    await p.getByTestId('iso-run').click();
    await p.getByTestId('iso-diff').waitFor({ timeout: 60_000 });
    expect(await p.getByTestId('iso-diff').textContent()).toMatch(/0 new leaks, 0 fixed, 24 still leaking/);
    expect(await p.getByTestId('iso-history').locator('tbody tr').count()).toBe(2);
    await screenshot(p, 'isolation-compared');
    // reloaded, the last run reads as it did live: its summary was kept with it
    const live = await p.getByTestId('iso-summary').textContent();
    await p.reload();
    await ui(p).app('ready').waitFor();
    await p.getByTestId('nav-isolation').click();
    await expect.poll(() => p.getByTestId('iso-summary').textContent()).toBe(live);
    await p.close();
  });

  it("the audit dashboard measures the synced cache: the seed's model counts, findings with evidence, accepting one with a reason, the JSON export", async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    // every tenant in the cache first (the host's own door, as the Tenants view's button does)
    const synced = (await callHost(p, 'sync:run', { all: true })) as { ok: boolean };
    expect(synced.ok).toBe(true);
    await p.getByTestId('nav-audit').click();
    const progress = p.getByTestId('audit-progress');
    await expect.poll(() => progress.textContent(), { timeout: 20_000 }).toMatch(/Models with company_id11\/32/);
    expect(await p.getByTestId('audit-asof').textContent()).toMatch(/Measured from the local cache, with no network: data as of /);
    expect(await p.getByTestId('model-calls').textContent()).toMatch(/^callsmissingHIGH/);
    expect(await p.getByTestId('model-contacts').textContent()).toMatch(/^contactsyes/);
    const calls = p.getByTestId('audit-findings').getByText('calls has no company_id', { exact: false });
    await calls.click();
    const evidence = p.getByTestId('audit-evidence');
    expect(await evidence.textContent()).toMatch(/Evidence: calls\.user_id.*ALTER TABLE "calls" ADD COLUMN IF NOT EXISTS company_id/s);
    // an evidence id opens the cached record with its provenance
    await evidence.locator('button.id').first().click();
    expect(await p.getByTestId('evidence-record').textContent()).toMatch(
      /^calls [0-9a-f-]{36} · company [0-9a-f-]{36} · fetched by super@tenantscope\.test from \/api\/calls\?.*"user_id": "/s,
    );
    await screenshot(p, 'audit-dashboard');
    const before = Number(await p.getByTestId('audit-open').textContent());
    await p.getByTestId('audit-reason').fill('backfill scheduled for Monday');
    await p.getByTestId('audit-accept').click();
    await expect.poll(async () => Number(await p.getByTestId('audit-open').textContent())).toBe(before - 1);
    expect(await evidence.textContent()).toContain('backfill scheduled for Monday');
    const download = p.waitForEvent('download');
    await p.getByTestId('audit-export').click();
    expect((await download).suggestedFilename()).toMatch(/^tenantscope-audit-\d{4}-\d{2}-\d{2}\.json$/);
    // the audit document in the seed's shape
    const md = p.waitForEvent('download');
    await p.getByTestId('audit-export-md').click();
    const file = await (await md).path();
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# Multi-Tenancy Audit: demo\n## Date: /);
    expect(text).toContain('### Models MISSING `company_id` (21)');
    // drill down into one tenant: its own rows only, and no company-wide findings
    const everyRow = Number((await progress.textContent())!.match(/Rows still missing company_id · in the cache([\d,]+)/)![1]!.replace(/,/g, ''));
    await p.getByTestId('audit-tenant').selectOption({ label: 'Globex Corporation' });
    await expect.poll(() => p.getByTestId('audit-asof').textContent()).toMatch(/Globex Corporation only\.$/);
    const globexRows = Number((await progress.textContent())!.match(/Rows still missing company_id · in the cache([\d,]+)/)![1]!.replace(/,/g, ''));
    expect(globexRows).toBeGreaterThan(0);
    expect(globexRows).toBeLessThan(everyRow);
    expect(await p.getByTestId('audit-findings').textContent()).not.toContain('super admin can see every company');
    // the same tab, someone else: nothing the super admin's session loaded is shown to them, not
    // even while their own audit is on its way (held back here for 2 s)
    await ui(p).shell.signOut.click();
    await ui(p).app('signed-out').waitFor();
    await p.route(/\/api\/call\/audit(:|%3A)run$/, async (route) => {
      await new Promise((r) => setTimeout(r, 2000));
      await route.continue();
    });
    await signIn(p, 'admin@acme.test');
    await ui(p).app('ready').waitFor({ timeout: 60_000 });
    await p.getByTestId('nav-audit').click();
    await p.getByTestId('view-audit').waitFor();
    expect(await p.getByTestId('audit-progress').count()).toBe(0);
    expect(await p.getByTestId('audit-findings').count()).toBe(0);
    await p.getByTestId('audit-progress').waitFor({ timeout: 20_000 }); // Acme's own audit, once it came
    expect(await p.getByTestId('audit-asof').textContent()).toMatch(/data as of .+ · Acme Corporation only\.$/);
    expect(await p.getByTestId('audit-findings').textContent()).not.toContain('super admin can see every company');
    await p.unroute(/\/api\/call\/audit(:|%3A)run$/);
    await p.close();
  });

  it("the Audit view's Code tab reads a backend checkout: every handler's scoping, a finding's fix as a diff with the runner's verdict beside it, the patch; a company admin has no such tab", async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    await p.getByTestId('nav-audit').click();
    await p.getByTestId('audit-tab-code').click();
    await p.getByTestId('code-src').fill(join(root, 'tests', 'fixtures', 'fastapi-crm', 'backend'));
    await p.getByTestId('code-run').click();
    await p.getByTestId('code-tiles').waitFor({ timeout: 30_000 });
    // 13 in the source; the demo CRM's sms_messages leak on read, update and delete, and no handler of this source explains them
    expect(await p.getByTestId('code-findings-count').textContent()).toBe('16');
    expect(await p.getByTestId('code-finding-unexplained-leak').count()).toBe(3);
    expect(await p.getByTestId('handler-get_call').textContent()).toMatch(/GET \/api\/v1\/calls\/\{call_id\}get_callapp\/api\/calls\.py:37by id only/);
    expect(await p.getByTestId('handler-list_contacts').textContent()).toMatch(/by company/);
    // checked against the isolation run above: the demo's calls leak on read, as the fixture's source says they would
    expect(await p.getByTestId('code-runner').textContent()).toMatch(/run #\d+/);
    await p.getByTestId('code-findings').getByText('GET /api/v1/calls/{call_id} (get_call) finds calls by id only').click();
    const evidence = p.getByTestId('code-evidence');
    expect(await evidence.textContent()).toMatch(/app\/api\/calls\.py:38/);
    expect(await p.getByTestId('code-diff').textContent()).toContain('raise HTTPException(status_code=403, detail="No company associated")');
    expect(await p.getByTestId('code-dynamic').textContent()).toMatch(/^confirmed Run \d+ saw it leak to /);
    await evidence.scrollIntoViewIfNeeded();
    await screenshot(p, 'audit-code');
    await ui(p).shell.theme.click();
    await screenshot(p, 'audit-code-dark');
    await ui(p).shell.theme.click();
    const patch = p.waitForEvent('download');
    await p.getByTestId('code-patch').click();
    const text = readFileSync(await (await patch).path(), 'utf8');
    expect(text).toMatch(/^diff --git a\/app\/api\/calls\.py b\/app\/api\/calls\.py/);
    // the isolation matrix links the cell to the handler the source audit found for it
    await p.getByTestId('nav-isolation').click();
    await p.getByTestId('cell-calls-Globex admin-read').click();
    await expect.poll(() => p.getByTestId('iso-handler').textContent()).toBe('In the source: get_call at app/api/calls.py:37 · by id');
    await screenshot(p, 'isolation-handler');
    await ui(p).shell.signOut.click();
    await ui(p).app('signed-out').waitFor();
    await signIn(p, 'admin@acme.test');
    await ui(p).app('ready').waitFor({ timeout: 60_000 });
    await p.getByTestId('nav-audit').click();
    await p.getByTestId('audit-tab-data').waitFor();
    expect(await p.getByTestId('audit-tab-code').count()).toBe(0);
    await p.close();
  });

  it('a company admin is told who runs the isolation matrix and why', async () => {
    const p = await openSignedInAs('admin@acme.test');
    await p.getByTestId('nav-isolation').click();
    expect(await p.getByTestId('view-isolation').textContent()).toContain('a super admin runs it');
    await p.close();
  });

  it('a company admin syncs their own company; nothing of another company came back', async () => {
    const p = await openSignedInAs('admin@acme.test');
    const row = p.getByTestId('tenant-Acme Corporation');
    await row.getByTestId('sync-Acme Corporation').click();
    await p.getByTestId('sync-report').waitFor({ timeout: 60_000 });
    expect(await p.getByTestId('sync-report').textContent()).not.toContain('Leak');
    expect(await row.locator('td').nth(4).textContent()).toBe('none');
    await screenshot(p, 'tenants-company-admin-synced');
    await p.close();
  });

  it('migrates the demo CRM from the Migration view: plan by phase with its SQL, run with per-table progress, pause and resume, verify, roll back with confirmation', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    await p.getByTestId('nav-migration').click();
    await expect.poll(() => p.getByTestId('mig-audit').textContent(), { timeout: 20_000 }).toMatch(/Tables without company_id21 of 32/);
    await p.getByTestId('mig-tables').fill('calls, document_signatures');
    await p.getByTestId('mig-plan').click();
    const plan = p.getByTestId('mig-plan-view');
    await plan.waitFor();
    // a child brings its parent, parents first
    expect(await plan.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid')))).toEqual([
      'mig-plan-calls',
      'mig-plan-documents',
      'mig-plan-document_signatures',
    ]);
    expect(await p.getByTestId('mig-plan-document_signatures').textContent()).toContain('parent (document_id → documents)');
    expect(await p.getByTestId('mig-preflight').textContent()).toContain('The database user owns all 3 tables.');
    // the fill trigger's cost on each table's writes, measured on a copy of its rows before it is switched on
    expect(await p.getByTestId('mig-preflight').textContent()).toMatch(/The fill trigger slows writes at most \d\.\d+×/);
    for (const t of ['calls', 'documents', 'document_signatures']) expect(await p.getByTestId(`mig-trigger-${t}`).textContent()).toMatch(/^\d(\.\d+)?×$/);
    const sqlFile = p.waitForEvent('download');
    await p.getByTestId('mig-export').click();
    const sql = readFileSync(await (await sqlFile).path(), 'utf8');
    expect(sql).toContain('CREATE INDEX CONCURRENTLY "idx_calls_company_id" ON "calls" (company_id);');
    await plan.locator('summary').click();
    await screenshot(p, 'migration-plan');
    // slow it down enough to pause mid-backfill: two rows a batch, 300 ms between batches
    await p.getByTestId('mig-batch').fill('2');
    await p.getByTestId('mig-delay').fill('300');
    await p.getByTestId('mig-run').click();
    expect(await p.getByTestId('mig-confirm').textContent()).toContain('3 tables get company_id');
    // a backup of the three tables first, unless the operator unticks it
    expect(await p.getByTestId('mig-backup').isChecked()).toBe(true);
    expect(await p.getByTestId('mig-backup-option').textContent()).toMatch(/Back up these tables first \(about .+, about .+\)/);
    await screenshot(p, 'migration-confirm-backup');
    await p.getByTestId('mig-confirm-yes').click();
    await expect.poll(() => p.getByTestId('mig-table-calls').textContent(), { timeout: 30_000 }).toMatch(/backfill · \d+ of \d+/);
    // the signals the runner waits on, live beside their thresholds
    await p.getByTestId('mig-health').waitFor();
    expect(await p.getByTestId('mig-health').locator('.signal').count()).toBe(7);
    expect(await p.getByTestId('mig-signal-longestTransactionSeconds').textContent()).toMatch(/^longest open transaction[\d.]+ s≤ 300 s$/);
    expect(await p.getByTestId('mig-signal-replicaLagSeconds').textContent()).toMatch(/^replica lagno replica≤ 10 s$/);
    await screenshot(p, 'migration-running');
    // the running run is already in the runs table, not "No migration has run"
    await expect.poll(() => p.getByTestId('mig-runs').locator('tbody tr').first().textContent()).toMatch(/^\d+runningsuper@tenantscope\.test/);
    // at the bottom of the page (the log), the run's header and Pause stay in view
    await p.locator('main.content').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect
      .poll(() =>
        p.getByTestId('mig-pause').evaluate((b) => {
          const r = b.getBoundingClientRect();
          return r.top >= 0 && r.bottom <= window.innerHeight;
        }),
      )
      .toBe(true);
    expect(await p.locator('main.content').evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
    await screenshot(p, 'migration-running-scrolled');
    await p.getByTestId('mig-pause').click();
    await expect.poll(() => p.getByTestId('mig-notice').textContent(), { timeout: 30_000 }).toMatch(/^Run \d+ paused: everything done so far stays/);
    expect(await p.getByTestId('mig-unfinished').textContent()).toMatch(/Run \d+ is not finished \(paused\)/);
    await p.getByTestId('mig-resume').click();
    await expect.poll(() => p.getByTestId('mig-notice').textContent(), { timeout: 60_000 }).toMatch(/^Run \d+ done and verified\.$/);
    expect(await p.getByTestId('mig-verify-calls').textContent()).toMatch(/^calls\d+00validvalidatedskippedunchanged/);
    expect(await p.getByTestId('mig-log').textContent()).toContain('paused: run it again to resume where it stopped');
    // the log follows its newest line inside its own box
    expect(await p.getByTestId('mig-log-lines').evaluate((b) => b.scrollHeight - b.scrollTop - b.clientHeight)).toBeLessThan(2);
    await expect.poll(() => p.getByTestId('mig-runs').locator('tbody tr').first().textContent()).toMatch(/^\d+donesuper@tenantscope\.test/);
    await expect.poll(() => p.getByTestId('mig-audit').textContent()).toMatch(/Tables without company_id18 of 32/);
    await screenshot(p, 'migration-verified');
    // the backup taken before the first change restores into a scratch database, equal to the source as of the dump
    const runId = Number((await p.getByTestId('mig-runs').locator('tbody tr td').first().textContent())!);
    expect(await p.getByTestId(`mig-run-backup-${runId}`).textContent()).toMatch(/(COPY backup|pg_dump [\d.]+), [\d.]+ [kKM]i?B/);
    await p.getByTestId(`mig-backup-verify-${runId}`).click();
    await expect.poll(() => p.getByTestId('mig-backup-check').textContent(), { timeout: 60_000 }).toContain(`Run ${runId}'s backup restores`);
    expect(await p.getByTestId('mig-backup-check').locator('tbody tr').allTextContents()).toHaveLength(3);
    await p.getByTestId('mig-runs').scrollIntoViewIfNeeded();
    await screenshot(p, 'migration-backup-verified');
    // the row-level security phase on the three migrated tables: planned, applied, proven, rolled back
    await p.getByTestId('mig-rls-plan').click();
    await expect.poll(() => p.getByTestId('mig-rls-state').textContent()).toMatch(/^Not applied\. \d+ tables would take policies/);
    // the demo's database user is a superuser: the view says the policies do not apply to it
    expect(await p.getByTestId('mig-rls-pitfalls').textContent()).toMatch(/is a superuser: the policies do not apply to it/);
    await p.getByTestId('mig-rls-apply').click();
    await p.getByTestId('mig-rls-confirm-yes').click();
    await expect.poll(() => p.getByTestId('mig-rls-notice').textContent(), { timeout: 30_000 }).toMatch(/^Row-level security phase \d+ applied to \d+ tables/);
    await expect.poll(() => p.getByTestId('mig-rls-state').textContent()).toMatch(/^Phase \d+ applied to \d+ tables by super@tenantscope\.test/);
    // proven as the console's own (superuser) role: every probe reaches the other company, as the pitfall said
    await p.getByTestId('mig-rls-prove').click();
    await expect.poll(() => p.getByTestId('mig-rls-row-calls').textContent(), { timeout: 30_000 }).toMatch(/^callsleakleak/);
    await p.getByTestId('mig-rls').scrollIntoViewIfNeeded();
    await screenshot(p, 'migration-rls');
    await p.getByTestId('theme-toggle').click();
    await screenshot(p, 'migration-rls-dark');
    await p.getByTestId('theme-toggle').click();
    await p.getByTestId('mig-rls-rollback').click();
    await p.getByTestId('mig-rls-confirm-yes').click();
    await expect.poll(() => p.getByTestId('mig-rls-notice').textContent(), { timeout: 30_000 }).toMatch(/^Phase \d+ rolled back/);
    // roll back, confirmed: the demo is as it was
    await p.getByTestId('mig-rollback').click();
    expect(await p.getByTestId('mig-confirm').textContent()).toContain('drops what the run added');
    await p.getByTestId('mig-confirm-yes').click();
    await expect
      .poll(() => p.getByTestId('mig-notice').textContent(), { timeout: 60_000 })
      .toMatch(/rolled back: every table's schema and data are as before the run\.$/);
    await expect.poll(() => p.getByTestId('mig-audit').textContent()).toMatch(/Tables without company_id21 of 32/);
    await expect.poll(() => p.getByTestId('mig-runs').locator('tbody tr').first().textContent()).toContain('rolled-back');
    await screenshot(p, 'migration-rolled-back');
    await p.close();
    const admin = await openSignedInAs('admin@acme.test');
    await admin.getByTestId('nav-migration').click();
    expect(await admin.getByTestId('view-migration').textContent()).toContain('a super admin plans and runs it');
    await admin.close();
  });

  it("the Data view: a super admin browses Globex's calls, searches a marker, opens a record that points into Acme and sees the finding; a company admin cannot reach another tenant", async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    // plant, through the CRM's own API: Globex's admin logs a call against one of Acme's contacts (the legacy CRM does not check references)
    const crm = (await callHost(p, 'demo:status', {})).value.url as string;
    const login = async (email: string) =>
      (
        (await (
          await fetch(`${crm}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email, password: 'demo' }),
          })
        ).json()) as { access_token: string }
      ).access_token;
    const tenants = (await callHost(p, 'tenants:list', {})).value.tenants as { id: string; name: string }[];
    const acme = tenants.find((t) => t.name === 'Acme Corporation')!;
    const contacts = (await (
      await fetch(`${crm}/api/contacts?company_id=${acme.id}&limit=1`, { headers: { authorization: `Bearer ${await login('super@tenantscope.test')}` } })
    ).json()) as { items: { id: string }[] };
    const marker = `marker-${Date.now()}`;
    const planted = (await (
      await fetch(`${crm}/api/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await login('admin@globex.test')}` },
        body: JSON.stringify({ from_number: '+1555', to_number: '+1666', notes: `follow up ${marker}`, contact_id: contacts.items[0]!.id }),
      })
    ).json()) as { id: string };
    expect((await callHost(p, 'sync:run', { all: true })).ok).toBe(true);
    expect((await callHost(p, 'audit:run', {})).ok).toBe(true);

    await ui(p).shell.switcher.selectOption({ label: 'Globex Corporation' });
    await p.getByTestId('nav-data').click();
    await expect.poll(() => p.getByTestId('data-asof').textContent()).toMatch(/^Globex Corporation · from the local cache, data as of (just now|\d+ min ago)$/);
    // every time shows the same way: relative when recent, the exact time and the instant itself on hover
    expect(await p.getByTestId('data-asof').locator('time').getAttribute('title')).toMatch(/ · \d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    // the status bar knows of the sync made outside this window's buttons, once the view changed
    await expect.poll(() => p.getByTestId('sync-state').textContent()).toMatch(/^Sync: cache as of /);
    await p.getByTestId('data-resource').selectOption({ value: 'calls' });
    await expect.poll(() => p.getByTestId('data-count').textContent()).toMatch(/^\d+ rows$/);
    await screenshot(p, 'data-grid');
    await p.getByTestId('data-search').fill(marker);
    await expect.poll(() => p.getByTestId('data-count').textContent()).toBe('1 row');
    // a timestamp in the grid (updated_at, created_at) reads as every time does, its value as the CRM sent it kept
    const stamp = p.getByTestId(`row-${planted.id}`).locator('time').first();
    expect(await stamp.textContent()).toMatch(/^(just now|\d+ min ago)$/);
    expect(await stamp.getAttribute('datetime')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    // a reference reads as the record it points at, its id on hover; Acme's contact, another tenant's, stays an id
    const refs = p.getByTestId(`row-${planted.id}`).locator('.ref-label');
    expect(await refs.count()).toBeGreaterThan(0);
    expect(await refs.first().getAttribute('title')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await refs.first().textContent()).not.toMatch(/[0-9a-f]{8}-/);
    expect(await refs.evaluateAll((xs) => xs.map((x) => x.getAttribute('title')))).not.toContain(contacts.items[0]!.id);
    expect(await p.getByTestId(`row-${planted.id}`).locator('.ref-cross').textContent()).toBe(contacts.items[0]!.id);
    await p.getByTestId(`row-${planted.id}`).click();
    const record = p.getByTestId('data-record');
    expect(await record.getByTestId('record-provenance').textContent()).toMatch(
      /^Company Globex Corporation · fetched by super@tenantscope\.test from \/api\/calls/,
    );
    expect(await record.getByTestId('record-cross').textContent()).toMatch(/calls rows? points? at another company's contacts \(contact_id\)/);
    const ref = record.getByTestId('ref-contact_id');
    expect(await ref.getAttribute('class')).toBe('cross');
    expect(await ref.textContent()).toMatch(
      /contact_id → contacts \S.* [0-9a-f-]{36} Acme Corporationanother company · HIGH: \d+ calls rows? points? at another company's contacts \(contact_id\)/,
    );
    await screenshot(p, 'data-record-cross-tenant');
    // the contact, across the reference: Acme's, pointed at by Globex's call
    await ref.getByRole('button').click();
    await expect.poll(() => record.getByTestId('record-provenance').textContent()).toMatch(/^Company Acme Corporation/);
    expect(await record.getByTestId('record-referenced-by').textContent()).toContain(planted.id);
    // Escape closes the record, wherever the focus is
    await p.getByTestId('data-search').focus();
    await p.keyboard.press('Escape');
    await record.waitFor({ state: 'detached' });
    // a saved view comes back with its search
    await p.getByTestId('data-view-name').fill('Globex markers');
    await p.getByTestId('data-view-save').click();
    await expect.poll(() => p.getByTestId('data-views').locator('option').allTextContents()).toContain('Globex markers');
    await p.getByTestId('data-search').fill('');
    await expect.poll(() => p.getByTestId('data-count').textContent()).not.toBe('1 row');
    const view = await p.getByTestId('data-views').locator('option', { hasText: 'Globex markers' }).getAttribute('value');
    await p.getByTestId('data-views').selectOption(view!);
    await expect.poll(() => p.getByTestId('data-count').textContent()).toBe('1 row');
    expect(await p.getByTestId('data-search').inputValue()).toBe(marker);
    expect(await p.getByTestId('data-views').inputValue()).toBe(view); // the picker shows the view in use
    // a search that matches nothing says so, rather than an empty grid
    await p.getByTestId('data-search').fill('no-such-marker-anywhere');
    await expect
      .poll(() => p.getByTestId('data-no-match').textContent())
      .toBe('No calls rows match “no-such-marker-anywhere”. Clear the search or the filters to see them all.');
    expect(await p.getByTestId('data-views').inputValue()).toBe('');
    // sorting by a column orders the window
    await p.getByTestId('data-search').fill('');
    await p.getByTestId('sort-duration_seconds').click();
    await expect
      .poll(async () => {
        const at = (await p.locator('[role="columnheader"]').allTextContents()).findIndex((t) => t.startsWith('duration_seconds'));
        const cells = await p.locator('[data-testid="data-scroll"] [role="row"]').evaluateAll(
          (rows, i) =>
            rows
              .map((r) => ({ top: new DOMMatrix(getComputedStyle(r).transform).m42, v: Number(r.children[i]?.textContent) }))
              .sort((x, y) => x.top - y.top)
              .map((x) => x.v),
          at,
        );
        return cells.length > 3 && cells.every((v, i) => i === 0 || cells[i - 1]! <= v);
      })
      .toBe(true);
    await p.close();

    // a company admin: their own company only, by the window and by the host's door
    const a = await openSignedInAs('admin@acme.test');
    await a.getByTestId('nav-data').click();
    await expect.poll(() => a.getByTestId('data-asof').textContent()).toMatch(/^Acme Corporation · /);
    expect(await a.getByTestId('tenant-switcher').count()).toBe(0);
    const globex = tenants.find((t) => t.name === 'Globex Corporation')!;
    expect((await callHost(a, 'records:query', { tenant: globex.id, resource: 'calls' })).error.code).toBe('forbidden');
    expect((await callHost(a, 'records:query', { tenant: 'Globex Corporation', resource: 'calls' })).error.code).toBe('forbidden');
    expect((await callHost(a, 'records:resources', { tenant: globex.id })).error.code).toBe('forbidden');
    expect((await callHost(a, 'records:get', { resource: 'calls', id: planted.id })).value.record).toBeNull();
    expect((await callHost(a, 'views:save', { name: 'x', resource: 'calls', tenant: globex.id, state: {} })).error.code).toBe('forbidden');
    // Acme's contact: Globex's call that points at it is not shown to Acme's admin
    const contact = (await callHost(a, 'records:get', { resource: 'contacts', id: contacts.items[0]!.id })).value;
    expect(contact.record.companyId).toBe(acme.id);
    expect(contact.referencedBy.map((r: { id: string }) => r.id)).not.toContain(planted.id);
    await a.close();
  });

  it('the Tenants view sums every tenant up from the cache (users, rows per priority, missing company_id, open findings), draws rows, findings over time and syncs, and compares two tenants', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    expect((await callHost(p, 'sync:run', { all: true })).ok).toBe(true);
    expect((await callHost(p, 'audit:run', {})).ok).toBe(true);
    const overview = (await callHost(p, 'tenants:overview', {})).value;
    const acme = overview.tenants.find((t: { name: string }) => t.name === 'Acme Corporation');
    await p.getByTestId('nav-audit').click();
    await p.getByTestId('nav-tenants').click();
    const row = p.getByTestId('overview-Acme Corporation');
    await row.waitFor({ timeout: 20_000 });
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['Acme Corporation', String(acme.users), acme.byPriority.company.toLocaleString('en-US')]);
    expect(acme.users).toBeGreaterThan(0);
    expect(acme.byPriority.HIGH).toBeGreaterThan(0);
    expect(acme.missingCompanyId).toBeGreaterThan(0);
    expect(cells[7]).toMatch(/^[1-9]\d* \(audit of all\)$/);
    // the charts are drawn: stacked bars for each tenant, a line of findings, bars of syncs
    expect(await p.getByTestId('chart-rows').locator('.recharts-bar-rectangle').count()).toBeGreaterThanOrEqual(3 * 2);
    expect(await p.getByTestId('chart-findings').locator('.recharts-line').count()).toBe(3);
    // every tenant named on the axis, and the legend in the order the bars stack
    const ticks = await p.getByTestId('chart-rows').locator('.recharts-cartesian-axis-tick-value').allTextContents();
    expect(ticks.filter((t) => !/^\d+$/.test(t))).toEqual(overview.tenants.map((t: { name: string }) => t.name));
    expect(await p.getByTestId('chart-rows').locator('.recharts-legend-item-text').allTextContents()).toEqual(['with company_id', 'HIGH', 'MEDIUM', 'LOW']);
    expect(await p.getByTestId('chart-syncs').locator('.recharts-bar-rectangle').count()).toBeGreaterThan(0);
    await p.getByTestId('compare-a').selectOption({ label: 'Globex Corporation' });
    await p.getByTestId('compare-b').selectOption({ label: 'Initech' });
    const globexCalls = overview.resources.find(
      (r: { tenant: string; resource: string }) =>
        r.resource === 'calls' && r.tenant === overview.tenants.find((t: { name: string }) => t.name === 'Globex Corporation').id,
    );
    expect(await p.getByTestId('compare-calls').locator('td').first().textContent()).toBe(`${globexCalls.rows} (${globexCalls.missing} missing)`);
    await p.getByTestId('tenant-insights').scrollIntoViewIfNeeded();
    await screenshot(p, 'tenants-insights');
    await p.close();
  });

  it('offline: with its CRM stopped, the console opens on the cache, says so on every view, runs the audit and the Data view, and turns off what needs the CRM; a tenant exported with a passphrase opens on the sign-in screen', async () => {
    const crm = await startBenchCrm(mkdtempSync(join(tmpdir(), 'tenantscope-e2e-remote-')), ['--seed', 'demo', '--profile', 'legacy']);
    let stopped = false;
    try {
      const p = await openSignedOut();
      expect((await callHost(p, 'connections:save', { profile: { ...crm.profileJson, name: 'remote' } })).ok).toBe(true);
      await p.reload();
      await ui(p).app('signed-out').waitFor();
      const u = ui(p);
      await p.getByTestId('sign-in-connection').selectOption('remote');
      await signIn(p, 'super@tenantscope.test');
      await u.app('ready').waitFor({ timeout: 60_000 });
      await p.getByTestId('sync-all').click();
      await p.getByTestId('sync-report').waitFor({ timeout: 60_000 });
      // Globex's cache to a file, sealed
      await p.getByTestId('export-Globex Corporation').click();
      await p.getByTestId('export-passphrase-Globex Corporation').fill('correct horse battery');
      const download = p.waitForEvent('download');
      await p.getByTestId('export-go-Globex Corporation').click();
      const exportFile = await (await download).path();
      expect(await p.getByTestId('export-state-Globex Corporation').textContent()).toMatch(
        /rows sealed in tenantscope-globex-corporation-\d{4}-\d{2}-\d{2}\.tscopy/,
      );
      await u.shell.signOut.click();
      await crm.stop();
      stopped = true;

      await u.app('signed-out').waitFor();
      await p.getByTestId('sign-in-connection').selectOption('remote');
      await signIn(p, 'super@tenantscope.test');
      await p.getByTestId('sign-in-offline-hint').waitFor({ timeout: 30_000 });
      await screenshot(p, 'sign-in-crm-unreachable');
      await p.getByTestId('sign-in-offline').click();
      await u.app('ready').waitFor({ timeout: 30_000 });
      expect(await p.getByTestId('offline-banner').textContent()).toMatch(/^Offline, data as of .+: the audit and the Data view work from the cache/);
      expect(await p.getByTestId('sync-all').isDisabled()).toBe(true);
      expect(await p.getByTestId('sync-all').getAttribute('title')).toBe('Offline: a sync reads the CRM.');
      await screenshot(p, 'tenants-offline');
      await p.getByTestId('nav-audit').click();
      await expect.poll(() => p.getByTestId('audit-progress').textContent(), { timeout: 20_000 }).toMatch(/Models with company_id11\/32/);
      expect(await p.getByTestId('offline-banner').count()).toBe(1);
      await p.getByTestId('nav-isolation').click();
      expect(await p.getByTestId('iso-run').isDisabled()).toBe(true);
      await p.getByTestId('nav-migration').click();
      await p.getByTestId('mig-offline').waitFor();
      await p.getByTestId('nav-data').click();
      await expect.poll(() => p.getByTestId('data-count').textContent()).toMatch(/^\d+ rows?$/);
      await screenshot(p, 'data-offline');

      // support staff elsewhere: the sealed file opens on the sign-in screen, offline, Globex only
      await u.shell.signOut.click();
      await u.app('signed-out').waitFor();
      await p.getByTestId('import-copy').locator('summary').click();
      await p
        .getByTestId('import-file')
        .setInputFiles({ name: 'tenantscope-globex-corporation-2026-11-28.tscopy', mimeType: 'application/octet-stream', buffer: readFileSync(exportFile) });
      await p.getByTestId('import-passphrase').fill('not it');
      await p.getByTestId('import-open').click();
      await expect.poll(() => u.signIn.error.textContent()).toMatch(/passphrase is wrong/);
      await p.getByTestId('import-passphrase').fill('correct horse battery');
      await p.getByTestId('import-open').click();
      await u.app('ready').waitFor({ timeout: 30_000 });
      expect(await u.shell.ownCompany.textContent()).toBe('Globex Corporation');
      await p.getByTestId('offline-banner').waitFor();
      // named after the file, without its extension
      expect(await p.getByTestId('status-bar').textContent()).toContain('Connection: globex-corporation-2026-11-28-copy');
      await p.getByTestId('nav-data').click();
      // the copy's "as of" is the export's, the same in the banner and the Data view
      const banner = (await p.getByTestId('offline-banner').textContent())!.match(/data as of (.+?): /)![1]!;
      await expect.poll(() => p.getByTestId('data-asof').textContent()).toBe(`Globex Corporation · from the local cache, data as of ${banner}`);
      await screenshot(p, 'data-imported-copy');
      await p.close();
    } finally {
      if (!stopped) await crm.stop();
    }
  });

  it('Safe Mode: a production connection shows its frame and name, refuses a migration run, an isolation run with writes and an eviction until unlocked by typing its name, and says what a write will do', async () => {
    const p = await openSignedInAs('super@tenantscope.test');
    // the demo CRM again, saved as the production connection "prod" with its database (as a person adds theirs)
    const running = JSON.parse(readFileSync(join(host.home, 'demo-crm', 'running.json'), 'utf8')) as { url: string; databaseUrl: string };
    const profile = JSON.parse(readFileSync(join(root, 'profiles', 'reference-crm.json'), 'utf8'));
    delete profile.embedded;
    delete profile.demoPassword;
    const saved = await callHost(p, 'connections:save', {
      profile: { ...profile, name: 'prod', baseUrl: running.url, safety: { level: 'production' } },
      databaseUrl: running.databaseUrl,
    });
    expect(saved.ok, JSON.stringify(saved.error)).toBe(true);
    expect((await callHost(p, 'session:signIn', { connection: 'prod', username: 'super@tenantscope.test', password: 'demo' })).ok).toBe(true);
    await p.reload();
    await ui(p).app('ready').waitFor();
    // the frame and the name, in sight on every view
    await expect.poll(() => p.getByTestId('shell').getAttribute('data-level')).toBe('production');
    expect(await p.getByTestId('safety-badge').textContent()).toBe('prod · production');
    expect(await p.getByTestId('safety-unlock').textContent()).toContain('Read-only');

    // the migration: planned (a read), not run
    await p.getByTestId('nav-migration').click();
    await p.getByTestId('mig-tables').fill('calls');
    await p.getByTestId('mig-plan').click();
    await p.getByTestId('mig-plan-view').waitFor({ timeout: 60_000 });
    expect(await p.getByTestId('mig-run').isDisabled()).toBe(true);
    expect(await p.getByTestId('mig-run').getAttribute('title')).toMatch(/prod is production, read-only in Safe Mode/);
    await screenshot(p, 'safe-mode-locked');
    // and the door itself refuses, whatever the window shows
    expect((await callHost(p, 'migrate:run', { tables: ['calls'] })).error.code).toBe('read-only');

    // isolation: read-only, the box held; eviction: off
    await p.getByTestId('nav-isolation').click();
    expect(await p.getByTestId('iso-readonly').isChecked()).toBe(true);
    expect(await p.getByTestId('iso-readonly').isDisabled()).toBe(true);
    await p.getByTestId('nav-tenants').click();
    await p.getByTestId('sync-Globex Corporation').click();
    const evict = p.getByTestId('evict-Globex Corporation');
    await evict.waitFor({ timeout: 60_000 });
    expect(await evict.isDisabled()).toBe(true);

    // unlocking asks for the name, typed exactly
    await p.getByTestId('safety-unlock').click();
    await p.getByTestId('safety-name').fill('Prod');
    expect(await p.getByTestId('safety-confirm').isDisabled()).toBe(true);
    await p.getByTestId('safety-name').fill('prod');
    await p.getByTestId('safety-minutes').selectOption('5');
    await screenshot(p, 'safe-mode-unlock');
    await p.getByTestId('safety-confirm').click();
    await p.getByTestId('safety-unlocked').waitFor();
    expect(await p.getByTestId('safety-unlocked').textContent()).toMatch(/^Writes unlocked·5 minLock$/);
    expect(await evict.isDisabled()).toBe(false);
    await p.getByTestId('nav-isolation').click();
    expect(await p.getByTestId('iso-readonly').isChecked()).toBe(false);
    // a run with writes says what it will write before it runs
    await p.getByTestId('iso-only').fill('calls');
    await p.getByTestId('iso-run').click();
    expect(await p.getByTestId('iso-confirm').textContent()).toMatch(
      /Write canary records into prod \(production\)\?.*For each of 1 resource \(calls\), one canary record/,
    );
    await screenshot(p, 'safe-mode-isolation-confirm');
    await p.getByRole('button', { name: 'Cancel' }).click();
    await p.getByTestId('nav-migration').click();
    await p.getByTestId('mig-plan').click();
    await p.getByTestId('mig-plan-view').waitFor({ timeout: 60_000 });
    await expect.poll(() => p.getByTestId('mig-plan').textContent(), { timeout: 60_000 }).toBe('Plan');
    expect(await p.getByTestId('mig-run').isDisabled()).toBe(false);
    await screenshot(p, 'safe-mode-unlocked');
    await p.getByTestId('theme-toggle').click();
    await screenshot(p, 'safe-mode-unlocked-dark');
    // locked again by hand
    await p.getByTestId('safety-lock').click();
    await p.getByTestId('safety-unlock').waitFor();
    expect(await p.getByTestId('mig-run').isDisabled()).toBe(true);
    await screenshot(p, 'safe-mode-locked-dark');
    await p.getByTestId('theme-toggle').click();
    await p.close();
  });
});
