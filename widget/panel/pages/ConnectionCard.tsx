import { useState } from 'preact/hooks';
import { api, ws } from '../api.ts';
import type { ConnectionReport } from '#shared/panel-api.ts';

/** The connection check on demand: it makes a few Customer.io calls, so it runs when asked, not on every visit. */
export function ConnectionCard() {
  const [report, setReport] = useState<ConnectionReport | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = () => {
    setBusy(true);
    setError('');
    api<ConnectionReport>('GET', ws('/connection')).then(setReport, (e) => setError(e.message)).finally(() => setBusy(false));
  };
  return (
    <section class="card" data-testid="connection-card">
      <h2>Connection</h2>
      <p class="muted">Checks the Customer.io keys, region, webhooks, email token and sync, and says how to fix what fails.</p>
      <button type="button" onClick={run} disabled={busy} data-testid="connection-run">{busy ? 'Checking…' : report ? 'Check again' : 'Check connection'}</button>
      {error && <p class="error">{error}</p>}
      {report && (
        <ul class="checks">
          {report.checks.map((c) => (
            <li key={c.id} data-check={c.id} data-ok={String(c.ok)}>
              <span class={`pill ${c.ok ? 'ok' : 'bad'}`}>{c.ok ? 'OK' : 'Fix'}</span> <b>{c.label}</b>: {c.detail}
              {c.fix && <p class="muted fix">{c.fix}</p>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
