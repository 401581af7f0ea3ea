/**
 * Secrets at rest: Customer.io keys and signing keys are encrypted with AES-GCM under the
 * CONFIG_ENCRYPTION_KEY Worker secret; API keys that only need checking are stored as SHA-256.
 */
import { ClientError } from '#edge/platform/errors.ts';

const encoder = new TextEncoder();

const b64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

const keyCache = new Map<string, Promise<CryptoKey>>();

function encryptionKey(secret: string | undefined): Promise<CryptoKey> {
  if (!secret) {
    // A deployment mistake, not a client's: say exactly what to do.
    throw new Error('CONFIG_ENCRYPTION_KEY is not set: run `wrangler secret put CONFIG_ENCRYPTION_KEY` (32 random bytes, base64)');
  }
  let key = keyCache.get(secret);
  if (!key) {
    const raw = unb64(secret);
    if (raw.byteLength !== 32) throw new Error('CONFIG_ENCRYPTION_KEY must be 32 bytes, base64-encoded');
    key = crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    keyCache.set(secret, key);
  }
  return key;
}

/** `v1.<iv>.<ciphertext>`, base64 parts. */
export async function encryptSecret(plain: string, secret: string | undefined): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await encryptionKey(secret), encoder.encode(plain));
  return `v1.${b64(iv)}.${b64(new Uint8Array(sealed))}`;
}

export async function decryptSecret(sealed: string, secret: string | undefined): Promise<string> {
  const [version, iv, data] = sealed.split('.');
  if (version !== 'v1' || !iv || !data) throw new Error('Unknown encrypted secret format');
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(iv) }, await encryptionKey(secret), unb64(data));
  return new TextDecoder().decode(plain);
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Compares two strings in time independent of where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.byteLength ^ y.byteLength;
  for (let i = 0; i < Math.max(x.byteLength, y.byteLength); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export function randomToken(bytes = 24): string {
  return b64(crypto.getRandomValues(new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `Authorization: Bearer <token>` or a 401 that says what is missing. */
export function bearerToken(header: string | null | undefined, realm: string): string {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) {
    throw new ClientError(401, `Missing "Authorization: Bearer <${realm}>" header`, [], { 'www-authenticate': `Bearer realm="${realm}"` });
  }
  return match[1];
}
