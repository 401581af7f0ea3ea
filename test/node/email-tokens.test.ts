import { describe, expect, it } from 'vitest';
import { allowListed, clickTemplate, pixelTemplate, signLink, signReaderToken, verifyLink, verifyReaderToken } from '#shared/email/tokens.ts';
import { b64url, unb64url } from '#shared/encoding.ts';
import { hmacSha256 } from '#shared/crypto.ts';

const K1 = { kid: 'k1', key: 'first-secret-key-0123456789abcdef' };
const K2 = { kid: 'k2', key: 'second-secret-key-0123456789abcdef' };

/** An "o1" token as emails sent before opaque tokens carry them: the reader key in the clear, then a MAC. */
async function legacyToken(workspace: string, readerKey: string, key: { kid: string; key: string }) {
  const mac = b64url((await hmacSha256(key.key, `o1|${workspace}|${key.kid}|${readerKey}`)).slice(0, 16));
  return `${key.kid}.${b64url(new TextEncoder().encode(readerKey))}.${mac}`;
}

describe('reader tokens', () => {
  it('round-trips the reader key, including emails with any characters', async () => {
    for (const key of ['e:ann+news@example.com', 'u:42', 'e:zoë@exämple.de', `u:${'x'.repeat(250)}`]) {
      const token = await signReaderToken('demo', key, K1);
      expect(token).toMatch(/^k1\.[A-Za-z0-9_-]+$/);
      expect(await verifyReaderToken('demo', token, [K1])).toEqual({ ok: true, readerKey: key, kid: 'k1' });
    }
  });

  it('is opaque: neither the address nor any encoding of it is in the token', async () => {
    const email = 'ann.reader+news@example.com';
    const token = await signReaderToken('demo', `e:${email}`, K1);
    const bytes = new TextEncoder().encode(`e:${email}`);
    for (const shown of [email, 'example.com', b64url(bytes), b64url(new TextEncoder().encode(email)), Buffer.from(email).toString('hex')]) {
      expect(token).not.toContain(shown);
      expect(decodeURIComponent(token)).not.toContain(shown);
    }
    // Nothing readable inside either: the payload does not decode to text holding the address.
    expect(new TextDecoder().decode(unb64url(token.split('.')[1]!)!)).not.toContain('@');
  });

  it('is deterministic (the sync rewrites the same value) and differs per workspace and reader', async () => {
    const a = await signReaderToken('demo', 'e:a@x.com', K1);
    expect(await signReaderToken('demo', 'e:a@x.com', K1)).toBe(a);
    expect(await signReaderToken('other', 'e:a@x.com', K1)).not.toBe(a);
    expect(await signReaderToken('demo', 'e:b@x.com', K1)).not.toBe(a);
  });

  it('refuses forged, cross-workspace, tampered, unknown-key and malformed tokens', async () => {
    const token = await signReaderToken('demo', 'e:a@x.com', K1);
    const [kid, payload] = token.split('.') as [string, string];
    const raw = unb64url(payload)!;
    const tampered = new Uint8Array(raw);
    tampered[tampered.length - 20]! ^= 1;
    expect(await verifyReaderToken('demo', `${kid}.${b64url(tampered)}`, [K1])).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyReaderToken('other', token, [K1])).toEqual({ ok: false, reason: 'bad_signature' });
    // The same payload presented under another key id.
    expect(await verifyReaderToken('demo', `k2.${payload}`, [K2, K1])).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyReaderToken('demo', token, [K2])).toEqual({ ok: false, reason: 'unknown_key' });
    for (const bad of ['', 'abc', 'k1.', `K1.${payload}`, `k1.${payload}.x.y`, 'k1.@@@', `k1.${payload.slice(0, 10)}`]) {
      expect((await verifyReaderToken('demo', bad, [K1])).ok).toBe(false);
    }
    expect(await verifyReaderToken('demo', 'garbage', [K1])).toEqual({ ok: false, reason: 'malformed' });
  });

  it('keeps verifying the "o1" tokens of emails already sent, and refuses forged ones', async () => {
    const old = await legacyToken('demo', 'e:a@x.com', K1);
    expect(await verifyReaderToken('demo', old, [K2, K1])).toEqual({ ok: true, readerKey: 'e:a@x.com', kid: 'k1' });
    const [kid, key, sig] = old.split('.') as [string, string, string];
    const flip = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A');
    expect(await verifyReaderToken('demo', `${kid}.${key}.${flip}`, [K1])).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyReaderToken('demo', `${kid}.${b64url(new TextEncoder().encode('e:b@x.com'))}.${sig}`, [K1])).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyReaderToken('other', old, [K1])).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyReaderToken('demo', old, [K2])).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('keeps verifying tokens of an older key after rotation, until that key is retired', async () => {
    const old = await signReaderToken('demo', 'u:7', K1);
    const rotated = [K2, K1];
    expect((await verifyReaderToken('demo', old, rotated)).ok).toBe(true);
    expect((await verifyReaderToken('demo', await signReaderToken('demo', 'u:7', K2), rotated)).ok).toBe(true);
    expect(await verifyReaderToken('demo', old, [K2])).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('base64url round-trips bytes and refuses foreign alphabets', () => {
    const bytes = Uint8Array.from([0, 251, 255, 62, 63, 10]);
    expect(unb64url(b64url(bytes))).toEqual(bytes);
    expect(unb64url('a+b/')).toBeNull();
  });
});

describe('link signatures', () => {
  it('binds workspace, destination and category', async () => {
    const sig = await signLink('demo', 'https://x.org/a?b=1', 'crypto', K1);
    expect(await verifyLink('demo', 'https://x.org/a?b=1', 'crypto', sig, [K1])).toBe(true);
    expect(await verifyLink('demo', 'https://x.org/a?b=2', 'crypto', sig, [K1])).toBe(false);
    expect(await verifyLink('demo', 'https://x.org/a?b=1', 'stocks', sig, [K1])).toBe(false);
    expect(await verifyLink('demo', 'https://x.org/a?b=1', null, sig, [K1])).toBe(false);
    expect(await verifyLink('other', 'https://x.org/a?b=1', 'crypto', sig, [K1])).toBe(false);
    expect(await verifyLink('demo', 'https://x.org/a?b=1', 'crypto', sig, [K2])).toBe(false);
    expect(await verifyLink('demo', 'https://x.org/a?b=1', 'crypto', '', [K1])).toBe(false);
    expect(await verifyLink('demo', 'https://x.org/a?b=1', 'crypto', `${sig}.x`, [K1])).toBe(false);
  });

  it('lets allow-listed origins through without a signature, and only http(s)', () => {
    expect(allowListed('https://news.example.com/a', ['https://news.example.com'])).toBe(true);
    expect(allowListed('https://news.example.com.evil.net/a', ['https://news.example.com'])).toBe(false);
    expect(allowListed('http://news.example.com/a', ['https://news.example.com'])).toBe(false);
    expect(allowListed('javascript:alert(1)', ['https://news.example.com'])).toBe(false);
    expect(allowListed('not a url', ['https://news.example.com'])).toBe(false);
  });
});

describe('template URLs', () => {
  it('uses only Liquid the template can fill, and no secret', async () => {
    expect(pixelTemplate('https://edge.example/', 'demo', 'sharpsend_'))
      .toBe("https://edge.example/o/demo/{{customer.sharpsend_ptoken | default: 'none'}}/{{campaign.id}}/{{delivery_id}}.gif");
    const sig = await signLink('demo', 'https://x.org/a?b=1&c=2', 'crypto', K1);
    const link = clickTemplate('https://edge.example', 'demo', 'sharpsend_', 'https://x.org/a?b=1&c=2', 'crypto', sig);
    expect(link).toContain("/c/demo/{{customer.sharpsend_ptoken | default: 'none'}}?");
    const query = new URL(link.replace(/\{\{[^}]+\}\}/g, 'X')).searchParams;
    expect(query.get('u')).toBe('https://x.org/a?b=1&c=2');
    expect(query.get('k')).toBe('crypto');
    expect(query.get('s')).toBe(sig);
    expect(link).not.toContain(K1.key);
  });
});
