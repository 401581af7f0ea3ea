/**
 * Signed tokens for email opens and clicks. Pure WebCrypto (workerd and Node alike), no I/O.
 *
 * Reader token (written to Customer.io as the `<prefix>ptoken` person attribute by the sync):
 *     <kid>.<base64url(reader key)>.<base64url(HMAC-SHA256(key, "o1|workspace|kid|readerKey"))[:16 bytes]>
 * The reader key (`e:<email>`, `u:<userId>`) names the reader object, so a pixel hit touches that
 * one object and nothing else. The workspace is signed in, so a token never works for another one.
 * The key id is in the token: rotation adds a key and keeps the old ones verifying until retired.
 *
 * Link signature (one per link in a template, the same for every recipient):
 *     <kid>.<base64url(HMAC-SHA256(key, "c1|workspace|kid|category|url"))[:16 bytes]>
 * so the click endpoint is never an open redirect.
 */
import { originAllowed } from '../origins.ts';

export interface SigningKey { kid: string; key: string }

const encoder = new TextEncoder();
const KID = /^[a-z0-9]{1,12}$/;
const SIG_BYTES = 16;

export function b64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function unb64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    if (hmacKeys.size > 1000) hmacKeys.clear();
    hmacKeys.set(secret, key);
  }
  return key;
}

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message)));
}

async function mac(secret: string, message: string): Promise<string> {
  return b64url((await hmacSha256(secret, message)).slice(0, SIG_BYTES));
}

/** Constant-time string comparison (both sides are ours to shape, lengths leak nothing useful). */
export function sameString(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

// ---- reader tokens ---------------------------------------------------------------------------

export async function signReaderToken(workspace: string, readerKey: string, key: SigningKey): Promise<string> {
  return `${key.kid}.${b64url(encoder.encode(readerKey))}.${await mac(key.key, `o1|${workspace}|${key.kid}|${readerKey}`)}`;
}

export type TokenCheck =
  | { ok: true; readerKey: string; kid: string }
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'bad_signature' };

const READER_KEY = /^[aeu]:.{1,300}$/s;

export async function verifyReaderToken(workspace: string, token: string, keys: readonly SigningKey[]): Promise<TokenCheck> {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [kid, encoded, sig] = parts as [string, string, string];
  const raw = unb64url(encoded);
  if (!KID.test(kid) || !raw || sig.length !== 22) return { ok: false, reason: 'malformed' };
  let readerKey: string;
  try {
    readerKey = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!READER_KEY.test(readerKey)) return { ok: false, reason: 'malformed' };
  const key = keys.find((k) => k.kid === kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  const expected = await mac(key.key, `o1|${workspace}|${kid}|${readerKey}`);
  return sameString(expected, sig) ? { ok: true, readerKey, kid } : { ok: false, reason: 'bad_signature' };
}

// ---- link signatures -------------------------------------------------------------------------

export async function signLink(workspace: string, url: string, category: string | null, key: SigningKey): Promise<string> {
  return `${key.kid}.${await mac(key.key, `c1|${workspace}|${key.kid}|${category ?? ''}|${url}`)}`;
}

export async function verifyLink(workspace: string, url: string, category: string | null, signature: string, keys: readonly SigningKey[]): Promise<boolean> {
  const [kid, sig, extra] = signature.split('.');
  if (!kid || !sig || extra !== undefined || !KID.test(kid)) return false;
  const key = keys.find((k) => k.kid === kid);
  if (!key) return false;
  return sameString(await mac(key.key, `c1|${workspace}|${kid}|${category ?? ''}|${url}`), sig);
}

/** A destination may be followed without a signature when its origin is on the workspace's allow-list. */
export function allowListed(url: string, allowedOrigins: readonly string[]): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'https:' || u.protocol === 'http:') && originAllowed(u.origin, allowedOrigins);
  } catch {
    return false;
  }
}

// ---- URL shapes (README "Email opens and clicks") ---------------------------------------------

export const tokenAttribute = (prefix: string) => `${prefix}ptoken`;

/**
 * What the snippet puts in a URL when the person has no token attribute (added after the backfill,
 * or their sync failed): Customer.io fails a message whose Liquid names a missing attribute, so the
 * snippet always carries `| default: 'none'` (single quotes: the URL sits in a double-quoted HTML attribute). The edge answers such a hit as usual and counts nothing.
 */
export const NO_TOKEN = 'none';

/** The Liquid that fills the reader token in a template, never failing the email. */
const tokenLiquid = (prefix: string) => `{{customer.${tokenAttribute(prefix)} | default: '${NO_TOKEN}'}}`;

/** The pixel URL for a template, with Customer.io Liquid placeholders. */
export function pixelTemplate(edge: string, workspace: string, prefix: string): string {
  return `${edge.replace(/\/+$/, '')}/o/${workspace}/${tokenLiquid(prefix)}/{{campaign.id}}/{{delivery_id}}.gif`;
}

/** A tracked link for a template: the destination and its category signed once, the reader from Liquid. */
export function clickTemplate(edge: string, workspace: string, prefix: string, url: string, category: string | null, signature: string): string {
  const q = new URLSearchParams({ u: url, ...(category ? { k: category } : {}), s: signature });
  return `${edge.replace(/\/+$/, '')}/c/${workspace}/${tokenLiquid(prefix)}?${q.toString()}&m={{campaign.id}}&d={{delivery_id}}&t={{ 'now' | date: '%s' }}`;
}
