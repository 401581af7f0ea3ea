import { useEffect, useState } from 'preact/hooks';
import { api, randomId, ws } from '../api.ts';
import { fillTemplate } from '#shared/liquid.ts';
import type { Broadcast, BroadcastList, SegmentDetail as Members, SegmentView as Segment, SendView as Send } from '#shared/panel-api.ts';

interface DraftVariation { id: string; segmentId: string; subject: string; preheader: string; body: string; ctaLabel: string; ctaUrl: string }
interface Draft { draftId: string; broadcastId: number | null; mode: 'broadcast' | 'journey'; eventName: string; variations: DraftVariation[] }

const DRAFT_KEY = 'sharpsend-panel:draft';
const blank = (n: number): DraftVariation => ({ id: `v${n}`, segmentId: '', subject: '', preheader: '', body: 'Hello {{ customer.first_name | default: "reader" }},\n\n', ctaLabel: 'Read more', ctaUrl: '' });
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
  const audience = draft.variations.reduce((n, v) => n + (segments.find((s) => s.id === v.segmentId)?.count ?? 0), 0);
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
          send={mine.find((s) => s.variation.id === v.id)} />
      ))}
      <div class="row send-bar card">
        <button onClick={() => setDraft({ ...draft, variations: [...draft.variations, blank(Math.max(...draft.variations.map((v) => Number(v.id.slice(1)) || 0)) + 1)] })} data-testid="add-variation">+ Add variation</button>
        <span class="muted">Audience: <b data-testid="audience-total">{audience}</b> readers in {draft.variations.length} variation(s)</span>
        <button class={`primary${allSent ? ' done' : ''}`} onClick={send} disabled={busy || !draft.broadcastId} data-testid="send-button">
          {busy ? 'Queuing…' : allSent ? 'Sent ✓' : mine.length ? 'Queued…' : `Send ${draft.variations.length} variation(s)`}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <section class="card">
        <h2>Recent sends</h2>
        <table class="table" data-testid="sends-table">
          <thead><tr><th>Subject</th><th>Segment</th><th>Recipients</th><th>Status</th><th>When</th></tr></thead>
          <tbody>{sends.map((s) => (
            <tr key={s.key} data-status={s.status}>
              <td><b>{s.variation.subject}</b><br /><small class="muted">{s.mode === 'journey' ? 'journey event' : `broadcast #${s.broadcastId}`}{s.abTest ? ' · A/B' : ''}</small></td>
              <td>{s.segmentName}</td><td>{s.recipients}</td>
              <td><StatusPill s={s} /></td>
              <td><small>{new Date(s.sentAt ?? s.createdAt).toLocaleTimeString()}</small></td>
            </tr>
          ))}</tbody>
        </table>
      </section>
    </>
  );
}

export function StatusPill({ s }: { s: Send }) {
  const cls = { sent: 'ok', failed: 'bad', retrying: 'warn', queued: '' }[s.status];
  const text = s.status === 'sent' ? (s.triggerId ? `sent · trigger ${s.triggerId}` : 'sent') : s.status === 'retrying' ? `retrying (${s.attempts})` : s.status;
  return <span class={`pill ${cls}`} title={s.error ?? ''} data-testid="send-status">{text}{s.error && s.status !== 'sent' ? <small> · {s.error.slice(0, 80)}</small> : null}</span>;
}

function VariationEditor({ v, index, segments, onChange, onRemove, send }: {
  v: DraftVariation; index: number; segments: Segment[]; onChange: (p: Partial<DraftVariation>) => void; onRemove?: () => void; send?: Send;
}) {
  const [sample, setSample] = useState<Members['members'][number] | null>(null);
  useEffect(() => {
    if (!v.segmentId) return setSample(null);
    api<Members>('GET', ws(`/segments/${v.segmentId}`)).then((m) => setSample(m.members[0] ?? null), () => setSample(null));
  }, [v.segmentId]);
  const segment = segments.find((s) => s.id === v.segmentId);
  const customer = { email: sample?.email, id: sample?.userId, ...(sample?.traits ?? {}) };
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
          <label>Body <small class="muted">(blank line = new paragraph; {'{{ customer.x }}'} fills per reader)</small>
            <textarea rows={5} value={v.body} onInput={(e) => onChange({ body: e.currentTarget.value })} disabled={locked} data-testid="variation-body" /></label>
          <div class="row">
            <label>Button<input value={v.ctaLabel} onInput={(e) => onChange({ ctaLabel: e.currentTarget.value })} disabled={locked} /></label>
            <label class="grow">Link<input value={v.ctaUrl} placeholder="https://…" onInput={(e) => onChange({ ctaUrl: e.currentTarget.value })} disabled={locked} /></label>
          </div>
          <p class="muted">Audience: <b>{segment?.count ?? 0}</b> readers</p>
        </div>
        <div class="preview" data-testid="preview">
          <div class="mail">
            <div class="mail-head"><small class="muted">To: {sample?.email ?? 'a reader of this segment'}</small><b>{v.subject || 'Subject'}</b><small class="muted">{v.preheader}</small></div>
            <div class="mail-body">
              {v.body.split(/\n{2,}/).filter((p) => p.trim()).map((p, i) => <p key={i}>{fillTemplate(p, customer)}</p>)}
              {v.ctaUrl && <a class="cta" href={v.ctaUrl} target="_blank" rel="noreferrer">{v.ctaLabel || 'Read more'}</a>}
            </div>
          </div>
          <small class="muted">Preview with {sample ? sample.email ?? sample.userId : 'no sample reader yet'}</small>
        </div>
      </div>
    </section>
  );
}
