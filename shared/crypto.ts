/**
 * HMAC, hashing and comparison, one home for both sides (WebCrypto: workerd and Node alike).
 * Imported keys are cached as values, never as promises: in workerd a request must not await a
 * promise another request started.
 */
import { hex } from './encoding.ts';

const encoder = new TextEncoder();
const hmacKeys = new Map<string, CryptoKey>();

/** An HMAC-SHA256 signing key for this secret text. */
export async function hmacKey(secret: string): Promise<CryptoKey> {
  const cached = hmacKeys.get(secret);
  if (cached) return cached;
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  if (hmacKeys.size > 1000) hmacKeys.clear();
  hmacKeys.set(secret, key);
  return key;
}

const aesKeys = new Map<string, CryptoKey>();

/** An AES-256-GCM key derived (SHA-256) from this secret text. */
export async function aesGcmKey(secret: string): Promise<CryptoKey> {
  const cached = aesKeys.get(secret);
  if (cached) return cached;
  const raw = await crypto.subtle.digest('SHA-256', encoder.encode(secret));
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  if (aesKeys.size > 1000) aesKeys.clear();
  aesKeys.set(secret, key);
  return key;
}

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message)));
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))));
}

/** Compares two strings in time independent of where they differ (lengths leak nothing useful here). */
export function sameString(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.byteLength ^ y.byteLength;
  for (let i = 0; i < Math.max(x.byteLength, y.byteLength); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** FNV-1a (32-bit): a stable, cheap spread of a text over buckets. Not for secrets. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
