import { describe, expect, it } from 'vitest';
import { drawsFor, randomBlocks, randomIds, scaleBlocks, scaleSample } from './estimate.ts';
import { rng } from './random-readers.ts';

describe('preview estimates', () => {
  it('draws distinct ids in range, or every id when asked for as many', () => {
    const ids = randomIds(500, 1000, rng(1));
    expect(new Set(ids).size).toBe(500);
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...ids)).toBeLessThanOrEqual(1000);
    expect(randomIds(20, 10).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('draws more ids when rowids have gaps, never more than four times the sample', () => {
    expect(drawsFor(10_000, 1_000_000, 1_000_000)).toBe(10_000);
    expect(drawsFor(10_000, 500_000, 1_000_000)).toBe(20_000);
    expect(drawsFor(10_000, 100_000, 1_000_000)).toBe(40_000);
    expect(drawsFor(10_000, 5_000, 5_000)).toBe(5_000);
    expect(drawsFor(10, 0, 0)).toBe(0);
  });

  it('scales the sample with a 95 % interval that is not zero at the extremes', () => {
    expect(scaleSample(1_000, 10_000, 1_000_000).count).toBe(100_000);
    const m = scaleSample(1_000, 10_000, 1_000_000).margin;
    expect(m).toBeGreaterThan(5_000); // 1.96 · √(0.1 · 0.9 / 10,000) · 1M ≈ 5,880
    expect(m).toBeLessThan(6_500);
    expect(scaleSample(0, 10_000, 1_000_000)).toEqual({ count: 0, margin: expect.any(Number) });
    expect(scaleSample(0, 10_000, 1_000_000).margin).toBeGreaterThan(100);
    expect(scaleSample(10_000, 10_000, 1_000_000).count).toBe(1_000_000);
    expect(scaleSample(10_000, 10_000, 1_000_000).margin).toBeGreaterThan(100);
  });

  it('covers the true share about 95 % of the time', () => {
    const random = rng(7);
    const total = 200_000;
    const share = 0.03;
    let covered = 0;
    for (let trial = 0; trial < 400; trial++) {
      let matched = 0;
      for (let i = 0; i < 2_000; i++) if (random() < share) matched++;
      const { count, margin } = scaleSample(matched, 2_000, total);
      if (Math.abs(count - share * total) <= margin) covered++;
    }
    expect(covered / 400).toBeGreaterThan(0.9);
    expect(covered / 400).toBeLessThan(0.995);
  });
});

describe('block samples', () => {
  it('picks distinct blocks inside the rowid range', () => {
    const blocks = randomBlocks(10_000, 50, 1_000_000, rng(3));
    expect(blocks).toHaveLength(200);
    expect(new Set(blocks).size).toBe(200);
    expect(Math.min(...blocks)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...blocks)).toBeLessThan(20_000);
    expect(randomBlocks(10_000, 50, 120).sort()).toEqual([0, 1, 2]); // a small table: every block
  });

  it('widens the margin when blocks differ, and keeps the Wilson floor when they do not', () => {
    const even = Array.from({ length: 200 }, () => ({ n: 50, m: 5 }));
    const clumped = Array.from({ length: 200 }, (_, i) => ({ n: 50, m: i % 10 === 0 ? 50 : 0 }));
    const a = scaleBlocks(even, 1_000_000);
    const b = scaleBlocks(clumped, 1_000_000);
    expect(a.count).toBe(100_000);
    expect(b.count).toBe(100_000);
    expect(a.margin).toBe(scaleSample(1_000, 10_000, 1_000_000).margin);
    expect(b.margin).toBeGreaterThan(3 * a.margin);
    expect(scaleBlocks([], 10)).toEqual({ count: 0, margin: 10, sampled: 0 });
  });

  it('covers the true share about 95 % of the time even when readers are stored in clumps', () => {
    const random = rng(11);
    // 2,000 blocks of 50; a block is a cohort: 40 % of cohorts have 20 % matching, the rest 2 %.
    const population = Array.from({ length: 2_000 }, () => {
      const rate = random() < 0.4 ? 0.2 : 0.02;
      return Array.from({ length: 50 }, () => random() < rate);
    });
    const truth = population.flat().filter(Boolean).length;
    let covered = 0;
    for (let trial = 0; trial < 300; trial++) {
      const picked = randomBlocks(5_000, 50, 100_000, random).map((b) => population[b]!);
      const { count, margin } = scaleBlocks(picked.map((rows) => ({ n: rows.length, m: rows.filter(Boolean).length })), 100_000);
      if (Math.abs(count - truth) <= margin) covered++;
    }
    expect(covered / 300).toBeGreaterThan(0.9);
  });
});
