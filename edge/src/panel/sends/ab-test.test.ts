import { describe, expect, it } from 'vitest';
import { type ReaderSummary, abArm } from '#shared/panel.ts';
import { type Baseline, armSendKey, assignArms, countResults, decide, isRestSendKey, restOf, restSendKey } from './ab-test.ts';

const reader = (key: string, opens = 0, clicks = 0) => ({ key, counters: { opens, clicks } }) as unknown as ReaderSummary;
const members = Array.from({ length: 200 }, (_, i) => reader(`e:r${i}@example.com`, i % 3, i % 2));

describe('an A/B test\'s arms', () => {
  it('put each reader where abArm says, the same every time, with its counters at the send as the baseline', () => {
    const { perArm, baselines } = assignArms('ab_t1', members, 2, 0.5);
    for (const [arm, readers] of perArm.entries()) for (const r of readers) expect(abArm('ab_t1', r.key, 2, 0.5)).toBe(arm);
    expect(baselines).toHaveLength(perArm[0]!.length + perArm[1]!.length);
    expect(perArm.every((readers) => readers.length > 0)).toBe(true);
    const first = baselines[0]!;
    const source = members.find((m) => m.key === first.key)!;
    expect(first).toEqual({ key: source.key, arm: abArm('ab_t1', source.key, 2, 0.5), opens: source.counters.opens, clicks: source.counters.clicks });
    expect(assignArms('ab_t1', members, 2, 0.5)).toEqual({ perArm, baselines });
  });

  it('leave the rest (about 1 - testShare of the segment) for the winner', () => {
    const { baselines } = assignArms('ab_t2', members, 3, 0.3);
    const rest = restOf(members, baselines);
    expect(rest.length + baselines.length).toBe(members.length);
    expect(rest.every((r) => abArm('ab_t2', r.key, 3, 0.3) === -1)).toBe(true);
    expect(rest.length).toBeGreaterThan(100);
  });

  it('are keyed per test, arm and rest', () => {
    expect(armSendKey('ab_x', 1)).toBe('ab:ab_x:arm1');
    expect(isRestSendKey(restSendKey('ab_x'))).toBe(true);
    expect(isRestSendKey(armSendKey('ab_x', 0))).toBe(false);
  });
});

describe('an A/B test\'s results', () => {
  const baselines: Baseline[] = [
    { key: 'a1', arm: 0, opens: 2, clicks: 0 }, { key: 'a2', arm: 0, opens: 0, clicks: 0 },
    { key: 'b1', arm: 1, opens: 1, clicks: 1 }, { key: 'b2', arm: 1, opens: 0, clicks: 0 },
  ];

  it('count recipients whose opens and clicks grew since the send, once each however much they grew', () => {
    const current = new Map([['a1', reader('a1', 2, 0)], ['a2', reader('a2', 5, 1)], ['b1', reader('b1', 2, 1)], ['b2', reader('b2', 1, 0)]]);
    expect(countResults(baselines, current, 2)).toEqual([
      { arm: 0, recipients: 2, humanOpens: 1, clicks: 1 },
      { arm: 1, recipients: 2, humanOpens: 2, clicks: 0 },
    ]);
  });

  it('count a recipient the directory no longer has as no change', () => {
    expect(countResults(baselines, new Map(), 2).map((r) => [r.recipients, r.humanOpens, r.clicks])).toEqual([[2, 0, 0], [2, 0, 0]]);
  });

  it('pick the arm with the higher human-open rate; no recipients, no winner', () => {
    const current = new Map([['b1', reader('b1', 3, 1)]]);
    expect(decide(baselines, current, 2).winner).toBe(1);
    expect(decide([], new Map(), 2)).toEqual({ results: [{ arm: 0, recipients: 0, humanOpens: 0, clicks: 0 }, { arm: 1, recipients: 0, humanOpens: 0, clicks: 0 }], winner: null });
  });
});
