import { describe, expect, it } from 'vitest';
import { DRAIN_ORDER, IDS_PER_CALL, type Ident, type QueueEntry, heldAfter, queueEntry, toCalls } from './mirror-batches.ts';
import { rng } from './random-readers.ts';

describe('mirror queue', () => {
  it('converges on what should be held, sending each needed change once, whatever interleaves with the calls', () => {
    const random = rng(5);
    const want = new Map<string, Ident | null>(); // member → identifier, else null
    const held = new Map<string, Ident>(); // what Customer.io holds
    const queue = new Map<string, QueueEntry>();
    const requeue = (k: string) => {
      const e = queueEntry(held.get(k) ?? null, want.get(k) ?? null);
      if (e) queue.set(k, e); else queue.delete(k);
    };
    let sent = 0;
    for (let step = 0; step < 5000; step++) {
      const k = `k${Math.floor(random() * 50)}`;
      if (random() < 0.6) {
        const r = random();
        want.set(k, r < 0.4 ? null : r < 0.8 ? { idType: 'email', value: `${k}@x.com` } : { idType: 'id', value: `id-${k}` });
        requeue(k);
      } else if (queue.size) {
        // A call is out for some entries; membership may move before its answer is recorded.
        const batch = [...queue].slice(0, 1 + Math.floor(random() * 5));
        if (random() < 0.3) { const [mk] = batch[0]!; want.set(mk, null); requeue(mk); }
        for (const [key, entry] of batch) {
          sent++;
          const after = heldAfter(held.get(key) ?? null, entry);
          if (after) held.set(key, after); else held.delete(key);
          requeue(key);
        }
      }
    }
    // Drain what is left: afterwards nothing is queued and Customer.io holds exactly the members.
    for (let guard = 0; queue.size && guard < 1000; guard++) {
      for (const [key, entry] of [...queue]) {
        const after = heldAfter(held.get(key) ?? null, entry);
        if (after) held.set(key, after); else held.delete(key);
        requeue(key);
      }
    }
    expect(queue.size).toBe(0);
    for (const [k, w] of want) expect(held.get(k) ?? null).toEqual(w);
    expect(sent).toBeGreaterThan(100);
    // A pair already held as wanted queues nothing: a repeat of the same state sends nothing.
    for (const k of want.keys()) { requeue(k); expect(queue.has(k)).toBe(false); }
  });

  it('adds the new identifier without removing the old one (Customer.io resolves both to one person)', () => {
    expect(queueEntry({ idType: 'email', value: 'a@x.com' }, { idType: 'id', value: 'u1' })).toEqual({ action: 'add', idType: 'id', value: 'u1' });
    expect(queueEntry({ idType: 'email', value: 'a@x.com' }, null)).toEqual({ action: 'remove', idType: 'email', value: 'a@x.com' });
    expect(queueEntry(null, null)).toBeNull();
    expect(heldAfter({ idType: 'email', value: 'b' }, { action: 'remove', idType: 'email', value: 'a' })).toEqual({ idType: 'email', value: 'b' });
  });

  it('splits into calls of at most 1,000 identifiers, removals first', () => {
    const entries = Array.from({ length: 2501 }, (_, i) => ({ value: `v${i}` }));
    expect(toCalls(entries).map((c) => c.length)).toEqual([IDS_PER_CALL, IDS_PER_CALL, 501]);
    expect(DRAIN_ORDER.map((o) => o.action)).toEqual(['remove', 'remove', 'add', 'add']);
  });
});
