/**
 * Client-made ids for events (dedupe at the edge) and for the anonymous reader: 22 base-36
 * characters from the crypto RNG (over 110 random bits), inside the protocol's `[A-Za-z0-9_-]{8,64}`.
 */
export const makeId = (fill: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string =>
  fill(new Uint8Array(22)).reduce((id: string, byte) => id + (byte % 36).toString(36), '');
