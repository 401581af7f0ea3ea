/** Hand-made SVG charts: a handful of elements each, no library. */
import { engagementLevel } from './wording.ts';

const DAY_MS = 86_400_000;
export const dayLabel = (day: number) => new Date(day * DAY_MS).toLocaleDateString('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });
export const PALETTE = ['#4f46e5', '#0891b2', '#16a34a', '#d97706', '#db2777', '#7c3aed', '#dc2626', '#0d9488'];

/** Vertical bars over days, with the peak and the first/last day labelled. */
export function DayBars({ points, label }: { points: Array<{ day: number; value: number }>; label: string }) {
  const w = 640, h = 180, pad = 24;
  const max = Math.max(1, ...points.map((p) => p.value));
  const bw = (w - pad * 2) / Math.max(1, points.length);
  return (
    <svg class="chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      {[0.5, 1].map((f) => <line x1={pad} x2={w - pad} y1={h - pad - f * (h - pad * 2)} y2={h - pad - f * (h - pad * 2)} class="grid" />)}
      <text x={pad} y={pad - 8} class="axis">{max}</text>
      {points.map((p, i) => {
        const bh = (p.value / max) * (h - pad * 2);
        return (
          <rect x={pad + i * bw + 2} y={h - pad - bh} width={Math.max(1, bw - 4)} height={Math.max(p.value ? 2 : 0, bh)} rx="2" class="bar">
            <title>{`${dayLabel(p.day)}: ${p.value}`}</title>
          </rect>
        );
      })}
      <line x1={pad} x2={w - pad} y1={h - pad} y2={h - pad} class="baseline" />
      {points.length > 0 && <text x={pad} y={h - 6} class="axis">{dayLabel(points[0]!.day)}</text>}
      {points.length > 1 && <text x={w - pad} y={h - 6} class="axis" text-anchor="end">{dayLabel(points.at(-1)!.day)}</text>}
    </svg>
  );
}

/** Horizontal bars: a distribution (tags, arms). */
export function HBars({ rows, unit = '', max: fixedMax }: { rows: Array<{ label: string; value: number; note?: string; highlight?: boolean }>; unit?: string; max?: number }) {
  const max = fixedMax ?? Math.max(1, ...rows.map((r) => r.value));
  return (
    <div class="hbars">
      {rows.map((r, i) => (
        <div class={`hbar${r.highlight ? ' win' : ''}`} key={r.label}>
          <span class="hbar-label" title={r.label}>{r.label}</span>
          <svg viewBox="0 0 100 10" preserveAspectRatio="none" class="hbar-track" aria-hidden="true">
            <rect x="0" y="0" width="100" height="10" rx="2" class="track" />
            <rect x="0" y="0" width={(r.value / max) * 100} height="10" rx="2" fill={r.highlight ? '#16a34a' : PALETTE[i % PALETTE.length]} />
          </svg>
          <span class="hbar-value">{Number.isInteger(r.value) ? r.value : r.value.toFixed(2)}{unit}{r.note ? <small> {r.note}</small> : null}</span>
        </div>
      ))}
    </div>
  );
}

/** Lines over days, one per series (tags over time). */
export function DayLines({ days, series, label }: { days: number[]; series: Array<{ name: string; values: number[] }>; label: string }) {
  const w = 640, h = 200, pad = 28;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => pad + (i / Math.max(1, days.length - 1)) * (w - pad * 2);
  const y = (v: number) => h - pad - (v / max) * (h - pad * 2);
  return (
    <figure class="lines">
      <svg class="chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
        {[0.5, 1].map((f) => <line x1={pad} x2={w - pad} y1={y(max * f)} y2={y(max * f)} class="grid" />)}
        <text x={pad} y={pad - 10} class="axis">{max}</text>
        <line x1={pad} x2={w - pad} y1={h - pad} y2={h - pad} class="baseline" />
        {series.map((s, i) => {
          const d = s.values.map((v, j) => `${j ? 'L' : 'M'}${x(j).toFixed(1)},${y(v).toFixed(1)}`).join('');
          const last = s.values.length - 1;
          return (
            <g key={s.name}>
              <path d={d} fill="none" stroke={PALETTE[i % PALETTE.length]} stroke-width="2.5" stroke-linejoin="round" />
              <circle cx={x(last)} cy={y(s.values[last] ?? 0)} r="4" fill={PALETTE[i % PALETTE.length]} />
            </g>
          );
        })}
        {days.length > 0 && <text x={pad} y={h - 8} class="axis">{dayLabel(days[0]!)}</text>}
        {days.length > 1 && <text x={w - pad} y={h - 8} class="axis" text-anchor="end">{dayLabel(days.at(-1)!)}</text>}
      </svg>
      <figcaption class="legend">
        {series.map((s, i) => <span key={s.name}><i style={{ background: PALETTE[i % PALETTE.length] }} />{s.name} <b>{s.values.at(-1)}</b></span>)}
      </figcaption>
    </figure>
  );
}

/** A small score meter for tables. */
export function Score({ value }: { value: number }) {
  return (
    <span class="score" title={`Engagement score ${value.toFixed(3)} (0 to 1)`}>
      <svg viewBox="0 0 40 6" aria-hidden="true"><rect width="40" height="6" rx="3" class="track" /><rect width={40 * value} height="6" rx="3" fill="#4f46e5" /></svg>
      {engagementLevel(value)} · {value.toFixed(2)}
    </span>
  );
}
