/**
 * The directory's overview figures kept current by deltas instead of recounted by scanning: how one
 * reader's change (new, updated, removed) moves the reader count, the score sum (for the average),
 * each tag's count, the readers active on each day and the score distribution. A day counts a reader
 * while its `activeDays` holds that day, so the per-day figures equal a count over today's readers.
 * Pure: the store adds the deltas to its tables.
 */
export interface CountedReader { tags: readonly string[]; activeDays: readonly number[]; score: number }

export interface OverviewDelta {
  readers: number;
  scoreSum: number;
  tags: Map<string, number>;
  days: Map<number, number>;
  buckets: Map<number, number>;
}

/** Ten score buckets of 0.1 (a score of 1 falls in the last). */
export const SCORE_BUCKETS = 10;
export const scoreBucket = (score: number): number => Math.min(SCORE_BUCKETS - 1, Math.max(0, Math.floor(score * SCORE_BUCKETS)));

export const emptyDelta = (): OverviewDelta => ({ readers: 0, scoreSum: 0, tags: new Map(), days: new Map(), buckets: new Map() });

const bump = <K>(m: Map<K, number>, k: K, by: number) => {
  const v = (m.get(k) ?? 0) + by;
  if (v === 0) m.delete(k);
  else m.set(k, v);
};

/** Adds what going from `before` to `after` (null: absent) changes into `into` (a batch's running total). */
export function addChange(into: OverviewDelta, before: CountedReader | null, after: CountedReader | null): OverviewDelta {
  into.readers += (after ? 1 : 0) - (before ? 1 : 0);
  into.scoreSum += (after?.score ?? 0) - (before?.score ?? 0);
  const oldTags = new Set(before?.tags ?? []);
  const newTags = new Set(after?.tags ?? []);
  for (const t of newTags) if (!oldTags.has(t)) bump(into.tags, t, 1);
  for (const t of oldTags) if (!newTags.has(t)) bump(into.tags, t, -1);
  const oldDays = new Set(before?.activeDays ?? []);
  const newDays = new Set(after?.activeDays ?? []);
  for (const d of newDays) if (!oldDays.has(d)) bump(into.days, d, 1);
  for (const d of oldDays) if (!newDays.has(d)) bump(into.days, d, -1);
  if (before) bump(into.buckets, scoreBucket(before.score), -1);
  if (after) bump(into.buckets, scoreBucket(after.score), 1);
  return into;
}
