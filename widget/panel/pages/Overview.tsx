import { useEffect, useState } from 'preact/hooks';
import { api, ws } from '../api.ts';
import { DayBars, DayLines, HBars } from '../charts.tsx';
import type { Overview, WelcomeList } from '#shared/panel-api.ts';
import { ConnectionCard } from './ConnectionCard.tsx';
import { PendingSignups } from './PendingSignups.tsx';
import { engagementLevel, tagLabel } from '../wording.ts';

export function OverviewPage() {
  const [data, setData] = useState<Overview | null>(null);
  const [error, setError] = useState('');
  const [welcomes, setWelcomes] = useState<WelcomeList | null>(null);
  useEffect(() => {
    api<Overview>('GET', ws('/overview')).then(setData, (e) => setError(e.message));
    // Confirmation emails (double opt-in) share the welcome's queue; this card is about welcomes.
    api<WelcomeList>('GET', ws('/welcomes')).then((w) => setWelcomes({ ...w, welcomes: w.welcomes.filter((x) => x.kind !== 'confirm') }), () => {});
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!data) return <p class="muted">Loading…</p>;
  const tags = Object.entries(data.tagCounts).sort((a, b) => b[1] - a[1]);
  const top = tags.slice(0, 5).map(([name]) => ({ name, values: data.tagHistory.tags[name] ?? [] }));
  const describe = new Map(data.tagRules.map((r) => [r.tag, r.description]));
  return (
    <>
      <header class="page-head"><h1>Overview</h1><p class="muted">Known readers of <b>{data.workspace}</b>, as synced to Customer.io.</p></header>
      <section class="stats">
        <div class="stat card"><span>Known readers</span><b data-testid="stat-readers">{data.readers}</b></div>
        <div class="stat card"><span>Average engagement</span><b title={`Average engagement score ${data.averageScore.toFixed(2)} (0 to 1)`}>{engagementLevel(data.averageScore)} · {data.averageScore.toFixed(2)}</b></div>
        <div class="stat card"><span>Tags in use</span><b>{tags.length}</b></div>
        <div class="stat card"><span>Our segments</span><b>{data.segments}</b></div>
        {data.pendingSignups > 0 && <div class="stat card"><span>Waiting for confirmation</span><b data-testid="stat-pending">{data.pendingSignups}</b></div>}
      </section>
      <section class="card">
        <h2>Engagement over time</h2>
        <p class="muted">Readers who read at least one article, per day (last 30 days).</p>
        <DayBars points={data.activeByDay.map((p) => ({ day: p.day, value: p.readers }))} label="Active readers per day" />
      </section>
      <div class="grid2">
        <section class="card">
          <h2>Tag distribution</h2>
          {tags.length ? <HBars rows={tags.map(([label, value]) => ({ label: tagLabel(label), value, note: '' }))} /> : <p class="muted">No tags yet.</p>}
          <ul class="tag-notes">{tags.slice(0, 6).map(([t]) => <li key={t}><b>{tagLabel(t)}</b> <code>{t}</code> {describe.get(t)}</li>)}</ul>
        </section>
        <section class="card">
          <h2>Tags over time</h2>
          <p class="muted">Readers carrying each of the top tags, per day.</p>
          {top.length ? <DayLines days={data.tagHistory.days} series={top} label="Tag counts per day" /> : <p class="muted">No tags yet.</p>}
        </section>
      </div>
      {data.pendingSignups > 0 && <PendingSignups total={data.pendingSignups} />}
      <ConnectionCard />
      {welcomes && (
        <section class="card">
          <h2>Welcome emails</h2>
          {welcomes.welcomeMessageId === null
            ? <p class="muted">No welcome message is set for this workspace (admin API: <code>welcomeMessageId</code>).</p>
            : <p class="muted">Transactional message <code>{String(welcomes.welcomeMessageId)}</code> goes to each widget sign-up once.
              {' '}{welcomes.welcomes.filter((w) => w.status === 'sent').length} sent, {welcomes.welcomes.filter((w) => w.status !== 'sent').length} pending or failed (latest 50).</p>}
          {welcomes.welcomes.filter((w) => w.error).slice(0, 5).map((w) => <p class="error" key={w.email}>{w.email}: {w.error}</p>)}
        </section>
      )}
    </>
  );
}
