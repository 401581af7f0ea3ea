// Migrations and the reader store's dedupe, over Node's own SQLite (node:sqlite) behind the few
// SqlStorage members the stores use; every statement run is recorded, so a test can say what a
// cold start of an up-to-date object costs.
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { META_TABLE, Meta, type Migration, migrate, migrateReading } from './sql-store.ts';
import { ReaderStore } from '#edge/readers/reader-store.ts';
import { SPILL_AT } from '#edge/readers/seen-ids.ts';
import { SeenFilter } from '#edge/readers/seen-filter.ts';

// The stores name the runtime's SqlStorage type; this program has Node's types, not the Workers' ones.
declare global {
  interface SqlStorageCursor<T> { toArray(): T[]; one(): T; readonly rowsWritten: number }
  interface SqlStorage { exec<T = Record<string, unknown>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> }
}

function nodeSql(db = new DatabaseSync(':memory:')) {
  const statements: string[] = [];
  const sql = {
    exec(query: string, ...params: Array<string | number | null>) {
      statements.push(query.trim());
      const several = query.trim().replace(/;\s*$/, '').includes(';');
      if (several) {
        db.exec(query);
        return cursor([], 0);
      }
      const stmt = db.prepare(query);
      if (/^\s*(SELECT|WITH)\b/i.test(query) || /\bRETURNING\b/i.test(query)) return cursor(stmt.all(...params) as Record<string, unknown>[], 0);
      return cursor([], Number(stmt.run(...params).changes));
    },
  };
  return { sql: sql as unknown as SqlStorage, statements, db };
}

function cursor(rows: Record<string, unknown>[], rowsWritten: number) {
  return { toArray: () => rows, one: () => rows[0], rowsWritten };
}

const STEPS: Migration[] = [
  'CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY)',
  'CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY)',
];

describe('migrate', () => {
  it('applies every step once, and opens up-to-date storage with reads only', () => {
    const { sql, statements, db } = nodeSql();
    migrate(sql, STEPS);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => (r as { name: string }).name)).toEqual(['_schema', 'a', 'b']);
    expect((db.prepare('SELECT applied FROM _schema').get() as { applied: number }).applied).toBe(2);

    // A cold start of an object whose storage is up to date: one read, nothing written.
    statements.length = 0;
    migrate(sql, STEPS);
    expect(statements).toEqual(['SELECT applied FROM _schema WHERE id = 1']);
  });

  it('runs only the steps added since, on storage migrated before', () => {
    const { sql, statements, db } = nodeSql();
    migrate(sql, STEPS.slice(0, 1));
    statements.length = 0;
    migrate(sql, STEPS);
    expect(statements).toContain(STEPS[1]);
    expect(statements).not.toContain(STEPS[0]);
    expect((db.prepare('SELECT applied FROM _schema').get() as { applied: number }).applied).toBe(2);
  });
});

describe('migrateReading', () => {
  const ROW_STEPS: Migration[] = [
    'CREATE TABLE IF NOT EXISTS r (id INTEGER PRIMARY KEY, a TEXT NOT NULL)',
    "ALTER TABLE r ADD COLUMN b TEXT NOT NULL DEFAULT 'b'",
  ];

  it('migrates new storage and finds no row', () => {
    const { sql, db } = nodeSql();
    expect(migrateReading(sql, ROW_STEPS, 'a, b', 'r')).toBeNull();
    expect((db.prepare('SELECT applied FROM _schema').get() as { applied: number }).applied).toBe(2);
  });

  it('reads the row of up-to-date storage in one statement, the count of steps with it', () => {
    const { sql, statements, db } = nodeSql();
    migrate(sql, ROW_STEPS);
    db.prepare("INSERT INTO r (id, a, b) VALUES (1, 'x', 'y')").run();
    statements.length = 0;
    expect(migrateReading(sql, ROW_STEPS, 'a, b', 'r')).toEqual({ a: 'x', b: 'y' });
    expect(statements).toHaveLength(1);
  });

  it('applies the steps storage lacks (a column a later step adds) before it reads the row', () => {
    const { sql, db } = nodeSql();
    migrate(sql, ROW_STEPS.slice(0, 1));
    db.prepare("INSERT INTO r (id, a) VALUES (1, 'x')").run();
    expect(migrateReading(sql, ROW_STEPS, 'a, b', 'r')).toEqual({ a: 'x', b: 'b' });
    expect((db.prepare('SELECT applied FROM _schema').get() as { applied: number }).applied).toBe(2);
  });
});

describe('ReaderStore: a cold start', () => {
  it("opens an up-to-date reader's storage and loads its row with one read", () => {
    const db = new DatabaseSync(':memory:');
    const first = new ReaderStore(nodeSql(db).sql);
    first.save({ opens: 1 }, { tags: [] }, { workspace: 'ws' }, 1);
    const cold = nodeSql(db);
    const store = new ReaderStore(cold.sql);
    expect(store.load()).toEqual({ state: { opens: 1 }, meta: { tags: [] }, context: { workspace: 'ws' }, version: 1 });
    expect(cold.statements).toHaveLength(1);
    // Only the first load takes the row read when the object opened; a later one reads it again.
    store.save({ opens: 2 }, { tags: [] }, { workspace: 'ws' }, 2);
    expect(store.load()).toMatchObject({ state: { opens: 2 }, version: 2 });
  });
});

describe('ReaderStore: dedupe', () => {
  const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: `01H${String(from + i).padStart(6, '0')}`, ts: 1_000 + from + i }));
  const storedIds = (db: DatabaseSync) => db.prepare('SELECT id FROM seen_events ORDER BY id').all().map((r) => (r as { id: string }).id);
  const saveRow = (store: ReaderStore, version = 1) => store.save({ v: version }, {}, null, version);

  it('marks an event id once: true the first time, false for the same id again', () => {
    const { sql } = nodeSql();
    const store = new ReaderStore(sql);
    expect(store.seen.has('01HX')).toBe(false);
    expect(store.seen.markOne('01HX', 1)).toBe(true);
    expect(store.seen.markOne('01HX', 2)).toBe(false);
    expect(store.seen.has('01HX')).toBe(true);
    expect(store.seen.markOne('01HY', 3)).toBe(true);
  });

  /** A reader whose row a first batch made, as its object opens it: the store and the statements it runs. */
  const opened = (db = new DatabaseSync(':memory:')) => {
    const first = new ReaderStore(nodeSql(db).sql);
    first.seen.mark([{ id: '01HFIRST', ts: 1 }]);
    saveRow(first);
    const cold = nodeSql(db);
    const store = new ReaderStore(cold.sql);
    store.load();
    cold.statements.length = 0;
    return { store, statements: cold.statements, db };
  };

  it('counts a batch of new ids with no statement, an id twice new once; the row write stores them', () => {
    const { store, statements, db } = opened();
    const fresh = store.seen.mark([{ id: '01HA', ts: 2 }, { id: '01HB', ts: 3 }, { id: '01HB', ts: 3 }]);
    expect([...fresh].sort()).toEqual(['01HA', '01HB']);
    expect(statements).toEqual([]);
    saveRow(store, 2);
    expect(statements).toEqual(['UPDATE reader SET state = ?, version = ?, seen_recent = ? WHERE id = 1']);
    // A restart (a new store over the same storage) still knows them.
    const restarted = new ReaderStore(nodeSql(db).sql);
    expect(restarted.seen.mark([{ id: '01HB', ts: 5 }, { id: '01HA', ts: 5 }, { id: '01HC', ts: 5 }])).toEqual(new Set(['01HC']));
  });

  it('returns only the ids not seen before when a batch mixes old and new ones (a retry)', () => {
    const { sql } = nodeSql();
    const store = new ReaderStore(sql);
    expect(store.seen.markOne('01HA', 1)).toBe(true);
    store.seen.mark([{ id: '01HZ', ts: 1 }, { id: '01HY', ts: 1 }]);
    const fresh = store.seen.mark([{ id: '01HA', ts: 2 }, { id: '01HB', ts: 3 }, { id: '01HZ', ts: 3 }, { id: '01HB', ts: 3 }, { id: '01HC', ts: 4 }]);
    expect([...fresh].sort()).toEqual(['01HB', '01HC']);
    expect(store.seen.has('01HB') && store.seen.has('01HC')).toBe(true);
    expect(store.seen.mark([{ id: '01HB', ts: 5 }, { id: '01HC', ts: 5 }]).size).toBe(0);
  });

  it('moves the ids to the table together once enough wait in the row, and dedupes them there, through a restart', () => {
    const { store, statements, db } = opened();
    const first = ids(SPILL_AT);
    expect(store.seen.mark(first).size).toBe(SPILL_AT);
    // One insert for all of them; the filter goes with the row.
    expect(statements).toEqual(['INSERT OR IGNORE INTO seen_events (id, at) SELECT value, ?2 FROM json_each(?1)']);
    saveRow(store, 2);
    expect(storedIds(db)).toEqual([...first.map((e) => e.id), '01HFIRST']);

    const restarted = new ReaderStore(nodeSql(db).sql);
    restarted.load();
    const retry = [...first.slice(0, 5), ...ids(3, 500)];
    expect([...restarted.seen.mark(retry)].sort()).toEqual(ids(3, 500).map((e) => e.id));
    expect(restarted.seen.has(first[7]!.id)).toBe(true);
    expect(restarted.seen.markOne(first[9]!.id, 2_000)).toBe(false);
  });

  it('reads the table only for the ids its filter cannot rule out: new ids past a spill cost no read', () => {
    const { sql, db } = nodeSql();
    const store = new ReaderStore(sql);
    saveRow(store);
    store.seen.mark(ids(SPILL_AT * 3));
    saveRow(store, 2);
    const cold = nodeSql(db);
    const restarted = new ReaderStore(cold.sql);
    restarted.load();
    cold.statements.length = 0;
    // Ten new page reads: the filter (read with the row) rules each out, as it does ~99 ids in 100.
    let reads = 0;
    for (let batch = 0; batch < 20; batch++) {
      expect(restarted.seen.mark(ids(10, 10_000 + batch * 10)).size).toBe(10);
      reads += cold.statements.filter((q) => /^SELECT/.test(q)).length;
      cold.statements.length = 0;
    }
    expect(reads).toBeLessThan(5);
  });

  it('builds the filter for storage from before it, so ids stored then are still duplicates', () => {
    const db = new DatabaseSync(':memory:');
    const { sql } = nodeSql(db);
    const old = new ReaderStore(sql);
    saveRow(old);
    // As the store kept them before: an insert per batch, no columns for the row's part, the schema behind.
    db.exec("INSERT INTO seen_events (id, at) VALUES ('01HOLD1', 5), ('01HOLD2', 7); ALTER TABLE reader DROP COLUMN seen_recent; ALTER TABLE reader DROP COLUMN seen_filter");
    db.prepare('UPDATE _schema SET applied = applied - 3').run();
    const upgraded = new ReaderStore(nodeSql(db).sql);
    upgraded.load();
    expect([...upgraded.seen.mark([{ id: '01HOLD1', ts: 6 }, { id: '01HNEW', ts: 6 }, { id: '01HOLD2', ts: 6 }])]).toEqual(['01HNEW']);
    expect(upgraded.seen.has('01HOLD2')).toBe(true);
    // The filter built then is stored with the next save.
    saveRow(upgraded, 2);
    const stored = SeenFilter.decode((db.prepare('SELECT seen_filter FROM reader').get() as { seen_filter: string }).seen_filter);
    expect(stored.mayHave('01HOLD1') && stored.mayHave('01HOLD2')).toBe(true);
  });

  it("keeps ids as long as the latest event they went to the table with, then forgets them (the filter with them)", () => {
    const { sql, db } = nodeSql();
    const store = new ReaderStore(sql);
    saveRow(store);
    const early = ids(SPILL_AT).map((e) => ({ ...e, ts: 100 }));
    early[3] = { ...early[3]!, ts: 300 };
    store.seen.mark(early);
    saveRow(store, 2);
    store.seen.forgetBefore(250);
    expect(storedIds(db)).toHaveLength(SPILL_AT);
    store.seen.forgetBefore(301);
    expect(storedIds(db)).toEqual([]);
    expect(early.some((e) => store.seen.has(e.id))).toBe(false);
    saveRow(store, 3);
    const stored = SeenFilter.decode((db.prepare('SELECT seen_filter FROM reader').get() as { seen_filter: string }).seen_filter);
    expect(early.some((e) => stored.mayHave(e.id))).toBe(false);
  });

  it('grows its filter once it holds more ids than it was sized for, and still knows them all', () => {
    const { sql, db } = nodeSql();
    const store = new ReaderStore(sql);
    saveRow(store);
    const all = ids(SPILL_AT * 12);
    for (let i = 0; i < all.length; i += SPILL_AT) store.seen.mark(all.slice(i, i + SPILL_AT));
    saveRow(store, 2);
    const bits = (db.prepare('SELECT seen_filter FROM reader').get() as { seen_filter: string }).seen_filter;
    expect(SeenFilter.decode(bits).full).toBe(false);
    const restarted = new ReaderStore(nodeSql(db).sql);
    restarted.load();
    expect(restarted.seen.mark(all).size).toBe(0);
  });
});

describe('ReaderStore.saveMeta', () => {
  it('writes the bookkeeping only when it differs from what the row holds, loaded or written', () => {
    const { sql, statements, db } = nodeSql();
    const store = new ReaderStore(sql);
    store.save({ key: 'e:a@example.com' }, { queuedShard: null }, null, 1);
    const writes = () => statements.filter((s) => /^UPDATE reader/.test(s)).length;
    store.saveMeta({ queuedShard: null });
    expect(writes()).toBe(0);
    store.saveMeta({ queuedShard: 3 });
    expect(writes()).toBe(1);
    // A fresh object over the same storage compares with what it loaded.
    const reopened = nodeSql(db);
    const again = new ReaderStore(reopened.sql);
    expect(again.load()?.meta).toEqual({ queuedShard: 3 });
    again.saveMeta({ queuedShard: 3 });
    expect(reopened.statements.filter((s) => /^UPDATE reader/.test(s))).toEqual([]);
    again.saveMeta({ queuedShard: null });
    expect(reopened.statements.filter((s) => /^UPDATE reader/.test(s))).toHaveLength(1);
    expect(JSON.parse((db.prepare('SELECT meta FROM reader').get() as { meta: string }).meta)).toEqual({ queuedShard: null });
  });
});

describe('ReaderStore.save', () => {
  it('writes the state alone when the bookkeeping and the context are what the row holds, and never a context it holds', () => {
    const { sql, statements } = nodeSql();
    const store = new ReaderStore(sql);
    const context = { workspace: 'ws', tagRules: [{ tag: 'fan' }] };
    store.save({ opens: 1 }, { queuedShard: null }, context, 1);
    statements.length = 0;
    store.save({ opens: 2 }, { queuedShard: null }, context, 2);
    expect(statements.filter((s) => /reader/.test(s))).toEqual(['UPDATE reader SET state = ?, version = ? WHERE id = 1']);
    // Other bookkeeping, the same context: the context (the bulk of the row) is not written again.
    statements.length = 0;
    store.save({ opens: 3 }, { queuedShard: 1 }, context, 3);
    expect(statements.filter((s) => /reader/.test(s))).toEqual(['UPDATE reader SET state = ?, meta = ?, version = ? WHERE id = 1']);
    expect(new ReaderStore(sql).load()).toEqual({ state: { opens: 3 }, meta: { queuedShard: 1 }, context, version: 3 });
  });

  it('writes the context when the object holds another one, and compares a loaded row with what it loaded', () => {
    const { sql, statements, db } = nodeSql();
    const store = new ReaderStore(sql);
    store.save({ opens: 1 }, {}, { workspace: 'ws', tagRules: [] }, 1);
    statements.length = 0;
    const changed = { workspace: 'ws', tagRules: [{ tag: 'fan' }] };
    store.save({ opens: 2 }, {}, changed, 2);
    // The context's own row, and the reader's row without it.
    expect(statements.filter((s) => /reader/.test(s))).toEqual(['INSERT OR REPLACE INTO reader_context (id, context) VALUES (1, ?)', 'UPDATE reader SET state = ?, version = ? WHERE id = 1']);
    expect(JSON.parse((db.prepare('SELECT context FROM reader_context').get() as { context: string }).context)).toEqual(changed);

    // A fresh object over the same storage: the context it loaded is the one the row holds.
    const reopened = nodeSql(db);
    const again = new ReaderStore(reopened.sql);
    const row = again.load<unknown, unknown, typeof changed>()!;
    again.save({ opens: 3 }, {}, row.context, 3);
    expect(reopened.statements.filter((s) => /^(INSERT|UPDATE) /.test(s))).toEqual(['UPDATE reader SET state = ?, version = ? WHERE id = 1']);
  });

  it('loads a row stored before the context had its own column with a null context', () => {
    const db = new DatabaseSync(':memory:');
    const old = nodeSql(db);
    migrate(old.sql, [
      `CREATE TABLE IF NOT EXISTS reader (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, meta TEXT NOT NULL, version INTEGER NOT NULL);
       CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
       CREATE TABLE IF NOT EXISTS merged_from (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
       CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL);`,
      'CREATE TABLE IF NOT EXISTS grant_browsers (grant_id TEXT NOT NULL, browser TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (grant_id, browser))',
    ]);
    db.prepare('INSERT INTO reader (id, state, meta, version) VALUES (1, ?, ?, 4)').run('{"opens":4}', '{"ctx":{"workspace":"ws"},"tags":[]}');
    const store = new ReaderStore(nodeSql(db).sql);
    expect(store.load()).toEqual({ state: { opens: 4 }, meta: { ctx: { workspace: 'ws' }, tags: [] }, context: null, version: 4 });
    // The object moves the context out of the meta: both are written on its next save.
    store.save({ opens: 5 }, { tags: [] }, { workspace: 'ws' }, 5);
    expect(db.prepare('SELECT meta, (SELECT context FROM reader_context) AS context FROM reader').get()).toEqual({ meta: '{"tags":[]}', context: '{"workspace":"ws"}' });
  });
});

describe('Meta', () => {
  it('reads a key once, writes only changes, and forgets a deleted key', () => {
    const { sql, statements, db } = nodeSql();
    db.exec(META_TABLE);
    const meta = new Meta(sql);
    expect(meta.get('workspace')).toBeNull();
    meta.set('workspace', 'ws1');
    statements.length = 0;
    expect(meta.get('workspace')).toBe('ws1');
    meta.set('workspace', 'ws1');
    expect(statements).toEqual([]);
    meta.add('count', 2);
    meta.add('count', 3);
    expect(new Meta(sql).number('count')).toBe(5);
    meta.delete('workspace');
    expect(meta.get('workspace')).toBeNull();
    expect(new Meta(sql).get('workspace')).toBeNull();
  });
});
