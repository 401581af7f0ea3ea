import { useEffect, useState } from 'preact/hooks';
import { api, randomId, ws } from '../api.ts';
import { HBars } from '../charts.tsx';
import { StatusPill } from './Send.tsx';
import type { AbTestView as AbTest, Broadcast, BroadcastList, SegmentView as Segment } from '#shared/panel-api.ts';

export function AbTestsPage() {
  const [tests, setTests] = useState<AbTest[]>([]);
  const [segments, setSegments] = useState<Segment[]>([]);
  const [broadcasts, setBroadcasts] = useState<Broadcast[]>([]);
  const load = () => api<{ tests: AbTest[] }>('GET', ws('/ab-tests')).then((r) => setTests(r.tests), () => {});
  useEffect(() => {
    load();
    api<{ segments: Segment[] }>('GET', ws('/segments')).then((r) => setSegments(r.segments), () => {});
    api<BroadcastList>('GET', ws('/broadcasts')).then((r) => setBroadcasts(r.broadcasts), () => {});
    const t = setInterval(load, 2000);
    return () => clearInterval(t);
  }, []);
  return (
    <>
      <header class="page-head"><h1>A/B tests</h1><p class="muted">Split a segment into arms, send each its variation, and send the winner to everyone else.</p></header>
      <NewTest segments={segments} broadcasts={broadcasts} onCreated={load} />
      {tests.map((t) => <TestCard key={t.id} t={t} onChange={load} />)}
    </>
  );
}

function NewTest({ segments, broadcasts, onCreated }: { segments: Segment[]; broadcasts: Broadcast[]; onCreated: () => void }) {
  const [draftId, setDraftId] = useState(() => randomId('ab'));
  const [name, setName] = useState('');
  const [segmentId, setSegmentId] = useState('');
  const [broadcastId, setBroadcastId] = useState('');
  const [share, setShare] = useState(50);
  const [arms, setArms] = useState([{ id: 'a', subject: '' }, { id: 'b', subject: '' }]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const start = async () => {
    setBusy(true);
    setError('');
    try {
      await api('POST', ws('/ab-tests'), {
        draftId, name, segmentId, broadcastId: Number(broadcastId), testShare: share / 100,
        arms: arms.map((a) => ({ id: a.id, subject: a.subject, preheader: '', blocks: [], cta: null })),
      });
      setDraftId(randomId('ab'));
      setName('');
      setArms([{ id: 'a', subject: '' }, { id: 'b', subject: '' }]);
      onCreated();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const segment = segments.find((s) => s.id === segmentId);
  return (
    <section class="card" data-testid="new-ab-test">
      <h2>New test</h2>
      <div class="row wrap">
        <label class="grow">Name<input value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="ab-name" /></label>
        <label>Segment<select value={segmentId} onChange={(e) => setSegmentId(e.currentTarget.value)} data-testid="ab-segment">
          <option value="">choose…</option>{segments.map((s) => <option value={s.id} key={s.id}>{s.name} ({s.count})</option>)}</select></label>
        <label>Broadcast<select value={broadcastId} onChange={(e) => setBroadcastId(e.currentTarget.value)} data-testid="ab-broadcast">
          <option value="">choose…</option>{broadcasts.map((b) => <option value={b.id} key={b.id}>{b.name}</option>)}</select></label>
        <label>Test share {share}%<input type="range" min="10" max="100" step="5" value={share} onInput={(e) => setShare(Number(e.currentTarget.value))} data-testid="ab-share" /></label>
      </div>
      {arms.map((a, i) => (
        <label key={a.id}>Arm {String.fromCharCode(65 + i)} subject
          <input value={a.subject} onInput={(e) => setArms(arms.map((x, j) => (j === i ? { ...x, subject: e.currentTarget.value } : x)))} data-testid={`ab-arm-${i}`} /></label>
      ))}
      <p class="muted">{segment ? `About ${Math.round((segment.count * share) / 100)} of ${segment.count} readers get an arm; the rest get the winner.` : 'Choose a segment.'}</p>
      {error && <p class="error">{error}</p>}
      <button class="primary" onClick={start} disabled={busy || !segmentId || !broadcastId || !name || arms.some((a) => !a.subject)} data-testid="ab-start">Start test</button>
    </section>
  );
}

function TestCard({ t, onChange }: { t: AbTest; onChange: () => void }) {
  const [error, setError] = useState('');
  const decide = async () => {
    try {
      await api('POST', ws(`/ab-tests/${t.id}/decide`));
      onChange();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const rate = (r: AbTest['results'][number]) => (r.recipients ? (100 * r.humanOpens) / r.recipients : 0);
  return (
    <section class="card" data-testid="ab-test">
      <div class="row"><h2>{t.name}</h2><span class={`pill ${t.status === 'decided' ? 'ok' : 'warn'}`} data-testid="ab-status">{t.status === 'decided' ? `winner: arm ${String.fromCharCode(65 + (t.winner ?? 0))}` : 'testing'}</span></div>
      <p class="muted">Rule: {t.rule}.</p>
      <div class="two">
        <div>
          <h3>Human-open rate</h3>
          <HBars unit="%" max={100} rows={t.results.map((r) => ({ label: `${String.fromCharCode(65 + r.arm)} · ${t.arms[r.arm]?.subject ?? ''}`, value: Math.round(rate(r)), note: `(${r.humanOpens}/${r.recipients})`, highlight: t.winner === r.arm }))} />
          <h3>Clicks</h3>
          <HBars rows={t.results.map((r) => ({ label: String.fromCharCode(65 + r.arm), value: r.clicks }))} />
        </div>
        <div>
          <h3>Sends</h3>
          <ul class="plain">{t.sends.map((s) => <li key={s.key}>{s.segmentName}: {s.recipients} <StatusPill s={s} /></li>)}</ul>
          {t.status === 'testing'
            ? <button class="primary spaced" onClick={decide} data-testid="ab-decide">Pick the winner and send to the rest</button>
            : <p>Winner sent to <b data-testid="ab-rest">{t.rest ?? 0}</b> remaining readers.</p>}
          {error && <p class="error">{error}</p>}
        </div>
      </div>
    </section>
  );
}
