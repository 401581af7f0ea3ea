/** The editors' panel: sign in with the editor key, then audience, segments, sending and A/B tests. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf, setWorkspace } from './api.ts';
import { Login } from './pages/Login.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { ReadersPage } from './pages/Readers.tsx';
import { SegmentsPage } from './pages/Segments.tsx';
import { SendPage } from './pages/Send.tsx';
import { AbTestsPage } from './pages/AbTests.tsx';

const NAV = [
  ['overview', 'Overview'], ['readers', 'Readers'], ['segments', 'Segments'], ['send', 'Send'], ['ab', 'A/B tests'],
] as const;

function useHash(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function App() {
  const [session, setSession] = useState<{ workspace: string } | null | undefined>(undefined);
  const [page = 'overview', ...rest] = useHash();

  useEffect(() => {
    api<{ workspace: string; csrfToken: string | null }>('GET', '/session')
      .then((s) => { setCsrf(s.csrfToken ?? ''); setWorkspace(s.workspace); setSession({ workspace: s.workspace }); })
      .catch(() => setSession(null));
  }, []);

  if (session === undefined) return <div class="boot">Loading…</div>;
  if (session === null || page === 'login') {
    return <Login onSignedIn={(s) => { setWorkspace(s.workspace); setCsrf(s.csrfToken); setSession(s); location.hash = '#/overview'; }} />;
  }
  const signOut = async () => {
    await api('DELETE', '/session').catch(() => {});
    setSession(null);
  };
  return (
    <div class="shell">
      <aside class="side">
        <div class="brand"><span class="logo">S</span> SharpSend</div>
        <nav>
          {NAV.map(([id, label]) => <a href={`#/${id}`} class={page === id ? 'active' : ''} data-nav={id}>{label}</a>)}
        </nav>
        <div class="who">
          <span>Workspace</span><b data-testid="workspace">{session.workspace}</b>
          <button class="link" onClick={signOut}>Sign out</button>
        </div>
      </aside>
      <main class="main">
        {page === 'overview' && <OverviewPage />}
        {page === 'readers' && <ReadersPage selected={rest[0] ? decodeURIComponent(rest[0]) : null} />}
        {page === 'segments' && <SegmentsPage selected={rest[0] ?? null} />}
        {page === 'send' && <SendPage />}
        {page === 'ab' && <AbTestsPage />}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
