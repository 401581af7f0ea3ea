import { describe, expect, it } from 'vitest';
import { type CountedReader, type OverviewDelta, SCORE_BUCKETS, addChange, emptyDelta, scoreBucket } from './overview-counts.ts';
import { randomReader, rng } from './random-readers.ts';

/** The tables the store keeps, as maps, fed only by deltas. */
function tables() {
  const t = { readers: 0, scoreSum: 0, tags: new Map<string, number>(), days: new Map<number, number>(), buckets: new Map<number, number>() };
  const add = (d: OverviewDelta) => {
    t.readers += d.readers;
    t.scoreSum += d.scoreSum;
    for (const [m, from] of [[t.tags, d.tags], [t.days, d.days], [t.buckets, d.buckets]] as const) {
      for (const [k, v] of from as Map<unknown, number>) (m as Map<unknown, number>).set(k, ((m as Map<unknown, number>).get(k) ?? 0) + v);
    }
  };
  return { t, add };
}

const nonZero = <K>(m: Map<K, number>) => new Map([...m].filter(([, v]) => v !== 0));

function bruteForce(readers: Iterable<CountedReader>) {
  const tags = new Map<string, number>();
  const days = new Map<number, number>();
  const buckets = new Map<number, number>();
  let n = 0;
  let sum = 0;
  for (const r of readers) {
    n++;
    sum += r.score;
    for (const tag of new Set(r.tags)) tags.set(tag, (tags.get(tag) ?? 0) + 1);
    for (const d of new Set(r.activeDays)) days.set(d, (days.get(d) ?? 0) + 1);
    buckets.set(scoreBucket(r.score), (buckets.get(scoreBucket(r.score)) ?? 0) + 1);
  }
  return { readers: n, scoreSum: sum, tags, days, buckets };
}

describe('overview counts by deltas', () => {
  it('equal a recount after random sign-ups, updates (tags lost and gained, days gained and aged out) and removals', () => {
    const random = rng(7);
    const current = new Map<string, CountedReader>();
    const { t, add } = tables();
    for (let step = 0; step < 3000; step++) {
      const key = `k${Math.floor(random() * 400)}`;
      const batch = emptyDelta();
      if (random() < 0.2) {
        addChange(batch, current.get(key) ?? null, null);
        current.delete(key);
      } else {
        const next = randomReader(random, step, 20_000 + Math.floor(step / 100));
        addChange(batch, current.get(key) ?? null, next);
        current.set(key, next);
      }
      add(batch);
    }
    const truth = bruteForce(current.values());
    expect(t.readers).toBe(truth.readers);
    expect(t.scoreSum).toBeCloseTo(truth.scoreSum, 6);
    expect(nonZero(t.tags)).toEqual(truth.tags);
    expect(nonZero(t.days)).toEqual(truth.days);
    expect(nonZero(t.buckets)).toEqual(truth.buckets);
  });

  it('puts a score of exactly 1 in the last bucket and counts a batch once per reader', () => {
    expect(scoreBucket(1)).toBe(SCORE_BUCKETS - 1);
    expect(scoreBucket(0)).toBe(0);
    expect(scoreBucket(0.35)).toBe(3);
    const d = addChange(emptyDelta(), { tags: ['a', 'b'], activeDays: [1, 2], score: 0.5 }, { tags: ['b', 'c'], activeDays: [2, 3], score: 0.7 });
    expect(d).toEqual({ readers: 0, scoreSum: expect.closeTo(0.2, 9), tags: new Map([['c', 1], ['a', -1]]), days: new Map([[3, 1], [1, -1]]), buckets: new Map([[5, -1], [7, 1]]) });
  });
});
