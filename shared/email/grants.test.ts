import { describe, expect, it } from 'vitest';
import { DAY_MS, grantIdFor, signGrant, verifyGrant, withGrant } from './grants.ts';
import { signReaderToken } from './tokens.ts';

const K1 = { kid: 'k1', key: 'one-signing-key-of-enough-length' };
const K2 = { kid: 'k2', key: 'another-signing-key-entirely-000' };
const NOW = Date.UTC(2026, 11, 1, 8, 0, 0);
const grant = { readerKey: 'e:reader@example.com', expiresAt: NOW + 7 * DAY_MS, grantId: 'gGrantId0123456' };

describe('click grants', () => {
  it('round-trips and tells the page nothing (no address, no reader key in the text)', async () => {
    const g = await signGrant('demo', grant, K1);
    expect(g).toMatch(/^k1\.[A-Za-z0-9_-]+$/);
    expect(g).not.toContain('reader');
    expect(atob(g.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).not.toContain('example.com');
    expect(await verifyGrant('demo', g, [K2, K1], NOW)).toEqual({ ok: true, kid: 'k1', ...grant });
  });

  it('makes a new grant per click (random nonce) for the same reader', async () => {
    expect(await signGrant('demo', grant, K1)).not.toBe(await signGrant('demo', grant, K1));
  });

  it('expires at expiresAt, by the clock it is given', async () => {
    const g = await signGrant('demo', grant, K1);
    expect((await verifyGrant('demo', g, [K1], grant.expiresAt - 1)).ok).toBe(true);
    expect(await verifyGrant('demo', g, [K1], grant.expiresAt)).toEqual({ ok: false, reason: 'expired' });
    expect(await verifyGrant('demo', g, [K1], NOW + 30 * DAY_MS)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a changed grant, another workspace\'s, an unknown key and junk', async () => {
    const g = await signGrant('demo', grant, K1);
    const [kid, body] = g.split('.') as [string, string];
    const flipped = `${kid}.${body.slice(0, 20)}${body[20] === 'A' ? 'B' : 'A'}${body.slice(21)}`;
    expect(await verifyGrant('demo', flipped, [K1], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyGrant('other', g, [K1], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyGrant('demo', g, [K2], NOW)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(await verifyGrant('demo', `k2.${body}`, [K1, K2], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    for (const junk of ['', 'k1', 'k1.', 'k1.!!!', 'K1.abc', 'a.b.c', `k1.${'A'.repeat(2000)}`]) {
      expect((await verifyGrant('demo', junk, [K1], NOW)).ok).toBe(false);
    }
  });

  it('is not interchangeable with a reader token made from the same key', async () => {
    const token = await signReaderToken('demo', 'e:reader@example.com', K1);
    expect(await verifyGrant('demo', token, [K1], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('shares one grant id per reader and delivery', async () => {
    const a = await grantIdFor('demo', 'e:a@example.com', 'dlv1', '7', K1);
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await grantIdFor('demo', 'e:a@example.com', 'dlv1', '7', K1)).toBe(a);
    expect(await grantIdFor('demo', 'e:a@example.com', 'dlv2', '7', K1)).not.toBe(a);
    expect(await grantIdFor('demo', 'e:b@example.com', 'dlv1', '7', K1)).not.toBe(a);
  });

  it('goes in the fragment, keeping a fragment the destination had', () => {
    expect(withGrant('https://news.example.com/a?x=1', 'k1.abc')).toBe('https://news.example.com/a?x=1#ss_grant=k1.abc');
    expect(withGrant('https://news.example.com/a#part-2', 'k1.abc')).toBe('https://news.example.com/a#part-2&ss_grant=k1.abc');
    expect(withGrant('https://news.example.com/a#', 'k1.abc')).toBe('https://news.example.com/a#ss_grant=k1.abc');
  });
});
