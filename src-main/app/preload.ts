import { contextBridge, ipcRenderer } from 'electron';

type Listener = (payload: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
ipcRenderer.on('tenantscope:event', (_e, name: string, payload: unknown) => {
  listeners.get(name)?.forEach((l) => l(payload));
});

/** The renderer's only door: window.api.call and window.api.on. */
contextBridge.exposeInMainWorld('api', {
  call: (channel: string, payload: unknown) => ipcRenderer.invoke('tenantscope:call', channel, payload),
  on: (name: string, listener: Listener) => {
    const set = listeners.get(name) ?? new Set<Listener>();
    set.add(listener);
    listeners.set(name, set);
    return () => set.delete(listener);
  },
});
