import { useEffect, useState } from 'preact/hooks';
import { api, ws } from '../api.ts';
import { HBars, Score } from '../charts.tsx';
import { Tags } from './Readers.tsx';
import type { CioSegmentList, SegmentDetail as Members, SegmentPreview, SegmentView as Segment } from '#shared/panel-api.ts';
import type { SegmentRule } from '#shared/panel.ts';

type Op = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'contains' | 'exists';
interface Row { kind: 'tag' | 'no-tag' | 'score' | 'fact'; tag: string; fact: string; op: Op; value: string }

const newRow = (kind: Row['kind'] = 'tag'): Row => ({ kind, tag: '', fact: 'trait.tier', op: kind === 'score' ? 'gte' : 'eq', value: kind === 'score' ? '0.3' : '' });

const parseValue = (v: string): string | number | boolean => (v === 'true' ? true : v === 'false' ? false : v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);

export function toRule(rows: Row[], combine: 'all' | 'any'): SegmentRule | null {
  const conditions: SegmentRule[] = rows.flatMap((r): SegmentRule[] => {
    if (r.kind === 'tag' || r.kind === 'no-tag') {
      if (!r.tag) return [];
      const has: SegmentRule = { fact: 'tags', op: 'contains', value: r.tag };
      return [r.kind === 'tag' ? has : { not: has }];
    }
    if (r.kind === 'score') return r.value === '' ? [] : [{ fact: 'score', op: r.op, value: Number(r.value) }];
    if (!r.fact) return [];
    return [r.op === 'exists' ? { fact: r.fact, op: 'exists' } : { fact: r.fact, op: r.op, value: parseValue(r.value) }];
  });
  if (!conditions.length) return null;
  return conditions.length === 1 ? conditions[0]! : combine === 'all' ? { all: conditions } : { any: conditions };
}

/** The builder's rows for a rule it could have made (one condition, or all/any of simple ones); null for a rule made elsewhere. */
export function fromRule(rule: SegmentRule | null): { rows: Row[]; combine: 'all' | 'any' } | null {
  if (!rule) return { rows: [newRow('tag')], combine: 'all' };
  const r = rule as Record<string, unknown>;
  const list = Array.isArray(r.all) ? (r.all as SegmentRule[]) : Array.isArray(r.any) ? (r.any as SegmentRule[]) : [rule];
  const rows: Row[] = [];
  for (const c of list as Array<Record<string, unknown>>) {
    const not = c.not as Record<string, unknown> | undefined;
    if (not && not.fact === 'tags' && not.op === 'contains') rows.push({ ...newRow('no-tag'), tag: String(not.value) });
    else if (c.fact === 'tags' && c.op === 'contains') rows.push({ ...newRow('tag'), tag: String(c.value) });
    else if (c.fact === 'score' && typeof c.op === 'string') rows.push({ ...newRow('score'), op: c.op as Op, value: String(c.value) });
    else if (typeof c.fact === 'string' && typeof c.op === 'string' && !('all' in c) && !('any' in c)) {
      rows.push({ ...newRow('fact'), fact: c.fact, op: c.op as Op, value: c.value === undefined ? '' : String(c.value) });
    } else return null;
  }
  return { rows, combine: Array.isArray(r.any) ? 'any' : 'all' };
}

export function SegmentsPage({ selected }: { selected: string | null }) {
  const [segments, setSegments] = useState<Segment[] | null>(null);
  const [cio, setCio] = useState<CioSegmentList | null>(null);
  const [tags, setTags] = useState<string[]>([]);
  const [building, setBuilding] = useState(false);
  const load = () => api<{ segments: Segment[] }>('GET', ws('/segments')).then((r) => setSegments(r.segments), () => {});
  useEffect(() => {
    load();
    api('GET', ws('/cio-segments')).then(setCio, () => {});
    api<{ tagRules: Array<{ tag: string }> }>('GET', ws('/overview')).then((o) => setTags(o.tagRules.map((t) => t.tag)), () => {});
    const t = setInterval(load, 3000); // counts and mirror status move as readers sync
    return () => clearInterval(t);
  }, []);
  if (selected) return <SegmentDetail id={selected} tags={tags} />;
  return (
    <>
      <header class="page-head row">
        <div><h1>Segments</h1><p class="muted">Ours are evaluated at the edge and mirrored into Customer.io as manual segments.</p></div>
        {!building && <button class="primary" onClick={() => setBuilding(true)} data-testid="new-segment">New segment</button>}
      </header>
      {building && <Builder tags={tags} onDone={() => { setBuilding(false); load(); }} />}
      <section class="card">
        <h2>Our segments</h2>
        {segments?.length ? (
          <>
            <table class="table" data-testid="segments-table">
              <thead><tr><th>Name</th><th>Rule</th><th>Readers</th><th>In Customer.io</th></tr></thead>
              <tbody>
                {segments.map((s) => (
                  <tr key={s.id} onClick={() => { location.hash = `#/segments/${s.id}`; }}>
                    <td><b>{s.name}</b>{s.manualAdds ? <small class="muted"> +{s.manualAdds} by hand</small> : null}</td>
                    <td class="rule">{s.ruleText}</td>
                    <td><b class="count" data-testid={`segment-count-${s.name}`}>{s.count}</b></td>
                    <td><MirrorStatus s={s} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
            {segments.length > 1 && <><h3>Readers per segment</h3><HBars rows={segments.map((s) => ({ label: s.name, value: s.count }))} /></>}
          </>
        ) : <p class="muted">{segments ? 'No segments yet: build one from tags and the engagement score.' : 'Loading…'}</p>}
      </section>
      <section class="card">
        <h2>Customer.io segments</h2>
        {cio?.error && <p class="error">{cio.error}</p>}
        <table class="table">
          <thead><tr><th>Name</th><th>Type</th><th>People</th></tr></thead>
          <tbody>
            {(cio?.segments ?? []).map((s) => (
              <tr key={s.id}><td>{s.name} {s.ours && <span class="badge">mirrored from SharpSend</span>}</td><td>{s.type}</td><td>{s.count ?? '–'}</td></tr>
            ))}
          </tbody>
        </table>
        {!cio && <p class="muted">Asking Customer.io…</p>}
        {cio && !cio.segments.length && !cio.error && <p class="muted">No segments in Customer.io yet.</p>}
      </section>
    </>
  );
}

function MirrorStatus({ s }: { s: Segment }) {
  // A rule change is counted over every reader in chunks: the count grows until this is done.
  if (s.evaluating) return <span class="pill warn" data-testid="evaluating">counting {s.evaluating.done.toLocaleString()} of {s.evaluating.total.toLocaleString()}…</span>;
  if (s.syncError) return <span class="pill bad" title={s.syncError}>retrying: {s.syncError.slice(0, 60)}</span>;
  if (s.cioSegmentId === null) return <span class="pill">creating…</span>;
  if (s.pending) return <span class="pill warn">syncing {s.pending}…</span>;
  return <span class="pill ok" data-testid="mirror-ok">#{s.cioSegmentId} · {s.mirrored} in sync</span>;
}

function Builder({ tags, onDone, editing }: { tags: string[]; onDone: () => void; editing?: Segment }) {
  const initial = fromRule(editing?.rule ?? null);
  const [name, setName] = useState(editing?.name ?? '');
  const [combine, setCombine] = useState<'all' | 'any'>(initial?.combine ?? 'all');
  const [rows, setRows] = useState<Row[]>(initial?.rows ?? [newRow('tag')]);
  // A rule the builder cannot show (made through the API) is kept as it is: only the name changes.
  const keepRule = editing !== undefined && initial === null;
  const [preview, setPreview] = useState<SegmentPreview | null>(null);
  const [error, setError] = useState('');
  const rule = keepRule ? editing!.rule : toRule(rows, combine);
  const ruleJson = JSON.stringify(rule);
  useEffect(() => {
    const t = setTimeout(() => api('POST', ws('/segments/preview'), { rule }).then(setPreview, (e) => setError(e.message)), 250);
    return () => clearTimeout(t);
  }, [ruleJson]);
  const update = (i: number, patch: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const save = async () => {
    setError('');
    try {
      if (editing) await api('PUT', ws(`/segments/${editing.id}`), { name, description: editing.description, rule });
      else await api('POST', ws('/segments'), { name, rule });
      onDone();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section class="card builder" data-testid="segment-builder">
      <h2>{editing ? `Change “${editing.name}”` : 'New segment'}</h2>
      <label>Name<input name="segment-name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. Engaged premium readers" /></label>
      {keepRule ? <p class="muted rule">{editing!.ruleText} <small>(made through the API: the rule stays as it is)</small></p> : <>
      <div class="combine">Readers matching
        <select value={combine} onChange={(e) => setCombine(e.currentTarget.value as 'all' | 'any')} data-testid="combine">
          <option value="all">all</option><option value="any">any</option>
        </select> of these conditions:</div>
      {rows.map((r, i) => (
        <div class="cond" key={i} data-testid="condition">
          <select value={r.kind} onChange={(e) => update(i, newRow(e.currentTarget.value as Row['kind']))} data-testid="cond-kind">
            <option value="tag">has tag</option><option value="no-tag">does not have tag</option>
            <option value="score">engagement score</option><option value="fact">attribute</option>
          </select>
          {(r.kind === 'tag' || r.kind === 'no-tag') && (
            <select value={r.tag} onChange={(e) => update(i, { tag: e.currentTarget.value })} data-testid="cond-tag">
              <option value="">choose a tag…</option>
              {tags.map((t) => <option value={t} key={t}>{t}</option>)}
            </select>
          )}
          {r.kind === 'fact' && <input value={r.fact} onInput={(e) => update(i, { fact: e.currentTarget.value })} placeholder="trait.tier, reads, opens…" data-testid="cond-fact" />}
          {(r.kind === 'score' || r.kind === 'fact') && (
            <select value={r.op} onChange={(e) => update(i, { op: e.currentTarget.value as Op })} data-testid="cond-op">
              {(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists'] as const)
                .filter((o) => r.kind === 'fact' || !['eq', 'ne', 'contains', 'exists'].includes(o))
                .map((o) => <option value={o} key={o}>{{ eq: '=', ne: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', contains: 'contains', exists: 'exists' }[o]}</option>)}
            </select>
          )}
          {(r.kind === 'score' || (r.kind === 'fact' && r.op !== 'exists')) && (
            <input class="short" value={r.value} onInput={(e) => update(i, { value: e.currentTarget.value })} data-testid="cond-value" />
          )}
          <button class="icon" title="Remove condition" onClick={() => setRows(rows.filter((_, j) => j !== i))}>×</button>
        </div>
      ))}
      <div class="row">
        <button onClick={() => setRows([...rows, newRow('tag')])} data-testid="add-condition">+ Add condition</button>
      </div></>}
      <div class="row">
        <div class="live" data-testid="live-count">
          {preview ? (preview.estimate
            ? <span title={`Estimated: this rule would need a scan of every reader, so it was evaluated over ${preview.sampled ?? 0} readers drawn at random (95 % interval). Saving the segment counts it exactly.`}>
                ≈<b>{preview.count}</b> ± {preview.margin} of {preview.total} readers <span class="muted">(estimate)</span></span>
            : <><b>{preview.count}</b> of {preview.total} readers</>) : '…'}
        </div>
      </div>
      {preview && preview.sample.length > 0 && <p class="muted sample">e.g. {preview.sample.map((r) => r.email ?? r.userId).join(', ')}</p>}
      {error && <p class="error">{error}</p>}
      <div class="actions"><button onClick={onDone}>Cancel</button><button class="primary" onClick={save} disabled={!name.trim()} data-testid="save-segment">{editing ? 'Save changes' : 'Save segment'}</button></div>
    </section>
  );
}

function SegmentDetail({ id, tags }: { id: string; tags: string[] }) {
  const [data, setData] = useState<Members | null>(null);
  const [emails, setEmails] = useState('');
  const [tag, setTag] = useState('');
  const [message, setMessage] = useState('');
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const load = () => api<Members>('GET', ws(`/segments/${id}`)).then(setData, (e) => setMessage(e.message));
  const remove = async () => {
    try {
      await api('DELETE', ws(`/segments/${id}`));
      location.hash = '#/segments';
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  useEffect(() => { load(); const t = setInterval(load, 3000); return () => clearInterval(t); }, [id]);
  const change = async (mode: 'add' | 'remove', body: { emails?: string[]; tags?: string[]; keys?: string[] }) => {
    try {
      const r = await api<{ changed: string[]; unknown: string[] }>('POST', ws(`/segments/${id}/${mode === 'add' ? 'members' : 'members/remove'}`), body);
      setMessage(`${mode === 'add' ? 'Added' : 'Removed'} ${r.changed.length} reader(s)${r.unknown.length ? `; not known yet: ${r.unknown.join(', ')}` : ''}.`);
      setEmails('');
      load();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  if (!data) return <p class="muted">{message || 'Loading…'}</p>;
  const s = data.segment;
  return (
    <>
      <header class="page-head row">
        <div><a href="#/segments" class="muted">← Segments</a><h1>{s.name}</h1><p class="muted rule">{s.ruleText}</p></div>
        <div class="big-count"><b data-testid="segment-detail-count">{s.count}</b><span>readers</span><MirrorStatus s={s} /></div>
      </header>
      <div class="actions segment-actions">
        <button onClick={() => setEditing(true)} disabled={editing} data-testid="edit-segment">Rename or change</button>
        <button onClick={() => setDeleting(true)} data-testid="delete-segment">Delete</button>
      </div>
      {editing && <Builder tags={tags} editing={s} onDone={() => { setEditing(false); load(); }} />}
      {deleting && (
        <section class="card confirm" role="dialog" aria-label="Delete the segment" data-testid="delete-confirm">
          <p><b>Delete “{s.name}”?</b> Its {s.count} readers stay readers; the segment{s.cioSegmentId ? ` and its Customer.io mirror (#${s.cioSegmentId})` : ''} are removed. Sends already made keep their audience.</p>
          <div class="row"><button onClick={() => setDeleting(false)}>Keep it</button><button class="primary" onClick={remove} data-testid="delete-confirm-button">Delete the segment</button></div>
        </section>
      )}
      <section class="card">
        <h2>Add or remove readers</h2>
        <div class="row wrap">
          <input class="grow" placeholder="emails, separated by commas or spaces" value={emails} onInput={(e) => setEmails(e.currentTarget.value)} data-testid="member-emails" />
          <button class="primary" onClick={() => change('add', { emails: emails.split(/[\s,;]+/).filter(Boolean) })} data-testid="add-members">Add</button>
          <button onClick={() => change('remove', { emails: emails.split(/[\s,;]+/).filter(Boolean) })}>Remove</button>
        </div>
        <div class="row wrap">
          <select value={tag} onChange={(e) => setTag(e.currentTarget.value)}><option value="">every reader with tag…</option>{tags.map((t) => <option key={t}>{t}</option>)}</select>
          <button disabled={!tag} onClick={() => change('add', { tags: [tag] })}>Add all</button>
          <button disabled={!tag} onClick={() => change('remove', { tags: [tag] })}>Remove all</button>
        </div>
        {message && <p class="note" role="status">{message}</p>}
      </section>
      <section class="card">
        <h2>Members {data.members.length < s.count ? <small class="muted">(top {data.members.length})</small> : null}</h2>
        <table class="table" data-testid="members-table">
          <thead><tr><th>Reader</th><th>Score</th><th>Tags</th><th></th></tr></thead>
          <tbody>{data.members.map((r) => (
            <tr key={r.key}>
              <td><a href={`#/readers/${encodeURIComponent(r.key)}`}>{r.email ?? r.userId}</a></td><td><Score value={r.score} /></td><td><Tags tags={r.tags} /></td>
              <td><button class="link" onClick={() => change('remove', { keys: [r.key] })}>remove</button></td>
            </tr>
          ))}</tbody>
        </table>
      </section>
    </>
  );
}
