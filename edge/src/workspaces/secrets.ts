/**
 * Secrets at rest: Customer.io keys and signing keys are encrypted with AES-GCM under the
 * CONFIG_ENCRYPTION_KEY Worker secret; API keys that only need checking are stored as SHA-256.
 */
import { ClientError } from '#edge/platform/errors.ts';
import { b64, b64url, unb64 } from '#shared/encoding.ts';

const encoder = new TextEncoder();

// Values, never promises: a request must not await a promise another request started.
const keyCache = new Map<string, CryptoKey>();

async function encryptionKey(secret: string | undefined): Promise<CryptoKey> {
  if (!secret) {
    // A deployment mistake, not a client's: say exactly what to do.
    throw new Error('CONFIG_ENCRYPTION_KEY is not set: run `wrangler secret put CONFIG_ENCRYPTION_KEY` (32 random bytes, base64)');
  }
  const cached = keyCache.get(secret);
  if (cached) return cached;
  const raw = unb64(secret);
  if (raw.byteLength !== 32) throw new Error('CONFIG_ENCRYPTION_KEY must be 32 bytes, base64-encoded');
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  keyCache.set(secret, key);
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

export function randomToken(bytes = 24): string {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** `Authorization: Bearer <token>` or a 401 that says what is missing. */
export function bearerToken(header: string | null | undefined, realm: string): string {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) {
    throw new ClientError(401, `Missing "Authorization: Bearer <${realm}>" header`, [], { 'www-authenticate': `Bearer realm="${realm}"` });
  }
  return match[1];
}
