// The dedupe filter: never "not seen" for an id it holds (that would count a retry twice), rarely
// "maybe" for one it does not (each such answer costs the reader a read), and the same after
// being stored and read back.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeenFilter } from './seen-filter.ts';

const ulidLike = (n: number) => `01J${n.toString(36).toUpperCase().padStart(10, '0')}XYZABCDEFGH`;

describe('SeenFilter', () => {
  it('holds every id added, through encode and decode', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 64 }), { maxLength: 600 }), (ids) => {
      const filter = SeenFilter.of(ids);
      const back = SeenFilter.decode(filter.encode());
      for (const id of ids) {
        expect(filter.mayHave(id)).toBe(true);
        expect(back.mayHave(id)).toBe(true);
      }
    }), { numRuns: 60 });
  });

  it('answers "maybe" for about one id in a hundred it never held, while not full', () => {
    const held = Array.from({ length: 204 }, (_, n) => ulidLike(n));
    const filter = SeenFilter.sizedFor(0);
    for (const id of held) filter.add(id);
    expect(filter.full).toBe(false);
    const others = Array.from({ length: 20_000 }, (_, n) => ulidLike(1_000_000 + n));
    const falsePositives = others.filter((id) => filter.mayHave(id)).length;
    expect(falsePositives / others.length).toBeLessThan(0.02);
  });

  it('says when it holds more than it was sized for, and a filter sized for them is not', () => {
    const filter = SeenFilter.sizedFor(0);
    const ids = Array.from({ length: 300 }, (_, n) => ulidLike(n));
    for (const id of ids) filter.add(id);
    expect(filter.full).toBe(true);
    expect(SeenFilter.decode(filter.encode()).full).toBe(true);
    const larger = SeenFilter.of(ids);
    expect(larger.full).toBe(false);
    expect(larger.encode().length).toBeGreaterThan(filter.encode().length);
  });

  it('is small for most readers (204 ids in under 400 characters) and never past 6 KB, however many ids', () => {
    expect(SeenFilter.sizedFor(0).encode().length).toBeLessThan(400);
    const largest = SeenFilter.sizedFor(10_000_000);
    expect(largest.encode().length).toBeLessThan(6_000);
    expect(largest.encode().length).toBe(SeenFilter.sizedFor(5_000).encode().length);
    // At its largest it is never "full": building it again could not make it larger.
    for (let n = 0; n < 10_000; n++) largest.add(ulidLike(n));
    expect(largest.full).toBe(false);
    expect(largest.mayHave(ulidLike(42))).toBe(true);
  });
});
