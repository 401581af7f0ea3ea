import { describe, expect, it } from 'vitest';
import { shardsFor, workspaceInputSchema } from '#shared/workspace.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';

describe('the outbox size follows the Track limit', () => {
  it('gives one shard per 25 calls a second of the limit, between 4 and 64', () => {
    expect([10, 100, 101, 500, 3000].map(shardsFor)).toEqual([4, 4, 5, 20, 64]);
  });

  it('fills sync.shards from limits.trackPerSecond when a workspace leaves it out, and keeps a given one', () => {
    const base = { allowedOrigins: ['https://news.example.com'] };
    expect(workspaceInputSchema.parse(base).sync.shards).toBe(4);
    expect(workspaceInputSchema.parse({ ...base, limits: { trackPerSecond: 1000 } }).sync.shards).toBe(40);
    expect(workspaceInputSchema.parse({ ...base, limits: { trackPerSecond: 1000 }, sync: { shards: 8 } }).sync.shards).toBe(8);
  });

  it('keeps each shard to about 21 calls a second whatever the limit (its 85 % share split evenly)', () => {
    for (const trackPerSecond of [100, 250, 1000, 1600]) {
      const limits = workspaceInputSchema.parse({ allowedOrigins: ['https://n.example'], limits: { trackPerSecond } }).limits;
      const perShardPerSecond = 1000 / callIntervalMs(limits, 'track', 'sync', shardsFor(trackPerSecond));
      expect(perShardPerSecond).toBeLessThanOrEqual(21.5);
    }
  });
});

describe('the double opt-in setting', () => {
  const base = { allowedOrigins: ['https://news.example.com'] };
  const issues = (doubleOptIn: unknown) => {
    const parsed = workspaceInputSchema.safeParse({ ...base, doubleOptIn });
    return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
  };

  it('is off by default, with links lasting 7 days and pending sign-ups kept 30', () => {
    expect(workspaceInputSchema.parse(base).doubleOptIn).toEqual({ enabled: false, expiresDays: 7, forgetAfterDays: 30 });
  });

  it('names the field: a message id when enabled, links no longer than the sign-up is kept, whole days in range', () => {
    expect(issues({ enabled: true })).toEqual(['doubleOptIn.transactionalMessageId']);
    expect(issues({ enabled: true, transactionalMessageId: 9, expiresDays: 31, forgetAfterDays: 30 })).toContain('doubleOptIn.expiresDays');
    expect(issues({ enabled: false, expiresDays: 10, forgetAfterDays: 5 })).toEqual(['doubleOptIn.expiresDays']);
    expect(issues({ enabled: true, transactionalMessageId: 9, forgetAfterDays: 0 })).toContain('doubleOptIn.forgetAfterDays');
    expect(issues({ enabled: true, transactionalMessageId: 9, expiresDays: 1.5 })).toEqual(['doubleOptIn.expiresDays']);
    expect(issues({ enabled: true, transactionalMessageId: 'confirm-signup' })).toEqual([]);
  });
});
