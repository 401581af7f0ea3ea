import { useEffect, useState } from 'preact/hooks';
import { api, ws } from '../api.ts';
import { tagLabel } from '../wording.ts';
import { Score } from '../charts.tsx';
import type { ReaderSummary as Reader } from '#shared/panel.ts';

export const Tags = ({ tags }: { tags: string[] }) => <span class="tags">{tags.map((t) => <span class="tag" key={t} title={t}>{tagLabel(t)}</span>)}</span>;

export function ReadersPage({ selected }: { selected: string | null }) {
  const [q, setQ] = useState('');
  const [readers, setReaders] = useState<Reader[]>([]);
  useEffect(() => {
    const t = setTimeout(() => api<{ readers: Reader[] }>('GET', ws(`/readers?q=${encodeURIComponent(q)}`)).then((r) => setReaders(r.readers), () => {}), 200);
    return () => clearTimeout(t);
  }, [q]);
  return (
    <>
      <header class="page-head"><h1>Readers</h1><p class="muted">Search by email or user id; the most engaged come first.</p></header>
      <div class={selected ? 'split' : ''}>
        <section class="card">
          <input class="search" type="search" placeholder="Email or user id starts with…" value={q} onInput={(e) => setQ(e.currentTarget.value)} data-testid="reader-search" />
          <table class="table">
            <thead><tr><th>Reader</th><th>Score</th><th>Reads</th><th>Opens</th><th>Tags</th></tr></thead>
            <tbody>
              {readers.map((r) => (
                <tr key={r.key} class={selected === r.key ? 'selected' : ''} onClick={() => { location.hash = `#/readers/${encodeURIComponent(r.key)}`; }}>
                  <td><b>{r.email ?? r.userId}</b>{r.userId && r.email ? <small class="muted"> · {r.userId}</small> : null}</td>
                  <td><Score value={r.score} /></td>
                  <td>{r.counters.reads ?? 0}</td>
                  <td>{r.counters.opens ?? 0}</td>
                  <td><Tags tags={r.tags} /></td>
                </tr>
              ))}
            </tbody>
          </table>
          {!readers.length && <p class="muted">No known readers match.</p>}
        </section>
        {selected && <ReaderDetail key={selected} readerKey={selected} />}
      </div>
    </>
  );
}

function ReaderDetail({ readerKey }: { readerKey: string }) {
  const [data, setData] = useState<{ reader: Reader; segments: Array<{ id: string; name: string }>; live: { counters: Record<string, number>; score: number; tags: string[] } | null } | null>(null);
  const [error, setError] = useState('');
  useEffect(() => { api('GET', ws(`/readers/${encodeURIComponent(readerKey)}`)).then(setData, (e) => setError(e.message)); }, [readerKey]);
  if (error) return <section class="card"><p class="error">{error}</p></section>;
  if (!data) return <section class="card muted">Loading…</section>;
  const r = data.reader;
  const counters = data.live?.counters ?? r.counters;
  const main = ['reads', 'opens', 'clicks', 'picks', 'opens_machine'];
  return (
    <section class="card detail" data-testid="reader-detail">
      <h2>{r.email ?? r.userId}</h2>
      <p class="muted">{r.userId ? `User id ${r.userId} · ` : ''}key <code>{r.key}</code></p>
      <div class="kv">
        <div><span>Engagement</span><Score value={data.live?.score ?? r.score} /></div>
        {main.map((m) => <div key={m}><span>{m.replace('_', ' ')}</span><b>{counters[m] ?? 0}</b></div>)}
        <div><span>engaged minutes</span><b>{Math.floor((counters.engaged_ms ?? 0) / 60_000)}</b></div>
      </div>
      <h3>Tags</h3><Tags tags={data.live?.tags ?? r.tags} />
      <h3>Segments</h3>
      {data.segments.length ? <ul class="plain">{data.segments.map((s) => <li key={s.id}><a href={`#/segments/${s.id}`}>{s.name}</a></li>)}</ul> : <p class="muted">In none of our segments.</p>}
      <h3>Traits</h3>
      <div class="kv">{Object.entries(r.traits).map(([k, v]) => <div key={k}><span>{k}</span><b>{String(v)}</b></div>)}</div>
      <h3>By category</h3>
      <div class="kv">{Object.entries(counters).filter(([k]) => k.startsWith('reads.')).map(([k, v]) => <div key={k}><span>{k.slice(6)}</span><b>{v}</b></div>)}</div>
    </section>
  );
}
