/**
 * The reader object's SQL store: one migration list and a named query for each thing the object
 * does. The reader itself is one row (its state and bookkeeping as JSON, and the latest event ids
 * it counted with a filter over the rest: seen-ids.ts) and the workspace context it was last called
 * with (a row of its own); beside them the older event ids (30 days, for dedupe), the readers it
 * absorbed (merge once), its queued Customer.io operations, the browsers each click grant has
 * linked (bounded per email), and a large email ledger's deliveries and campaigns, a row each.
 */
import type { QueuedOp } from '#edge/sync/snapshot.ts';
import { type CampaignTally, type DeliveryTally, type EmailLedger, MAX_CAMPAIGNS, MAX_DELIVERIES } from '#shared/email/ledger.ts';
import { type Migration, addColumn, migrateReading } from '#edge/platform/sql-store.ts';
import { SeenIds } from './seen-ids.ts';

const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE IF NOT EXISTS reader (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, meta TEXT NOT NULL, version INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS merged_from (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL);`,
  'CREATE TABLE IF NOT EXISTS grant_browsers (grant_id TEXT NOT NULL, browser TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (grant_id, browser))',
  // The context (with the workspace's tag rules, about 2 KB) apart from the meta: it changes only
  // when the workspace does, so a commit neither writes nor even serialises it. A row made before
  // holds it inside its meta (the object moves it here on its next write).
  addColumn('reader', 'context', 'TEXT'),
  // Dedupe without an insert per batch (seen-ids.ts): the latest ids, and a filter over the rest
  // (seen_events), ride in the row.
  addColumn('reader', 'seen_recent', 'TEXT'),
  addColumn('reader', 'seen_filter', 'TEXT'),
  // The context out of the row, which every commit writes again whole (SQLite rewrites a row, not a
  // column): about 2 KB of a 3 KB row that only a change of the workspace changes.
  `CREATE TABLE IF NOT EXISTS reader_context (id INTEGER PRIMARY KEY CHECK (id = 1), context TEXT NOT NULL);
   INSERT OR REPLACE INTO reader_context (id, context) SELECT 1, context FROM reader WHERE context IS NOT NULL;
   UPDATE reader SET context = NULL WHERE context IS NOT NULL;`,
];

/**
 * A large email ledger's lists, a row per delivery and per campaign (the object says when a ledger
 * is large). Made when a reader's ledger first outgrows its state, not by a migration step: most
 * readers' never does, and a new object's first commit is its dearest. So a later change to these
 * tables is a migration step that looks first whether they are there, as `addColumn` does.
 */
const LEDGER_TABLES = `CREATE TABLE IF NOT EXISTS ledger_deliveries (slot INTEGER PRIMARY KEY, delivery TEXT, campaign TEXT, at INTEGER NOT NULL, seen TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS ledger_deliveries_delivery ON ledger_deliveries (delivery);
  CREATE INDEX IF NOT EXISTS ledger_deliveries_campaign ON ledger_deliveries (campaign);
  CREATE TABLE IF NOT EXISTS ledger_campaigns (name TEXT PRIMARY KEY, last INTEGER NOT NULL, tally TEXT NOT NULL) WITHOUT ROWID;`;

/** The reader row's columns as stored (state, meta and context as JSON), the context from its own row. */
type StoredRow = { state: string; meta: string; context: string | null; version: number; seen_recent: string | null; seen_filter: string | null };
/** The row, and the context's row with it: a cold start reads both in its one statement. */
const ROW_COLUMNS = 'state, meta, (SELECT context FROM reader_context WHERE id = 1) AS context, version, seen_recent, seen_filter';

type DeliveryRow = { slot: number; delivery: string | null; campaign: string | null; at: number; seen: string };
const DELIVERY_COLUMNS = 'slot, delivery, campaign, at, seen';
/** A row of `ledgerFor`'s one statement: a delivery entry (slot set) or a campaign's tally (slot null, its name as campaign). */
type LedgerRow = { slot: number | null; delivery: string | null; campaign: string | null; at: number; data: string };

/** The ledger rows a hit read (`ReaderStore.ledgerFor`), as handed out, with the slot of each delivery. */
interface LedgerRead { deliveries: DeliveryTally[]; slots: number[]; campaigns: Record<string, CampaignTally> }
const nothingRead = (): LedgerRead => ({ deliveries: [], slots: [], campaigns: {} });

/** A ledger whose lists are rows, as the state keeps it: its flags. */
const ledgerFlags = (ledger: EmailLedger): EmailLedger => ({ ...ledger, deliveries: [], campaigns: {} });

/** The reader row as loaded: `context` is null in a row stored before it had its own column. */
export interface ReaderRow<S, M, C> { state: S; meta: M; context: C | null; version: number }

export class ReaderStore {
  /** The meta as the row holds it (loaded or last written): an unchanged meta is not written again. */
  private storedMeta: string | null = null;
  /**
   * The context the row holds, as the object's own value: the object keeps the same context object
   * while the workspace's settings stay the same (ReaderObject.remember), so one comparison of
   * references tells whether it must be written.
   */
  private storedContext: unknown = null;
  /**
   * How many operations the outbox holds (null: not counted since the object started). Most sync
   * snapshots and acks find it empty (an open, a read): known here, they touch no storage at all,
   * and the first statement of an invocation is its dearest.
   */
  private outboxCount: number | null = null;
  /**
   * The ledger rows the last `ledgerFor` read, as it handed them out: `credit` replaces an entry it
   * changes with a copy and appends a new one, so what is not the same object is what to write.
   */
  private ledgerRead = nothingRead();
  /** How many delivery and campaign rows there are (null: not counted since the object started). */
  private ledgerCounts: { deliveries: number; campaigns: number } | null = null;

  /** The reader row as the constructor read it, with the migrations' count (`load` takes it once). */
  private opened: StoredRow | null | undefined;

  /** The event ids counted (dedupe): what it marks is stored by the next `save`. */
  readonly seen: SeenIds;

  constructor(private readonly sql: SqlStorage) {
    this.opened = migrateReading<StoredRow>(sql, MIGRATIONS, ROW_COLUMNS, 'reader');
    this.seen = new SeenIds(sql, this.opened?.seen_recent ?? null, this.opened?.seen_filter ?? null);
  }

  // ---- the reader row ------------------------------------------------------------------------

  /** `adopt`: the object's own value for the stored context (the store then knows it as the row's). */
  load<S, M, C>(adopt: (context: C) => C = (context) => context): ReaderRow<S, M, C> | null {
    const row = this.opened !== undefined ? this.opened : this.sql.exec<StoredRow>(`SELECT ${ROW_COLUMNS} FROM reader`).toArray()[0];
    this.opened = undefined;
    this.storedMeta = row?.meta ?? null;
    if (!row) return null;
    const context = row.context === null ? null : adopt(JSON.parse(row.context) as C);
    this.storedContext = context;
    return { state: JSON.parse(row.state) as S, meta: JSON.parse(row.meta) as M, context, version: row.version };
  }

  /**
   * The state always; the meta, the context and the dedupe's columns only when they differ from
   * what storage holds (the meta by its JSON, the context by identity): most commits (an open, a
   * read) write the state alone. The context has a row of its own (see MIGRATIONS).
   */
  save(state: unknown, meta: unknown, context: unknown, version: number): void {
    const metaJson = JSON.stringify(meta);
    if (context !== this.storedContext) {
      if (context === null) this.sql.exec('DELETE FROM reader_context');
      else this.sql.exec('INSERT OR REPLACE INTO reader_context (id, context) VALUES (1, ?)', JSON.stringify(context));
      this.storedContext = context;
    }
    if (this.storedMeta === null) {
      const seen = this.seen.takeUnsaved(true);
      this.sql.exec('INSERT OR REPLACE INTO reader (id, state, meta, version, seen_recent, seen_filter) VALUES (1, ?, ?, ?, ?, ?)',
        JSON.stringify(state), metaJson, version, seen.seen_recent ?? null, seen.seen_filter ?? null);
    } else {
      const columns = ['state = ?'];
      const values: Array<string | number | null> = [JSON.stringify(state)];
      if (metaJson !== this.storedMeta) {
        columns.push('meta = ?');
        values.push(metaJson);
      }
      columns.push('version = ?');
      values.push(version);
      for (const [column, value] of Object.entries(this.seen.takeUnsaved())) {
        columns.push(`${column} = ?`);
        values.push(value);
      }
      this.sql.exec(`UPDATE reader SET ${columns.join(', ')} WHERE id = 1`, ...values);
    }
    this.storedMeta = metaJson;
  }

  /**
   * Only the bookkeeping: the state, the bulk of the row, stays as the last save wrote it (no row:
   * none made). Skipped when the row already holds this meta: a sync ack of a reader whose news
   * was only counters (most opens) then writes nothing, which spares a storage transaction.
   */
  saveMeta(meta: unknown): void {
    const metaJson = JSON.stringify(meta);
    if (metaJson === this.storedMeta) return;
    this.sql.exec('UPDATE reader SET meta = ? WHERE id = 1', metaJson);
    this.storedMeta = metaJson;
  }

  /** The object's storage was deleted: nothing is stored any more. */
  forgetRow(): void {
    this.seen.reset();
    this.storedMeta = null;
    this.storedContext = null;
    this.outboxCount = 0;
    this.ledgerCounts = { deliveries: 0, campaigns: 0 };
  }

  // ---- merges ------------------------------------------------------------------------------------

  absorbed(key: string): boolean {
    return this.sql.exec('SELECT 1 FROM merged_from WHERE key = ?', key).toArray().length > 0;
  }

  markAbsorbed(key: string, at: number): void {
    this.sql.exec('INSERT INTO merged_from (key, at) VALUES (?, ?)', key, at);
  }

  // ---- the outbox ----------------------------------------------------------------------------

  queue(op: QueuedOp): void {
    this.sql.exec('INSERT INTO outbox (op) VALUES (?)', JSON.stringify(op));
    if (this.outboxCount !== null) this.outboxCount++;
  }

  queued(limit: number): Array<QueuedOp & { seq: number }> {
    if (this.outboxCount === 0) return [];
    const rows = this.sql.exec<{ seq: number; op: string }>('SELECT seq, op FROM outbox ORDER BY seq LIMIT ?', limit).toArray();
    if (rows.length < limit) this.outboxCount = rows.length;
    return rows.map((row) => ({ seq: row.seq, ...(JSON.parse(row.op) as QueuedOp) }));
  }

  /** Customer.io took everything up to `lastSeq`; with no argument, the whole outbox goes. */
  clearQueued(lastSeq = Number.MAX_SAFE_INTEGER): void {
    if (this.outboxCount === 0) return;
    const cleared = this.sql.exec('DELETE FROM outbox WHERE seq <= ? RETURNING seq', lastSeq).toArray().length;
    // Known before (the snapshot's read counted it), what is left is known now: an ack asks at
    // once, and a count would be one statement more. Unknown, it is counted when asked.
    this.outboxCount = lastSeq === Number.MAX_SAFE_INTEGER ? 0 : this.outboxCount === null ? null : this.outboxCount - cleared;
  }

  queuedCount(): number {
    this.outboxCount ??= this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
    return this.outboxCount;
  }

  // ---- a large email ledger, in rows ------------------------------------------------------------

  /**
   * The ledger with the entries a hit of this delivery and campaign may touch (`credit` finds the
   * one it counts under the same way among them): the delivery's, a campaign entry still without a
   * delivery id, or with no delivery id the campaign's latest; and their campaigns. `flags`: the
   * ledger as the state holds it.
   */
  ledgerFor(flags: EmailLedger, delivery: string | null, campaign: string | null): EmailLedger {
    this.ledgerRead = nothingRead();
    if (!delivery && !campaign) return ledgerFlags(flags);
    // One statement: the entries, then the campaigns of the hit and of the entries found.
    const entries = delivery
      ? `SELECT ${DELIVERY_COLUMNS} FROM ledger_deliveries WHERE delivery = ?1 OR (delivery IS NULL AND campaign = ?2)`
      : `SELECT ${DELIVERY_COLUMNS} FROM ledger_deliveries WHERE campaign = ?2 ORDER BY at DESC, slot LIMIT 1`;
    const found = this.sql.exec<LedgerRow>(
      `WITH hit AS (${entries})
       SELECT slot, delivery, campaign, at, seen AS data FROM hit
       UNION ALL SELECT NULL, NULL, name, last, tally FROM ledger_campaigns WHERE name = ?2 OR name IN (SELECT campaign FROM hit)`,
      delivery, campaign,
    ).toArray();
    const rows = found.filter((r): r is LedgerRow & { slot: number } => r.slot !== null).sort((a, b) => a.slot - b.slot);
    const read: LedgerRead = {
      deliveries: rows.map((r) => deliveryOf(r, r.data)),
      slots: rows.map((r) => r.slot),
      campaigns: campaignsOf(found.filter((r) => r.slot === null).map((r) => ({ name: r.campaign!, tally: r.data }))),
    };
    this.ledgerRead = read;
    return { ...flags, deliveries: [...read.deliveries], campaigns: { ...read.campaigns } };
  }

  /**
   * Writes what a hit changed in the ledger `ledgerFor` handed out, keeps the newest 200 deliveries
   * and 100 campaigns as `credit` does (shared/email/ledger.ts), and returns the ledger as the
   * state keeps it.
   */
  keepLedger(ledger: EmailLedger): EmailLedger {
    const read = this.ledgerRead;
    let added = 0;
    ledger.deliveries.forEach((entry, i) => {
      const was = read.deliveries[i];
      if (entry === was) return;
      const seen = seenOf(entry);
      if (was) {
        // The indexed columns only when they changed (an entry without a delivery id given one):
        // an UPDATE that names a column writes its index too.
        if (was.delivery === entry.delivery && was.campaign === entry.campaign) this.sql.exec('UPDATE ledger_deliveries SET at = ?, seen = ? WHERE slot = ?', entry.at, seen, read.slots[i]!);
        else this.sql.exec('UPDATE ledger_deliveries SET delivery = ?, campaign = ?, at = ?, seen = ? WHERE slot = ?', entry.delivery, entry.campaign, entry.at, seen, read.slots[i]!);
      } else {
        this.insertDelivery(entry);
        added++;
      }
    });
    let addedCampaigns = 0;
    for (const [name, tally] of Object.entries(ledger.campaigns)) {
      if (tally === read.campaigns[name]) continue;
      this.sql.exec('INSERT INTO ledger_campaigns (name, last, tally) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET last = excluded.last, tally = excluded.tally', name, tally.last, JSON.stringify(tally));
      if (!(name in read.campaigns)) addedCampaigns++;
    }
    this.ledgerRead = nothingRead();
    if (added || addedCampaigns) this.trimLedger(added, addedCampaigns);
    return ledgerFlags(ledger);
  }

  /** The whole ledger (a view, a merge). */
  wholeLedger(flags: EmailLedger): EmailLedger {
    return this.readLedger(flags, null);
  }

  /** The part of the ledger about one campaign (`campaignPart`, read from the rows). */
  campaignLedger(flags: EmailLedger, campaign: string): EmailLedger {
    return this.readLedger(flags, campaign);
  }

  /** The ledger's rows, all of them or (`campaign`) that campaign's: at most 200 and 100 rows. */
  private readLedger(flags: EmailLedger, campaign: string | null): EmailLedger {
    const deliveries = this.sql.exec<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM ledger_deliveries WHERE ?1 IS NULL OR campaign = ?1 ORDER BY slot`, campaign).toArray().map((r) => deliveryOf(r, r.seen));
    const campaigns = this.sql.exec<{ name: string; tally: string }>('SELECT name, tally FROM ledger_campaigns WHERE ?1 IS NULL OR name = ?1', campaign).toArray();
    return { ...flags, deliveries, campaigns: campaignsOf(campaigns) };
  }

  /** The rows become `ledger`'s lists (it outgrew the state, a merge); returns it as the state keeps it. */
  replaceLedger(ledger: EmailLedger): EmailLedger {
    this.sql.exec(LEDGER_TABLES);
    this.clearLedger();
    for (const entry of ledger.deliveries) this.insertDelivery(entry);
    for (const [name, tally] of Object.entries(ledger.campaigns)) {
      this.sql.exec('INSERT INTO ledger_campaigns (name, last, tally) VALUES (?, ?, ?)', name, tally.last, JSON.stringify(tally));
    }
    this.trimLedger(ledger.deliveries.length, Object.keys(ledger.campaigns).length);
    return ledgerFlags(ledger);
  }

  /** The rows go (the object keeps its ledger in the state again, or has none). */
  clearLedger(): void {
    this.sql.exec('DELETE FROM ledger_deliveries');
    this.sql.exec('DELETE FROM ledger_campaigns');
    this.ledgerRead = nothingRead();
    this.ledgerCounts = { deliveries: 0, campaigns: 0 };
  }

  private insertDelivery(entry: DeliveryTally): void {
    this.sql.exec('INSERT INTO ledger_deliveries (delivery, campaign, at, seen) VALUES (?, ?, ?, ?)', entry.delivery, entry.campaign, entry.at, seenOf(entry));
  }

  /** Rows were added: past the bounds, the oldest go (deliveries by their last activity, campaigns by their last hit). */
  private trimLedger(deliveries: number, campaigns: number): void {
    const counts = this.ledgerCounts
      ? { deliveries: this.ledgerCounts.deliveries + deliveries, campaigns: this.ledgerCounts.campaigns + campaigns }
      // Counted now, the rows just added are in the count.
      : this.sql.exec<{ deliveries: number; campaigns: number }>('SELECT (SELECT COUNT(*) FROM ledger_deliveries) AS deliveries, (SELECT COUNT(*) FROM ledger_campaigns) AS campaigns').one();
    // Of equally old deliveries the later written goes first, as `credit`'s stable sort drops them.
    if (counts.deliveries > MAX_DELIVERIES) {
      this.sql.exec('DELETE FROM ledger_deliveries WHERE slot IN (SELECT slot FROM ledger_deliveries ORDER BY at, slot DESC LIMIT ?)', counts.deliveries - MAX_DELIVERIES);
      counts.deliveries = MAX_DELIVERIES;
    }
    if (counts.campaigns > MAX_CAMPAIGNS) {
      this.sql.exec('DELETE FROM ledger_campaigns WHERE name IN (SELECT name FROM ledger_campaigns ORDER BY last, name LIMIT ?)', counts.campaigns - MAX_CAMPAIGNS);
      counts.campaigns = MAX_CAMPAIGNS;
    }
    this.ledgerCounts = { deliveries: counts.deliveries, campaigns: counts.campaigns };
  }

  // ---- click grants --------------------------------------------------------------------------

  /** The browsers a grant has linked, once expired grants are forgotten (they cannot be redeemed). */
  grantBrowsers(grantId: string, browser: string, now: number): { already: boolean; browsers: number } {
    this.sql.exec('DELETE FROM grant_browsers WHERE expires_at <= ?', now);
    const already = this.sql.exec('SELECT 1 FROM grant_browsers WHERE grant_id = ? AND browser = ?', grantId, browser).toArray().length > 0;
    const browsers = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM grant_browsers WHERE grant_id = ?', grantId).one().n;
    return { already, browsers };
  }

  addGrantBrowser(grantId: string, browser: string, expiresAt: number): void {
    this.sql.exec('INSERT INTO grant_browsers (grant_id, browser, expires_at) VALUES (?, ?, ?)', grantId, browser, expiresAt);
  }
}

/** Campaign tallies from their rows. */
const campaignsOf = (rows: ReadonlyArray<{ name: string; tally: string }>): Record<string, CampaignTally> =>
  Object.fromEntries(rows.map((r) => [r.name, JSON.parse(r.tally) as CampaignTally]));

/** What the pixel and links and the webhook saw of a delivery, as its row stores it. */
const seenOf = (entry: DeliveryTally): string => JSON.stringify({ edge: entry.edge, webhook: entry.webhook });

/** A ledger entry from its row; `seen`: what the pixel and links and the webhook saw, as stored (JSON). */
const deliveryOf = (row: Pick<DeliveryTally, 'delivery' | 'campaign' | 'at'>, seen: string): DeliveryTally =>
  ({ delivery: row.delivery, campaign: row.campaign, at: row.at, ...(JSON.parse(seen) as Pick<DeliveryTally, 'edge' | 'webhook'>) });
