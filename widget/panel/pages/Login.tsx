import { useState } from 'preact/hooks';
import { api } from '../api.ts';

export function Login({ onSignedIn }: { onSignedIn: (s: { workspace: string; csrfToken: string }) => void }) {
  const [workspace, setWorkspace] = useState(new URLSearchParams(location.search).get('workspace') ?? 'demo');
  const [editorKey, setEditorKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onSignedIn(await api('POST', '/session', { workspace, editorKey }));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="card login-card" onSubmit={submit}>
        <div class="brand big"><span class="logo">S</span> SharpSend</div>
        <h1>Editors' panel</h1>
        <p class="muted">Find your audience and send to it through Customer.io.</p>
        <label>Workspace<input name="workspace" value={workspace} onInput={(e) => setWorkspace(e.currentTarget.value)} required /></label>
        <label>Editor key<input name="editorKey" type="password" value={editorKey} onInput={(e) => setEditorKey(e.currentTarget.value)} required autoFocus /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button class="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </div>
  );
}
