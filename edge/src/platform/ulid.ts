/** ULIDs: Customer.io dedupes events by `id` and expects this shape (time-sortable, 26 chars). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function ulid(now = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  const random = crypto.getRandomValues(new Uint8Array(16));
  let rest = '';
  for (const byte of random) rest += ALPHABET[byte % 32];
  return time + rest;
}
