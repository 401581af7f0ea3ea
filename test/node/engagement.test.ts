import { describe, expect, it } from 'vitest';
import { HALF_LIFE_MS, addPoints, combine, decayTo, engagementScore, readPoints } from '#shared/engagement.ts';

const T0 = Date.UTC(2026, 10, 1);

describe('engagement score', () => {
  it('gives read points by engaged time (capped at 5 minutes) and scroll depth', () => {
    expect(readPoints(0, 0)).toBe(1);
    expect(readPoints(60_000, 1)).toBeCloseTo(1.7);
    expect(readPoints(60 * 60_000, 1)).toBeCloseTo(2.5);
  });

  it('follows the documented formula: ten 3-minute full reads ≈ 0.75, three ≈ 0.34', () => {
    let a = { value: 0, at: 0 };
    for (let i = 0; i < 10; i++) a = addPoints(a, readPoints(3 * 60_000, 1), T0);
    expect(engagementScore(a, T0)).toBeCloseTo(1 - Math.exp(-21 / 15), 3);
    expect(engagementScore(a, T0)).toBeCloseTo(0.753, 3);
    let b = { value: 0, at: 0 };
    for (let i = 0; i < 3; i++) b = addPoints(b, readPoints(3 * 60_000, 1), T0);
    expect(engagementScore(b, T0)).toBeCloseTo(0.343, 3);
  });

  it('halves the activity every 14 days and stays within [0, 1]', () => {
    const a = { value: 20, at: T0 };
    expect(decayTo(a, T0 + HALF_LIFE_MS).value).toBeCloseTo(10);
    expect(engagementScore(a, T0 + 10 * HALF_LIFE_MS)).toBeLessThan(0.01);
    expect(engagementScore({ value: 1e9, at: T0 }, T0)).toBeLessThanOrEqual(1);
    expect(engagementScore({ value: 0, at: 0 }, T0)).toBe(0);
  });

  it('counts an old event decayed, and merges two readers without losing activity', () => {
    const late = addPoints({ value: 10, at: T0 }, 10, T0 - HALF_LIFE_MS);
    expect(late.value).toBeCloseTo(15);
    expect(late.at).toBe(T0);
    const merged = combine({ value: 4, at: T0 }, { value: 8, at: T0 - HALF_LIFE_MS });
    expect(merged).toEqual({ value: 8, at: T0 });
  });
});
