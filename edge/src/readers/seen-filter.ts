/**
 * A Bloom filter over the event ids a reader keeps in its `seen_events` table (readers/seen-ids.ts).
 * Nearly every new id gets "certainly not seen" from it, so a batch of new page reads is told apart
 * from a retry without a query; "maybe" is settled by the table. It is never wrong the other way
 * (no false negatives), which is what counting each event once needs. Pure: no storage here.
 *
 * Stored as base64 text: a 4-byte count of the ids added, then the bits (a power of two of them).
 */
import { fnv1a } from '#shared/crypto.ts';
import { b64, unb64 } from '#shared/encoding.ts';

/** Bits per id it is sized for, and hashes per id: about 1 % false positives while not full. */
const BITS_PER_ID = 10;
const HASHES = 7;
/** 2,048 bits (344 characters stored): 204 ids, more than most readers see in 30 days. */
const MIN_BITS = 2048;
/**
 * 32,768 bits (5.5 KB stored, in a row every commit writes): 3,276 ids at 1 %. A reader past that
 * (a hundred events a day for 30 days) gets more "maybe"s, each a lookup by key: slower, never wrong.
 */
const MAX_BITS = 32_768;
/** The second hash's offset basis (any odd constant other than FNV's own). */
const SECOND_BASIS = 0x9747b28c;

export class SeenFilter {
  private constructor(private readonly bits: Uint8Array, private added: number) {}

  /** An empty filter with room for `ids` ids and as many again (it is rebuilt larger once full). */
  static sizedFor(ids: number): SeenFilter {
    let size = MIN_BITS;
    while (size < ids * 2 * BITS_PER_ID && size < MAX_BITS) size *= 2;
    return new SeenFilter(new Uint8Array(size / 8), 0);
  }

  /** A filter holding exactly these ids. */
  static of(ids: readonly string[]): SeenFilter {
    const filter = SeenFilter.sizedFor(ids.length);
    for (const id of ids) filter.add(id);
    return filter;
  }

  /** As `encode` wrote it. */
  static decode(text: string): SeenFilter {
    const bytes = unb64(text);
    const added = new DataView(bytes.buffer).getUint32(0, true);
    return new SeenFilter(bytes.subarray(4), added);
  }

  /** More ids than it was sized for, and room to grow: the caller rebuilds it larger. */
  get full(): boolean {
    return this.added * BITS_PER_ID > this.bits.length * 8 && this.bits.length * 8 < MAX_BITS;
  }

  add(id: string): void {
    this.probe(id, true);
    this.added++;
  }

  /** False: the id was never added. True: it was, or (rarely) another id set the same bits. */
  mayHave(id: string): boolean {
    return this.probe(id, false);
  }

  encode(): string {
    const bytes = new Uint8Array(4 + this.bits.length);
    new DataView(bytes.buffer).setUint32(0, this.added, true);
    bytes.set(this.bits, 4);
    return b64(bytes);
  }

  /** Double hashing (Kirsch and Mitzenmacher): bit i is h1 + i·h2, over a power-of-two size. */
  private probe(id: string, set: boolean): boolean {
    const mask = this.bits.length * 8 - 1;
    const h1 = fnv1a(id);
    const h2 = fnv1a(id, SECOND_BASIS) | 1;
    for (let i = 0; i < HASHES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) & mask;
      const byte = bit >>> 3;
      const flag = 1 << (bit & 7);
      if (set) this.bits[byte] = this.bits[byte]! | flag;
      else if ((this.bits[byte]! & flag) === 0) return false;
    }
    return true;
  }
}
