/**
 * The send queue's SQLite store: its migrations and every query it makes, by name. Rows come out
 * typed (JSON columns parsed); the object decides, this file only reads and writes.
 *
 * A send's audience is its claimed rows (any size), read a chunk at a time for the chunk being
 * delivered; lists and due rows leave it out.
 */
import type { ArmResult, Variation } from '#shared/panel.ts';
import type { AbTestView, SendMode, SendStatus } from '#shared/panel-api.ts';
import { META_TABLE, Meta, type Migration, addColumn, migrate } from '#edge/platform/sql-store.ts';
import type { DeliveryStep } from './delivery-state.ts';
import { type Baseline, testedCount } from './ab-test.ts';
import { MAX_RECIPIENTS, type Recipient } from './recipients.ts';
import type { AudienceFilter } from '#edge/customerio/gateway.ts';
import type { Outcome } from './attribution.ts';

/** A reader's outcome of one email as the opened / clicked / machine columns store it (SQLite has no booleans). */
const outcomeColumns = (o: Outcome): [number, number, number, number] =>
  [o.opened ? 1 : 0, o.clicked ? 1 : 0, o.openedMachine ? 1 : 0, o.clickedMachine ? 1 : 0];

export const SEND_MIGRATIONS: readonly Migration[] = [
  // 1: the tables as v1 and v2 shipped them (storage made then already has them).
  `CREATE TABLE IF NOT EXISTS sends (key TEXT PRIMARY KEY, broadcast_id INTEGER NOT NULL, mode TEXT NOT NULL, event_name TEXT NOT NULL,
     variation TEXT NOT NULL, segment_name TEXT NOT NULL, audience TEXT NOT NULL, recipients INTEGER NOT NULL, status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0, trigger_id INTEGER, error TEXT, ab_test TEXT,
     created_at INTEGER NOT NULL, sent_at INTEGER);
   CREATE TABLE IF NOT EXISTS ab_tests (id TEXT PRIMARY KEY, name TEXT NOT NULL, segment_id TEXT NOT NULL, broadcast_id INTEGER NOT NULL,
     mode TEXT NOT NULL, test_share REAL NOT NULL, arms TEXT NOT NULL, status TEXT NOT NULL, winner INTEGER, results TEXT,
     created_at INTEGER NOT NULL, decided_at INTEGER);
   CREATE TABLE IF NOT EXISTS ab_baseline (test_id TEXT NOT NULL, key TEXT NOT NULL, arm INTEGER NOT NULL, opens INTEGER NOT NULL,
     clicks INTEGER NOT NULL, PRIMARY KEY (test_id, key));
   CREATE TABLE IF NOT EXISTS welcomes (key TEXT PRIMARY KEY, email TEXT NOT NULL, message_id TEXT NOT NULL, data TEXT NOT NULL,
     status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0, delivery_id TEXT, error TEXT,
     created_at INTEGER NOT NULL, sent_at INTEGER);
   ${META_TABLE};`,
  // 2: when a trigger's last attempt had an unclear answer (no answer, a 5xx): it is looked up before any new trigger.
  addColumn('sends', 'unclear_at', 'INTEGER'),
  // 3: how many of a journey send's recipients went to the outbox so far (it goes in bounded steps).
  addColumn('sends', 'handed_over', 'INTEGER NOT NULL DEFAULT 0'),
  // 4-5: audiences of any size. A send no longer holds its audience as one JSON value: its
  // recipients are "claimed" rows, read from the directory in pages, one row per reader per send
  // group (a request's variations, or an A/B test), so a reader claimed by an earlier variation is
  // not claimed again; they go to Customer.io in numbered chunks of at most MAX_RECIPIENTS, each
  // recorded in send_chunks before the next. A send whose segments' Customer.io mirrors were in
  // sync instead carries an audience filter (one trigger).
  (sql) => {
    for (const [column, type] of [['grp', 'TEXT'], ['position', 'INTEGER NOT NULL DEFAULT 0'], ['segment_id', 'TEXT'],
      ['built', 'INTEGER NOT NULL DEFAULT 1'], ['build_cursor', 'TEXT'], ['chunks', 'INTEGER NOT NULL DEFAULT 0'],
      ['chunks_sent', 'INTEGER NOT NULL DEFAULT 0'], ['filter', 'TEXT']] as const) {
      (addColumn('sends', column, type) as (sql: SqlStorage) => void)(sql);
    }
  },
  (sql) => {
    sql.exec(`CREATE TABLE IF NOT EXISTS claimed (grp TEXT NOT NULL, reader_key TEXT NOT NULL, send_key TEXT NOT NULL, id_type TEXT NOT NULL,
        value TEXT NOT NULL, chunk INTEGER NOT NULL DEFAULT 0, rank INTEGER NOT NULL DEFAULT 0, opens INTEGER NOT NULL DEFAULT 0,
        clicks INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (grp, reader_key)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS claimed_send ON claimed (send_key, chunk, reader_key);
      CREATE TABLE IF NOT EXISTS test_sends (id INTEGER PRIMARY KEY AUTOINCREMENT, broadcast_id INTEGER NOT NULL, email TEXT NOT NULL,
        variation TEXT NOT NULL, trigger_id INTEGER, error TEXT, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS send_chunks (send_key TEXT NOT NULL, chunk INTEGER NOT NULL, trigger_id INTEGER, recipients INTEGER NOT NULL,
        sent_at INTEGER NOT NULL, PRIMARY KEY (send_key, chunk));`);
    // Sends stored before: each is its own group; a pending one's JSON audience becomes its claims (≤ 10,000 each).
    sql.exec('UPDATE sends SET grp = key WHERE grp IS NULL');
    sql.exec("UPDATE sends SET chunks = CASE WHEN recipients > 0 THEN 1 ELSE 0 END, chunks_sent = CASE WHEN status = 'sent' AND recipients > 0 THEN 1 ELSE 0 END");
    for (const row of sql.exec<{ key: string; audience: string }>("SELECT key, audience FROM sends WHERE status IN ('queued', 'retrying')").toArray()) {
      for (const r of JSON.parse(row.audience) as Recipient[]) {
        sql.exec('INSERT OR IGNORE INTO claimed (grp, reader_key, send_key, id_type, value) VALUES (?, ?, ?, ?, ?)', row.key, r.key, row.key, r.idType, r.value);
      }
    }
    sql.exec("UPDATE sends SET audience = '[]'");
  },
  // 6: A/B results from the reader's email ledger (the test's own deliveries), recounted by the alarm in pages.
  (sql) => {
    for (const column of ['opened', 'clicked', 'opened_machine', 'clicked_machine']) {
      (addColumn('ab_baseline', column, 'INTEGER NOT NULL DEFAULT 0') as (sql: SqlStorage) => void)(sql);
    }
    for (const [column, type] of [['scan_cursor', 'TEXT'], ['counted_at', 'INTEGER'], ['next_scan_at', 'INTEGER'], ['auto_decide_ms', 'INTEGER']] as const) {
      (addColumn('ab_tests', column, type) as (sql: SqlStorage) => void)(sql);
    }
  },
  // 7: per-send results: what each claimed reader did with the send's email, recounted in pages.
  (sql) => {
    for (const column of ['opened', 'clicked', 'opened_machine', 'clicked_machine']) {
      (addColumn('claimed', column, 'INTEGER NOT NULL DEFAULT 0') as (sql: SqlStorage) => void)(sql);
    }
    for (const [column, type] of [['count_cursor', 'TEXT'], ['counted_at', 'INTEGER'], ['next_count_at', 'INTEGER']] as const) {
      (addColumn('sends', column, type) as (sql: SqlStorage) => void)(sql);
    }
  },
];

export interface SendRow {
  key: string; broadcastId: number; mode: SendMode; eventName: string; variation: Variation; segmentName: string;
  recipients: number; status: SendStatus; attempts: number; nextAt: number; triggerId: number | null; error: string | null;
  abTest: string | null; createdAt: number; sentAt: number | null; unclearAt: number | null; handedOver: number;
  grp: string; position: number; segmentId: string | null; built: boolean; buildCursor: string | null; chunks: number; chunksSent: number;
  filter: AudienceFilter | null;
}

/**
 * A send to queue. With `audience` its recipients are given (claimed at once); with `filter` the
 * segment mirror is its audience (one trigger, `expected` recipients); otherwise its segment's
 * members are read from the directory by the alarm (`expected` is the SQL count until then).
 */
export type NewSend = Pick<SendRow, 'key' | 'broadcastId' | 'mode' | 'eventName' | 'variation' | 'segmentName' | 'abTest'> & {
  grp?: string; position?: number; segmentId?: string | null; expected?: number; filter?: AudienceFilter | null; audience?: Recipient[];
  /** Its readers are already claimed in its group (an A/B test's rest). */
  claimed?: boolean;
};

/** One reader a send group claims: its identifier, its A/B rank, and its counters then (the A/B baseline). */
export interface Claim { key: string; idType: 'id' | 'email'; value: string; rank?: number; opens?: number; clicks?: number }

export interface WelcomeRow {
  key: string; email: string; messageId: string | number; data: Record<string, unknown>; status: SendStatus; attempts: number;
  nextAt: number; deliveryId: string | null; error: string | null; createdAt: number; sentAt: number | null;
}

export interface AbTestRow {
  id: string; name: string; segmentId: string; broadcastId: number; mode: SendMode; testShare: number; arms: AbTestView['arms'];
  status: 'testing' | 'decided'; winner: number | null; results: ArmResult[] | null; createdAt: number; decidedAt: number | null;
  countedAt: number | null; nextScanAt: number | null; autoDecideMs: number | null;
}

/** Every column but the audience. */
const SEND_COLUMNS = `key, broadcast_id, mode, event_name, variation, segment_name, recipients, status, attempts, next_at, trigger_id,
  error, ab_test, created_at, sent_at, unclear_at, handed_over, grp, position, segment_id, built, build_cursor, chunks, chunks_sent, filter`;
const PENDING = "status IN ('queued', 'retrying')";

type Row = Record<string, SqlStorageValue>;
const text = (v: unknown) => v as string;
const num = (v: unknown) => v as number;
const orNull = <T>(v: unknown) => (v ?? null) as T | null;

function sendRow(r: Row): SendRow {
  return {
    key: text(r.key), broadcastId: num(r.broadcast_id), mode: text(r.mode) as SendMode, eventName: text(r.event_name),
    variation: JSON.parse(text(r.variation)) as Variation, segmentName: text(r.segment_name), recipients: num(r.recipients),
    status: text(r.status) as SendStatus, attempts: num(r.attempts), nextAt: num(r.next_at), triggerId: orNull<number>(r.trigger_id),
    error: orNull<string>(r.error), abTest: orNull<string>(r.ab_test), createdAt: num(r.created_at), sentAt: orNull<number>(r.sent_at),
    unclearAt: orNull<number>(r.unclear_at), handedOver: num(r.handed_over),
    grp: (r.grp as string | null) ?? text(r.key), position: num(r.position), segmentId: orNull<string>(r.segment_id), built: num(r.built) === 1,
    buildCursor: orNull<string>(r.build_cursor), chunks: num(r.chunks), chunksSent: num(r.chunks_sent),
    filter: r.filter ? (JSON.parse(text(r.filter)) as AudienceFilter) : null,
  };
}

function welcomeRow(r: Row): WelcomeRow {
  return {
    key: text(r.key), email: text(r.email), messageId: JSON.parse(text(r.message_id)) as string | number,
    data: JSON.parse(text(r.data)) as Record<string, unknown>, status: text(r.status) as SendStatus, attempts: num(r.attempts),
    nextAt: num(r.next_at), deliveryId: orNull<string>(r.delivery_id), error: orNull<string>(r.error), createdAt: num(r.created_at),
    sentAt: orNull<number>(r.sent_at),
  };
}

function abTestRow(r: Row): AbTestRow {
  return {
    id: text(r.id), name: text(r.name), segmentId: text(r.segment_id), broadcastId: num(r.broadcast_id), mode: text(r.mode) as SendMode,
    testShare: num(r.test_share), arms: JSON.parse(text(r.arms)) as AbTestView['arms'], status: text(r.status) as AbTestRow['status'],
    winner: orNull<number>(r.winner), results: r.results ? (JSON.parse(text(r.results)) as ArmResult[]) : null,
    createdAt: num(r.created_at), decidedAt: orNull<number>(r.decided_at),
    countedAt: orNull<number>(r.counted_at), nextScanAt: orNull<number>(r.next_scan_at), autoDecideMs: orNull<number>(r.auto_decide_ms),
  };
}

const broadcastNextKey = (broadcastId: number) => `broadcast_next:${broadcastId}`;

export class SendStore {
  private readonly meta: Meta;

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, SEND_MIGRATIONS);
    this.meta = new Meta(sql);
  }

  // ---- the workspace and the broadcasts' pace ---------------------------------------------------

  /** The workspace this object serves (set by the first call that names it; the alarm needs it). */
  workspace(): string | null {
    return this.meta.get('workspace');
  }

  setWorkspace(workspace: string): void {
    this.meta.set('workspace', workspace);
  }

  /** When a broadcast may be triggered again (0: now). */
  broadcastNextAt(broadcastId: number): number {
    return this.meta.number(broadcastNextKey(broadcastId));
  }

  setBroadcastNextAt(broadcastId: number, at: number): void {
    this.meta.set(broadcastNextKey(broadcastId), at);
  }

  /** `broadcastNextAt` for each broadcast of these rows. */
  broadcastTimes(rows: ReadonlyArray<{ broadcastId: number }>): Map<number, number> {
    return new Map([...new Set(rows.map((r) => r.broadcastId))].map((id) => [id, this.broadcastNextAt(id)]));
  }

  // ---- sends ------------------------------------------------------------------------------------

  hasSend(key: string): boolean {
    return this.sql.exec('SELECT 1 FROM sends WHERE key = ?', key).toArray().length > 0;
  }

  /** Queued, or failed at once when the audience is known to be empty (nothing to send, said so). */
  insertSend(send: NewSend, now: number): void {
    const grp = send.grp ?? send.key;
    // A send with the mirror as audience is triggered at once, and its readers are still read (claimed)
    // from the directory behind it: they are its results' denominator and who the later variations skip.
    const built = send.audience !== undefined || send.claimed === true;
    const empty0 = send.filter != null && (send.expected ?? 0) === 0;
    const expected = send.audience?.length ?? send.expected ?? 0;
    // Claimed readers are counted by finishBuild below, which fails the send itself when there are none.
    const empty = (built && !send.claimed && expected === 0) || empty0;
    this.sql.exec(
      `INSERT INTO sends (key, broadcast_id, mode, event_name, variation, segment_name, audience, recipients, status, error, ab_test, created_at,
         grp, position, segment_id, built, build_cursor, chunks, filter)
       VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      send.key, send.broadcastId, send.mode, send.eventName, JSON.stringify(send.variation), send.segmentName,
      expected, empty ? 'failed' : 'queued', empty ? 'the segment has no members: nothing was sent' : null, send.abTest, now,
      grp, send.position ?? 0, send.segmentId ?? null, built ? 1 : 0, built ? null : '', send.filter ? 1 : 0, send.filter ? JSON.stringify(send.filter) : null,
    );
    if (send.audience) this.claim(grp, send.key, send.audience);
    if (send.audience || send.claimed) this.finishBuild(send.key);
  }

  // ---- building a send's audience (claims) ---------------------------------------------------

  /**
   * The next send whose audience is still to be read from the directory: the first of its group
   * whose earlier variations are all read (so "first variation wins" holds), oldest group first.
   */
  nextToBuild(): SendRow | null {
    const row = this.sql.exec<Row>(`SELECT ${SEND_COLUMNS} FROM sends s WHERE built = 0 AND (${PENDING} OR filter IS NOT NULL)
      AND status != 'failed' AND NOT EXISTS (SELECT 1 FROM sends p WHERE p.grp = s.grp AND p.position < s.position AND p.built = 0)
      ORDER BY created_at, position LIMIT 1`).toArray()[0];
    return row ? sendRow(row) : null;
  }

  /** Claims these readers for `sendKey` in its group; a reader the group already holds stays with its first send. */
  claim(grp: string, sendKey: string, readers: readonly Claim[]): void {
    for (const r of readers) {
      this.sql.exec('INSERT OR IGNORE INTO claimed (grp, reader_key, send_key, id_type, value, rank, opens, clicks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        grp, r.key, sendKey, r.idType, r.value, r.rank ?? 0, r.opens ?? 0, r.clicks ?? 0);
    }
  }

  /** Where the next page of the send's segment starts (a restart goes on from here). */
  setBuildCursor(key: string, cursor: string): void {
    this.sql.exec('UPDATE sends SET build_cursor = ? WHERE key = ?', cursor, key);
  }

  /** The send's claims are complete: number its chunks (≤ MAX_RECIPIENTS each, in key order) and count them. */
  finishBuild(key: string): void {
    // Bound numbers arrive as REAL: the casts keep the chunk numbers (and arm keys below) integers.
    this.sql.exec(`WITH o AS (SELECT grp, reader_key, (ROW_NUMBER() OVER (ORDER BY reader_key) - 1) / CAST(? AS INTEGER) AS c FROM claimed WHERE send_key = ?)
      UPDATE claimed SET chunk = o.c FROM o WHERE claimed.grp = o.grp AND claimed.reader_key = o.reader_key`, MAX_RECIPIENTS, key);
    const n = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM claimed WHERE send_key = ?', key).one().n;
    // A mirror send keeps its one trigger (and its status: it may be sent already); the claims only count it.
    this.sql.exec(`UPDATE sends SET built = 1, build_cursor = NULL, recipients = CASE WHEN filter IS NULL THEN ? ELSE MAX(?, recipients) END,
        chunks = CASE WHEN filter IS NULL THEN ? ELSE 1 END,
        status = CASE WHEN ? = 0 AND filter IS NULL THEN 'failed' ELSE status END,
        error = CASE WHEN ? = 0 AND filter IS NULL THEN 'the segment has no members: nothing was sent' ELSE error END
      WHERE key = ?`, n, n, Math.ceil(n / MAX_RECIPIENTS), n, n, key);
  }

  /** The build could not go on (the segment was deleted): the send fails, saying why. */
  failBuild(key: string, error: string): void {
    this.sql.exec("UPDATE sends SET status = 'failed', built = 1, error = ? WHERE key = ?", error, key);
  }

  /**
   * An A/B test's group is read whole: split its claims into exact arms by rank (a hash of test and
   * reader): the first `tested` in rank order go round-robin to the arms (sizes differ by at most
   * one), the others to the rest. Records each arm recipient's baseline.
   */
  assignArms(testId: string, grp: string, armKeyPrefix: string, restKey: string, arms: number, testShare: number): { tested: number; total: number } {
    const total = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM claimed WHERE grp = ?', grp).one().n;
    const tested = testedCount(total, arms, testShare);
    this.sql.exec(`WITH o AS (SELECT reader_key, ROW_NUMBER() OVER (ORDER BY rank, reader_key) - 1 AS i FROM claimed WHERE grp = ?)
      UPDATE claimed SET send_key = CASE WHEN o.i < ? THEN ? || (o.i % CAST(? AS INTEGER)) ELSE ? END FROM o WHERE claimed.grp = ? AND claimed.reader_key = o.reader_key`,
      grp, tested, armKeyPrefix, arms, restKey, grp);
    this.sql.exec(`INSERT OR IGNORE INTO ab_baseline (test_id, key, arm, opens, clicks)
      SELECT ?, reader_key, CAST(SUBSTR(send_key, ?) AS INTEGER), opens, clicks FROM claimed WHERE grp = ? AND send_key != ?`,
      testId, armKeyPrefix.length + 1, grp, restKey);
    return { tested, total };
  }

  /** The readers of one chunk of a send, in key order. */
  chunkAudience(key: string, chunk: number): Recipient[] {
    return this.sql.exec<{ reader_key: string; id_type: string; value: string }>(
      'SELECT reader_key, id_type, value FROM claimed WHERE send_key = ? AND chunk = ? ORDER BY reader_key', key, chunk).toArray()
      .map((r) => ({ key: r.reader_key, idType: r.id_type as Recipient['idType'], value: r.value }));
  }

  /** A slice of a send's readers in key order (a journey step). */
  audienceSlice(key: string, offset: number, limit: number): Recipient[] {
    return this.sql.exec<{ reader_key: string; id_type: string; value: string }>(
      'SELECT reader_key, id_type, value FROM claimed WHERE send_key = ? ORDER BY chunk, reader_key LIMIT ? OFFSET ?', key, limit, offset).toArray()
      .map((r) => ({ key: r.reader_key, idType: r.id_type as Recipient['idType'], value: r.value }));
  }

  /** One chunk went (its trigger recorded before the next chunk is tried); the last one makes the send sent. */
  recordChunkSent(key: string, chunk: number, triggerId: number | null, attempts: number, now: number): void {
    const recipients = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM claimed WHERE send_key = ? AND chunk = ?', key, chunk).one().n;
    this.sql.exec('INSERT OR REPLACE INTO send_chunks (send_key, chunk, trigger_id, recipients, sent_at) VALUES (?, ?, ?, ?, ?)', key, chunk, triggerId, recipients, now);
    this.sql.exec(`UPDATE sends SET chunks_sent = ?, trigger_id = ?, unclear_at = NULL, error = NULL, next_at = 0,
        status = CASE WHEN ? >= chunks THEN 'sent' ELSE 'queued' END,
        attempts = CASE WHEN ? >= chunks THEN ? ELSE 0 END,
        sent_at = CASE WHEN ? >= chunks THEN ? ELSE sent_at END
      WHERE key = ?`, chunk + 1, triggerId, chunk + 1, chunk + 1, attempts, chunk + 1, now, key);
  }

  /** The chunks a send has sent, with their triggers. */
  sentChunks(key: string): Array<{ chunk: number; triggerId: number | null; recipients: number; sentAt: number }> {
    return this.sql.exec<{ chunk: number; trigger_id: number | null; recipients: number; sent_at: number }>(
      'SELECT chunk, trigger_id, recipients, sent_at FROM send_chunks WHERE send_key = ? ORDER BY chunk', key).toArray()
      .map((r) => ({ chunk: r.chunk, triggerId: r.trigger_id, recipients: r.recipients, sentAt: r.sent_at }));
  }

  sendByKey(key: string): SendRow | null {
    const row = this.sql.exec<Row>(`SELECT ${SEND_COLUMNS} FROM sends WHERE key = ?`, key).toArray()[0];
    return row ? sendRow(row) : null;
  }

  /** The newest first. */
  recentSends(limit: number): SendRow[] {
    return this.sql.exec<Row>(`SELECT ${SEND_COLUMNS} FROM sends ORDER BY created_at DESC LIMIT ?`, limit).toArray().map(sendRow);
  }

  sendsOfTest(testId: string): SendRow[] {
    return this.sql.exec<Row>(`SELECT ${SEND_COLUMNS} FROM sends WHERE ab_test = ? ORDER BY key`, testId).toArray().map(sendRow);
  }

  /** Sends whose retry time has come, oldest first (their broadcast's pace is the caller's to check). */
  dueSends(now: number): SendRow[] {
    return this.sql.exec<Row>(`SELECT ${SEND_COLUMNS} FROM sends WHERE ${PENDING} AND (built = 1 OR filter IS NOT NULL) AND next_at <= ? ORDER BY created_at, position, key`, now).toArray().map(sendRow);
  }

  /** Every send still to go, with what its wake time depends on. */
  pendingSends(): Array<Pick<SendRow, 'mode' | 'broadcastId' | 'nextAt'>> {
    return this.sql.exec<{ mode: SendMode; broadcast_id: number; next_at: number }>(`SELECT mode, broadcast_id, next_at FROM sends WHERE ${PENDING}`)
      .toArray().map((r) => ({ mode: r.mode, broadcastId: r.broadcast_id, nextAt: r.next_at }));
  }

  /** The trigger ids our sends (and their chunks) of this broadcast already hold. */
  triggerIds(broadcastId: number): Set<number> {
    return new Set(this.sql.exec<{ trigger_id: number }>(`SELECT trigger_id FROM sends WHERE broadcast_id = ? AND trigger_id IS NOT NULL
      UNION SELECT c.trigger_id FROM send_chunks c JOIN sends s ON s.key = c.send_key WHERE s.broadcast_id = ? AND c.trigger_id IS NOT NULL
      UNION SELECT trigger_id FROM test_sends WHERE broadcast_id = ? AND trigger_id IS NOT NULL`, broadcastId, broadcastId, broadcastId)
      .toArray().map((r) => r.trigger_id));
  }

  /** What one trigger attempt (of the send's next chunk) came to; `unclearAt` is the attempt's time when its answer was unclear, else null. */
  recordTrigger(key: string, step: DeliveryStep, triggerId: number | null, unclearAt: number | null, now: number): void {
    if (step.status === 'sent') {
      const row = this.sendByKey(key)!;
      this.recordChunkSent(key, row.chunksSent, triggerId, step.attempts, now);
      return;
    }
    this.sql.exec('UPDATE sends SET unclear_at = ? WHERE key = ?', unclearAt, key);
    this.recordStep('sends', 'trigger_id', key, step, triggerId, now);
  }

  /** An unclear trigger that Customer.io's list shows went through: that chunk is sent, with that trigger. */
  markFoundSent(key: string, triggerId: number, now: number): void {
    const row = this.sendByKey(key)!;
    this.recordChunkSent(key, row.chunksSent, triggerId, row.attempts, now);
  }

  /** An unclear trigger that Customer.io's list shows did not go through: it may be triggered again. */
  clearUnclear(key: string): void {
    this.sql.exec('UPDATE sends SET unclear_at = NULL WHERE key = ?', key);
  }

  /** Waits until `nextAt` without counting an attempt (nothing was sent). */
  markWaiting(key: string, nextAt: number, error: string): void {
    this.sql.exec("UPDATE sends SET status = 'retrying', next_at = ?, error = ? WHERE key = ?", nextAt, error, key);
  }

  /** A journey send's progress: `handedOver` recipients are in the outbox; once all are, it is sent. */
  markHandedOver(key: string, handedOver: number, done: boolean, now: number): void {
    if (!done) this.sql.exec('UPDATE sends SET handed_over = ? WHERE key = ?', handedOver, key);
    else this.sql.exec("UPDATE sends SET status = 'sent', handed_over = ?, attempts = attempts + 1, error = NULL, sent_at = ? WHERE key = ?", handedOver, now, key);
  }

  // ---- test sends (never a send: kept apart, so an unclear real trigger never takes one for its own) ----

  recordTestSend(broadcastId: number, email: string, variationId: string, triggerId: number | null, error: string | null, now: number): void {
    this.sql.exec('INSERT INTO test_sends (broadcast_id, email, variation, trigger_id, error, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      broadcastId, email, variationId, triggerId, error, now);
  }

  // ---- per-send results (our counts) ------------------------------------------------------------

  /** A sent, chunked, non-A/B send of the last `maxAgeMs` whose recount was asked for and is due (recounts run only when the panel asks). */
  countDue(now: number, maxAgeMs: number): { key: string; broadcastId: number; cursor: string; since: number } | null {
    const row = this.sql.exec<{ key: string; broadcast_id: number; count_cursor: string | null; since: number }>(`SELECT key, broadcast_id, count_cursor,
        COALESCE((SELECT MIN(sent_at) FROM send_chunks c WHERE c.send_key = sends.key), sent_at) AS since
      FROM sends WHERE status = 'sent' AND built = 1 AND ab_test IS NULL AND mode = 'broadcast' AND sent_at >= ?
      AND next_count_at IS NOT NULL AND next_count_at <= ? ORDER BY next_count_at LIMIT 1`, now - maxAgeMs, now).toArray()[0];
    return row ? { key: row.key, broadcastId: row.broadcast_id, cursor: row.count_cursor ?? '', since: row.since } : null;
  }

  /** When the next per-send recount is due (null: none within `maxAgeMs`). */
  nextCountAt(now: number, maxAgeMs: number): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT MIN(next_count_at) AS at FROM sends WHERE status = 'sent' AND built = 1 AND ab_test IS NULL
      AND mode = 'broadcast' AND sent_at >= ?`, now - maxAgeMs).one().at;
  }

  claimedKeysAfter(sendKey: string, cursor: string, limit: number): string[] {
    return this.sql.exec<{ reader_key: string }>('SELECT reader_key FROM claimed WHERE send_key = ? AND reader_key > ? ORDER BY reader_key LIMIT ?', sendKey, cursor, limit)
      .toArray().map((r) => r.reader_key);
  }

  recordClaimOutcome(sendKey: string, readerKey: string, o: Outcome): void {
    this.sql.exec('UPDATE claimed SET opened = ?, clicked = ?, opened_machine = ?, clicked_machine = ? WHERE send_key = ? AND reader_key = ?',
      ...outcomeColumns(o), sendKey, readerKey);
  }

  setCount(key: string, cursor: string | null, countedAt: number | null, nextAt: number | null): void {
    if (cursor !== null) this.sql.exec('UPDATE sends SET count_cursor = ? WHERE key = ?', cursor, key);
    else this.sql.exec('UPDATE sends SET count_cursor = NULL, counted_at = ?, next_count_at = ? WHERE key = ?', countedAt, nextAt, key);
  }

  sendCounts(key: string): { recipients: number; opened: number; clicked: number; openedMachine: number; clickedMachine: number; countedAt: number | null; nextCountAt: number | null } {
    const c = this.sql.exec<{ n: number; o: number | null; c: number | null; om: number | null; cm: number | null }>(`SELECT COUNT(*) AS n, SUM(opened) AS o, SUM(clicked) AS c,
      SUM(opened_machine) AS om, SUM(clicked_machine) AS cm FROM claimed WHERE send_key = ?`, key).one();
    const t = this.sql.exec<{ counted_at: number | null; next_count_at: number | null }>('SELECT counted_at, next_count_at FROM sends WHERE key = ?', key).toArray()[0];
    return { recipients: c.n, opened: c.o ?? 0, clicked: c.c ?? 0, openedMachine: c.om ?? 0, clickedMachine: c.cm ?? 0, countedAt: t?.counted_at ?? null, nextCountAt: t?.next_count_at ?? null };
  }

  // ---- welcomes ---------------------------------------------------------------------------------

  /** Once per reader key: a key seen before is left as it is. */
  insertWelcome(welcome: { key: string; email: string; messageId: string | number; data: Record<string, unknown> }, now: number): void {
    this.sql.exec(`INSERT OR IGNORE INTO welcomes (key, email, message_id, data, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)`,
      welcome.key, welcome.email, JSON.stringify(welcome.messageId), JSON.stringify(welcome.data), now);
  }

  /** The newest first. */
  recentWelcomes(limit: number): WelcomeRow[] {
    return this.sql.exec<Row>('SELECT * FROM welcomes ORDER BY created_at DESC LIMIT ?', limit).toArray().map(welcomeRow);
  }

  dueWelcome(now: number): WelcomeRow | null {
    const row = this.sql.exec<Row>(`SELECT * FROM welcomes WHERE ${PENDING} AND next_at <= ? ORDER BY created_at LIMIT 1`, now).toArray()[0];
    return row ? welcomeRow(row) : null;
  }

  /** When the next pending welcome may go; null when none is pending. */
  nextWelcomeAt(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT MIN(next_at) AS at FROM welcomes WHERE ${PENDING}`).one().at;
  }

  recordWelcome(key: string, step: DeliveryStep, deliveryId: string | null, now: number): void {
    this.recordStep('welcomes', 'delivery_id', key, step, deliveryId, now);
  }

  // ---- A/B tests --------------------------------------------------------------------------------

  insertAbTest(test: Pick<AbTestRow, 'id' | 'name' | 'segmentId' | 'broadcastId' | 'mode' | 'testShare' | 'arms' | 'autoDecideMs'>, now: number): void {
    this.sql.exec(
      'INSERT INTO ab_tests (id, name, segment_id, broadcast_id, mode, test_share, arms, status, created_at, auto_decide_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      test.id, test.name, test.segmentId, test.broadcastId, test.mode, test.testShare, JSON.stringify(test.arms), 'testing', now, test.autoDecideMs,
    );
  }

  // ---- A/B results: recounted from the readers' ledgers in pages ---------------------------------

  /** A testing test whose arms are all sent and whose recount is due (the oldest due first). */
  scanDue(now: number): AbTestRow | null {
    const row = this.sql.exec<Row>(`SELECT * FROM ab_tests t WHERE status = 'testing' AND COALESCE(next_scan_at, 0) <= ?
      AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.ab_test = t.id AND s.key NOT LIKE '%:rest' AND s.status != 'sent')
      AND EXISTS (SELECT 1 FROM sends s WHERE s.ab_test = t.id) ORDER BY COALESCE(next_scan_at, 0) LIMIT 1`, now).toArray()[0];
    return row ? abTestRow(row) : null;
  }

  /** When a testing test next wants a recount or its automatic decision; null when none does. */
  nextAbWork(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT MIN(MIN(COALESCE(next_scan_at, 0), COALESCE(t.created_at + auto_decide_ms, 9e15))) AS at
      FROM ab_tests t WHERE status = 'testing'
      AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.ab_test = t.id AND s.key NOT LIKE '%:rest' AND s.status IN ('queued', 'retrying'))`).one().at;
  }

  /** Arm recipients in key order after `cursor`. */
  baselineKeysAfter(testId: string, cursor: string, limit: number): Array<{ key: string; arm: number }> {
    return this.sql.exec<{ key: string; arm: number }>('SELECT key, arm FROM ab_baseline WHERE test_id = ? AND key > ? ORDER BY key LIMIT ?', testId, cursor, limit)
      .toArray().map((r) => ({ key: r.key, arm: r.arm }));
  }

  /** A testing test whose automatic decision is due and whose results were counted at least once. */
  autoDecideDue(now: number): string | null {
    return this.sql.exec<{ id: string }>(`SELECT id FROM ab_tests WHERE status = 'testing' AND auto_decide_ms IS NOT NULL
      AND created_at + auto_decide_ms <= ? AND counted_at IS NOT NULL ORDER BY created_at LIMIT 1`, now).toArray()[0]?.id ?? null;
  }

  recordOutcome(testId: string, key: string, o: Outcome): void {
    this.sql.exec('UPDATE ab_baseline SET opened = ?, clicked = ?, opened_machine = ?, clicked_machine = ? WHERE test_id = ? AND key = ?',
      ...outcomeColumns(o), testId, key);
  }

  /** The recount's progress: a cursor while it goes, or done (counted at `now`, next recount at `nextAt`). */
  setScan(testId: string, cursor: string | null, countedAt: number | null, nextAt: number | null): void {
    if (cursor !== null) this.sql.exec('UPDATE ab_tests SET scan_cursor = ? WHERE id = ?', cursor, testId);
    else this.sql.exec('UPDATE ab_tests SET scan_cursor = NULL, counted_at = ?, next_scan_at = ? WHERE id = ?', countedAt, nextAt, testId);
  }

  scanCursor(testId: string): string {
    return this.sql.exec<{ c: string | null }>('SELECT scan_cursor AS c FROM ab_tests WHERE id = ?', testId).toArray()[0]?.c ?? '';
  }

  /** Each arm's sample and unique openers / clickers of the test's own email, as last counted. */
  armResults(testId: string, arms: number): ArmResult[] {
    const rows = this.sql.exec<{ arm: number; n: number; o: number; c: number; om: number; cm: number }>(`SELECT arm, COUNT(*) AS n, SUM(opened) AS o,
      SUM(clicked) AS c, SUM(opened_machine) AS om, SUM(clicked_machine) AS cm FROM ab_baseline WHERE test_id = ? GROUP BY arm`, testId).toArray();
    return Array.from({ length: arms }, (_, arm) => {
      const r = rows.find((x) => x.arm === arm);
      return { arm, recipients: r?.n ?? 0, humanOpens: r?.o ?? 0, clicks: r?.c ?? 0, machineOpens: r?.om ?? 0, machineClicks: r?.cm ?? 0 };
    });
  }

  /** When an arm's first chunk went (its results count from then). */
  armSentAt(key: string): number | null {
    return this.sql.exec<{ at: number | null }>('SELECT COALESCE((SELECT MIN(sent_at) FROM send_chunks WHERE send_key = ?), (SELECT sent_at FROM sends WHERE key = ?)) AS at', key, key).one().at;
  }

  abTest(id: string): AbTestRow | null {
    const row = this.sql.exec<Row>('SELECT * FROM ab_tests WHERE id = ?', id).toArray()[0];
    return row ? abTestRow(row) : null;
  }

  recentAbTestIds(limit: number): string[] {
    return this.sql.exec<{ id: string }>('SELECT id FROM ab_tests ORDER BY created_at DESC LIMIT ?', limit).toArray().map((r) => r.id);
  }

  markDecided(id: string, winner: number, results: ArmResult[], now: number): void {
    this.sql.exec('UPDATE ab_tests SET status = ?, winner = ?, results = ?, decided_at = ? WHERE id = ?', 'decided', winner, JSON.stringify(results), now, id);
  }

  baselines(testId: string): Baseline[] {
    return this.sql.exec<{ key: string; arm: number; opens: number; clicks: number }>('SELECT key, arm, opens, clicks FROM ab_baseline WHERE test_id = ?', testId)
      .toArray().map((r) => ({ key: r.key, arm: r.arm, opens: r.opens, clicks: r.clicks }));
  }

  // ---- internals ----------------------------------------------------------------------------------

  /** The one place a delivery attempt (a trigger, a welcome) lands on its row: sent, retrying or failed. */
  private recordStep(table: 'sends' | 'welcomes', idColumn: 'trigger_id' | 'delivery_id', key: string, step: DeliveryStep, id: number | string | null, now: number): void {
    if (step.status === 'sent') {
      this.sql.exec(`UPDATE ${table} SET status = 'sent', attempts = ?, ${idColumn} = ?, error = NULL, sent_at = ? WHERE key = ?`, step.attempts, id, now, key);
    } else if (step.status === 'retrying') {
      this.sql.exec(`UPDATE ${table} SET status = 'retrying', attempts = ?, next_at = ?, error = ? WHERE key = ?`, step.attempts, step.nextAt, step.error, key);
    } else {
      this.sql.exec(`UPDATE ${table} SET status = 'failed', attempts = ?, error = ? WHERE key = ?`, step.attempts, step.error, key);
    }
  }
}
