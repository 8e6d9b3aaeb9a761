import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The window a call came from: each browser tab of the HTTP host signs in for itself, while the
 * desktop window and the CLI are the one main window. Carried through everything a call starts
 * (its awaits, timers and events), so that a session and an event belong to one window.
 */
export const MAIN_WINDOW = 'main';

const store = new AsyncLocalStorage<string>();

export function inWindow<T>(window: string, fn: () => T): T {
  return store.run(window, fn);
}

/** the window of the call being served; undefined outside any call (the demo CRM's own status) */
export function currentWindow(): string | undefined {
  return store.getStore();
}
