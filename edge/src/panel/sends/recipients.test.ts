import { describe, expect, it } from 'vitest';
import type { ReaderSummary } from '#shared/panel.ts';
import { MAX_RECIPIENTS, audienceOf, mirrorFilters, recipientsOf } from './recipients.ts';

const reader = (key: string, email: string | null, userId: string | null = null) => ({ key, email, userId }) as ReaderSummary;

describe('a send\'s audience', () => {
  it('addresses a reader by user id before email, and leaves out readers Customer.io cannot address', () => {
    expect(audienceOf([reader('u:1', 'a@example.com', 'user-1'), reader('e:b', 'b@example.com'), reader('a:anon', null)])).toEqual([
      { key: 'u:1', idType: 'id', value: 'user-1' },
      { key: 'e:b', idType: 'email', value: 'b@example.com' },
    ]);
  });

  it('goes to Customer.io as emails, as ids, or as per-person rows when the two are mixed', () => {
    const byEmail = { key: 'e:a', idType: 'email' as const, value: 'a@example.com' };
    const byId = { key: 'u:1', idType: 'id' as const, value: 'user-1' };
    expect(recipientsOf([byEmail])).toEqual({ emails: ['a@example.com'], email_ignore_missing: true });
    expect(recipientsOf([byId])).toEqual({ ids: ['user-1'], id_ignore_missing: true });
    expect(recipientsOf([byEmail, byId])).toEqual({
      per_user_data: [{ email: 'a@example.com', data: {} }, { id: 'user-1', data: {} }], id_ignore_missing: true, email_ignore_missing: true,
    });
  });

  it('uses the segment mirrors as one filter per variation only when all are in sync, first variation winning', () => {
    const synced = (id: number) => ({ cioSegmentId: id, pending: 0, syncError: null, evaluating: null });
    expect(mirrorFilters([synced(7)])).toEqual([{ segment: { id: 7 } }]);
    expect(mirrorFilters([synced(7), synced(8), synced(9)])).toEqual([
      { segment: { id: 7 } },
      { and: [{ segment: { id: 8 } }, { not: { segment: { id: 7 } } }] },
      { and: [{ segment: { id: 9 } }, { not: { or: [{ segment: { id: 7 } }, { segment: { id: 8 } }] } }] },
    ]);
    expect(mirrorFilters([synced(7), { ...synced(8), pending: 3 }])).toBeNull();
    expect(mirrorFilters([synced(7), { ...synced(8), cioSegmentId: null }])).toBeNull();
    expect(mirrorFilters([{ ...synced(7), syncError: '500' }])).toBeNull();
    expect(mirrorFilters([{ ...synced(7), evaluating: { done: 1, total: 9 } }])).toBeNull();
    expect(mirrorFilters([null])).toBeNull();
    expect(MAX_RECIPIENTS).toBe(10_000);
  });
});
