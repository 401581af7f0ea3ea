/** Byte encodings used on both sides, one home for each. Pure, WebCrypto-free. */

export function b64(bytes: Uint8Array): string {
  // A character per byte, 8 KB at a time (a string grown a byte at a time costs ten times more;
  // one call with every byte as an argument would overflow the stack on large inputs).
  let bin = '';
  for (let i = 0; i < bytes.length; i += 8192) bin += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(bin);
}

export function unb64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** base64url without padding (RFC 4648 §5): safe in a URL path, a cookie or a header. */
export const b64url = (bytes: Uint8Array): string => b64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The bytes of a base64url text, or null when it is not one. */
export function unb64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return unb64(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  } catch {
    return null;
  }
}

export const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
