/**
 * What every Durable Object's SQL store shares: one ordered migration list, and a small key/value
 * `meta` table. An object's store names its queries; its constructor only runs `migrate`.
 *
 * A migration is SQL that is safe to run on storage made before migrations were counted (CREATE …
 * IF NOT EXISTS), or `addColumn`, which looks before it alters. The count of steps applied is kept
 * in `_schema`, so each step runs once per object and a step is never edited once shipped: add one.
 */
export type Migration = string | ((sql: SqlStorage) => void);

export function migrate(sql: SqlStorage, steps: readonly Migration[]): void {
  const counted = appliedSteps(sql);
  if (counted === null) sql.exec('CREATE TABLE IF NOT EXISTS _schema (id INTEGER PRIMARY KEY CHECK (id = 1), applied INTEGER NOT NULL)');
  const applied = counted ?? 0;
  for (let i = applied; i < steps.length; i++) {
    const step = steps[i]!;
    if (typeof step === 'string') sql.exec(step);
    else step(sql);
  }
  if (applied < steps.length) sql.exec('INSERT OR REPLACE INTO _schema (id, applied) VALUES (1, ?)', steps.length);
}

/**
 * `migrate`, and the one row a store reads first at every cold start (`SELECT columns FROM table`),
 * in one statement when the storage is up to date: most cold starts (a reader's object, evicted
 * after seconds idle, as most pixel hits and page reads find it) then make one read where two
 * were (measured in workerd: 140 µs less a cold start). Anything else (a new object, steps to
 * apply, no row) goes through `migrate` and reads the row after it.
 */
export function migrateReading<T extends object>(sql: SqlStorage, steps: readonly Migration[], columns: string, table: string): T | null {
  try {
    const row = sql.exec(`SELECT (SELECT applied FROM _schema WHERE id = 1) AS _applied, ${columns} FROM ${table} LIMIT 1`).toArray()[0] as (T & { _applied: number | null }) | undefined;
    if (row && row._applied === steps.length) {
      const { _applied, ...rest } = row;
      return rest as unknown as T;
    }
  } catch (error) {
    // Storage the steps have not made yet: no table, or a column a later step adds.
    if (!/no such (table|column)/i.test((error as Error).message)) throw error;
  }
  migrate(sql, steps);
  return (sql.exec(`SELECT ${columns} FROM ${table} LIMIT 1`).toArray()[0] as T | undefined) ?? null;
}

/**
 * How many steps the storage has applied, in one read; null when it has never counted them (a new
 * object, or storage from before migrations were counted). Read before anything is created: a
 * CREATE … IF NOT EXISTS counts as a write even when the table is there, and every cold start (an
 * object evicted after seconds idle, as most pixel hits find a reader) would otherwise commit a
 * write transaction of its own, and look the table up first, before doing any work.
 */
function appliedSteps(sql: SqlStorage): number | null {
  try {
    return sql.exec<{ applied: number }>('SELECT applied FROM _schema WHERE id = 1').toArray()[0]?.applied ?? 0;
  } catch (error) {
    if (/no such table/i.test((error as Error).message)) return null;
    throw error;
  }
}

/** A column added after a table shipped; storage that already has it is left alone. */
export const addColumn = (table: string, column: string, type: string): Migration => (sql) => {
  const has = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`).toArray().some((c) => c.name === column);
  if (!has) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
};

export const META_TABLE = 'CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)';

/**
 * The `meta` table (create it with META_TABLE in the object's migrations), read through a copy in
 * memory: an object is the only writer of its storage, so what it read or wrote stays true for as
 * long as the instance lives. The hot paths (a shard's enqueue) read several keys per call, and
 * setting a key to the value it has writes nothing (no storage transaction for it).
 */
export class Meta {
  private readonly values = new Map<string, string | null>();

  constructor(private readonly sql: SqlStorage) {}

  get(k: string): string | null {
    let v = this.values.get(k);
    if (v === undefined) {
      v = this.sql.exec<{ v: string }>('SELECT v FROM meta WHERE k = ?', k).toArray()[0]?.v ?? null;
      this.values.set(k, v);
    }
    return v;
  }

  number(k: string, fallback = 0): number {
    const v = this.get(k);
    return v === null ? fallback : Number(v);
  }

  set(k: string, v: string | number): void {
    const value = String(v);
    if (this.get(k) === value) return;
    this.sql.exec('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)', k, value);
    this.values.set(k, value);
  }

  add(k: string, by: number): void {
    this.set(k, this.number(k) + by);
  }

  delete(k: string): void {
    this.sql.exec('DELETE FROM meta WHERE k = ?', k);
    this.values.set(k, null);
  }
}
