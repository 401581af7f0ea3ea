/**
 * The ReaderDirectory's SQL: one migration list and the named queries over it. Nothing here reads
 * every reader: each query is a key lookup (≤ 90 keys per IN list, under Cloudflare's 100 bound
 * parameters), a key range, an index range, or a small summary table.
 *
 * Tables:
 *   readers       one row per known reader (JSON columns as before, facts now JSONB) + indexes on email, user_id,
 *                 score, last_seen, signed_up_at; `counted` says its figures are in the tables below
 *   reader_tags   (reader_key, tag), indexed by tag: tag rules and "every reader with tag x" in SQL
 *   reader_facts  (reader_key, name, t, v): each reader's top-level facts and array elements, typed, indexed
 *                 by (name, t, v): a preview finds the readers a fact comparison can match from the index
 *   tag_counts, active_days, score_buckets, meta reader_count / score_sum: the overview, by deltas
 *   segments      rules, stored member count, mirror count, re-evaluation cursor and progress
 *   members       (segment_id, reader_key, score): memberships, with score for "top members"
 *   manual        editors' additions and removals (as before)
 *   mirrored      what Customer.io holds per (segment, reader) (as before)
 *   mirror_queue  what Customer.io must still be told, one entry per (segment, reader)
 *   pending_signups  (since, reader_key): the double opt-in sign-ups still waiting, and only them
 *
 * Upgrade from the old layout (one table of readers read whole): the old rows stay; step 5 marks the
 * directory for a backfill that the alarm runs in key-ordered chunks (readers with counted = 0 get
 * their tags and figures added), and puts every live segment into re-evaluation (also chunked). The
 * upgrade step itself runs two COUNTs in SQL and nothing per reader, so it is bounded. Step 6 (the
 * fact table) likewise only marks `facts_cursor`; the alarm fills reader_facts in key-ordered chunks,
 * and until it is done previews do not use that index.
 */
import { type Migration, META_TABLE, Meta, addColumn, migrate } from '#edge/platform/sql-store.ts';
import type { ReaderSummary, SegmentRule } from '#shared/panel.ts';
import type { OverviewDelta } from './overview-counts.ts';
import type { SegmentChanges } from './membership.ts';
import type { Ident, QueueEntry } from './mirror-batches.ts';
import { queueEntry } from './mirror-batches.ts';
import { type CompiledRule, type Lookup, READER_FACT_ROWS, type SqlParam, factRowsOf, factsChange } from './rule-sql.ts';

type Row = Record<string, SqlStorageValue>;

/** Keys per IN list: under the 100 bound parameters a query may carry, with room for the others. */
export const KEYS_PER_QUERY = 90;

const MIGRATIONS: Migration[] = [
  // 1-2: the layout the directory had before migrations were counted (kept verbatim: old storage matches it).
  `CREATE TABLE IF NOT EXISTS readers (key TEXT PRIMARY KEY, email TEXT, user_id TEXT, tags TEXT NOT NULL, score REAL NOT NULL,
     counters TEXT NOT NULL, traits TEXT NOT NULL, facts TEXT NOT NULL, active_days TEXT NOT NULL, last_seen INTEGER, signed_up_at INTEGER,
     updated_at INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS readers_email ON readers (email);
   CREATE TABLE IF NOT EXISTS daily (day INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (day, name));
   CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, description TEXT NOT NULL,
     rule TEXT, cio_id INTEGER, deleted INTEGER NOT NULL DEFAULT 0, sync_error TEXT, synced_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS manual (segment_id INTEGER NOT NULL, key TEXT NOT NULL, mode TEXT NOT NULL, PRIMARY KEY (segment_id, key));
   CREATE TABLE IF NOT EXISTS mirrored (segment_id INTEGER NOT NULL, key TEXT NOT NULL, id_type TEXT NOT NULL, value TEXT NOT NULL,
     PRIMARY KEY (segment_id, key));
   CREATE TABLE IF NOT EXISTS welcomed (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
   ${META_TABLE};`,
  addColumn('readers', 'signed_up_at', 'INTEGER'),
  // 3: what rules, searches and counts query, and the incremental tables.
  addColumn('readers', 'counted', 'INTEGER NOT NULL DEFAULT 0'),
  `CREATE INDEX IF NOT EXISTS readers_score ON readers (score, updated_at);
   CREATE INDEX IF NOT EXISTS readers_user_id ON readers (user_id);
   CREATE INDEX IF NOT EXISTS readers_last_seen ON readers (last_seen);
   CREATE INDEX IF NOT EXISTS readers_signed_up ON readers (signed_up_at);
   CREATE TABLE IF NOT EXISTS reader_tags (reader_key TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (reader_key, tag)) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS reader_tags_tag ON reader_tags (tag, reader_key);
   CREATE TABLE IF NOT EXISTS tag_counts (tag TEXT PRIMARY KEY, readers INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS active_days (day INTEGER PRIMARY KEY, readers INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS score_buckets (bucket INTEGER PRIMARY KEY, readers INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS members (segment_id INTEGER NOT NULL, reader_key TEXT NOT NULL, score REAL NOT NULL,
     PRIMARY KEY (segment_id, reader_key)) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS members_score ON members (segment_id, score);
   CREATE INDEX IF NOT EXISTS manual_key ON manual (key);
   CREATE TABLE IF NOT EXISTS mirror_queue (segment_id INTEGER NOT NULL, reader_key TEXT NOT NULL, action TEXT NOT NULL,
     id_type TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (segment_id, reader_key)) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS mirror_queue_batch ON mirror_queue (segment_id, action, id_type, reader_key);`,
  (sql) => {
    for (const [column, type] of [['members_count', 'INTEGER NOT NULL DEFAULT 0'], ['mirrored_count', 'INTEGER NOT NULL DEFAULT 0'],
      ['eval_cursor', 'TEXT'], ['eval_done', 'INTEGER NOT NULL DEFAULT 0'], ['eval_total', 'INTEGER NOT NULL DEFAULT 0'], ['retry_at', 'INTEGER']] as const) {
      (addColumn('segments', column, type) as (sql: SqlStorage) => void)(sql);
    }
  },
  // 5: storage from the old layout: backfill its readers' figures and memberships in chunks (alarm).
  (sql) => {
    const readers = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM readers').one().n;
    if (readers > 0) {
      sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('backfill_cursor', '')");
      sql.exec("UPDATE segments SET eval_cursor = '', eval_done = 0, eval_total = ? WHERE deleted = 0", readers);
    }
    sql.exec('UPDATE segments SET mirrored_count = (SELECT COUNT(*) FROM mirrored m WHERE m.segment_id = segments.id)');
  },
  // 6-7: double opt-in: sign-ups waiting for their confirmation, listed and counted from a table that
  // holds only them. Not an index on readers: building one reads every reader in one invocation at
  // the upgrade; this table starts empty, as no reader was pending before the column existed.
  addColumn('readers', 'pending_since', 'INTEGER'),
  `CREATE TABLE IF NOT EXISTS pending_signups (since INTEGER NOT NULL, reader_key TEXT NOT NULL, PRIMARY KEY (since, reader_key)) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS pending_signups_key ON pending_signups (reader_key);`,
  // 8: the fact table (bounded per reader: traits are capped at 100, facts come from a fixed list).
  // `v` has no declared type, so SQLite keeps each value as it is (text '3' stays text, not 3).
  (sql) => {
    sql.exec(`CREATE TABLE IF NOT EXISTS reader_facts (reader_key TEXT NOT NULL, name TEXT NOT NULL, t TEXT NOT NULL, v NOT NULL,
        PRIMARY KEY (reader_key, name, t, v)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS reader_facts_value ON reader_facts (name, t, v);`);
    if (sql.exec('SELECT 1 FROM readers LIMIT 1').toArray().length) sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('facts_cursor', '')");
  },
];

export interface SegmentRow {
  id: number; name: string; description: string; rule: SegmentRule | null; cioId: number | null; deleted: boolean;
  syncError: string | null; syncedAt: number | null; attempts: number; createdAt: number;
  membersCount: number; mirroredCount: number; evalCursor: string | null; evalDone: number; evalTotal: number; retryAt: number | null;
}

export type RuleReader = Pick<ReaderSummary, 'key' | 'email' | 'userId' | 'tags' | 'score' | 'facts'>;

/** What an upsert compares against: the stored reader's counted parts and identifier. */
export interface StoredCore {
  tags: string[]; activeDays: number[]; score: number; counted: boolean; email: string | null; userId: string | null;
  signedUpAt: number | null; pendingSince: number | null;
  /** The facts the row holds, its facts rows alike: read only when asked for (`readerCores` with `withFacts`). */
  facts?: ReaderSummary['facts'];
}

export function chunks<T>(items: readonly T[], size = KEYS_PER_QUERY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
/**
 * A reader row as summaries read it. Facts are stored as JSONB (written with jsonb(), read back as
 * text with json()): rules and previews read them in SQL without parsing text per row. Rows written
 * before hold JSON text, which every json function takes as well.
 */
const READER = `r.key, r.email, r.user_id, r.tags, r.score, r.counters, r.traits, json(r.facts) AS facts, r.active_days, r.last_seen,
  r.signed_up_at, r.updated_at, r.counted, r.pending_since`;
const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');

export class DirectoryStore {
  readonly meta: Meta;

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, MIGRATIONS);
    this.meta = new Meta(sql);
  }

  // ---- readers -------------------------------------------------------------------------------

  /** `withFacts`: with the facts the rows hold (a sync's write changes only those that changed). */
  readerCores(keys: readonly string[], withFacts = false): Map<string, StoredCore> {
    const out = new Map<string, StoredCore>();
    for (const part of chunks(keys)) {
      for (const row of this.sql.exec<Row>(`SELECT key, email, user_id, tags, score, active_days, counted, signed_up_at, pending_since${withFacts ? ', json(facts) AS facts' : ''}
          FROM readers WHERE key IN (${marks(part.length)})`, ...part)) {
        out.set(row.key as string, {
          tags: JSON.parse(row.tags as string), activeDays: JSON.parse(row.active_days as string), score: row.score as number,
          counted: row.counted === 1, email: (row.email as string | null) ?? null, userId: (row.user_id as string | null) ?? null,
          signedUpAt: (row.signed_up_at as number | null) ?? null, pendingSince: (row.pending_since as number | null) ?? null,
          ...(withFacts ? { facts: JSON.parse(row.facts as string) as ReaderSummary['facts'] } : {}),
        });
      }
    }
    return out;
  }

  /**
   * An upsert, not INSERT OR REPLACE: the row keeps its rowid, so rowids stay dense and a random
   * rowid is a uniform draw over readers (the preview's estimate samples that way). `before` is
   * what the row held (`readerCores`), when the caller read it:
   * - a reader whose email, user id and sign-up time stay (every sync but the one that names it)
   *   has its row updated without them, so their indexes are not rewritten;
   * - its pending sign-up row changes only when its pending time does;
   * - its facts rows, when `before` carries the facts, change only for the facts that changed;
   *   otherwise every row the facts do not hold goes.
   * One reader at a time: statements over a whole batch as JSON (json_each) plan worse, the facts'
   * difference above all (measured: 3× slower).
   */
  writeReader(r: ReaderSummary, before?: StoredCore): void {
    const facts = JSON.stringify(r.facts);
    const [tags, counters, traits, activeDays, pendingSince] = [JSON.stringify(r.tags), JSON.stringify(r.counters), JSON.stringify(r.traits), JSON.stringify(r.activeDays), r.pendingSince ?? null];
    if (before && before.email === r.email && before.userId === r.userId && before.signedUpAt === (r.signedUpAt ?? null)) {
      this.sql.exec(
        `UPDATE readers SET tags = ?, score = ?, counters = ?, traits = ?, facts = jsonb(?), active_days = ?, last_seen = ?, updated_at = ?, counted = 1,
           pending_since = ? WHERE key = ?`,
        tags, r.score, counters, traits, facts, activeDays, r.lastSeen, r.updatedAt, pendingSince, r.key,
      );
    } else {
      this.sql.exec(
        `INSERT INTO readers (key, email, user_id, tags, score, counters, traits, facts, active_days, last_seen, signed_up_at, updated_at, counted, pending_since)
         VALUES (?, ?, ?, ?, ?, ?, ?, jsonb(?), ?, ?, ?, ?, 1, ?)
         ON CONFLICT (key) DO UPDATE SET email = excluded.email, user_id = excluded.user_id, tags = excluded.tags, score = excluded.score,
           counters = excluded.counters, traits = excluded.traits, facts = excluded.facts, active_days = excluded.active_days,
           last_seen = excluded.last_seen, signed_up_at = excluded.signed_up_at, updated_at = excluded.updated_at, counted = 1,
           pending_since = excluded.pending_since`,
        r.key, r.email, r.userId, tags, r.score, counters, traits, facts, activeDays, r.lastSeen, r.signedUpAt ?? null, r.updatedAt, pendingSince,
      );
    }
    if (!before || before.pendingSince !== pendingSince) {
      if (!before || before.pendingSince !== null) this.sql.exec('DELETE FROM pending_signups WHERE reader_key = ?', r.key);
      if (pendingSince) this.sql.exec('INSERT INTO pending_signups (since, reader_key) VALUES (?, ?)', pendingSince, r.key);
    }
    if (!before?.facts) {
      this.sql.exec(`DELETE FROM reader_facts WHERE reader_key = ?1 AND (reader_key, name, t, v) NOT IN (${READER_FACT_ROWS})`, r.key, facts);
      this.sql.exec(`INSERT OR IGNORE INTO reader_facts (reader_key, name, t, v) ${READER_FACT_ROWS}`, r.key, facts);
      return;
    }
    const { drop, write } = factsChange(before.facts, r.facts);
    if (drop.length) this.sql.exec('DELETE FROM reader_facts WHERE reader_key = ?1 AND name IN (SELECT value FROM json_each(?2))', r.key, JSON.stringify(drop));
    if (Object.keys(write).length) this.sql.exec(`INSERT OR IGNORE INTO reader_facts (reader_key, name, t, v) ${READER_FACT_ROWS}`, r.key, JSON.stringify(write));
  }

  /**
   * Fills reader_facts for the `limit` readers after `after` (an upgraded directory, by alarm);
   * returns the last key done, or null once the walk reached the end.
   */
  backfillFacts(after: string, limit: number): string | null {
    const last = this.sql.exec<{ k: string }>('SELECT key AS k FROM readers WHERE key > ? ORDER BY key LIMIT 1 OFFSET ?', after, limit - 1).toArray()[0]?.k ?? null;
    const upTo = last ?? '\u{10FFFF}';
    this.sql.exec(`INSERT OR IGNORE INTO reader_facts (reader_key, name, t, v) ${factRowsOf('readers r', 'r.key', 'r.facts', 'r.key > ?1 AND r.key <= ?2')}`, after, upTo);
    if (last === null) this.meta.delete('facts_cursor');
    else this.meta.set('facts_cursor', last);
    return last;
  }

  /** The reader's rows in reader_tags follow its tags (only the difference is written). */
  retag(key: string, before: readonly string[], after: readonly string[]): void {
    const old = new Set(before);
    const now = new Set(after);
    for (const t of old) if (!now.has(t)) this.sql.exec('DELETE FROM reader_tags WHERE reader_key = ? AND tag = ?', key, t);
    for (const t of now) if (!old.has(t)) this.sql.exec('INSERT OR IGNORE INTO reader_tags (reader_key, tag) VALUES (?, ?)', key, t);
  }

  endBackfill(): void {
    this.meta.delete('backfill_cursor');
  }

  markCounted(key: string): void {
    this.sql.exec('UPDATE readers SET counted = 1 WHERE key = ?', key);
  }

  deleteReaders(keys: readonly string[]): void {
    for (const part of chunks(keys)) {
      this.sql.exec(`DELETE FROM readers WHERE key IN (${marks(part.length)})`, ...part);
      this.sql.exec(`DELETE FROM reader_tags WHERE reader_key IN (${marks(part.length)})`, ...part);
      this.sql.exec(`DELETE FROM reader_facts WHERE reader_key IN (${marks(part.length)})`, ...part);
      this.sql.exec(`DELETE FROM pending_signups WHERE reader_key IN (${marks(part.length)})`, ...part);
      this.sql.exec(`DELETE FROM manual WHERE key IN (${marks(part.length)})`, ...part);
    }
  }

  reader(key: string): ReaderSummary | null {
    const row = this.sql.exec<Row>(`SELECT ${READER} FROM readers r WHERE key = ?`, key).toArray()[0];
    return row ? toSummary(row) : null;
  }

  readersByKeys(keys: readonly string[]): ReaderSummary[] {
    const out: ReaderSummary[] = [];
    for (const part of chunks(keys)) {
      out.push(...this.sql.exec<Row>(`SELECT ${READER} FROM readers r WHERE key IN (${marks(part.length)})`, ...part).toArray().map(toSummary));
    }
    return out;
  }

  /** The next `limit` readers after `cursor` in key order (chunked walks: backfill, re-evaluation). */
  readersAfter(cursor: string, limit: number): Array<ReaderSummary & { counted: boolean }> {
    return this.sql.exec<Row>(`SELECT ${READER} FROM readers r WHERE key > ? ORDER BY key LIMIT ?`, cursor, limit).toArray()
      .map((row) => ({ ...toSummary(row), counted: row.counted === 1 }));
  }

  /** The same walk, reading only what rules and the mirror look at (no counters, traits or days to parse). */
  ruleReadersAfter(cursor: string, limit: number): RuleReader[] {
    return this.sql.exec<Row>('SELECT key, email, user_id, tags, score, json(facts) AS facts FROM readers WHERE key > ? ORDER BY key LIMIT ?', cursor, limit).toArray()
      .map((row) => ({
        key: row.key as string, email: (row.email as string | null) ?? null, userId: (row.user_id as string | null) ?? null,
        tags: JSON.parse(row.tags as string) as string[], score: row.score as number, facts: JSON.parse(row.facts as string) as ReaderSummary['facts'],
      }));
  }

  keysByEmail(emails: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const part of chunks(emails)) {
      for (const row of this.sql.exec<{ key: string; email: string }>(`SELECT key, email FROM readers WHERE email IN (${marks(part.length)})`, ...part)) {
        out.set(row.email, [...(out.get(row.email) ?? []), row.key]);
      }
    }
    return out;
  }

  existingKeys(keys: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const part of chunks(keys)) {
      for (const row of this.sql.exec<{ key: string }>(`SELECT key FROM readers WHERE key IN (${marks(part.length)})`, ...part)) out.add(row.key);
    }
    return out;
  }

  /**
   * Readers whose email or user id starts with `prefix` (index ranges), or whose key is it; the
   * best-scored first when nothing is typed (the score index).
   */
  search(prefix: string, limit: number): ReaderSummary[] {
    if (!prefix) return this.sql.exec<Row>(`SELECT ${READER} FROM readers r ORDER BY score DESC, updated_at DESC LIMIT ?`, limit).toArray().map(toSummary);
    // Every string starting with the prefix sorts below prefix + U+10FFFF (the highest code point).
    const upper = `${prefix}\u{10FFFF}`;
    const lower = prefix.toLowerCase();
    const rows = [
      ...this.sql.exec<Row>(`SELECT ${READER} FROM readers r WHERE key = ?`, prefix),
      ...this.sql.exec<Row>(`SELECT ${READER} FROM readers r WHERE email >= ? AND email < ? ORDER BY email LIMIT ?`, lower, `${lower}\u{10FFFF}`, limit),
      ...this.sql.exec<Row>(`SELECT ${READER} FROM readers r WHERE user_id >= ? AND user_id < ? ORDER BY user_id LIMIT ?`, prefix, upper, limit),
    ];
    const seen = new Set<string>();
    return rows.filter((r) => !seen.has(r.key as string) && seen.add(r.key as string)).slice(0, limit).map(toSummary);
  }

  // ---- overview figures ----------------------------------------------------------------------

  addOverview(d: OverviewDelta): void {
    if (d.readers) this.meta.add('reader_count', d.readers);
    if (d.scoreSum) this.meta.add('score_sum', d.scoreSum);
    for (const [tag, by] of d.tags) {
      this.sql.exec('INSERT INTO tag_counts (tag, readers) VALUES (?, ?) ON CONFLICT (tag) DO UPDATE SET readers = readers + excluded.readers', tag, by);
      if (by < 0) this.sql.exec('DELETE FROM tag_counts WHERE tag = ? AND readers <= 0', tag);
    }
    for (const [day, by] of d.days) {
      this.sql.exec('INSERT INTO active_days (day, readers) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET readers = readers + excluded.readers', day, by);
    }
    for (const [bucket, by] of d.buckets) {
      this.sql.exec('INSERT INTO score_buckets (bucket, readers) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET readers = readers + excluded.readers', bucket, by);
    }
  }

  // ---- double opt-in: pending sign-ups (the table pending_signups) -------------------------------

  /** Oldest first, after `(since, key)` (the last row of the page before). */
  pendingSignups(limit: number, after: { since: number; key: string } | null): ReaderSummary[] {
    const from = 'FROM pending_signups p JOIN readers r ON r.key = p.reader_key';
    const rows = after
      ? this.sql.exec<Row>(`SELECT ${READER} ${from} WHERE (p.since, p.reader_key) > (?, ?) ORDER BY p.since, p.reader_key LIMIT ?`, after.since, after.key, limit)
      : this.sql.exec<Row>(`SELECT ${READER} ${from} ORDER BY p.since, p.reader_key LIMIT ?`, limit);
    return rows.toArray().map(toSummary);
  }

  /** Only pending rows are read. */
  pendingCount(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pending_signups').one().n;
  }

  readerCount(): number {
    return this.meta.number('reader_count');
  }

  scoreSum(): number {
    return this.meta.number('score_sum');
  }

  tagCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.sql.exec<{ tag: string; readers: number }>('SELECT tag, readers FROM tag_counts WHERE readers > 0 ORDER BY tag')) out[row.tag] = row.readers;
    return out;
  }

  activeDays(fromDay: number, toDay: number): Map<number, number> {
    return new Map(this.sql.exec<{ day: number; readers: number }>('SELECT day, readers FROM active_days WHERE day >= ? AND day <= ?', fromDay, toDay)
      .toArray().map((r) => [r.day, r.readers]));
  }

  scoreBuckets(): Map<number, number> {
    return new Map(this.sql.exec<{ bucket: number; readers: number }>('SELECT bucket, readers FROM score_buckets').toArray().map((r) => [r.bucket, r.readers]));
  }

  dailyTags(fromDay: number, beforeDay: number): Array<{ day: number; name: string; value: number }> {
    return this.sql.exec<{ day: number; name: string; value: number }>(
      "SELECT day, name, value FROM daily WHERE day >= ? AND day < ? AND name LIKE 'tag:%'", fromDay, beforeDay).toArray();
  }

  /** Today's tag counts into the history (from tag_counts: a few rows, no scan of readers). */
  writeSnapshot(day: number): void {
    this.sql.exec("DELETE FROM daily WHERE day = ? AND name LIKE 'tag:%'", day);
    this.sql.exec("INSERT INTO daily (day, name, value) SELECT ?, 'tag:' || tag, readers FROM tag_counts WHERE readers > 0", day);
    this.sql.exec("INSERT OR REPLACE INTO daily (day, name, value) VALUES (?, 'readers', ?)", day, this.readerCount());
    this.sql.exec('DELETE FROM daily WHERE day < ?', day - 400);
    // active_days is never pruned: one row a day is small, and a reader's old days still leave it on removal.
  }

  // ---- segments ------------------------------------------------------------------------------

  segments(which: 'live' | 'all' = 'live'): SegmentRow[] {
    return this.sql.exec<Row>(`SELECT * FROM segments ${which === 'live' ? 'WHERE deleted = 0' : ''} ORDER BY id`).toArray().map(toSegment);
  }

  segmentRow(id: string | number): SegmentRow | null {
    const n = typeof id === 'number' ? id : /^\d{1,15}$/.test(id) ? Number(id) : null;
    if (n === null) return null;
    const row = this.sql.exec<Row>('SELECT * FROM segments WHERE id = ? AND deleted = 0', n).toArray()[0];
    return row ? toSegment(row) : null;
  }

  insertSegment(name: string, description: string, rule: SegmentRule | null, now: number): number {
    return this.sql.exec<{ id: number }>(
      'INSERT INTO segments (name, description, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
      name, description, rule ? JSON.stringify(rule) : null, now, now,
    ).one().id;
  }

  updateSegment(id: number, name: string, description: string, rule: SegmentRule | null, now: number): void {
    this.sql.exec('UPDATE segments SET name = ?, description = ?, rule = ?, updated_at = ? WHERE id = ?',
      name, description, rule ? JSON.stringify(rule) : null, now, id);
  }

  markSegmentDeleted(id: number, now: number): void {
    this.sql.exec('UPDATE segments SET deleted = 1, updated_at = ? WHERE id = ?', now, id);
  }

  /** Re-evaluate the segment over every reader from the start (a rule change, a large manual change). */
  startEvaluation(id: number): void {
    this.sql.exec("UPDATE segments SET eval_cursor = '', eval_done = 0, eval_total = ? WHERE id = ?", this.readerCount(), id);
  }

  advanceEvaluation(id: number, cursor: string | null, done: number): void {
    this.sql.exec('UPDATE segments SET eval_cursor = ?, eval_done = eval_done + ?, eval_total = MAX(eval_total, eval_done + ?) WHERE id = ?',
      cursor, done, done, id);
  }

  setCioId(id: number, cioId: number): void {
    this.sql.exec('UPDATE segments SET cio_id = ? WHERE id = ?', cioId, id);
  }

  /** A deleted segment gone from Customer.io: its rows are purged without asking Customer.io again. */
  clearCioId(id: number): void {
    this.sql.exec('UPDATE segments SET cio_id = NULL WHERE id = ?', id);
  }

  mirrorFailed(id: number, message: string, retryAt: number): void {
    this.sql.exec('UPDATE segments SET sync_error = ?, attempts = attempts + 1, retry_at = ? WHERE id = ?', message, retryAt, id);
  }

  mirrorSucceeded(id: number, now: number): void {
    this.sql.exec('UPDATE segments SET sync_error = NULL, attempts = 0, retry_at = NULL, synced_at = ? WHERE id = ?', now, id);
  }

  manualCounts(id: number): { adds: number; removes: number } {
    const rows = this.sql.exec<{ mode: string; n: number }>('SELECT mode, COUNT(*) AS n FROM manual WHERE segment_id = ? GROUP BY mode', id).toArray();
    return { adds: rows.find((r) => r.mode === 'add')?.n ?? 0, removes: rows.find((r) => r.mode === 'remove')?.n ?? 0 };
  }

  /** Drops up to `limit` rows of a deleted segment from each of its tables; true once none are left. */
  purgeSegment(id: number, limit: number): boolean {
    let left = false;
    for (const [table, key] of [['members', 'reader_key'], ['mirror_queue', 'reader_key'], ['mirrored', 'key'], ['manual', 'key']] as const) {
      const cursor = this.sql.exec(`DELETE FROM ${table} WHERE segment_id = ?1 AND ${key} IN (SELECT ${key} FROM ${table} WHERE segment_id = ?1 LIMIT ?2)`, id, limit);
      if (cursor.rowsWritten >= limit) left = true;
    }
    if (!left) this.sql.exec('DELETE FROM segments WHERE id = ?', id);
    return !left;
  }

  // ---- manual additions and removals ---------------------------------------------------------

  /** Overrides for these keys, per segment. */
  manualFor(keys: readonly string[], segmentId?: number): Map<number, Map<string, 'add' | 'remove'>> {
    const out = new Map<number, Map<string, 'add' | 'remove'>>();
    for (const part of chunks(keys)) {
      const rows = segmentId === undefined
        ? this.sql.exec<Row>(`SELECT segment_id, key, mode FROM manual WHERE key IN (${marks(part.length)})`, ...part)
        : this.sql.exec<Row>(`SELECT segment_id, key, mode FROM manual WHERE segment_id = ? AND key IN (${marks(part.length)})`, segmentId, ...part);
      for (const row of rows) {
        const id = row.segment_id as number;
        if (!out.has(id)) out.set(id, new Map());
        out.get(id)!.set(row.key as string, row.mode as 'add' | 'remove');
      }
    }
    return out;
  }

  manualInRange(segmentId: number, after: string, upTo: string): Map<string, 'add' | 'remove'> {
    return new Map(this.sql.exec<{ key: string; mode: string }>('SELECT key, mode FROM manual WHERE segment_id = ? AND key > ? AND key <= ?', segmentId, after, upTo)
      .toArray().map((r) => [r.key, r.mode as 'add' | 'remove']));
  }

  setManual(segmentId: number, keys: readonly string[], mode: 'add' | 'remove'): void {
    for (const key of keys) this.sql.exec('INSERT OR REPLACE INTO manual (segment_id, key, mode) VALUES (?, ?, ?)', segmentId, key, mode);
  }

  /** Readers carrying every tag: counted, and the first `limit` keys (from the tag index). */
  keysWithTags(tags: readonly string[], limit: number): { count: number; keys: string[] } {
    const [first, ...rest] = tags;
    const where = `t.tag = ?${rest.map(() => ' AND EXISTS (SELECT 1 FROM reader_tags o WHERE o.reader_key = t.reader_key AND o.tag = ?)').join('')}`;
    const count = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM reader_tags t WHERE ${where}`, first!, ...rest).one().n;
    const keys = this.sql.exec<{ k: string }>(`SELECT t.reader_key AS k FROM reader_tags t WHERE ${where} ORDER BY t.reader_key LIMIT ?`, first!, ...rest, limit)
      .toArray().map((r) => r.k);
    return { count, keys };
  }

  /** The same set, written as overrides in one statement (no keys through JavaScript). */
  setManualByTags(segmentId: number, tags: readonly string[], mode: 'add' | 'remove'): void {
    const [first, ...rest] = tags;
    this.sql.exec(`INSERT OR REPLACE INTO manual (segment_id, key, mode) SELECT ?, t.reader_key, ? FROM reader_tags t WHERE t.tag = ?${
      rest.map(() => ' AND EXISTS (SELECT 1 FROM reader_tags o WHERE o.reader_key = t.reader_key AND o.tag = ?)').join('')}`, segmentId, mode, first!, ...rest);
  }

  // ---- memberships ---------------------------------------------------------------------------

  /** The members among these keys, with their stored score. */
  membersOf(segmentId: number, keys: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const part of chunks(keys)) {
      for (const row of this.sql.exec<{ reader_key: string; score: number }>(
        `SELECT reader_key, score FROM members WHERE segment_id = ? AND reader_key IN (${marks(part.length)})`, segmentId, ...part)) out.set(row.reader_key, row.score);
    }
    return out;
  }

  membersInRange(segmentId: number, after: string, upTo: string): Map<string, number> {
    return new Map(this.sql.exec<{ reader_key: string; score: number }>(
      'SELECT reader_key, score FROM members WHERE segment_id = ? AND reader_key > ? AND reader_key <= ?', segmentId, after, upTo).toArray()
      .map((r) => [r.reader_key, r.score]));
  }

  applyMembership(segmentId: number, c: SegmentChanges): void {
    for (const r of c.joined) this.sql.exec('INSERT OR REPLACE INTO members (segment_id, reader_key, score) VALUES (?, ?, ?)', segmentId, r.key, r.score);
    for (const key of c.left) this.sql.exec('DELETE FROM members WHERE segment_id = ? AND reader_key = ?', segmentId, key);
    for (const r of c.rescored) this.sql.exec('UPDATE members SET score = ? WHERE segment_id = ? AND reader_key = ?', r.score, segmentId, r.key);
    if (c.delta) this.sql.exec('UPDATE segments SET members_count = members_count + ? WHERE id = ?', c.delta, segmentId);
  }

  topMembers(segmentId: number, limit: number): ReaderSummary[] {
    return this.sql.exec<Row>(`SELECT ${READER} FROM members m JOIN readers r ON r.key = m.reader_key WHERE m.segment_id = ?
      ORDER BY m.score DESC LIMIT ?`, segmentId, limit).toArray().map(toSummary);
  }

  memberPage(segmentId: number, afterKey: string, limit: number): ReaderSummary[] {
    return this.sql.exec<Row>(`SELECT ${READER} FROM members m JOIN readers r ON r.key = m.reader_key WHERE m.segment_id = ? AND m.reader_key > ?
      ORDER BY m.reader_key LIMIT ?`, segmentId, afterKey, limit).toArray().map(toSummary);
  }

  // ---- the send queue's distinct audience (added for sends; read-only) ---------------------------

  /**
   * Members of `segmentId` who are in none of `earlier` (the segments of the variations before it):
   * a send's "first variation wins" count, in SQL over the members primary key.
   */
  distinctMembers(segmentId: number, earlier: readonly number[]): number {
    if (!earlier.length) return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM members WHERE segment_id = ?', segmentId).one().n;
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM members m WHERE m.segment_id = ? AND NOT EXISTS
      (SELECT 1 FROM members p WHERE p.segment_id IN (${marks(earlier.length)}) AND p.reader_key = m.reader_key)`, segmentId, ...earlier).one().n;
  }

  // ---- preview -------------------------------------------------------------------------------

  countMatching(c: CompiledRule): number {
    return c.tag === null
      ? this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM readers r WHERE ${c.where}`, ...c.params).one().n
      : this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM reader_tags d JOIN readers r ON r.key = d.reader_key WHERE d.tag = ? AND ${c.where}`,
        c.tag, ...c.params).one().n;
  }

  topMatching(c: CompiledRule, limit: number): ReaderSummary[] {
    return this.sql.exec<Row>(`SELECT ${READER} FROM readers r WHERE ${c.where} ORDER BY r.score DESC LIMIT ?`, ...c.params, limit).toArray().map(toSummary);
  }

  /** Whether a lookup's index is complete (reader_tags and reader_facts are filled by alarm after an upgrade). */
  lookupReady(source: Lookup['source']): boolean {
    if (source === 'tags') return this.meta.get('backfill_cursor') === null;
    if (source === 'facts') return this.meta.get('facts_cursor') === null;
    return true;
  }

  /** How many rows the lookup yields, counting no further than `cap` (an index range, read no further). */
  lookupRows(l: Lookup, cap: number): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM (${l.sql} LIMIT ?)`, ...l.params, cap).one().n;
  }

  /**
   * The rule counted over the readers the keys select (`keys`: a SELECT of distinct `k`), and the
   * best-scored matches, in one pass over the candidates' rows (each is a random page read in a large
   * directory, so they are read once): the window count rides along with the top rows' keys, whose
   * rows are then read by key. CROSS JOIN keeps SQLite driving from the keys, never from a readers scan.
   */
  countAmong(keys: { sql: string; params: SqlParam[] }, c: CompiledRule, limit: number): { count: number; top: ReaderSummary[] } {
    const rows = this.sql.exec<{ key: string; n: number }>(`SELECT r.key AS key, COUNT(*) OVER () AS n FROM (${keys.sql}) d CROSS JOIN readers r ON r.key = d.k
      WHERE ${c.where} ORDER BY r.score DESC LIMIT ?`, ...keys.params, ...c.params, limit).toArray();
    const byKey = new Map(this.readersByKeys(rows.map((r) => r.key)).map((r) => [r.key, r]));
    return { count: rows[0]?.n ?? 0, top: rows.map((r) => byKey.get(r.key)!) };
  }

  /** The largest rowid: random rowid blocks up to it are draws over readers (rowids stay dense, see writeReader). */
  maxRowid(): number {
    return this.sql.exec<{ m: number | null }>('SELECT MAX(rowid) AS m FROM readers').one().m ?? 0;
  }

  /**
   * The rule over the readers in these rowid blocks (block b: rowids b·width+1 … b·width+width, a
   * range of the table's own b-tree): readers found and matching per block, and the best-scored matches.
   */
  countInBlocks(blocks: readonly number[], width: number, c: CompiledRule, limit: number): { blocks: Array<{ n: number; m: number }>; top: ReaderSummary[] } {
    // One pass over the sample's rows (each block a few random pages of a large file): per row its
    // block, whether it matches, and for matches the key and score; the top rows are then read by key.
    const perBlock = new Map<number, { n: number; m: number }>();
    const matched: Array<{ key: string; score: number }> = [];
    for (const row of this.sql.exec<{ b: number; m: number; key: string; score: number }>(`SELECT s.value AS b, (${c.where}) AS m, r.key AS key, r.score AS score
      FROM json_each(?) s CROSS JOIN readers r ON r.rowid BETWEEN s.value * ${width} + 1 AND s.value * ${width} + ${width}`, ...c.params, JSON.stringify(blocks))) {
      const b = perBlock.get(row.b) ?? { n: 0, m: 0 };
      perBlock.set(row.b, b);
      b.n++;
      if (row.m) { b.m++; matched.push({ key: row.key, score: row.score }); }
    }
    const topKeys = matched.sort((x, y) => y.score - x.score).slice(0, limit).map((r) => r.key);
    const byKey = new Map(this.readersByKeys(topKeys).map((r) => [r.key, r]));
    return { blocks: [...perBlock.values()], top: topKeys.map((k) => byKey.get(k)!) };
  }

  /** The readers in these rowid blocks, each with its block, for a rule JavaScript evaluates. */
  readersInBlocks(blocks: readonly number[], width: number): Array<{ block: number; reader: ReaderSummary }> {
    return this.sql.exec<Row>(`SELECT s.value AS block, ${READER} FROM json_each(?) s CROSS JOIN readers r
      ON r.rowid BETWEEN s.value * ${width} + 1 AND s.value * ${width} + ${width}`, JSON.stringify(blocks)).toArray()
      .map((row) => ({ block: row.block as number, reader: toSummary(row) }));
  }

  // ---- the mirror ----------------------------------------------------------------------------

  mirroredFor(segmentId: number, keys: readonly string[]): Map<string, Ident> {
    const out = new Map<string, Ident>();
    for (const part of chunks(keys)) {
      for (const row of this.sql.exec<{ key: string; id_type: string; value: string }>(
        `SELECT key, id_type, value FROM mirrored WHERE segment_id = ? AND key IN (${marks(part.length)})`, segmentId, ...part)) {
        out.set(row.key, { idType: row.id_type as Ident['idType'], value: row.value });
      }
    }
    return out;
  }

  mirroredInRange(segmentId: number, after: string, upTo: string): Map<string, Ident> {
    return new Map(this.sql.exec<{ key: string; id_type: string; value: string }>(
      'SELECT key, id_type, value FROM mirrored WHERE segment_id = ? AND key > ? AND key <= ?', segmentId, after, upTo).toArray()
      .map((r) => [r.key, { idType: r.id_type as Ident['idType'], value: r.value }]));
  }

  /** Sets each pair's queue entry from what Customer.io holds and what it should hold (`want`). */
  requeue(segmentId: number, want: ReadonlyMap<string, Ident | null>): void {
    if (!want.size) return;
    const held = this.mirroredFor(segmentId, [...want.keys()]);
    for (const [key, ident] of want) {
      const entry = queueEntry(held.get(key) ?? null, ident);
      if (entry) {
        this.sql.exec('INSERT OR REPLACE INTO mirror_queue (segment_id, reader_key, action, id_type, value) VALUES (?, ?, ?, ?, ?)',
          segmentId, key, entry.action, entry.idType, entry.value);
      } else {
        this.sql.exec('DELETE FROM mirror_queue WHERE segment_id = ? AND reader_key = ?', segmentId, key);
      }
    }
  }

  queued(segmentId: number, action: QueueEntry['action'], idType: QueueEntry['idType'], limit: number): Array<{ key: string; value: string }> {
    return this.sql.exec<{ key: string; value: string }>(
      'SELECT reader_key AS key, value FROM mirror_queue WHERE segment_id = ? AND action = ? AND id_type = ? ORDER BY reader_key LIMIT ?',
      segmentId, action, idType, limit).toArray();
  }

  /** Customer.io took `entry` for `key`: what it holds changes; returns whether the pair was held before. */
  recordMirrored(segmentId: number, key: string, held: Ident | null, after: Ident | null): void {
    if (after) {
      this.sql.exec('INSERT OR REPLACE INTO mirrored (segment_id, key, id_type, value) VALUES (?, ?, ?, ?)', segmentId, key, after.idType, after.value);
    } else {
      this.sql.exec('DELETE FROM mirrored WHERE segment_id = ? AND key = ?', segmentId, key);
    }
    const by = (after ? 1 : 0) - (held ? 1 : 0);
    if (by) this.sql.exec('UPDATE segments SET mirrored_count = mirrored_count + ? WHERE id = ?', by, segmentId);
  }

  anyQueued(segmentId?: number): boolean {
    return (segmentId === undefined
      ? this.sql.exec('SELECT 1 FROM mirror_queue LIMIT 1')
      : this.sql.exec('SELECT 1 FROM mirror_queue WHERE segment_id = ? LIMIT 1', segmentId)).toArray().length > 0;
  }

  /** Entries still to send, per segment (the queue's primary key is (segment_id, reader_key)). */
  pendingBySegment(): Map<number, number> {
    return new Map(this.sql.exec<{ segment_id: number; n: number }>('SELECT segment_id, COUNT(*) AS n FROM mirror_queue GROUP BY segment_id').toArray()
      .map((r) => [r.segment_id, r.n]));
  }

  pendingFor(segmentId: number): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM mirror_queue WHERE segment_id = ?', segmentId).one().n;
  }

  // ---- welcomes ------------------------------------------------------------------------------

  welcomed(key: string): boolean {
    return this.sql.exec('SELECT 1 FROM welcomed WHERE key = ?', key).toArray().length > 0;
  }

  markWelcomed(key: string, at: number): void {
    this.sql.exec('INSERT OR IGNORE INTO welcomed (key, at) VALUES (?, ?)', key, at);
  }

  cioIdsOfOurs(): Set<number> {
    return new Set(this.sql.exec<{ cio_id: number }>('SELECT cio_id FROM segments WHERE cio_id IS NOT NULL').toArray().map((r) => r.cio_id));
  }
}

function toSegment(row: Row): SegmentRow {
  return {
    id: row.id as number, name: row.name as string, description: row.description as string,
    rule: row.rule ? (JSON.parse(row.rule as string) as SegmentRule) : null,
    cioId: (row.cio_id as number | null) ?? null, deleted: row.deleted === 1,
    syncError: (row.sync_error as string | null) ?? null, syncedAt: (row.synced_at as number | null) ?? null,
    attempts: row.attempts as number, createdAt: row.created_at as number,
    membersCount: row.members_count as number, mirroredCount: row.mirrored_count as number,
    evalCursor: (row.eval_cursor as string | null) ?? null, evalDone: row.eval_done as number, evalTotal: row.eval_total as number,
    retryAt: (row.retry_at as number | null) ?? null,
  };
}

export function toSummary(row: Row): ReaderSummary {
  return {
    key: row.key as string,
    email: (row.email as string | null) ?? null,
    userId: (row.user_id as string | null) ?? null,
    tags: JSON.parse(row.tags as string) as string[],
    score: row.score as number,
    counters: JSON.parse(row.counters as string) as Record<string, number>,
    traits: JSON.parse(row.traits as string) as ReaderSummary['traits'],
    facts: JSON.parse(row.facts as string) as ReaderSummary['facts'],
    activeDays: JSON.parse(row.active_days as string) as number[],
    lastSeen: (row.last_seen as number | null) ?? null,
    signedUpAt: (row.signed_up_at as number | null) ?? null,
    ...(row.pending_since ? { pendingSince: row.pending_since as number } : {}),
    updatedAt: row.updated_at as number,
  };
}
