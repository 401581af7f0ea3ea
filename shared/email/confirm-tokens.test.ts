import { describe, expect, it } from 'vitest';
import { confirmPath, signConfirmToken, verifyConfirmToken } from './confirm-tokens.ts';
import { DAY_MS, signGrant, verifyGrant } from './grants.ts';

const K1 = { kid: 'k1', key: 'one-signing-key-of-enough-length' };
const K2 = { kid: 'k2', key: 'another-signing-key-entirely-000' };
const NOW = Date.UTC(2026, 11, 1, 8, 0, 0);
const READER = 'e:pending@example.com';

describe('confirm tokens', () => {
  it('round-trip, name no address, and make a new link id each time', async () => {
    const token = await signConfirmToken('demo', READER, NOW + 7 * DAY_MS, K1);
    expect(token).toMatch(/^k1\.[A-Za-z0-9_-]+$/);
    expect(confirmPath('demo', token)).not.toMatch(/pending|example|%40|@/);
    const check = await verifyConfirmToken('demo', token, [K2, K1], NOW);
    expect(check).toMatchObject({ ok: true, readerKey: READER, expiresAt: NOW + 7 * DAY_MS });
    const again = await verifyConfirmToken('demo', await signConfirmToken('demo', READER, NOW + DAY_MS, K1), [K1], NOW);
    expect(check.ok && again.ok && check.linkId !== again.linkId).toBe(true);
  });

  it('expire at expiresAt by the clock given', async () => {
    const token = await signConfirmToken('demo', READER, NOW + DAY_MS, K1);
    expect((await verifyConfirmToken('demo', token, [K1], NOW + DAY_MS - 1)).ok).toBe(true);
    expect(await verifyConfirmToken('demo', token, [K1], NOW + DAY_MS)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuse a changed token, another workspace, a retired key and junk', async () => {
    const token = await signConfirmToken('demo', READER, NOW + DAY_MS, K1);
    const [kid, body] = token.split('.') as [string, string];
    const flipped = `${kid}.${body.slice(0, 10)}${body[10] === 'A' ? 'B' : 'A'}${body.slice(11)}`;
    expect(await verifyConfirmToken('demo', flipped, [K1], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyConfirmToken('other', token, [K1], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyConfirmToken('demo', token, [K2], NOW)).toEqual({ ok: false, reason: 'unknown_key' });
    for (const junk of ['', 'k1', 'k1.', 'k1.!!', 'a.b.c', 'x'.repeat(2000)]) {
      expect((await verifyConfirmToken('demo', junk, [K1], NOW)).ok).toBe(false);
    }
  });

  it('are not click grants, nor the other way round (each purpose has its own key)', async () => {
    const token = await signConfirmToken('demo', READER, NOW + DAY_MS, K1);
    expect(await verifyGrant('demo', token, [K1], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    const grant = await signGrant('demo', { readerKey: READER, expiresAt: NOW + DAY_MS, grantId: 'gGrantId0123456' }, K1);
    expect(await verifyConfirmToken('demo', grant, [K1], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });
});
