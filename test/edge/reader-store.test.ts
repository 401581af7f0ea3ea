// The reader's outbox count, kept in memory so that most sync snapshots and acks (an open, a read:
// nothing queued) touch no storage: it must agree with the table through queueing, partial and
// whole clears, and a restart (a new store over the same storage starts uncounted).
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ReaderStore } from '#edge/readers/reader-store.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import type { QueuedOp } from '#edge/sync/snapshot.ts';

const op = (n: number): QueuedOp => ({ kind: 'event', id: `id-${n}`, name: `e${n}`, ts: n, data: {} });

describe('reader store outbox', () => {
  it('counts what the outbox holds through queueing, clearing and a restart', async () => {
    await runInDurableObject(readerStub(env, 'store-outbox', 'e:a@example.com'), (_reader, state) => {
      const sql = state.storage.sql;
      const table = () => sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
      const store = new ReaderStore(sql);
      expect(store.queuedCount()).toBe(0);
      expect(store.queued(50)).toEqual([]);
      for (const n of [1, 2, 3]) store.queue(op(n));
      expect([store.queuedCount(), table()]).toEqual([3, 3]);
      const queued = store.queued(2);
      expect(queued.map((o) => o.seq)).toEqual([1, 2]);
      store.clearQueued(queued[1]!.seq);
      expect([store.queuedCount(), table()]).toEqual([1, 1]);
      expect(store.queued(50).map((o) => (o as { name: string }).name)).toEqual(['e3']);
      // Another store over the same storage (the object restarted) counts afresh.
      const restarted = new ReaderStore(sql);
      restarted.queue(op(4));
      expect(restarted.queued(50).map((o) => (o as { name: string }).name)).toEqual(['e3', 'e4']);
      restarted.clearQueued();
      expect([restarted.queuedCount(), table(), restarted.queued(50).length]).toEqual([0, 0, 0]);
      restarted.queue(op(5));
      expect([restarted.queuedCount(), restarted.queued(50).length, table()]).toEqual([1, 1, 1]);
    });
  });
});
