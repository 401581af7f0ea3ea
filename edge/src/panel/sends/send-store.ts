/**
 * The send queue's SQLite store: its migrations and every query it makes, by name. Rows come out
 * typed (JSON columns parsed); the object decides, this file only reads and writes.
 *
 * A send's audience (up to 10,000 recipients) is read only for the send being delivered: lists and
 * due rows leave it out.
 */
import type { ArmResult, Variation } from '#shared/panel.ts';
import type { AbTestView, SendMode, SendStatus } from '#shared/panel-api.ts';
import { META_TABLE, Meta, type Migration, addColumn, migrate } from '#edge/platform/sql-store.ts';
import type { DeliveryStep } from './delivery-state.ts';
import type { Baseline } from './ab-test.ts';
import type { Recipient } from './recipients.ts';

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
];

export interface SendRow {
  key: string; broadcastId: number; mode: SendMode; eventName: string; variation: Variation; segmentName: string;
  recipients: number; status: SendStatus; attempts: number; nextAt: number; triggerId: number | null; error: string | null;
  abTest: string | null; createdAt: number; sentAt: number | null; unclearAt: number | null; handedOver: number;
}

export type NewSend = Pick<SendRow, 'key' | 'broadcastId' | 'mode' | 'eventName' | 'variation' | 'segmentName' | 'abTest'> & { audience: Recipient[] };

export interface WelcomeRow {
  key: string; email: string; messageId: string | number; data: Record<string, unknown>; status: SendStatus; attempts: number;
  nextAt: number; deliveryId: string | null; error: string | null; createdAt: number; sentAt: number | null;
}

export interface AbTestRow {
  id: string; name: string; segmentId: string; broadcastId: number; mode: SendMode; testShare: number; arms: AbTestView['arms'];
  status: 'testing' | 'decided'; winner: number | null; results: ArmResult[] | null; createdAt: number; decidedAt: number | null;
}

/** Every column but the audience. */
const SEND_COLUMNS = `key, broadcast_id, mode, event_name, variation, segment_name, recipients, status, attempts, next_at, trigger_id,
  error, ab_test, created_at, sent_at, unclear_at, handed_over`;
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

  /** Queued, or failed at once when the audience is empty (nothing to send, said so). */
  insertSend(send: NewSend, now: number): void {
    const empty = send.audience.length === 0;
    this.sql.exec(
      `INSERT INTO sends (key, broadcast_id, mode, event_name, variation, segment_name, audience, recipients, status, error, ab_test, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      send.key, send.broadcastId, send.mode, send.eventName, JSON.stringify(send.variation), send.segmentName, JSON.stringify(send.audience),
      send.audience.length, empty ? 'failed' : 'queued', empty ? 'the segment has no members: nothing was sent' : null, send.abTest, now,
    );
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
    return this.sql.exec<Row>(`SELECT ${SEND_COLUMNS} FROM sends WHERE ${PENDING} AND next_at <= ? ORDER BY created_at, key`, now).toArray().map(sendRow);
  }

  /** Every send still to go, with what its wake time depends on. */
  pendingSends(): Array<Pick<SendRow, 'mode' | 'broadcastId' | 'nextAt'>> {
    return this.sql.exec<{ mode: SendMode; broadcast_id: number; next_at: number }>(`SELECT mode, broadcast_id, next_at FROM sends WHERE ${PENDING}`)
      .toArray().map((r) => ({ mode: r.mode, broadcastId: r.broadcast_id, nextAt: r.next_at }));
  }

  audience(key: string): Recipient[] {
    const row = this.sql.exec<{ audience: string }>('SELECT audience FROM sends WHERE key = ?', key).toArray()[0];
    return row ? (JSON.parse(row.audience) as Recipient[]) : [];
  }

  /** The trigger ids our sends of this broadcast already hold. */
  triggerIds(broadcastId: number): Set<number> {
    return new Set(this.sql.exec<{ trigger_id: number }>('SELECT trigger_id FROM sends WHERE broadcast_id = ? AND trigger_id IS NOT NULL', broadcastId)
      .toArray().map((r) => r.trigger_id));
  }

  /** What one trigger attempt came to; `unclearAt` is the attempt's time when its answer was unclear, else null. */
  recordTrigger(key: string, step: DeliveryStep, triggerId: number | null, unclearAt: number | null, now: number): void {
    this.sql.exec('UPDATE sends SET unclear_at = ? WHERE key = ?', unclearAt, key);
    this.recordStep('sends', 'trigger_id', key, step, triggerId, now);
  }

  /** An unclear trigger that Customer.io's list shows went through: sent, with that trigger. */
  markFoundSent(key: string, triggerId: number, now: number): void {
    this.sql.exec("UPDATE sends SET status = 'sent', trigger_id = ?, unclear_at = NULL, error = NULL, sent_at = ? WHERE key = ?", triggerId, now, key);
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

  insertAbTest(test: Pick<AbTestRow, 'id' | 'name' | 'segmentId' | 'broadcastId' | 'mode' | 'testShare' | 'arms'>, now: number): void {
    this.sql.exec(
      'INSERT INTO ab_tests (id, name, segment_id, broadcast_id, mode, test_share, arms, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      test.id, test.name, test.segmentId, test.broadcastId, test.mode, test.testShare, JSON.stringify(test.arms), 'testing', now,
    );
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

  /** One row per recipient (5 bound values each, well under the 100 a query may bind). */
  insertBaselines(testId: string, baselines: readonly Baseline[]): void {
    for (const b of baselines) {
      this.sql.exec('INSERT INTO ab_baseline (test_id, key, arm, opens, clicks) VALUES (?, ?, ?, ?, ?)', testId, b.key, b.arm, b.opens, b.clicks);
    }
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
