/**
 * A preview that would need a scan of a large directory is estimated instead: the rule is evaluated
 * over readers drawn at random, and the count scaled up with a 95 % Wilson interval (which stays
 * honest when nobody or everybody in the sample matches, where p̂ ± 1.96·σ collapses to zero). Pure.
 */

/** `want` distinct random integers in 1..max (all of them when want ≥ max); `random` in [0, 1). */
export function randomIds(want: number, max: number, random: () => number = Math.random): number[] {
  if (want >= max) return Array.from({ length: max }, (_, i) => i + 1);
  const ids = new Set<number>();
  while (ids.size < want) ids.add(1 + Math.floor(random() * max));
  return [...ids];
}

/**
 * How many random rowids to draw to find about `want` readers when `readers` live under rowids up to
 * `maxRowid` (deleted readers leave gaps), at most four times `want`.
 */
export function drawsFor(want: number, readers: number, maxRowid: number): number {
  if (readers <= 0) return 0;
  return Math.min(maxRowid, 4 * want, Math.ceil((want * maxRowid) / readers));
}

/** `matched` of `sampled` readers out of `total`: the scaled count and the half-width of its 95 % interval, in readers. */
export function scaleSample(matched: number, sampled: number, total: number): { count: number; margin: number } {
  if (sampled <= 0) return { count: 0, margin: total };
  const z = 1.96;
  const p = matched / sampled;
  const z2n = (z * z) / sampled;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / sampled + z2n / (4 * sampled))) / (1 + z2n);
  const low = Math.max(0, centre - half);
  const high = Math.min(1, centre + half);
  return { count: Math.round(p * total), margin: Math.ceil(Math.max(p - low, high - p) * total) };
}

/**
 * `want` readers' worth of rowid blocks of `width` (block b holds rowids b·width+1 … b·width+width),
 * distinct and at random among the blocks up to `maxRowid`. Whole blocks, not single rowids: a block's
 * rows sit on a few adjacent pages, so the sample reads about as many pages as a scan of `want` rows.
 */
export function randomBlocks(want: number, width: number, maxRowid: number, random: () => number = Math.random): number[] {
  const blocks = Math.ceil(maxRowid / width);
  return randomIds(Math.ceil(want / width), blocks, random).map((b) => b - 1);
}

/**
 * A sample of whole blocks (`n` readers found in each, `m` of them matching) scaled to `total`. Rows
 * in one block were stored together and may be alike (the same import, the same week's sign-ups), so
 * the margin is the ratio estimator's between-block spread (95 %), never narrower than the Wilson
 * margin the same readers drawn one by one would give.
 */
export function scaleBlocks(blocks: ReadonlyArray<{ n: number; m: number }>, total: number): { count: number; margin: number; sampled: number } {
  const N = blocks.reduce((s, b) => s + b.n, 0);
  const M = blocks.reduce((s, b) => s + b.m, 0);
  const simple = scaleSample(M, N, total);
  const k = blocks.filter((b) => b.n > 0).length;
  if (N === 0 || k < 2) return { ...simple, sampled: N };
  const p = M / N;
  const mean = N / k;
  const spread = blocks.reduce((s, b) => s + (b.m - p * b.n) ** 2, 0) / (k - 1);
  const se = Math.sqrt(spread / k) / mean;
  return { count: simple.count, margin: Math.max(simple.margin, Math.ceil(1.96 * se * total)), sampled: N };
}
