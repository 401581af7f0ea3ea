/**
 * One object per workspace queues the panel's sends. Each send has an idempotency key (broadcast +
 * draft + variation, or A/B test + arm): enqueueing the same key again returns the send that exists,
 * so a double click, a retried request or a reloaded panel sends once. The alarm triggers
 * broadcasts through the App API no faster than one per broadcast per `broadcastIntervalMs` (and
 * within a share of the App limit), retrying 429/5xx with backoff; a "journey" send instead puts a
 * Customer.io event on each recipient through the workspace's outbox shards (the same throttle as
 * all sync). A/B tests split a segment into arms deterministically, send an arm each, read our
 * human opens and clicks since the send, and send the winner to the rest.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '#edge/env.ts';
import { forgetWorkspace } from '#edge/platform/ttl-cache.ts';
import {
  type AbTestInput, type ArmResult, type ReaderSummary, type Variation, WINNER_RULE, abArm, cioIdentifier, pickWinner, sendKey, variationData,
  type SendRequest,
} from '#shared/panel.ts';
import type { AbTestView, SendStatus, SendView, WelcomeView } from '#shared/panel-api.ts';
import { type CustomerIo, type Recipients, describeFailure } from '#edge/customerio/gateway.ts';
import { backoffMs } from '#edge/sync/pacing.ts';
import { workspaceCustomerIo } from '#edge/customerio/workspace-gateway.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import type { V2Operation } from '#edge/customerio/batch.ts';
import { afterAttempt, findUnclearTrigger, isUnclear } from './delivery-state.ts';
import { ulid } from '#edge/platform/ulid.ts';
import { shardOf } from '#edge/readers/names.ts';
import { Pacer } from '../pacer.ts';
import { type Refusal, refuse } from '../refusal.ts';
import { directoryStub, shardStub } from '#edge/platform/stubs.ts';


type Row = Record<string, SqlStorageValue>;
interface Recipient { key: string; idType: 'id' | 'email'; value: string }

const MAX_RECIPIENTS = 10_000; // Customer.io's cap on ids / emails / per_user_data per trigger
const OPS_PER_ROW = 50;
const MAX_ATTEMPTS = 12;
const DRAIN_BUDGET_MS = 20_000;

export class SendQueue extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly app = new Pacer();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS sends (key TEXT PRIMARY KEY, broadcast_id INTEGER NOT NULL, mode TEXT NOT NULL, event_name TEXT NOT NULL,
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
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    `);
    // Added after v2 shipped: when a trigger's last attempt had an unclear answer (storage made
    // before it has no such column).
    if (!this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('sends')").toArray().some((c) => c.name === 'unclear_at')) {
      this.sql.exec('ALTER TABLE sends ADD COLUMN unclear_at INTEGER');
    }
  }
  /** The workspace changed: this isolate's caches of it (settings, Customer.io gateway) read it afresh. */
  async forgetWorkspace(id: string): Promise<void> {
    forgetWorkspace(id);
  }


  // ---- sends -----------------------------------------------------------------------------------

  /** Queues each variation once; a key seen before returns the existing send untouched. */
  async enqueue(workspace: string, request: SendRequest): Promise<SendView[] | Refusal> {
    this.setMeta('workspace', workspace);
    const keys: string[] = [];
    for (const variation of request.variations) {
      const key = sendKey(request.broadcastId, request.draftId, variation.id);
      keys.push(key);
      if (this.exists(key)) continue;
      const segment = await this.directory(workspace).segment(variation.segmentId);
      const members = await this.directory(workspace).members(variation.segmentId);
      if (!segment || !members) return refuse(400, 'Invalid send', [{ path: `variations.${variation.id}.segmentId`, message: `no segment "${variation.segmentId}"` }]);
      // Checked again after the awaits: a concurrent double click may have queued it meanwhile.
      if (this.exists(key)) continue;
      const refused = this.insert(key, request.broadcastId, request.mode, request.eventName, variation, segment.segment.name, members, null);
      if (refused) return refused;
    }
    await this.wake();
    return keys.map((k) => this.sendView(k)!);
  }

  async list(limit = 50): Promise<SendView[]> {
    return this.sql.exec<Row>('SELECT * FROM sends ORDER BY created_at DESC LIMIT ?', limit).toArray().map(toSendView);
  }

  // ---- transactional welcome -------------------------------------------------------------------

  /** Once per reader key, whatever the replays: the directory calls this after the sign-up synced. */
  async enqueueWelcomes(workspace: string, messageId: number | string, readers: Array<{ key: string; email: string; data: Record<string, unknown> }>): Promise<void> {
    this.setMeta('workspace', workspace);
    for (const r of readers) {
      this.sql.exec(`INSERT OR IGNORE INTO welcomes (key, email, message_id, data, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)`,
        r.key, r.email, JSON.stringify(messageId), JSON.stringify(r.data), Date.now());
    }
    await this.wake();
  }

  async welcomes(limit = 50): Promise<WelcomeView[]> {
    return this.sql.exec<Row>('SELECT * FROM welcomes ORDER BY created_at DESC LIMIT ?', limit).toArray().map((row) => ({
      email: row.email as string, status: row.status as SendStatus, attempts: row.attempts as number,
      deliveryId: (row.delivery_id as string | null) ?? null, error: (row.error as string | null) ?? null,
      createdAt: row.created_at as number, sentAt: (row.sent_at as number | null) ?? null,
    }));
  }

  private async sendWelcome(cio: CustomerIo, row: Row): Promise<void> {
    const outcome = await cio.sendTransactional({
      messageId: JSON.parse(row.message_id as string) as string | number,
      to: row.email as string,
      identifiers: { email: row.email as string },
      data: JSON.parse(row.data as string) as Record<string, unknown>,
    });
    const step = afterAttempt(row.attempts as number, outcome, MAX_ATTEMPTS, Date.now());
    if (step.status === 'sent') {
      const deliveryId = outcome.kind === 'ok' ? outcome.value.deliveryId : null;
      this.sql.exec("UPDATE welcomes SET status = 'sent', attempts = ?, delivery_id = ?, error = NULL, sent_at = ? WHERE key = ?", step.attempts, deliveryId, Date.now(), row.key);
    } else if (step.status === 'retrying') {
      this.sql.exec("UPDATE welcomes SET status = 'retrying', attempts = ?, next_at = ?, error = ? WHERE key = ?", step.attempts, step.nextAt, step.error, row.key);
    } else {
      this.sql.exec("UPDATE welcomes SET status = 'failed', attempts = ?, error = ? WHERE key = ?", step.attempts, step.error, row.key);
    }
  }

  // ---- A/B tests -------------------------------------------------------------------------------

  /** Idempotent by the panel's draft id: a double click starts one test. */
  async createAbTest(workspace: string, input: AbTestInput): Promise<AbTestView | Refusal> {
    this.setMeta('workspace', workspace);
    const id = `ab_${input.draftId}`;
    if (this.exists(`ab:${id}:arm0`)) return (await this.abTest(id))!;
    const detail = await this.directory(workspace).segment(input.segmentId);
    const members = await this.directory(workspace).members(input.segmentId);
    if (!detail || !members) return refuse(400, 'Invalid A/B test', [{ path: 'segmentId', message: `no segment "${input.segmentId}"` }]);
    if (this.exists(`ab:${id}:arm0`)) return (await this.abTest(id))!;
    const now = Date.now();
    this.sql.exec(
      'INSERT INTO ab_tests (id, name, segment_id, broadcast_id, mode, test_share, arms, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      id, input.name, input.segmentId, input.broadcastId, input.mode, input.testShare, JSON.stringify(input.arms), 'testing', now,
    );
    const perArm: ReaderSummary[][] = input.arms.map(() => []);
    for (const reader of members) {
      const arm = abArm(id, reader.key, input.arms.length, input.testShare);
      if (arm < 0) continue;
      perArm[arm]!.push(reader);
      // Where each recipient's counters stood at the send: results count what happened after.
      this.sql.exec('INSERT INTO ab_baseline (test_id, key, arm, opens, clicks) VALUES (?, ?, ?, ?, ?)',
        id, reader.key, arm, reader.counters.opens ?? 0, reader.counters.clicks ?? 0);
    }
    input.arms.forEach((arm, i) => {
      this.insert(`ab:${id}:arm${i}`, input.broadcastId, input.mode, 'sharpsend_send', { ...arm, segmentId: input.segmentId },
        `${detail.segment.name} · arm ${String.fromCharCode(65 + i)}`, perArm[i]!, id);
    });
    await this.wake();
    return (await this.abTest(id))!;
  }

  async abTests(): Promise<AbTestView[]> {
    const ids = this.sql.exec<{ id: string }>('SELECT id FROM ab_tests ORDER BY created_at DESC LIMIT 20').toArray();
    return (await Promise.all(ids.map((r) => this.abTest(r.id)))).filter((t): t is AbTestView => t !== null);
  }

  async abTest(id: string): Promise<AbTestView | null> {
    const row = this.sql.exec<Row>('SELECT * FROM ab_tests WHERE id = ?', id).toArray()[0];
    if (!row) return null;
    const arms = JSON.parse(row.arms as string) as AbTestView['arms'];
    const decided = row.status === 'decided';
    const results = decided ? (JSON.parse(row.results as string) as ArmResult[]) : await this.results(id, arms.length);
    const sends = this.sql.exec<Row>('SELECT * FROM sends WHERE ab_test = ? ORDER BY key', id).toArray().map(toSendView);
    const rest = sends.find((s) => s.key.endsWith(':rest'))?.recipients ?? null;
    return {
      id, name: row.name as string, segmentId: row.segment_id as string, broadcastId: row.broadcast_id as number,
      mode: row.mode as 'broadcast' | 'journey', testShare: row.test_share as number, arms,
      status: row.status as 'testing' | 'decided', winner: (row.winner as number | null) ?? null, rule: WINNER_RULE,
      results, rest, sends, createdAt: row.created_at as number, decidedAt: (row.decided_at as number | null) ?? null,
    };
  }

  /** Picks the winner by WINNER_RULE and sends it to the segment's members who were in no arm. Once. */
  async decideAbTest(id: string): Promise<AbTestView | Refusal | null> {
    const row = this.sql.exec<Row>('SELECT * FROM ab_tests WHERE id = ?', id).toArray()[0];
    if (!row) return null;
    if (row.status === 'decided') return this.abTest(id);
    const workspace = this.getMeta('workspace')!;
    const arms = JSON.parse(row.arms as string) as AbTestView['arms'];
    const results = await this.results(id, arms.length);
    const winner = pickWinner(results);
    if (winner === null) return refuse(409, 'No arm has recipients: there is no winner to pick');
    const members = await this.directory(workspace).members(row.segment_id as string);
    if (!members) return refuse(409, 'The test\'s segment was deleted: the winner has no audience');
    const tested = new Set(this.sql.exec<{ key: string }>('SELECT key FROM ab_baseline WHERE test_id = ?', id).toArray().map((r) => r.key));
    const rest = members.filter((r) => !tested.has(r.key));
    const detail = await this.directory(workspace).segment(row.segment_id as string);
    if (this.exists(`ab:${id}:rest`)) return this.abTest(id);
    this.sql.exec('UPDATE ab_tests SET status = ?, winner = ?, results = ?, decided_at = ? WHERE id = ?',
      'decided', winner, JSON.stringify(results), Date.now(), id);
    this.insert(`ab:${id}:rest`, row.broadcast_id as number, row.mode as 'broadcast' | 'journey', 'sharpsend_send',
      { ...arms[winner]!, segmentId: row.segment_id as string }, `${detail?.segment.name ?? 'segment'} · rest (winner ${String.fromCharCode(65 + winner)})`, rest, id);
    await this.wake();
    return this.abTest(id);
  }

  /** Unique recipients per arm whose human opens (clicks) grew since the send, from the directory. */
  private async results(id: string, armCount: number): Promise<ArmResult[]> {
    const baseline = this.sql.exec<{ key: string; arm: number; opens: number; clicks: number }>(
      'SELECT key, arm, opens, clicks FROM ab_baseline WHERE test_id = ?', id).toArray();
    const results: ArmResult[] = Array.from({ length: armCount }, (_, arm) => ({ arm, recipients: 0, humanOpens: 0, clicks: 0 }));
    const workspace = this.getMeta('workspace');
    const now = new Map(workspace ? (await this.directory(workspace).summaries(baseline.map((b) => b.key))).map((r) => [r.key, r]) : []);
    for (const b of baseline) {
      const result = results[b.arm]!;
      result.recipients++;
      const current = now.get(b.key);
      if ((current?.counters.opens ?? 0) > b.opens) result.humanOpens++;
      if ((current?.counters.clicks ?? 0) > b.clicks) result.clicks++;
    }
    return results;
  }

  // ---- delivery (alarm) ------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    const workspace = this.getMeta('workspace');
    const config = workspace ? await workspaceCustomerIo(this.env, workspace) : null;
    if (!workspace || !config) return;
    const { cio } = config;
    const appInterval = callIntervalMs(config.workspace.limits, 'app', 'sends');
    const broadcastInterval = config.workspace.limits.broadcastIntervalMs;
    const started = Date.now();
    while (Date.now() - started < DRAIN_BUDGET_MS) {
      const now = Date.now();
      const due = this.sql.exec<Row>("SELECT * FROM sends WHERE status IN ('queued', 'retrying') AND next_at <= ? ORDER BY created_at, key", now).toArray();
      // One trigger per broadcast per interval (Customer.io's limit): the rest of that broadcast waits.
      const row = due.find((r) => r.mode === 'journey' || Number(this.getMeta(`broadcast_next:${r.broadcast_id}`) ?? 0) <= now);
      if (!row) {
        const welcome = this.sql.exec<Row>("SELECT * FROM welcomes WHERE status IN ('queued', 'retrying') AND next_at <= ? ORDER BY created_at LIMIT 1", now).toArray()[0];
        if (!welcome) break;
        await this.app.slot(appInterval);
        await this.sendWelcome(cio, welcome);
        continue;
      }
      if (row.mode === 'journey') {
        await this.sendJourney(workspace, row);
        continue;
      }
      await this.app.slot(appInterval);
      if (row.unclear_at !== null && row.unclear_at !== undefined) {
        // The last attempt may have gone through: look before triggering again (no double send).
        const found = await this.reconcileUnclear(cio, row);
        if (found !== 'not_sent') continue;
        await this.app.slot(appInterval);
      }
      this.setMeta(`broadcast_next:${row.broadcast_id}`, String(Date.now() + broadcastInterval));
      const audience = JSON.parse(row.audience as string) as Recipient[];
      const variation = JSON.parse(row.variation as string) as Variation;
      const attemptAt = Date.now();
      const outcome = await cio.triggerBroadcast(row.broadcast_id as number, variationData(variation), recipientsOf(audience));
      const step = afterAttempt(row.attempts as number, outcome, MAX_ATTEMPTS, Date.now());
      this.sql.exec('UPDATE sends SET unclear_at = ? WHERE key = ?', isUnclear(outcome) ? attemptAt : null, row.key);
      if (step.status === 'sent') {
        const triggerId = outcome.kind === 'ok' ? outcome.value.triggerId : null;
        this.sql.exec("UPDATE sends SET status = 'sent', attempts = ?, trigger_id = ?, error = NULL, sent_at = ? WHERE key = ?", step.attempts, triggerId, Date.now(), row.key);
      } else if (step.status === 'retrying') {
        if (outcome.kind === 'retry' && outcome.status === 429) this.setMeta(`broadcast_next:${row.broadcast_id}`, String(Date.now() + Math.max(step.waitMs, broadcastInterval)));
        this.sql.exec("UPDATE sends SET status = 'retrying', attempts = ?, next_at = ?, error = ? WHERE key = ?", step.attempts, step.nextAt, step.error, row.key);
      } else {
        this.sql.exec("UPDATE sends SET status = 'failed', attempts = ?, error = ? WHERE key = ?", step.attempts, step.error, row.key);
      }
    }
    await this.wake(true);
  }

  /**
   * After an unclear answer: did Customer.io take the trigger? If the broadcast's triggers show it,
   * the send is recorded as sent with that trigger; if the list cannot be read, the send waits and
   * asks again (never triggering blindly); otherwise it is triggered again.
   */
  private async reconcileUnclear(cio: CustomerIo, row: Row): Promise<'sent' | 'wait' | 'not_sent'> {
    const listed = await cio.broadcastTriggers(row.broadcast_id as number);
    if (listed.kind !== 'ok') {
      const waitMs = backoffMs(Math.max(1, row.attempts as number), listed.kind === 'retry' ? listed.retryAfterMs : null);
      this.sql.exec("UPDATE sends SET status = 'retrying', next_at = ?, error = ? WHERE key = ?", Date.now() + waitMs,
        `could not check whether the last trigger went through (${describeFailure(listed)}); it is checked again before any new trigger`, row.key);
      return 'wait';
    }
    const known = new Set(this.sql.exec<{ trigger_id: number }>('SELECT trigger_id FROM sends WHERE broadcast_id = ? AND trigger_id IS NOT NULL', row.broadcast_id)
      .toArray().map((r) => r.trigger_id));
    const triggerId = findUnclearTrigger(listed.value, row.unclear_at as number, known);
    if (triggerId === null) {
      this.sql.exec('UPDATE sends SET unclear_at = NULL WHERE key = ?', row.key);
      return 'not_sent';
    }
    this.sql.exec("UPDATE sends SET status = 'sent', trigger_id = ?, unclear_at = NULL, error = NULL, sent_at = ? WHERE key = ?", triggerId, Date.now(), row.key);
    return 'sent';
  }

  /** A journey send: one Customer.io event per recipient, through the outbox shards (their throttle, their retries). */
  private async sendJourney(workspace: string, row: Row): Promise<void> {
    const config = await workspaceCustomerIo(this.env, workspace);
    const shards = config?.workspace.sync.shards ?? 4;
    const audience = JSON.parse(row.audience as string) as Recipient[];
    const data = variationData(JSON.parse(row.variation as string) as Variation);
    const timestamp = Math.floor(Date.now() / 1000);
    const perShard = new Map<number, V2Operation[]>();
    for (const r of audience) {
      const shard = shardOf(r.key, shards);
      const op: V2Operation = { type: 'person', action: 'event', identifiers: { [r.idType]: r.value }, id: ulid(), name: row.event_name as string, timestamp, attributes: { ...data, send: row.key } };
      perShard.set(shard, [...(perShard.get(shard) ?? []), op]);
    }
    for (const [shard, ops] of perShard) {
      const stub = shardStub(this.env, workspace, shard);
      for (let i = 0; i < ops.length; i += OPS_PER_ROW) await stub.enqueueOps(workspace, ops.slice(i, i + OPS_PER_ROW));
    }
    this.sql.exec("UPDATE sends SET status = 'sent', attempts = attempts + 1, error = NULL, sent_at = ? WHERE key = ?", Date.now(), row.key);
  }

  // ---- internals -------------------------------------------------------------------------------

  private insert(key: string, broadcastId: number, mode: 'broadcast' | 'journey', eventName: string, variation: Variation,
    segmentName: string, members: ReaderSummary[], abTest: string | null): Refusal | null {
    const audience: Recipient[] = [];
    for (const m of members) {
      const ident = cioIdentifier(m);
      if (ident) audience.push({ key: m.key, ...ident });
    }
    if (mode === 'broadcast' && audience.length > MAX_RECIPIENTS) {
      return refuse(422, `A broadcast trigger takes at most ${MAX_RECIPIENTS} recipients; this segment has ${audience.length}. Use a journey send instead.`);
    }
    const empty = audience.length === 0;
    this.sql.exec(
      `INSERT INTO sends (key, broadcast_id, mode, event_name, variation, segment_name, audience, recipients, status, error, ab_test, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      key, broadcastId, mode, eventName, JSON.stringify(variation), segmentName, JSON.stringify(audience), audience.length,
      empty ? 'failed' : 'queued', empty ? 'the segment has no members: nothing was sent' : null, abTest, Date.now(),
    );
    return null;
  }

  private exists(key: string): boolean {
    return this.sql.exec('SELECT 1 FROM sends WHERE key = ?', key).toArray().length > 0;
  }

  private sendView(key: string): SendView | null {
    const row = this.sql.exec<Row>('SELECT * FROM sends WHERE key = ?', key).toArray()[0];
    return row ? toSendView(row) : null;
  }

  private async wake(fromAlarm = false): Promise<void> {
    const rows = this.sql.exec<Row>("SELECT broadcast_id, mode, next_at FROM sends WHERE status IN ('queued', 'retrying')").toArray();
    const welcomeAt = this.sql.exec<{ at: number | null }>("SELECT MIN(next_at) AS at FROM welcomes WHERE status IN ('queued', 'retrying')").one().at;
    if (!rows.length && welcomeAt === null) return;
    const at = Math.min(welcomeAt ?? Infinity, ...rows.map((r) => Math.max(r.next_at as number,
      r.mode === 'journey' ? 0 : Number(this.getMeta(`broadcast_next:${r.broadcast_id}`) ?? 0))));
    const current = await this.ctx.storage.getAlarm();
    if (fromAlarm || current === null || current > at) await this.ctx.storage.setAlarm(Math.max(at, Date.now()));
  }

  private directory(workspace: string) {
    return directoryStub(this.env, workspace);
  }

  private getMeta(k: string): string | null {
    return this.sql.exec<{ v: string }>('SELECT v FROM meta WHERE k = ?', k).toArray()[0]?.v ?? null;
  }

  private setMeta(k: string, v: string): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)', k, v);
  }
}

/** One audience form, as Customer.io requires: emails, ids, or per-person rows when they are mixed. */
function recipientsOf(audience: Recipient[]): Recipients {
  if (audience.every((r) => r.idType === 'email')) return { emails: audience.map((r) => r.value), email_ignore_missing: true };
  if (audience.every((r) => r.idType === 'id')) return { ids: audience.map((r) => r.value), id_ignore_missing: true };
  return { per_user_data: audience.map((r) => ({ [r.idType]: r.value, data: {} })), id_ignore_missing: true, email_ignore_missing: true };
}

/** The draft id inside a send key made by `sendKey` (`b<broadcast>:<draft>:<variation>`). */
const draftOf = (key: string): string | null => /^b\d+:([^:]+):/.exec(key)?.[1] ?? null;

function toSendView(row: Row): SendView {
  const status = row.status as SendStatus;
  return {
    key: row.key as string,
    draftId: (row.ab_test as string | null) ? null : draftOf(row.key as string),
    broadcastId: row.broadcast_id as number,
    mode: row.mode as 'broadcast' | 'journey',
    variation: JSON.parse(row.variation as string) as SendView['variation'],
    segmentName: row.segment_name as string,
    recipients: row.recipients as number,
    status,
    attempts: row.attempts as number,
    triggerId: (row.trigger_id as number | null) ?? null,
    error: (row.error as string | null) ?? null,
    nextAttemptAt: status === 'retrying' ? (row.next_at as number) : null,
    abTest: (row.ab_test as string | null) ?? null,
    createdAt: row.created_at as number,
    sentAt: (row.sent_at as number | null) ?? null,
  };
}
