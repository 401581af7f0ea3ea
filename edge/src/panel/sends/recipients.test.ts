import { describe, expect, it } from 'vitest';
import type { ReaderSummary } from '#shared/panel.ts';
import { MAX_RECIPIENTS, audienceOf, recipientsOf, tooManyRecipients } from './recipients.ts';

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

  it('refuses a broadcast over Customer.io\'s per-trigger cap, naming the count; a journey has no cap', () => {
    expect(tooManyRecipients('broadcast', MAX_RECIPIENTS)).toBeNull();
    expect(tooManyRecipients('broadcast', MAX_RECIPIENTS + 1)).toMatch(/at most 10000 recipients; this segment has 10001\. Use a journey send/);
    expect(tooManyRecipients('journey', MAX_RECIPIENTS * 5)).toBeNull();
  });
});
