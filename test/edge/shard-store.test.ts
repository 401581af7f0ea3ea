// The outbox shard's store inside workerd: a reader's enqueue is one statement that knows the
// resync wait, and a batch's acks are written together (`settle`) without losing a reader that
// changed again in flight.
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ShardStore, type SettledReader } from '#edge/sync/shard-store.ts';
import { shardStub } from '#edge/platform/stubs.ts';

const withStore = <T>(name: string, fn: (store: ShardStore, sql: SqlStorage) => T) =>
  runInDurableObject(shardStub(env, `store-${name}`, 0), (_shard, state) => fn(new ShardStore(state.storage.sql), state.storage.sql));

const pending = (sql: SqlStorage) => Object.fromEntries(sql.exec<{ key: string; generation: number; next_at: number; attempts: number }>(
  'SELECT key, generation, next_at, attempts FROM pending ORDER BY key').toArray().map((r) => [r.key, { generation: r.generation, next: r.next_at, attempts: r.attempts }]));

const reader = (key: string, over: Partial<SettledReader> = {}): SettledReader =>
  ({ key, generation: 0, ownRow: true, omitted: null, lastSeq: 0, againAt: null, changedAgain: null, ...over });

describe('shard store', () => {
  it('a reader is due at once when it did not sync lately, and its wait after its last sync when it did', async () => {
    await withStore('due', (store, sql) => {
      expect(store.markDirty('e:a', 1_000, 60_000)).toBe(1_000);
      store.settle([reader('e:a')], 2_000);
      expect(pending(sql)).toEqual({});
      expect(store.markDirty('e:a', 3_000, 60_000)).toBe(62_000);
      // A change that matters, waiting the shorter interval, moves the quiet one up.
      expect(store.markDirty('e:a', 4_000, 5_000)).toBe(7_000);
      expect(store.markDirty('e:a', 5_000, 60_000)).toBe(7_000);
      expect(pending(sql)['e:a']).toEqual({ generation: 2, next: 7_000, attempts: 0 });
      // Synced longer ago than its wait: due now, the time it came due, not back when its wait ran out.
      store.settle([reader('e:a', { generation: 2 })], 8_000);
      expect(store.markDirty('e:a', 100_000, 5_000)).toBe(100_000);
    });
  });

  it('settles a batch: done rows go unless they changed in flight, the others are due again, attempts cleared', async () => {
    await withStore('batch', (store, sql) => {
      for (const key of ['e:a', 'e:b', 'e:c', 'e:d']) store.markDirty(key, 0, 0);
      store.markDirty('e:b', 10, 0); // changed again after its snapshot (generation 1)
      store.retryLater('e:c', 2, 99_999, 'boom');
      store.settle([reader('e:a'), reader('e:b'), reader('e:c', { againAt: 5_000 }), reader('e:d', { againAt: 65_000 })], 100);
      expect(pending(sql)).toEqual({
        'e:b': { generation: 1, next: 0, attempts: 0 },
        'e:c': { generation: 0, next: 5_000, attempts: 0 },
        'e:d': { generation: 0, next: 65_000, attempts: 0 },
      });
      const recent = sql.exec<{ key: string; synced_at: number }>('SELECT key, synced_at FROM recent ORDER BY key').toArray();
      expect(recent).toEqual(['e:a', 'e:b', 'e:c', 'e:d'].map((key) => ({ key, synced_at: 100 })));
    });
  });

  it('a reader that handed its change over is done, or, when it changed in flight, due as its changes call for', async () => {
    await withStore('handed', (store, sql) => {
      for (const key of ['e:a', 'e:b', 'e:c', 'e:d']) store.markDirty(key, 0, 0, true);
      store.markDirty('e:b', 10, 0, true); // an open after its snapshot: generation 1, due at 0 still
      store.markDirty('e:c', 10, 0, false); // a change that matters after its snapshot
      store.markDirty('e:d', 10, 0, true);
      store.retryLater('e:d', 3, 90_000, 'boom'); // ...and one whose row waits later than that already
      store.settle(['e:a', 'e:b', 'e:c', 'e:d'].map((key) => reader(key, { changedAgain: { quiet: 60_100, loud: 5_100 } })), 100);
      expect(pending(sql)).toEqual({
        'e:b': { generation: 1, next: 60_100, attempts: 0 },
        'e:c': { generation: 1, next: 5_100, attempts: 0 },
        'e:d': { generation: 1, next: 90_000, attempts: 0 },
      });
    });
  });

  it('keeps omissions of the readers that had them, forgets acked merges only, and leaves ready-made rows out of the reader tables', async () => {
    await withStore('books', (store, sql) => {
      const omitted = { categories: 1, tagFlags: 2, traits: 3 };
      store.settle([reader('e:a', { omitted }), reader('e:b', { omitted })], 1);
      store.noteMergeSent('e:a', 3);
      store.noteMergeSent('e:a', 7);
      store.noteMergeSent('e:b', 2);
      store.insertOps('ops:x', [], 1);
      const opsRow = sql.exec<{ generation: number }>("SELECT generation FROM pending WHERE key = 'ops:x'").one();
      store.settle([reader('e:a', { lastSeq: 5 }), reader('e:b', { omitted }), reader('ops:x', { ownRow: false, generation: opsRow.generation })], 2);
      expect(store.omitted(5)).toEqual({ readers: 1, examples: [{ key: 'e:b', ...omitted }] });
      expect([store.mergeSent('e:a', 3), store.mergeSent('e:a', 7), store.mergeSent('e:b', 2)]).toEqual([false, true, true]);
      expect(pending(sql)).toEqual({});
      expect(sql.exec("SELECT 1 FROM recent WHERE key = 'ops:x'").toArray()).toEqual([]);
    });
  });
});
