/**
 * The event ids a reader has counted (30 days, for dedupe: the widget retries a batch it is not
 * sure was stored, a backend re-sends a call), kept so that counting new ones costs no statement.
 *
 * An insert per batch into `seen_events` (a row per id, its primary key the id) was the dearest
 * part of a returning reader's page reads (measured in workerd: about half of what the reader
 * object spent on a batch). So the latest ids ride in the reader's row, which each batch writes
 * anyway (`seen_recent`), and go to `seen_events` together once `SPILL_AT` of them wait there. A
 * Bloom filter over that table (seen-filter.ts), in the row too (`seen_filter`), answers "not seen"
 * for nearly every new id; a "maybe" (a retry, or about one id in a hundred) looks the table up by
 * its key to be sure.
 *
 * The row and the table are written in the object's one transaction with the change they count:
 * what changes here is stored by the reader row's next save, which the object makes after every
 * mark that counted an event (reader-store.ts, `save`). A row without a filter (stored before it)
 * has it built from the table when first needed, and stored with that save.
 */
import { SeenFilter } from './seen-filter.ts';

/** Ids kept in the row before they go to the table together (about 2 KB of the row at most). */
export const SPILL_AT = 64;

/** The `seen_recent` column: the ids and the latest of their events' times. */
interface Recent { at: number; ids: string[] }

/** The reader row's columns this keeps, as stored. */
export interface SeenColumns { seen_recent: string | null; seen_filter: string | null }

export class SeenIds {
  /** The columns as loaded, until a call needs them parsed (most calls that check no id never do). */
  private loaded: { recent: string | null; filter: string | null } | null;
  private recent = new Set<string>();
  private recentAt = 0;
  /** Null: not known yet (the row had none); built from the table when first needed. */
  private filter: SeenFilter | null = null;
  /** Which columns changed since the row last stored them. */
  private recentUnsaved = false;
  private filterUnsaved = false;

  /** `recent`, `filter`: the reader row's columns as loaded (null: none, or no row). */
  constructor(private readonly sql: SqlStorage, recent: string | null, filter: string | null) {
    this.loaded = { recent, filter };
  }

  /** Whether the id was counted (an event that goes on to another reader is only checked here). */
  has(id: string): boolean {
    this.parse();
    if (this.recent.has(id)) return true;
    return this.tableFilter().mayHave(id) && this.storedAmong([id]).size > 0;
  }

  /**
   * Marks the events' ids seen; returns the ones that were new (an id twice in them is new once).
   * They are kept under one time, the events' latest, so each is kept at least as long as its own
   * event's time would keep it.
   */
  mark(events: ReadonlyArray<{ id: string; ts: number }>): Set<string> {
    this.parse();
    const fresh = new Set<string>();
    const maybe: string[] = [];
    const filter = this.tableFilter();
    let at = 0;
    for (const { id, ts } of events) {
      at = Math.max(at, ts);
      if (this.recent.has(id) || fresh.has(id)) continue;
      if (filter.mayHave(id)) maybe.push(id);
      else fresh.add(id);
    }
    if (maybe.length) {
      // A retry, or (about one id in a hundred) the filter's false positive: the table says which.
      const stored = this.storedAmong(maybe);
      for (const id of maybe) if (!stored.has(id)) fresh.add(id);
    }
    if (fresh.size === 0) return fresh;
    for (const id of fresh) this.recent.add(id);
    this.recentAt = Math.max(this.recentAt, at);
    this.recentUnsaved = true;
    if (this.recent.size >= SPILL_AT) this.spill();
    return fresh;
  }

  /** `mark` for one id: false when it was seen before. */
  markOne(id: string, at: number): boolean {
    return this.mark([{ id, ts: at }]).size > 0;
  }

  /** The columns that changed since the row last stored them (`all`: both, for a row written whole). */
  takeUnsaved(all = false): Partial<SeenColumns> {
    if (this.loaded) return all ? { seen_recent: this.loaded.recent, seen_filter: this.loaded.filter } : {};
    const changed: Partial<SeenColumns> = {};
    if (all || this.recentUnsaved) changed.seen_recent = JSON.stringify({ at: this.recentAt, ids: [...this.recent] } satisfies Recent);
    // A filter not built yet is built when first needed, not to be stored.
    if (all || this.filterUnsaved) changed.seen_filter = this.filter?.encode() ?? null;
    this.recentUnsaved = this.filterUnsaved = false;
    return changed;
  }

  /** Forgets the table's ids of events before `at` (the route refuses events that old). */
  forgetBefore(at: number): void {
    this.parse();
    // `rowsWritten` counts index entries too, so it tells only whether any row went: all this needs.
    if (this.sql.exec('DELETE FROM seen_events WHERE at < ?', at).rowsWritten > 0) this.filter = this.built();
  }

  /** The storage was deleted. */
  reset(): void {
    this.loaded = null;
    this.recent = new Set();
    this.recentAt = 0;
    this.filter = SeenFilter.sizedFor(0);
    this.recentUnsaved = this.filterUnsaved = false;
  }

  /** The recent ids into the table, in one statement under their latest time, and into the filter. */
  private spill(): void {
    const ids = [...this.recent];
    this.sql.exec('INSERT OR IGNORE INTO seen_events (id, at) SELECT value, ?2 FROM json_each(?1)', JSON.stringify(ids), this.recentAt);
    const filter = this.tableFilter();
    for (const id of ids) filter.add(id);
    // Past what it was sized for, its false positives (each a read) would grow: built again larger.
    if (filter.full) this.filter = this.built();
    this.filterUnsaved = true;
    this.recent = new Set();
    this.recentAt = 0;
  }

  private parse(): void {
    if (!this.loaded) return;
    const { recent, filter } = this.loaded;
    const stored = recent ? JSON.parse(recent) as Recent : { at: 0, ids: [] };
    this.recent = new Set(stored.ids);
    this.recentAt = stored.at;
    this.filter = filter === null ? null : SeenFilter.decode(filter);
    this.loaded = null;
  }

  /** The table's ids among `ids`, looked up by its key in one statement (the ids as one JSON array). */
  private storedAmong(ids: readonly string[]): Set<string> {
    return new Set(this.sql.exec<{ id: string }>('SELECT id FROM seen_events WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(ids)).toArray().map((r) => r.id));
  }

  private tableFilter(): SeenFilter {
    return this.filter ??= this.built();
  }

  /** A filter over every id the table holds, to be stored with the row. */
  private built(): SeenFilter {
    const ids = this.sql.exec<{ id: string }>('SELECT id FROM seen_events').toArray().map((r) => r.id);
    this.filterUnsaved = true;
    return SeenFilter.of(ids);
  }
}
