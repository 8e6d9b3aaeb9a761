import { create } from 'zustand';

export const VIEWS = [
  { id: 'tenants', label: 'Tenants' },
  { id: 'audit', label: 'Audit' },
  { id: 'migration', label: 'Migration' },
  { id: 'isolation', label: 'Isolation' },
  { id: 'data', label: 'Data' },
  { id: 'connections', label: 'Connections' },
] as const;
export type ViewId = (typeof VIEWS)[number]['id'];
export type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  const saved = localStorage.getItem('tenantscope.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

interface UiState {
  view: ViewId;
  theme: Theme;
  show(view: ViewId): void;
  toggleTheme(): void;
}

export const useUi = create<UiState>((set, get) => ({
  view: 'tenants',
  theme: initialTheme(),
  show: (view) => set({ view }),
  toggleTheme: () => {
    const theme = get().theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('tenantscope.theme', theme);
    set({ theme });
  },
}));
