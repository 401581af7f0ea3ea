// Pure helpers of `npm run backfill` (scripts/backfill.mjs), tested in test/node/backfill-progress.test.ts.
export const fmt = (n) => Math.round(n).toLocaleString('en-US');
export const duration = (ms) => {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

/** The progress line for a backfill state: bar, share written, people found, rate and ETA. */
export function progressLine(state, { started, now, expectedTotal, width = 28 }) {
  const written = Math.max(0, state.enqueued - (state.pending?.operations ?? 0));
  const walking = state.status !== 'done';
  const total = walking ? (expectedTotal ?? null) : state.enqueued;
  const done = total ? Math.min(written / Math.max(total, 1), 1) : 0;
  const bar = total ? '█'.repeat(Math.round(done * width)).padEnd(width, '░') : '░'.repeat(width);
  const elapsed = now - started;
  const rate = written / Math.max(elapsed / 1000, 0.001);
  const eta = total && rate > 0 ? ((total - written) / rate) * 1000 : NaN;
  const pct = total ? `${String(Math.floor(done * 100)).padStart(3)}%` : '  …';
  return `${bar} ${pct}  found ${fmt(state.people)}${walking ? '+' : ''}  written ${fmt(written)}  ${fmt(rate)}/s  ETA ${total ? duration(eta) : '—'}`;
}

