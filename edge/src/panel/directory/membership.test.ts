import { describe, expect, it } from 'vitest';
import { inSegment } from '#shared/panel.ts';
import { type Override, segmentChanges } from './membership.ts';
import { randomReader, randomRule, rng } from './random-readers.ts';
import type { ReaderSummary } from '#shared/panel.ts';

describe('segment membership by changes', () => {
  it('keeps the members table equal to inSegment over every reader through random updates, overrides and removals', () => {
    const random = rng(11);
    for (let trial = 0; trial < 20; trial++) {
      const rule = random() < 0.1 ? null : randomRule(random, 2);
      const readers = new Map<string, ReaderSummary>();
      const manual = new Map<string, Override>();
      const members = new Map<string, number>(); // the table: key → stored score
      let count = 0;
      for (let step = 0; step < 150; step++) {
        // A batch of a few readers: new or updated, or removed; sometimes an editor's override.
        const keys = Array.from({ length: 1 + Math.floor(random() * 5) }, () => `k${Math.floor(random() * 60)}`);
        const unique = [...new Set(keys)];
        if (random() < 0.1) for (const k of unique) manual.set(k, random() < 0.5 ? 'add' : 'remove');
        const removing = random() < 0.15;
        const batch = removing ? [] : unique.map((k, i) => ({ ...randomReader(random, step * 10 + i), key: k }));
        if (removing) for (const k of unique) { readers.delete(k); manual.delete(k); } else for (const r of batch) readers.set(r.key, r);
        const was = new Map(unique.filter((k) => members.has(k)).map((k) => [k, members.get(k)!]));
        const c = segmentChanges(rule, batch, manual, was);
        for (const r of c.joined) members.set(r.key, r.score);
        for (const k of c.left) members.delete(k);
        for (const r of c.rescored) members.set(r.key, r.score);
        count += c.delta;
      }
      const truth = [...readers.values()].filter((r) => inSegment(r, rule, manual));
      expect([...members.keys()].sort()).toEqual(truth.map((r) => r.key).sort());
      expect(count).toBe(truth.length);
      for (const r of truth) expect(members.get(r.key)).toBe(r.score);
    }
  });

  it('lets a manual removal beat the rule and a manual addition beat a failing rule', () => {
    const r = { ...randomReader(rng(1), 1), key: 'k', tags: ['x'] };
    const rule = { fact: 'tags', op: 'contains' as const, value: 'x' };
    expect(segmentChanges(rule, [r], new Map([['k', 'remove']]), new Map([['k', 0.1]]))).toMatchObject({ left: ['k'], delta: -1 });
    expect(segmentChanges({ ...rule, value: 'y' }, [r], new Map([['k', 'add']]), new Map()).joined.map((j) => j.key)).toEqual(['k']);
  });
});
