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
  /** the command palette (Ctrl/Cmd+K) is open */
  palette: boolean;
  show(view: ViewId): void;
  toggleTheme(): void;
  setPalette(open: boolean): void;
}

export const useUi = create<UiState>((set, get) => ({
  view: 'tenants',
  theme: initialTheme(),
  palette: false,
  show: (view) => set({ view }),
  setPalette: (palette) => set({ palette }),
  toggleTheme: () => {
    const theme = get().theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('tenantscope.theme', theme);
    set({ theme });
  },
}));
