/**
 * The event ids a reader has counted (30 days, for dedupe: the widget retries a batch it is not
 * sure was stored, a backend re-sends a call), kept so that counting new ones costs no statement.
 *
 * A table row per id would be an insert into an index per event, the dearest part of a returning
 * reader's page reads (measured in workerd: about half of what the reader object spent on a batch).
 * So the latest ids ride in the reader's row, which each batch writes anyway (`recent`), and go on
 * as one row of `seen_chunks` once `SPILL_AT` of them wait there. A Bloom filter over the chunks
 * (seen-filter.ts, a row of its own, read with the reader's and written with each chunk) answers
 * "not seen" for nearly every new id; a "maybe" (a retry, or about one id in a hundred) reads the
 * chunks to be sure.
 *
 * The row and the chunks are written in the object's one transaction with the change they count:
 * marks taken here are stored by the reader row's next save, which the object makes after every
 * mark that counted an event (reader-store.ts, `save`).
 */
import { SeenFilter } from './seen-filter.ts';

/** Ids kept in the row before they go to a chunk together (about 1 KB of the row at most). */
export const SPILL_AT = 32;

/** The row's column as stored: the ids and the latest of their events' times. */
interface Recent { at: number; ids: string[] }

/** The chunks' ids among `ids` (a JSON array), in one statement. */
const CHUNKED_AMONG = 'SELECT j.value AS id FROM seen_chunks, json_each(seen_chunks.ids) AS j WHERE j.value IN (SELECT value FROM json_each(?))';

/**
 * The filter over every id the chunks hold, written (none when they hold none). The migration
 * step builds it for storage from before it, and each forgetting rebuilds it.
 */
export function writeSeenFilter(sql: SqlStorage): SeenFilter {
  const ids = sql.exec<{ id: string }>('SELECT j.value AS id FROM seen_chunks, json_each(seen_chunks.ids) AS j').toArray().map((r) => r.id);
  const filter = SeenFilter.of(ids);
  if (ids.length) sql.exec('INSERT OR REPLACE INTO seen_filter (id, bits) VALUES (1, ?)', filter.encode());
  else sql.exec('DELETE FROM seen_filter');
  return filter;
}

/**
 * The migration step to chunks: their table and the filter's. Storage from before kept a row per
 * id in `seen_events`, one time per batch: each batch becomes a chunk and the filter is built over
 * them. `seen_events` stays, empty and no longer written (a new object's first step makes it).
 */
export function chunkSeenIds(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS seen_chunks (at INTEGER NOT NULL, ids TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS seen_filter (id INTEGER PRIMARY KEY CHECK (id = 1), bits TEXT NOT NULL);`);
  if (sql.exec('SELECT 1 FROM seen_events LIMIT 1').toArray().length === 0) return;
  sql.exec('INSERT INTO seen_chunks (at, ids) SELECT at, json_group_array(id) FROM seen_events GROUP BY at');
  sql.exec('DELETE FROM seen_events');
  writeSeenFilter(sql);
}

export class SeenIds {
  private recent: Set<string>;
  private recentAt: number;
  /** The recent ids changed since the row last stored them. */
  private unsaved = false;
  private filter: SeenFilter | null;

  /**
   * `recent`, `filter`: the row's column and the filter's row as the object's first read found
   * them; `filter` undefined: not read (no reader row), read when first needed.
   */
  constructor(private readonly sql: SqlStorage, recent: string | null, filter: string | null | undefined) {
    const stored = recent ? JSON.parse(recent) as Recent : { at: 0, ids: [] };
    this.recent = new Set(stored.ids);
    this.recentAt = stored.at;
    this.filter = filter === undefined ? null : filter === null ? SeenFilter.sizedFor(0) : SeenFilter.decode(filter);
  }

  /** Whether the id was counted (an event that goes on to another reader is only checked here). */
  has(id: string): boolean {
    if (this.recent.has(id)) return true;
    return this.stored().mayHave(id) && this.sql.exec(CHUNKED_AMONG, JSON.stringify([id])).toArray().length > 0;
  }

  /**
   * Marks the events' ids seen; returns the ones that were new (an id twice in them is new once).
   * They are kept under one time, the events' latest, so each is kept at least as long as its own
   * event's time would keep it.
   */
  mark(events: ReadonlyArray<{ id: string; ts: number }>): Set<string> {
    const fresh = new Set<string>();
    const maybe: string[] = [];
    const filter = this.stored();
    let at = 0;
    for (const { id, ts } of events) {
      at = Math.max(at, ts);
      if (this.recent.has(id) || fresh.has(id)) continue;
      if (filter.mayHave(id)) maybe.push(id);
      else fresh.add(id);
    }
    if (maybe.length) {
      // A retry, or (about one id in a hundred) the filter's false positive: the chunks say which.
      const stored = new Set(this.sql.exec<{ id: string }>(CHUNKED_AMONG, JSON.stringify(maybe)).toArray().map((r) => r.id));
      for (const id of maybe) if (!stored.has(id)) fresh.add(id);
    }
    if (fresh.size === 0) return fresh;
    for (const id of fresh) this.recent.add(id);
    this.recentAt = Math.max(this.recentAt, at);
    this.unsaved = true;
    if (this.recent.size >= SPILL_AT) this.spill();
    return fresh;
  }

  /**
   * The recent ids as the reader row's column stores them, when they changed since it last did
   * (null: unchanged); the caller writes them with the row.
   */
  takeUnsaved(): string | null {
    if (!this.unsaved) return null;
    this.unsaved = false;
    return this.column();
  }

  /** The column's value whether or not it changed (a row written whole). */
  column(): string {
    this.unsaved = false;
    return JSON.stringify({ at: this.recentAt, ids: [...this.recent] } satisfies Recent);
  }

  /** Forgets the chunks whose events are all before `at` (the route refuses events that old). */
  forgetBefore(at: number): void {
    this.sql.exec('DELETE FROM seen_chunks WHERE at < ?', at);
    if (this.sql.exec<{ n: number }>('SELECT changes() AS n').one().n > 0) this.filter = writeSeenFilter(this.sql);
  }

  /** The storage was deleted. */
  reset(): void {
    this.recent = new Set();
    this.recentAt = 0;
    this.unsaved = false;
    this.filter = SeenFilter.sizedFor(0);
  }

  /** The recent ids into a chunk, and the filter with them. */
  private spill(): void {
    const ids = [...this.recent];
    this.sql.exec('INSERT INTO seen_chunks (at, ids) VALUES (?, ?)', this.recentAt, JSON.stringify(ids));
    const filter = this.stored();
    for (const id of ids) filter.add(id);
    // Past what it was sized for, its false positives (each a read) would grow: built again larger.
    if (filter.full) this.filter = writeSeenFilter(this.sql);
    else this.sql.exec('INSERT OR REPLACE INTO seen_filter (id, bits) VALUES (1, ?)', filter.encode());
    this.recent = new Set();
    this.recentAt = 0;
    this.unsaved = true;
  }

  private stored(): SeenFilter {
    if (this.filter) return this.filter;
    const row = this.sql.exec<{ bits: string }>('SELECT bits FROM seen_filter WHERE id = 1').toArray()[0];
    this.filter = row ? SeenFilter.decode(row.bits) : SeenFilter.sizedFor(0);
    return this.filter;
  }
}
