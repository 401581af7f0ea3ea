/**
 * The outbox shard's SQL store: one migration list and a named query for each thing the shard
 * does, so `sync-shard.ts` reads as the drain's logic and nothing else.
 *
 * Tables: `pending` (one row per dirty reader, coalesced; or ready-made operations), `dead_letters`,
 * `recent` (when each reader last synced: the resync interval), `omitted` (readers whose last
 * identify left attributes out), `sent_merges` (merges Customer.io took, until the reader's ack).
 */
import type { OmittedAttributes } from '#edge/customerio/attributes.ts';
import type { V2Operation } from '#edge/customerio/batch.ts';
import { META_TABLE, Meta, type Migration, addColumn, migrate } from '#edge/platform/sql-store.ts';

const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE IF NOT EXISTS pending (key TEXT PRIMARY KEY, generation INTEGER NOT NULL DEFAULT 0, enqueued_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0, last_error TEXT, ops TEXT);
   CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, ops TEXT NOT NULL,
     error TEXT NOT NULL, status INTEGER, failed_at INTEGER NOT NULL, attempts INTEGER NOT NULL);
   ${META_TABLE};
   CREATE TABLE IF NOT EXISTS recent (key TEXT PRIMARY KEY, synced_at INTEGER NOT NULL);`,
  `CREATE TABLE IF NOT EXISTS omitted (key TEXT PRIMARY KEY, categories INTEGER NOT NULL, tag_flags INTEGER NOT NULL, traits INTEGER NOT NULL, at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS sent_merges (key TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq));`,
  // What is due, the next wake-up and the forgetting of old syncs are range reads: with quiet
  // changes waiting a minute, a burst keeps tens of thousands of rows in these tables, which an
  // unindexed read would walk on every batch. Both tables hold only the last minutes' readers,
  // so building the indexes at the upgrade reads little.
  `CREATE INDEX IF NOT EXISTS pending_due ON pending (next_at, enqueued_at);
   CREATE INDEX IF NOT EXISTS recent_synced_at ON recent (synced_at);`,
  // Whether any change that queued the row mattered (1) or all only moved counters (0): a row that
  // changed while its reader's handed-over change was out waits the interval its changes call for.
  addColumn('pending', 'loud', 'INTEGER NOT NULL DEFAULT 1'),
];

export interface PendingRow extends Record<string, SqlStorageValue> {
  key: string;
  generation: number;
  attempts: number;
  ops: string | null;
  enqueued_at: number;
  /** When it came (or comes) due: its resync wait, or its backoff, over. */
  next_at: number;
}

/** One reader's ack as the shard writes it (`settle`). */
export interface SettledReader {
  key: string;
  generation: number;
  /** The row is a reader's (not ready-made operations): its sync time and omissions are kept. */
  ownRow: boolean;
  omitted: OmittedAttributes | null;
  /** The last seq of the operations the reader was acked for (0: none): merges up to it are behind us. */
  lastSeq: number;
  /** When the row is due again (more to send), or null: done. */
  againAt: number | null;
  /**
   * A reader that handed its change over (no ack, so no news of what changed during the sync): if
   * its row changed meanwhile (a newer generation), it is due no sooner than `quiet` when those
   * changes only moved counters, else `loud`. Null: its ack's news (`againAt`) says it.
   */
  changedAgain: { quiet: number; loud: number } | null;
}

export interface DeadLetter { id: number; key: string; ops: V2Operation[]; error: string; status: number | null; failedAt: number; attempts: number }

export class ShardStore {
  readonly meta: Meta;

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, MIGRATIONS);
    this.meta = new Meta(sql);
  }

  // ---- pending -------------------------------------------------------------------------------

  /**
   * A reader is dirty: one row whatever the number of changes; a new generation tells an ack in
   * flight. It is due `waitMs` after its last sync (now if it synced not lately, or longer ago than
   * that: `next_at` is when it came due, which a part-full batch's linger counts from). A row already
   * waiting keeps the earlier of its two times (a change that matters moves a quiet one up),
   * unless it is backing off after a failure. One statement: this runs once per reader per dirty
   * cycle. Returns when the row is due. `quiet`: the change only moved counters.
   */
  markDirty(key: string, now: number, waitMs: number, quiet = false): number {
    return this.sql.exec<{ next_at: number }>(
      `INSERT INTO pending (key, enqueued_at, next_at, loud) VALUES (?1, ?2, MAX(?2, COALESCE((SELECT synced_at FROM recent WHERE key = ?1) + ?3, 0)), ?4)
       ON CONFLICT (key) DO UPDATE SET generation = generation + 1, loud = MAX(loud, excluded.loud),
         next_at = CASE WHEN attempts = 0 THEN MIN(next_at, excluded.next_at) ELSE next_at END
       RETURNING next_at`,
      key, now, waitMs, quiet ? 0 : 1,
    ).one().next_at;
  }

  insertOps(key: string, ops: V2Operation[], now: number): void {
    this.sql.exec('INSERT INTO pending (key, enqueued_at, ops) VALUES (?, ?, ?)', key, now, JSON.stringify(ops));
  }

  pendingOps(keyPrefix: string): { rows: number; operations: number } {
    const row = this.sql.exec<{ rows: number; operations: number | null }>(
      'SELECT COUNT(*) AS rows, SUM(json_array_length(ops)) AS operations FROM pending WHERE ops IS NOT NULL AND substr(key, 1, length(?)) = ?',
      keyPrefix, keyPrefix,
    ).one();
    return { rows: row.rows, operations: row.operations ?? 0 };
  }

  due(now: number, limit: number): PendingRow[] {
    return this.sql.exec<PendingRow>(
      'SELECT key, generation, attempts, ops, enqueued_at, next_at FROM pending WHERE next_at <= ? ORDER BY next_at, enqueued_at LIMIT ?', now, limit,
    ).toArray();
  }

  nextDueAt(): number | null {
    return this.sql.exec<{ at: number | null }>('SELECT MIN(next_at) AS at FROM pending').one().at;
  }

  /** Done, unless the reader changed again meanwhile (a newer generation stays queued). */
  done(row: PendingRow): void {
    this.sql.exec('DELETE FROM pending WHERE key = ? AND generation = ?', row.key, row.generation);
  }

  /**
   * A batch's acks, written together (a few statements for the batch, not a few per reader): each
   * reader synced now, its omissions noted or cleared, its merges up to `lastSeq` forgotten, and
   * its row done (unless a newer generation came meanwhile: then due no sooner than its
   * `changedAgain` says, if it has one) or due again at its `againAt`.
   */
  settle(readers: readonly SettledReader[], now: number): void {
    const own = readers.filter((r) => r.ownRow);
    if (own.length) {
      const keys = JSON.stringify(own.map((r) => r.key));
      this.sql.exec('INSERT OR REPLACE INTO recent (key, synced_at) SELECT value, ?2 FROM json_each(?1)', keys, now);
      this.sql.exec('DELETE FROM omitted WHERE key IN (SELECT value FROM json_each(?))', JSON.stringify(own.filter((r) => !r.omitted).map((r) => r.key)));
    }
    for (const r of own) if (r.omitted) this.noteOmitted(r.key, r.omitted, now);
    const acked = own.filter((r) => r.lastSeq > 0);
    if (acked.length) {
      this.sql.exec(`DELETE FROM sent_merges WHERE rowid IN (SELECT m.rowid FROM json_each(?) j
        JOIN sent_merges m ON m.key = j.value ->> 0 AND m.seq <= j.value ->> 1)`, JSON.stringify(acked.map((r) => [r.key, r.lastSeq])));
    }
    const done = readers.filter((r) => r.againAt === null);
    if (done.length) {
      this.sql.exec('DELETE FROM pending WHERE (key, generation) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))',
        JSON.stringify(done.map((r) => [r.key, r.generation])));
    }
    for (const at of new Set(readers.flatMap((r) => (r.againAt === null ? [] : [r.againAt])))) {
      this.sql.exec('UPDATE pending SET attempts = 0, next_at = ?1 WHERE key IN (SELECT value FROM json_each(?2))',
        at, JSON.stringify(readers.filter((r) => r.againAt === at).map((r) => r.key)));
    }
    // Only the rows that changed in flight are left of these (the others went as done above).
    const changed = new Map<string, { quiet: number; loud: number; keys: string[] }>();
    for (const { key, changedAgain: at } of readers) {
      if (!at) continue;
      const group = changed.get(`${at.quiet}:${at.loud}`) ?? { ...at, keys: [] };
      changed.set(`${at.quiet}:${at.loud}`, group);
      group.keys.push(key);
    }
    for (const { quiet, loud, keys } of changed.values()) {
      this.sql.exec('UPDATE pending SET attempts = 0, next_at = MAX(next_at, CASE WHEN loud = 1 THEN ?1 ELSE ?2 END) WHERE key IN (SELECT value FROM json_each(?3))',
        loud, quiet, JSON.stringify(keys));
    }
  }

  retryLater(key: string, attempts: number, at: number, error: string): void {
    this.sql.exec('UPDATE pending SET attempts = ?, next_at = ?, last_error = ? WHERE key = ?', attempts, at, error, key);
  }

  /** Due again at once, with no attempt counted (the request was at fault, not the reader): it keeps the time it came due. */
  again(key: string): void {
    this.sql.exec('UPDATE pending SET attempts = 0 WHERE key = ?', key);
  }

  // ---- recent syncs, merges, omissions --------------------------------------------------------

  forgetSyncedBefore(at: number): void {
    this.sql.exec('DELETE FROM recent WHERE synced_at < ?', at);
  }

  mergeSent(key: string, seq: number): boolean {
    return this.sql.exec('SELECT 1 FROM sent_merges WHERE key = ? AND seq = ?', key, seq).toArray().length > 0;
  }

  noteMergeSent(key: string, seq: number): void {
    this.sql.exec('INSERT OR IGNORE INTO sent_merges (key, seq) VALUES (?, ?)', key, seq);
  }

  private noteOmitted(key: string, omitted: OmittedAttributes, now: number): void {
    this.sql.exec('INSERT OR REPLACE INTO omitted (key, categories, tag_flags, traits, at) VALUES (?, ?, ?, ?, ?)',
      key, omitted.categories, omitted.tagFlags, omitted.traits, now);
  }

  omitted(limit: number): { readers: number; examples: Array<{ key: string } & OmittedAttributes> } {
    return {
      readers: this.count('omitted'),
      examples: this.sql.exec<{ key: string; categories: number; tag_flags: number; traits: number }>(
        'SELECT key, categories, tag_flags, traits FROM omitted ORDER BY at DESC LIMIT ?', limit).toArray()
        .map((r) => ({ key: r.key, categories: r.categories, tagFlags: r.tag_flags, traits: r.traits })),
    };
  }

  // ---- dead letters --------------------------------------------------------------------------

  addDeadLetter(key: string, ops: V2Operation[], error: string, status: number | null, attempts: number, now: number): void {
    this.sql.exec('INSERT INTO dead_letters (key, ops, error, status, failed_at, attempts) VALUES (?, ?, ?, ?, ?, ?)',
      key, JSON.stringify(ops), error, status, now, attempts);
  }

  deadLetters(): DeadLetter[] {
    return this.sql.exec<Record<string, SqlStorageValue>>('SELECT * FROM dead_letters ORDER BY id').toArray().map((row) => ({
      id: row.id as number, key: row.key as string, ops: JSON.parse(row.ops as string) as V2Operation[], error: row.error as string,
      status: row.status as number | null, failedAt: row.failed_at as number, attempts: row.attempts as number,
    }));
  }

  deleteDeadLetter(id: number): void {
    this.sql.exec('DELETE FROM dead_letters WHERE id = ?', id);
  }

  count(table: 'pending' | 'dead_letters' | 'omitted'): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
  }
}
