import { useEffect, useState } from 'preact/hooks';
import { api, randomId, ws } from '../api.ts';
import type { Broadcast, BroadcastList, SegmentDetail as Members, SegmentView as Segment, SendPreview, SendResults, SendView as Send, TestSendResult } from '#shared/panel-api.ts';

interface DraftVariation { id: string; segmentId: string; subject: string; preheader: string; body: string; ctaLabel: string; ctaUrl: string }
interface Draft { draftId: string; broadcastId: number | null; mode: 'broadcast' | 'journey'; eventName: string; variations: DraftVariation[] }

const DRAFT_KEY = 'sharpsend-panel:draft';
const TEST_EMAIL_KEY = 'sharpsend-panel:test-email';
// No Liquid in the body: Customer.io renders Liquid in the broadcast's template only, never inside
// trigger data (the edge refuses it). The greeting with the reader's name is the template's (README).
const blank = (n: number): DraftVariation => ({ id: `v${n}`, segmentId: '', subject: '', preheader: '', body: '', ctaLabel: 'Read more', ctaUrl: '' });
const freshDraft = (): Draft => ({ draftId: randomId('draft'), broadcastId: null, mode: 'broadcast', eventName: 'sharpsend_send', variations: [blank(1)] });

/** The composition lives in localStorage with its draft id: a reload or a retry reuses the same idempotency keys. */
function loadDraft(): Draft {
  try {
    return JSON.parse(localStorage.getItem(DRAFT_KEY) ?? '') as Draft;
  } catch {
    return freshDraft();
  }
}

export const toVariation = (v: DraftVariation) => ({
  id: v.id, segmentId: v.segmentId, subject: v.subject, preheader: v.preheader,
  blocks: v.body.split(/\n{2,}/).map((t) => t.trim()).filter(Boolean).map((text) => ({ kind: 'paragraph' as const, text })),
  cta: v.ctaUrl ? { label: v.ctaLabel || 'Read more', url: v.ctaUrl } : null,
});

export function SendPage() {
  const [draft, setDraftState] = useState<Draft>(loadDraft);
  const [broadcasts, setBroadcasts] = useState<Broadcast[]>([]);
  const [segments, setSegments] = useState<Segment[]>([]);
  const [sends, setSends] = useState<Send[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [preview, setPreview] = useState<SendPreview | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [testEmail, setTestEmail] = useState(() => localStorage.getItem(TEST_EMAIL_KEY) ?? '');
  const [testVariation, setTestVariation] = useState(0);
  const [testResult, setTestResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const setDraft = (d: Draft) => { localStorage.setItem(DRAFT_KEY, JSON.stringify(d)); setDraftState(d); };
  const loadSends = () => api<{ sends: Send[] }>('GET', ws('/sends')).then((r) => setSends(r.sends), () => {});
  useEffect(() => {
    localStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
    api<BroadcastList>('GET', ws('/broadcasts')).then((r) => { setBroadcasts(r.broadcasts); if (r.error) setError(r.error); }, (e) => setError(e.message));
    api<{ segments: Segment[] }>('GET', ws('/segments')).then((r) => setSegments(r.segments), () => {});
    loadSends();
    const t = setInterval(loadSends, 2000);
    return () => clearInterval(t);
  }, []);

  // The distinct audience (a reader in several variations' segments counts for the first), counted by the edge.
  const segmentKey = draft.variations.map((v) => v.segmentId).join(',');
  useEffect(() => {
    if (draft.variations.some((v) => !v.segmentId)) return setPreview(null);
    const body = { mode: draft.mode, variations: draft.variations.map((v) => ({ id: v.id, segmentId: v.segmentId })) };
    api<SendPreview>('POST', ws('/sends/preview'), body).then(setPreview, () => setPreview(null));
  }, [segmentKey, draft.mode]);

  const mine = sends.filter((s) => s.draftId === draft.draftId);
  const update = (i: number, patch: Partial<DraftVariation>) => setDraft({ ...draft, variations: draft.variations.map((v, j) => (j === i ? { ...v, ...patch } : v)) });
  const send = async () => {
    if (busy) return;
    setBusy(true);
    setError('');
    try {
      await api('POST', ws('/sends'), { draftId: draft.draftId, broadcastId: draft.broadcastId, mode: draft.mode, eventName: draft.eventName, variations: draft.variations.map(toVariation) });
      await loadSends();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const sendTest = async () => {
    setTestResult(null);
    localStorage.setItem(TEST_EMAIL_KEY, testEmail);
    const v = draft.variations[testVariation] ?? draft.variations[0]!;
    const { segmentId: _, ...variation } = toVariation(v);
    try {
      const r = await api<TestSendResult>('POST', ws('/sends/test'), { broadcastId: draft.broadcastId, email: testEmail.trim(), variation });
      setTestResult({ ok: true, text: `Test of variation ${String.fromCharCode(65 + draft.variations.indexOf(v))} sent to ${r.email} (trigger ${r.triggerId ?? '?'}). It is not the send.` });
    } catch (e) {
      setTestResult({ ok: false, text: (e as Error).message });
    }
  };
  const broadcast = broadcasts.find((b) => b.id === draft.broadcastId);
  const audience = preview?.total ?? null;
  const allSent = mine.length === draft.variations.length && mine.every((s) => s.status === 'sent');

  return (
    <>
      <header class="page-head row">
        <div><h1>Send</h1><p class="muted">One variation per segment; each goes out once, however often the button is pressed.</p></div>
        <button onClick={() => setDraft(freshDraft())} data-testid="new-draft">New composition</button>
      </header>
      <section class="card">
        <div class="row wrap">
          <label>Send as
            <select value={draft.mode} onChange={(e) => setDraft({ ...draft, mode: e.currentTarget.value as Draft['mode'] })} data-testid="send-mode">
              <option value="broadcast">API-triggered broadcast</option><option value="journey">Journey event (your campaign triggers on it)</option>
            </select>
          </label>
          <label>Broadcast
            <select value={String(draft.broadcastId ?? '')} onChange={(e) => setDraft({ ...draft, broadcastId: Number(e.currentTarget.value) || null })} data-testid="broadcast">
              <option value="">choose…</option>
              {broadcasts.map((b) => <option value={b.id} key={b.id}>{b.name} (#{b.id})</option>)}
            </select>
          </label>
          {draft.mode === 'journey' && <label>Event name<input value={draft.eventName} onInput={(e) => setDraft({ ...draft, eventName: e.currentTarget.value })} /></label>}
        </div>
      </section>
      {draft.variations.map((v, i) => (
        <VariationEditor key={v.id} v={v} index={i} segments={segments} onChange={(p) => update(i, p)}
          onRemove={draft.variations.length > 1 ? () => setDraft({ ...draft, variations: draft.variations.filter((_, j) => j !== i) }) : undefined}
          send={mine.find((s) => s.variation.id === v.id)} distinct={preview?.variations[i]?.readers} />
      ))}
      <div class="row send-bar card">
        <button onClick={() => setDraft({ ...draft, variations: [...draft.variations, blank(Math.max(...draft.variations.map((v) => Number(v.id.slice(1)) || 0)) + 1)] })} data-testid="add-variation">+ Add variation</button>
        <span class="muted">Audience: <b data-testid="audience-total">{audience ?? '…'}</b> distinct readers in {draft.variations.length} variation(s)</span>
        <button class={`primary${allSent ? ' done' : ''}`} onClick={() => (mine.length ? send() : setConfirming(true))} disabled={busy || !draft.broadcastId || !preview} data-testid="send-button">
          {busy ? 'Queuing…' : allSent ? 'Sent ✓' : mine.length ? 'Queued…' : `Send ${draft.variations.length} variation(s)…`}
        </button>
      </div>
      <section class="card test-send">
        <h2>Send a test to me</h2>
        <p class="muted">One email to this address only, through the same broadcast. It never counts as the send (it does take the broadcast's turn: Customer.io allows one trigger per broadcast every few seconds). The address must be a person in Customer.io.</p>
        <div class="row wrap">
          <label class="grow">Your address<input type="email" value={testEmail} onInput={(e) => setTestEmail(e.currentTarget.value)} placeholder="you@example.com" data-testid="test-email" /></label>
          {draft.variations.length > 1 && (
            <label>Variation
              <select value={String(testVariation)} onChange={(e) => setTestVariation(Number(e.currentTarget.value))} data-testid="test-variation">
                {draft.variations.map((v, i) => <option value={i} key={v.id}>{String.fromCharCode(65 + i)}: {v.subject || 'no subject yet'}</option>)}
              </select>
            </label>
          )}
          <button onClick={sendTest} disabled={!draft.broadcastId || !testEmail.includes('@')} data-testid="test-send">Send test</button>
        </div>
        {testResult && <p class={testResult.ok ? 'ok-text' : 'error'} role="status" data-testid="test-result">{testResult.text}</p>}
      </section>
      {confirming && preview && (
        <section class="card confirm" role="dialog" aria-label="Confirm the send" data-testid="confirm">
          <h2>Send to {preview.total} readers?</h2>
          <p>Broadcast <b data-testid="confirm-broadcast">{broadcast ? `${broadcast.name} (#${broadcast.id})` : `#${draft.broadcastId}`}</b>
            {draft.mode === 'journey' ? ' as journey events' : preview.via === 'segment' ? ', one trigger per variation with the Customer.io segment as audience' : `, in ${preview.triggers} trigger(s) of at most 10,000 readers`}.</p>
          <table class="table">
            <thead><tr><th>Variation</th><th>Subject</th><th>Segment</th><th>Readers</th></tr></thead>
            <tbody>{preview.variations.map((p, i) => (
              <tr key={p.id} data-testid="confirm-variation">
                <td>{String.fromCharCode(65 + i)}</td><td>{draft.variations[i]?.subject}</td><td>{p.segmentName}</td><td>{p.readers}</td>
              </tr>
            ))}</tbody>
          </table>
          <p class="muted">A reader in several segments gets only the first variation that names them.</p>
          <div class="row">
            <button onClick={() => setConfirming(false)} data-testid="confirm-cancel">Cancel</button>
            <button class="primary" onClick={async () => { await send(); setConfirming(false); }} disabled={busy} data-testid="confirm-send">
              {busy ? 'Queuing…' : `Send to ${preview.total} readers`}
            </button>
          </div>
        </section>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      <section class="card">
        <h2>Recent sends</h2>
        <table class="table" data-testid="sends-table">
          <thead><tr><th>Subject</th><th>Segment</th><th>Recipients</th><th>Status</th><th>When</th></tr></thead>
          <tbody>{sends.map((s) => [
            <tr key={s.key} data-status={s.status} onClick={() => setOpen(open === s.key ? null : s.key)} title="Results">
              <td><b>{s.variation.subject}</b><br /><small class="muted">{s.mode === 'journey' ? 'journey event' : `broadcast #${s.broadcastId}`}{s.abTest ? ' · A/B' : ''}</small></td>
              <td>{s.segmentName}</td><td><Progress s={s} /></td>
              <td><StatusPill s={s} /></td>
              <td><small>{new Date(s.sentAt ?? s.createdAt).toLocaleTimeString()}</small>{s.status === 'sent' && <> <button class="link" data-testid="show-results">results</button></>}</td>
            </tr>,
            open === s.key && <tr key={`${s.key}:results`} class="results-row"><td colSpan={5}><Results sendKey={s.key} /></td></tr>,
          ])}</tbody>
        </table>
      </section>
    </>
  );
}

/** One send's results: our counts of its own email (human and machine apart) beside Customer.io's metrics for the whole broadcast. */
function Results({ sendKey }: { sendKey: string }) {
  const [r, setR] = useState<SendResults | null>(null);
  useEffect(() => {
    const load = () => api<SendResults>('GET', ws(`/sends/results?key=${encodeURIComponent(sendKey)}`)).then(setR, () => {});
    load();
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [sendKey]);
  if (!r) return <p class="muted">Loading results…</p>;
  const rate = (x: number, n: number) => (n ? ` (${((100 * x) / n).toFixed(1)}%)` : '');
  return (
    <div class="two results" data-testid="send-results">
      <div>
        <h3>Ours: this send's email</h3>
        {r.ours ? (
          <ul class="plain" data-testid="results-ours">
            <li>Recipients: <b>{r.ours.recipients}</b></li>
            <li>Opened (people): <b>{r.ours.opened}</b>{rate(r.ours.opened, r.ours.recipients)} · machine opens: {r.ours.openedMachine}</li>
            <li>Clicked (people): <b>{r.ours.clicked}</b>{rate(r.ours.clicked, r.ours.recipients)} · machine clicks: {r.ours.clickedMachine}</li>
            <li><small class="muted">{r.ours.countedAt ? `counted ${new Date(r.ours.countedAt).toLocaleTimeString()}` : 'counting…'}</small></li>
          </ul>
        ) : <p class="muted">Journey sends are counted in your campaign's own metrics.</p>}
      </div>
      <div>
        <h3>Customer.io: broadcast #{r.customerio?.broadcastId ?? ''} overall</h3>
        {r.customerio ? (
          <ul class="plain" data-testid="results-cio">
            <li>Sent {r.customerio.sent} · delivered {r.customerio.delivered}</li>
            <li>Opened {r.customerio.opened} · clicked {r.customerio.clicked}</li>
            <li>Bounced {r.customerio.bounced} · unsubscribed {r.customerio.unsubscribed}</li>
            <li><small class="muted">every send of this broadcast together (Customer.io reports per broadcast)</small></li>
          </ul>
        ) : <p class="error">{r.customerioError}</p>}
      </div>
    </div>
  );
}

/** Recipients reached so far of the send's audience, and its triggers (chunks of at most 10,000). */
export function Progress({ s }: { s: Send }) {
  if (s.building) return <span data-testid="send-progress">{s.recipients} <small class="muted">· reading the audience…</small></span>;
  return (
    <span data-testid="send-progress">{s.recipientsSent} / {s.recipients}
      {s.chunks > 1 && <small class="muted"> · trigger {s.chunksSent} of {s.chunks}</small>}
      {s.audience === 'segment' && <small class="muted"> · Customer.io segment</small>}
    </span>
  );
}

export function StatusPill({ s }: { s: Send }) {
  const cls = { sent: 'ok', failed: 'bad', retrying: 'warn', queued: '' }[s.status];
  const text = s.status === 'sent' ? (s.triggerId ? `sent · trigger ${s.triggerId}` : 'sent') : s.status === 'retrying' ? `retrying (${s.attempts})` : s.status;
  return <span class={`pill ${cls}`} title={s.error ?? ''} data-testid="send-status">{text}{s.error && s.status !== 'sent' ? <small> · {s.error.slice(0, 80)}</small> : null}</span>;
}

function VariationEditor({ v, index, segments, onChange, onRemove, send, distinct }: {
  v: DraftVariation; index: number; segments: Segment[]; onChange: (p: Partial<DraftVariation>) => void; onRemove?: () => void; send?: Send; distinct?: number;
}) {
  const [sample, setSample] = useState<Members['members'][number] | null>(null);
  useEffect(() => {
    if (!v.segmentId) return setSample(null);
    api<Members>('GET', ws(`/segments/${v.segmentId}`)).then((m) => setSample(m.members[0] ?? null), () => setSample(null));
  }, [v.segmentId]);
  const segment = segments.find((s) => s.id === v.segmentId);
  const customer: Record<string, unknown> = { email: sample?.email, id: sample?.userId, ...(sample?.traits ?? {}) };
  const locked = Boolean(send);
  return (
    <section class="card variation" data-testid="variation">
      <div class="row"><h2>Variation {String.fromCharCode(65 + index)}</h2>{send && <StatusPill s={send} />}{onRemove && !locked && <button class="link" onClick={onRemove}>remove</button>}</div>
      <div class="two">
        <div class="form">
          <label>Segment
            <select value={v.segmentId} onChange={(e) => onChange({ segmentId: e.currentTarget.value })} disabled={locked} data-testid="variation-segment">
              <option value="">choose…</option>
              {segments.map((s) => <option value={s.id} key={s.id}>{s.name} ({s.count})</option>)}
            </select>
          </label>
          <label>Subject<input value={v.subject} onInput={(e) => onChange({ subject: e.currentTarget.value })} disabled={locked} data-testid="variation-subject" /></label>
          <label>Preheader<input value={v.preheader} onInput={(e) => onChange({ preheader: e.currentTarget.value })} disabled={locked} /></label>
          <label>Body <small class="muted">(plain text, blank line = new paragraph; the greeting with the reader's name comes from the broadcast template)</small>
            <textarea rows={5} value={v.body} onInput={(e) => onChange({ body: e.currentTarget.value })} disabled={locked} data-testid="variation-body" /></label>
          <div class="row">
            <label>Button<input value={v.ctaLabel} onInput={(e) => onChange({ ctaLabel: e.currentTarget.value })} disabled={locked} /></label>
            <label class="grow">Link<input value={v.ctaUrl} placeholder="https://…" onInput={(e) => onChange({ ctaUrl: e.currentTarget.value })} disabled={locked} /></label>
          </div>
          <p class="muted">Segment: <b>{segment?.count ?? 0}</b> readers{distinct !== undefined && distinct !== segment?.count ? <> · <b data-testid="variation-distinct">{distinct}</b> not in an earlier variation</> : null}</p>
        </div>
        <div class="preview" data-testid="preview">
          <div class="mail">
            <div class="mail-head"><small class="muted">To: {sample?.email ?? 'a reader of this segment'}</small><b>{v.subject || 'Subject'}</b><small class="muted">{v.preheader}</small></div>
            <div class="mail-body">
              <p class="muted">Hello {String(customer.first_name ?? 'reader')},</p>
              {v.body.split(/\n{2,}/).filter((p) => p.trim()).map((p, i) => <p key={i}>{p}</p>)}
              {v.ctaUrl && <a class="cta" href={v.ctaUrl} target="_blank" rel="noreferrer">{v.ctaLabel || 'Read more'}</a>}
            </div>
          </div>
          <small class="muted">Preview with {sample ? sample.email ?? sample.userId : 'no sample reader yet'}</small>
        </div>
      </div>
    </section>
  );
}
