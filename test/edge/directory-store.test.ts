// The directory's write of a synced reader inside workerd: its row, its pending sign-up and its
// facts rows exactly as its latest summary says, whatever it held before (a first write rewrites
// them all; a sync's write, told what the row held, only the facts that changed).
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { DirectoryStore } from '#edge/panel/directory/directory-store.ts';
import { directoryStub } from '#edge/platform/stubs.ts';
import type { ReaderSummary } from '#shared/panel.ts';

const summary = (key: string, over: Partial<ReaderSummary> = {}): ReaderSummary => ({
  key, email: `${key.slice(2)}@example.com`, userId: null, tags: [], score: 0.25, counters: { opens: 1 }, traits: {},
  facts: { opens: 1, topics: ['crypto', 'stocks'], known: true }, activeDays: [20_000], lastSeen: 5, signedUpAt: null, updatedAt: 6, ...over,
});

describe('directory store', () => {
  it('writes readers, then rewrites what changed: facts rows, pending sign-ups and the row keep up', async () => {
    await runInDurableObject(directoryStub(env, 'store-write'), (_dir, state) => {
      const sql = state.storage.sql;
      const store = new DirectoryStore(sql);
      const facts = () => sql.exec<{ reader_key: string; name: string; t: string; v: SqlStorageValue }>(
        'SELECT reader_key, name, t, v FROM reader_facts ORDER BY reader_key, name, t, v').toArray().map((r) => `${r.reader_key} ${r.name} ${r.t} ${r.v}`);
      const pending = () => sql.exec<{ reader_key: string; since: number }>('SELECT reader_key, since FROM pending_signups ORDER BY reader_key').toArray();
      for (const r of [summary('e:a'), summary('e:b', { pendingSince: 100, score: 0.5, userId: 'u-b' })]) store.writeReader(r);
      expect(facts()).toEqual([
        'e:a known t 0', 'e:a opens n 1', 'e:a topics a 0', 'e:a topics es crypto', 'e:a topics es stocks',
        'e:b known t 0', 'e:b opens n 1', 'e:b topics a 0', 'e:b topics es crypto', 'e:b topics es stocks',
      ]);
      expect(pending()).toEqual([{ reader_key: 'e:b', since: 100 }]);
      const rowid = sql.exec<{ r: number }>("SELECT rowid AS r FROM readers WHERE key = 'e:a'").one().r;

      // The sync's write, as upsertReaders makes it: with the facts the rows held, only the changes.
      const held = store.readerCores(['e:a', 'e:b'], true);
      expect(held.get('e:a')!.facts).toEqual(summary('e:a').facts);
      for (const r of [summary('e:a', { facts: { opens: 2, topics: ['stocks'], known: true }, tags: ['x'], score: 0.75, email: null }), summary('e:b')]) {
        store.writeReader(r, held.get(r.key));
      }
      expect(facts()).toEqual([
        'e:a known t 0', 'e:a opens n 2', 'e:a topics a 0', 'e:a topics es stocks',
        'e:b known t 0', 'e:b opens n 1', 'e:b topics a 0', 'e:b topics es crypto', 'e:b topics es stocks',
      ]);
      expect(pending()).toEqual([]);
      const a = store.reader('e:a')!;
      expect([a.tags, a.score, a.email, a.facts.opens]).toEqual([['x'], 0.75, null, 2]);
      expect(store.reader('e:b')!.userId).toBeNull();
      // An upsert keeps the row's rowid (the preview's random sample draws rowids).
      expect(sql.exec<{ r: number }>("SELECT rowid AS r FROM readers WHERE key = 'e:a'").one().r).toBe(rowid);

      // Syncs that leave who the reader is alone update the row in place; a pending sign-up's row
      // stays while it waits, and goes when it ends.
      const write = (r: ReaderSummary) => store.writeReader(r, store.readerCores([r.key], true).get(r.key));
      write(summary('e:b', { pendingSince: 200, score: 0.9 }));
      expect(pending()).toEqual([{ reader_key: 'e:b', since: 200 }]);
      write(summary('e:b', { pendingSince: 200, score: 0.3, lastSeen: 9, facts: { opens: 3, known: true } }));
      expect(pending()).toEqual([{ reader_key: 'e:b', since: 200 }]);
      const b = store.reader('e:b')!;
      expect([b.score, b.lastSeen, b.email, b.userId, b.pendingSince, b.facts]).toEqual([0.3, 9, 'b@example.com', null, 200, { opens: 3, known: true }]);
      expect(facts().filter((f) => f.startsWith('e:b'))).toEqual(['e:b known t 0', 'e:b opens n 3']);
      write(summary('e:b', { score: 0.3, signedUpAt: 50 }));
      expect(pending()).toEqual([]);
      expect(sql.exec<{ key: string }>("SELECT key FROM readers WHERE email = 'b@example.com' AND signed_up_at = 50").toArray()).toEqual([{ key: 'e:b' }]);
    });
  });
});
