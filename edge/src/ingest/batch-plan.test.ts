import { describe, expect, it } from 'vitest';
import { planBatch } from './batch-plan.ts';

const NOW = Date.parse('2026-12-01T08:00:00Z');

describe('planBatch', () => {
  it('refuses bad calls by index and field and keeps the good ones', () => {
    const plan = planBatch([
      { type: 'identify', userId: 'u1', traits: { email: 'a@example.com' } },
      { type: 'identify', traits: { email: 'not-an-email' } },
      { type: 'page', userId: 'u2' },
      null,
      { type: 'track', userId: 'u3' },
      { type: 'track', anonymousId: 'anon-1', event: 'clicked', timestamp: '2026-11-30T08:00:00Z' },
      { type: 'track', userId: 'u4', event: 'old', timestamp: '2026-10-01T00:00:00Z' },
      { type: 'track', userId: 'u4', event: 'soon', timestamp: 'yesterday' },
    ], NOW);
    expect(plan.rejected).toEqual([
      { index: 1, issues: [{ path: 'traits.email', message: 'must be an email address' }] },
      { index: 2, issues: [{ path: 'type', message: 'must be "identify" or "track"' }] },
      { index: 3, issues: [{ path: '(call)', message: expect.stringContaining('must be an object') }] },
      { index: 4, issues: [expect.objectContaining({ path: 'event' })] },
      { index: 6, issues: [{ path: 'timestamp', message: expect.stringContaining('older than 30 days') }] },
      { index: 7, issues: [expect.objectContaining({ path: 'timestamp' })] },
    ]);
    const planned = plan.groups.flat();
    expect(planned.map((p) => p.index)).toEqual([0, 5]);
    expect(planned[1]).toMatchObject({ type: 'track', ts: Date.parse('2026-11-30T08:00:00Z') });
  });

  it('counts a repeated messageId once, but a bad call does not claim its id', () => {
    const plan = planBatch([
      { type: 'identify', userId: 'u1', traits: {}, messageId: 'm1' },
      { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm1' },
      { type: 'track', userId: 'u1', event: 'x', messageId: 'm1' },
      { type: 'identify', traits: { email: 'bad' }, messageId: 'm2' },
      { type: 'identify', traits: { email: 'good@example.com' }, messageId: 'm2' },
    ], NOW);
    expect(plan.duplicates).toBe(2);
    expect(plan.rejected.map((r) => r.index)).toEqual([3]);
    expect(plan.groups.flat().map((p) => p.index).sort()).toEqual([0, 4]);
  });

  it('groups by person in batch order: userId shared by identify and track, then email, then anonymous id', () => {
    const plan = planBatch([
      { type: 'identify', userId: 'u1', traits: { email: 'one@example.com' } },
      { type: 'identify', traits: { email: 'Two@Example.com' } },
      { type: 'track', userId: 'u1', event: 'a' },
      { type: 'identify', traits: { email: 'two@example.com', plan: 'pro' } },
      { type: 'track', anonymousId: 'anon-9', event: 'b' },
      { type: 'track', userId: 'u1', event: 'c' },
    ], NOW);
    expect(plan.groups.map((g) => g.map((p) => p.index))).toEqual([[0, 2, 5], [1, 3], [4]]);
    expect(plan.groups[0]!.filter((p) => p.type === 'track').map((p) => p.type === 'track' && p.ts)).toEqual([NOW, NOW]);
  });
});
