import { useEffect, useState } from 'preact/hooks';
import { api, randomId, ws } from '../api.ts';
import { HBars } from '../charts.tsx';
import { StatusPill, toVariation } from './Send.tsx';
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

interface ArmDraft { id: string; subject: string; preheader: string; body: string; ctaLabel: string; ctaUrl: string }
const blankArm = (id: string): ArmDraft => ({ id, subject: '', preheader: '', body: '', ctaLabel: 'Read more', ctaUrl: '' });
const letter = (i: number) => String.fromCharCode(65 + i);
const pct = (x: number, n: number) => (n ? `${((100 * x) / n).toFixed(1)}%` : '–');

function NewTest({ segments, broadcasts, onCreated }: { segments: Segment[]; broadcasts: Broadcast[]; onCreated: () => void }) {
  const [draftId, setDraftId] = useState(() => randomId('ab'));
  const [name, setName] = useState('');
  const [segmentId, setSegmentId] = useState('');
  const [broadcastId, setBroadcastId] = useState('');
  const [share, setShare] = useState(50);
  const [autoHours, setAutoHours] = useState('');
  const [arms, setArms] = useState<ArmDraft[]>([blankArm('a'), blankArm('b')]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const setArm = (i: number, patch: Partial<ArmDraft>) => setArms(arms.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const start = async () => {
    setBusy(true);
    setError('');
    try {
      // Each arm carries its full content: subject, preheader, body and button, as a send's variation does.
      await api('POST', ws('/ab-tests'), {
        draftId, name, segmentId, broadcastId: Number(broadcastId), testShare: share / 100,
        autoDecideHours: autoHours ? Number(autoHours) : null,
        arms: arms.map((a) => {
          const { segmentId: _, ...arm } = toVariation({ ...a, segmentId: '' });
          return arm;
        }),
      });
      setDraftId(randomId('ab'));
      setName('');
      setArms([blankArm('a'), blankArm('b')]);
      onCreated();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const segment = segments.find((s) => s.id === segmentId);
  const tested = segment ? Math.round((segment.count * share) / 100) : 0;
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
        <label>Decide by itself after<input class="short" type="number" min="1" max="336" placeholder="hours" value={autoHours} onInput={(e) => setAutoHours(e.currentTarget.value)} data-testid="ab-auto-hours" /></label>
      </div>
      <div class="two">
        {arms.map((a, i) => (
          <div class="form arm" key={a.id} data-testid={`ab-arm-form-${i}`}>
            <h3>Arm {letter(i)}</h3>
            <label>Subject<input value={a.subject} onInput={(e) => setArm(i, { subject: e.currentTarget.value })} data-testid={`ab-arm-${i}`} /></label>
            <label>Preheader<input value={a.preheader} onInput={(e) => setArm(i, { preheader: e.currentTarget.value })} data-testid={`ab-arm-${i}-preheader`} /></label>
            <label>Body<textarea rows={3} value={a.body} onInput={(e) => setArm(i, { body: e.currentTarget.value })} data-testid={`ab-arm-${i}-body`} /></label>
            <div class="row">
              <label>Button<input value={a.ctaLabel} onInput={(e) => setArm(i, { ctaLabel: e.currentTarget.value })} /></label>
              <label class="grow">Link<input value={a.ctaUrl} placeholder="https://…" onInput={(e) => setArm(i, { ctaUrl: e.currentTarget.value })} data-testid={`ab-arm-${i}-link`} /></label>
            </div>
          </div>
        ))}
      </div>
      <p class="muted">{segment ? `${tested} of ${segment.count} readers get an arm (about ${Math.floor(tested / arms.length)} each, sizes differing by at most one); the rest get the winner.` : 'Choose a segment.'}</p>
      {error && <p class="error">{error}</p>}
      <button class="primary" onClick={start} disabled={busy || !segmentId || !broadcastId || !name || arms.some((a) => !a.subject)} data-testid="ab-start">Start test</button>
    </section>
  );
}

function TestCard({ t, onChange }: { t: AbTest; onChange: () => void }) {
  const [error, setError] = useState('');
  const [asking, setAsking] = useState(false);
  const decide = async (anyway = false) => {
    if (t.warning && !anyway) return setAsking(true);
    setAsking(false);
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
      <div class="row"><h2>{t.name}</h2><span class={`pill ${t.status === 'decided' ? 'ok' : 'warn'}`} data-testid="ab-status">{t.status === 'decided' ? `winner: arm ${letter(t.winner ?? 0)}` : 'testing'}</span></div>
      <p class="muted">Rule: {t.rule}. Only opens and clicks of this test's own email count (its broadcast, since the arm went out).
        {t.countedAt ? ` Counted ${new Date(t.countedAt).toLocaleTimeString()}.` : ' Not counted yet.'}
        {t.autoDecideAt ? ` Decides by itself at ${new Date(t.autoDecideAt).toLocaleString()}.` : ''}</p>
      <HBars unit="%" max={100} rows={t.results.map((r) => ({ label: `${letter(r.arm)}`, value: Math.round(rate(r)), note: `(${r.humanOpens}/${r.recipients})`, highlight: t.winner === r.arm }))} />
      <table class="table arms" data-testid="ab-results">
        <thead><tr><th>Arm</th><th>Subject</th><th>Sample</th><th>Human opens</th><th>Clicks</th><th>Machine opens</th><th>Confidence</th></tr></thead>
        <tbody>{t.results.map((r) => (
          <tr key={r.arm} data-testid="ab-arm-row" class={t.winner === r.arm ? 'selected' : ''}>
            <td><b>{letter(r.arm)}</b></td>
            <td class="subject-full">{t.arms[r.arm]?.subject}</td>
            <td>{r.recipients}</td>
            <td>{r.humanOpens} <small class="muted">{pct(r.humanOpens, r.recipients)}</small></td>
            <td>{r.clicks} <small class="muted">{pct(r.clicks, r.recipients)}</small></td>
            <td>{r.machineOpens ?? 0}</td>
            <td data-testid="ab-confidence">{t.confidence[r.arm] === null || t.confidence[r.arm] === undefined ? '–' : `${(100 * t.confidence[r.arm]!).toFixed(1)}%`}</td>
          </tr>
        ))}</tbody>
      </table>
      {t.warning && t.status === 'testing' && <p class="note" data-testid="ab-warning">Too little data yet: {t.warning}.</p>}
      <h3>Sends</h3>
      <ul class="plain">{t.sends.map((s) => <li key={s.key}>{s.segmentName}: {s.recipients} <StatusPill s={s} /></li>)}</ul>
      {t.status === 'testing'
        ? <button class="primary spaced" onClick={() => decide()} data-testid="ab-decide">Pick the winner and send to the rest</button>
        : <p>Winner sent to <b data-testid="ab-rest">{t.rest ?? 0}</b> remaining readers.</p>}
      {asking && (
        <div class="confirm card" role="dialog" aria-label="Decide on little data" data-testid="ab-confirm">
          <p><b>Decide now?</b> {t.warning}. The winner then goes to {t.sends.length ? 'every remaining reader' : 'the rest'}.</p>
          <div class="row">
            <button onClick={() => setAsking(false)}>Wait for more data</button>
            <button class="primary" onClick={() => decide(true)} data-testid="ab-decide-anyway">Decide anyway</button>
          </div>
        </div>
      )}
      {error && <p class="error">{error}</p>}
    </section>
  );
}
