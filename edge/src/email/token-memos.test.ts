// The per-isolate memos of reader tokens: signed once per reader and key, opened once per token,
// and never trusted past the key they were made with (a retired key, or a workspace made again
// under the same id, whose keys start over at `k1` with a new secret).
import { describe, expect, it } from 'vitest';
import { signReaderToken } from '#shared/email/tokens.ts';
import type { SyncSnapshot } from '#edge/sync/snapshot.ts';
import { addReaderTokens } from './token-attribute.ts';
import { openReaderToken } from './opened-tokens.ts';

const first = { kid: 'k1', key: 'first-secret-0123456789abcdef0123456789' };
const again = { kid: 'k1', key: 'other-secret-0123456789abcdef0123456789' };
const snapshot = (key: string) => ({ key, version: 1, identifiers: { email: 'a@example.com' }, attributes: {}, ops: [] }) as unknown as SyncSnapshot;

describe('reader token memos', () => {
  it('gives each sync the token of the key it signs with, the same as signing afresh', async () => {
    const a = snapshot('e:memo-a@example.com');
    await addReaderTokens([a], 'memo-ws', 'ss_', first);
    const b = snapshot('e:memo-a@example.com');
    await addReaderTokens([b], 'memo-ws', 'ss_', first);
    expect(b.attributes.ss_ptoken).toBe(a.attributes.ss_ptoken);
    expect(a.attributes.ss_ptoken).toBe(await signReaderToken('memo-ws', 'e:memo-a@example.com', first));
    // The same kid with another secret: another token.
    const c = snapshot('e:memo-a@example.com');
    await addReaderTokens([c], 'memo-ws', 'ss_', again);
    expect(c.attributes.ss_ptoken).toBe(await signReaderToken('memo-ws', 'e:memo-a@example.com', again));
    expect(c.attributes.ss_ptoken).not.toBe(a.attributes.ss_ptoken);
  });

  it('refuses a token opened before once its key is retired or its kid names another secret', async () => {
    const token = await signReaderToken('memo-ws', 'e:memo-b@example.com', first);
    expect(await openReaderToken('memo-ws', token, [first])).toEqual({ ok: true, readerKey: 'e:memo-b@example.com', kid: 'k1' });
    expect(await openReaderToken('memo-ws', token, [first])).toEqual({ ok: true, readerKey: 'e:memo-b@example.com', kid: 'k1' });
    expect(await openReaderToken('memo-ws', token, [again])).toMatchObject({ ok: false });
    expect(await openReaderToken('memo-ws', token, [{ kid: 'k2', key: first.key }])).toMatchObject({ ok: false });
  });
});
