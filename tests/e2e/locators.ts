import type { Page } from 'playwright-core';

/** Every locator the end-to-end tests use, in one place. */
export const ui = (page: Page) => ({
  app: (state: 'loading' | 'signed-out' | 'ready') => page.locator(`[data-app-state="${state}"]`),
  signIn: {
    username: page.getByTestId('sign-in-username'),
    password: page.getByTestId('sign-in-password'),
    submit: page.getByTestId('sign-in-submit'),
    error: page.getByTestId('sign-in-error'),
    quick: (email: string) => page.getByTestId(`quick-${email}`),
    demoStatus: page.getByTestId('demo-status'),
  },
  shell: {
    switcher: page.getByTestId('tenant-switcher'),
    ownCompany: page.getByTestId('own-company'),
    role: page.getByTestId('role'),
    who: page.getByTestId('who'),
    signOut: page.getByTestId('sign-out'),
    theme: page.getByTestId('theme-toggle'),
    nav: (view: string) => page.getByTestId(`nav-${view}`),
    statusBar: page.getByTestId('status-bar'),
  },
  tenants: { table: page.getByTestId('tenants-table'), selectedRow: page.locator('[data-testid="tenants-table"] tr[aria-selected="true"]') },
  view: (id: string) => page.getByTestId(`view-${id}`),
  connections: {
    add: page.getByTestId('connection-add'),
    name: page.getByTestId('connection-name'),
    url: page.getByTestId('connection-url'),
    identities: page.getByTestId('connection-identities'),
    save: page.getByTestId('connection-save'),
    card: (name: string) => page.getByTestId(`connection-${name}`),
    test: (name: string) => page.getByTestId(`test-${name}`),
    checks: (name: string) => page.getByTestId(`checks-${name}`),
    remove: (name: string) => page.getByTestId(`remove-${name}`),
    undo: page.getByTestId('undo'),
    form: page.getByTestId('connection-form'),
  },
});
