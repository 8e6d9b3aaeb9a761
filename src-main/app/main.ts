/**
 * The desktop shell: the only code that imports electron. It opens one locked window on the
 * renderer and wires IPC to the same services the HTTP host and the CLI use.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, Menu, safeStorage, session, shell } from 'electron';
import { events, type EventName } from '../../src-shared/contract.ts';
import { resolveHome } from '../core/home.ts';
import { createServices, type Services, type ServicesOptions } from '../compose/services.ts';
import { MemorySecretStore } from '../core/secretStore.ts';
import { keyringCacheKey, SafeStorageSecretStore } from './safeStorageSecrets.ts';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";
const rendererIndex = join(import.meta.dirname, '..', 'renderer', 'index.html');
const rendererUrl = new URL(`file://${rendererIndex}`).href;

if (!app.requestSingleInstanceLock()) app.quit();

let services: Services | null = null;
let win: BrowserWindow | null = null;

function boundsFile(home: string) {
  return join(home, 'window.json');
}

function createWindow(home: string) {
  let bounds: { x?: number; y?: number; width: number; height: number } = { width: 1280, height: 820 };
  try {
    if (existsSync(boundsFile(home))) bounds = { ...bounds, ...(JSON.parse(readFileSync(boundsFile(home), 'utf8')) as object) };
  } catch {
    /* default size */
  }
  win = new BrowserWindow({
    ...bounds,
    minWidth: 900,
    minHeight: 600,
    title: 'TenantScope',
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, '..', 'preload', 'index.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('close', () => {
    if (win) writeFileSync(boundsFile(home), JSON.stringify(win.getBounds()));
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (url !== rendererUrl) e.preventDefault();
  });
  void win.loadFile(rendererIndex);
}

function buildMenu() {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      { role: 'fileMenu' },
      { role: 'editMenu' },
      {
        label: 'View',
        submenu: [
          { role: 'reload' },
          { role: 'toggleDevTools' },
          { type: 'separator' },
          { role: 'resetZoom' },
          { role: 'zoomIn' },
          { role: 'zoomOut' },
          { type: 'separator' },
          { role: 'togglefullscreen' },
        ],
      },
      { role: 'windowMenu' },
      { role: 'help', submenu: [{ label: 'TenantScope on the web', click: () => void shell.openExternal('https://github.com/') }] },
    ]),
  );
}

void app.whenReady().then(() => {
  const home = process.env.TENANTSCOPE_HOME ? resolveHome() : resolveHome({ ...process.env, TENANTSCOPE_HOME: app.getPath('userData') });
  // on Linux without a keyring, safeStorage "encrypts" with a fixed key (the basic_text backend):
  // that seals nothing, so secrets stay in memory for the session instead, and the log says why
  const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os';
  const sealed = safeStorage.isEncryptionAvailable() && backend !== 'basic_text' && backend !== 'unknown';
  if (!sealed)
    console.error(
      `tenantscope: no OS keyring to seal secrets with (safeStorage backend ${backend}): passwords and database URLs are kept in memory for this session only. Install and unlock a keyring (GNOME Keyring, KWallet) to keep them.`,
    );
  const secrets = sealed ? new SafeStorageSecretStore(home) : new MemorySecretStore();
  // the caches: encrypted under a key the keyring seals; without a keyring, under
  // TENANTSCOPE_CACHE_KEY if set, else plain (and the log says so)
  let cacheKey: ServicesOptions['cacheKey'];
  if (sealed) cacheKey = { key: { rawKey: keyringCacheKey(home) }, source: 'os-keyring' };
  else if (!process.env.TENANTSCOPE_CACHE_KEY)
    console.error(
      'tenantscope: no OS keyring, so the caches are not encrypted at rest. Set TENANTSCOPE_CACHE_KEY to a passphrase of 12 characters or more to encrypt them.',
    );
  services = createServices({ home, mode: 'desktop', secrets, startDemo: true, cacheKey });
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  ipcMain.handle('tenantscope:call', (event, channel: unknown, payload: unknown) => {
    // only our own renderer may call
    if (event.senderFrame?.url !== rendererUrl) return { ok: false, error: { code: 'forbidden', message: 'Unknown sender.' } };
    return services!.dispatch(String(channel), payload);
  });
  for (const name of Object.keys(events) as EventName[]) {
    services.bus.on(name, (payload) => win?.webContents.send('tenantscope:event', name, payload));
  }
  // a sync's progress shows in the taskbar (dock) too; cleared when it ends
  let clearTaskbar: NodeJS.Timeout | null = null;
  services.bus.on('onProgress', (p) => {
    if (!win || !p.task.startsWith('sync:')) return;
    win.setProgressBar(p.total ? Math.min(p.done / p.total, 1) : 2); // 2: indeterminate
    if (clearTaskbar) clearTimeout(clearTaskbar);
    clearTaskbar = setTimeout(() => win?.setProgressBar(-1), 3000);
  });
  buildMenu();
  createWindow(home);
  app.on('second-instance', () => {
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
});

app.on('window-all-closed', () => app.quit());
let quitting = false;
app.on('before-quit', (e) => {
  if (quitting || !services) return;
  quitting = true;
  e.preventDefault();
  void services.close().finally(() => app.quit());
});
