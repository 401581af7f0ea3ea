/**
 * Double opt-in: the sign-ups still waiting for their confirmation, oldest first, 50 at a time from
 * GET /pending-signups (the directory's partial index of pending readers, never every reader).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ws } from '../api.ts';
import type { PendingSignup, PendingSignupPage } from '#shared/panel-api.ts';

const PAGE = 50;

export function PendingSignups({ total }: { total: number }) {
  const [rows, setRows] = useState<PendingSignup[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const load = (after: string | null) => {
    const q = new URLSearchParams({ limit: String(PAGE), ...(after ? { after } : {}) });
    api<PendingSignupPage>('GET', ws(`/pending-signups?${q}`)).then((page) => {
      setRows((before) => (after ? [...before, ...page.signups] : page.signups));
      setNext(page.next);
    }, (e: Error) => setError(e.message));
  };
  useEffect(() => load(null), []);
  return (
    <section class="card" data-testid="pending-signups">
      <h2>Waiting for confirmation</h2>
      <p class="muted">{total === 1 ? '1 reader has' : `${total.toLocaleString()} readers have`} signed up but not opened their confirmation link yet (double opt-in). They are synced as
        {' '}<code>confirmed: false</code> and forgotten if they never confirm.</p>
      {error && <p class="error">{error}</p>}
      {rows.length > 0 && (
        <table class="table">
          <thead><tr><th>Email</th><th>Signed up</th></tr></thead>
          <tbody>{rows.map((r) => <tr key={r.key}><td>{r.email ?? r.key}</td><td>{new Date(r.pendingSince).toLocaleString()}</td></tr>)}</tbody>
        </table>
      )}
      {next && <button type="button" onClick={() => load(next)}>Show more</button>}
    </section>
  );
}
