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

export const GCM_NONCE_BYTES = 12;
/** The smallest sealed box: nonce and tag around at least one byte. */
export const GCM_OVERHEAD_BYTES = GCM_NONCE_BYTES + 16;

/**
 * `nonce ‖ AES-256-GCM(plain)` under a key derived from `secret`, with `aad` bound in. The nonce is
 * the caller's (random, or derived so the same message always seals the same): it must never seal
 * two different messages under one key. The tag makes the box its own signature.
 */
export async function sealBox(secret: string, nonce: Uint8Array<ArrayBuffer>, aad: string, plain: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: encoder.encode(aad) }, await aesGcmKey(secret), plain));
  const out = new Uint8Array(nonce.byteLength + sealed.byteLength);
  out.set(nonce);
  out.set(sealed, nonce.byteLength);
  return out;
}

/** What `sealBox` sealed, or null when the box does not open (changed, another key, another aad). */
export async function openBox(secret: string, box: Uint8Array, aad: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: box.slice(0, GCM_NONCE_BYTES), additionalData: encoder.encode(aad) }, await aesGcmKey(secret), box.slice(GCM_NONCE_BYTES),
    ));
  } catch {
    return null;
  }
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

/**
 * FNV-1a (32-bit): a stable, cheap spread of a text over buckets. Not for secrets. `basis`: another
 * offset basis gives a second hash of the same text, as a Bloom filter needs (readers/seen-filter.ts).
 */
export function fnv1a(text: string, basis = 0x811c9dc5): number {
  let h = basis;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
