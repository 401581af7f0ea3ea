/**
 * Signed tokens for email opens and clicks. Pure WebCrypto (workerd and Node alike), no I/O.
 *
 * Reader token (written to Customer.io as the `<prefix>ptoken` person attribute by the sync):
 *     <kid>.<base64url(nonce ‖ AES-GCM(encKey, readerKey, aad "o2|workspace|kid"))>
 * Opaque: the reader key (`e:<email>`, `u:<userId>`) is encrypted, so a pixel or link URL in a log,
 * a forwarded email or an analytics tool shows no address. The key is derived from the signing
 * key (one secret per key id); the nonce is derived from the reader key, so the same reader always
 * gets the same token (the sync rewrites the same value) and two readers never share a nonce.
 * GCM's tag is the signature: a token cannot be forged, changed or moved to another workspace.
 * The key id is in the token: rotation adds a key and keeps the old ones verifying until retired.
 *
 * Tokens made before (`<kid>.<base64url(reader key)>.<mac>`, "o1") keep verifying while their key
 * is kept: they sit in emails already sent. New tokens are always opaque.
 *
 * Link signature (one per link in a template, the same for every recipient):
 *     <kid>.<base64url(HMAC-SHA256(key, "c1|workspace|kid|category|url"))[:16 bytes]>
 * so the click endpoint is never an open redirect.
 */
import { originAllowed } from '../origins.ts';
import { b64url, unb64url } from '../encoding.ts';
import { GCM_NONCE_BYTES, GCM_OVERHEAD_BYTES, hmacSha256, openBox, sameString, sealBox } from '../crypto.ts';

export interface SigningKey { kid: string; key: string }

const encoder = new TextEncoder();
const KID = /^[a-z0-9]{1,12}$/;
const SIG_BYTES = 16;

async function mac(secret: string, message: string): Promise<string> {
  return b64url((await hmacSha256(secret, message)).slice(0, SIG_BYTES));
}

// ---- reader tokens ---------------------------------------------------------------------------

const tokenSecret = (key: SigningKey) => `sharpsend-reader-token|${key.key}`;
const tokenAad = (workspace: string, kid: string) => `o2|${workspace}|${kid}`;

export async function signReaderToken(workspace: string, readerKey: string, key: SigningKey): Promise<string> {
  // One nonce per (workspace, key, reader): a nonce is never used for two different messages.
  const nonce = (await hmacSha256(`${key.key}|nonce`, `${workspace}|${key.kid}|${readerKey}`)).slice(0, GCM_NONCE_BYTES);
  return `${key.kid}.${b64url(await sealBox(tokenSecret(key), nonce, tokenAad(workspace, key.kid), encoder.encode(readerKey)))}`;
}

export type TokenCheck =
  | { ok: true; readerKey: string; kid: string }
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'bad_signature' };

const READER_KEY = /^[aeu]:.{1,300}$/s;
const utf8 = (bytes: Uint8Array): string | null => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
};

/**
 * A `<kid>.<sealed box>` value opened with the workspace key it names: its text, or why not. Reader
 * tokens and sealed claims (click grants, confirm links: grants.ts) share this shape; each names its
 * own secret and bound data, and the fewest plain bytes a real one holds.
 */
export async function openKeyed(
  value: string, keys: readonly SigningKey[], minPlainBytes: number, secret: (key: SigningKey) => string, aad: (kid: string) => string,
): Promise<{ ok: true; plain: string; kid: string } | { ok: false; reason: 'malformed' | 'unknown_key' | 'bad_signature' }> {
  const parts = value.split('.');
  if (parts.length !== 2) return { ok: false, reason: 'malformed' };
  const [kid, encoded] = parts as [string, string];
  const raw = unb64url(encoded);
  if (!KID.test(kid) || !raw || raw.byteLength < GCM_OVERHEAD_BYTES + minPlainBytes) return { ok: false, reason: 'malformed' };
  const key = keys.find((k) => k.kid === kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  const bytes = await openBox(secret(key), raw, aad(kid));
  if (!bytes) return { ok: false, reason: 'bad_signature' };
  const plain = utf8(bytes);
  return plain === null ? { ok: false, reason: 'malformed' } : { ok: true, plain, kid };
}

export async function verifyReaderToken(workspace: string, token: string, keys: readonly SigningKey[]): Promise<TokenCheck> {
  const parts = token.split('.');
  if (parts.length === 3) return verifyLegacyToken(workspace, parts as [string, string, string], keys);
  const opened = await openKeyed(token, keys, 3, tokenSecret, (kid) => tokenAad(workspace, kid));
  if (!opened.ok) return opened;
  return READER_KEY.test(opened.plain) ? { ok: true, readerKey: opened.plain, kid: opened.kid } : { ok: false, reason: 'malformed' };
}

/** An "o1" token from an email sent before tokens were opaque. */
async function verifyLegacyToken(workspace: string, [kid, encoded, sig]: [string, string, string], keys: readonly SigningKey[]): Promise<TokenCheck> {
  const raw = unb64url(encoded);
  if (!KID.test(kid) || !raw || sig.length !== 22) return { ok: false, reason: 'malformed' };
  const readerKey = utf8(raw);
  if (readerKey === null || !READER_KEY.test(readerKey)) return { ok: false, reason: 'malformed' };
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
