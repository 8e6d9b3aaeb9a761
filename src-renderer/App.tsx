import { useEffect } from 'react';
import { on } from './api.ts';
import { useSession } from './stores/sessionStore.ts';
import { useUi, VIEWS } from './stores/uiStore.ts';
import { SignInView } from './views/SignInView.tsx';
import { Shell } from './components/Shell.tsx';

export function App() {
  const phase = useSession((s) => s.phase);
  const init = useSession((s) => s.init);
  const setDemo = useSession((s) => s.setDemo);
  const theme = useUi((s) => s.theme);
  const show = useUi((s) => s.show);

  useEffect(() => {
    void init();
    return on('onStatus', (s) => setDemo(s.demo));
  }, [init, setDemo]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  // Alt+1..6 switches views from anywhere; Ctrl/Cmd+K opens the command palette once signed in
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        if (useSession.getState().phase !== 'ready') return;
        e.preventDefault();
        useUi.getState().setPalette(!useUi.getState().palette);
        return;
      }
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const n = Number(e.key);
      const view = VIEWS[n - 1];
      if (view) {
        e.preventDefault();
        show(view.id);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [show]);

  const state = phase === 'ready' ? 'ready' : phase === 'loading' ? 'loading' : 'signed-out';
  return (
    <div className="app" data-app-state={state}>
      {phase === 'loading' ? (
        <div className="splash" role="status">
          Loading TenantScope…
        </div>
      ) : phase === 'ready' ? (
        <Shell />
      ) : (
        <SignInView />
      )}
    </div>
  );
}
