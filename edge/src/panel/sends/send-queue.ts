/**
 * One object per workspace queues the panel's sends. Each send has an idempotency key (broadcast +
 * draft + variation, or A/B test + arm): enqueueing the same key again returns the send that exists,
 * so a double click, a retried request or a reloaded panel sends once. The alarm triggers
 * broadcasts through the App API no faster than one per broadcast per `broadcastIntervalMs` (and
 * within a share of the App limit), retrying 429/5xx with backoff; a "journey" send instead puts a
 * Customer.io event on each recipient through the workspace's outbox shards (the same throttle as
 * all sync). A/B tests split a segment into arms deterministically, send an arm each, read our
 * human opens and clicks since the send, and send the winner to the rest.
 *
 * This class only wires: storage is `send-store.ts`, the rules are the pure modules beside it, and
 * Customer.io is the gateway. Every time it decides or stores comes from `clock`; only the pacer
 * that spaces real calls to Customer.io sleeps in real time (Customer.io counts real seconds).
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '#edge/env.ts';
import { forgetWorkspace } from '#edge/platform/ttl-cache.ts';
import { type Clock, systemClock } from '#edge/platform/clock.ts';
import { type AbTestInput, type ReaderSummary, type Variation, sendKey, variationData, type SendRequest } from '#shared/panel.ts';
import type { AbTestView, SendMode, SendView, WelcomeView } from '#shared/panel-api.ts';
import { type CustomerIo, describeFailure } from '#edge/customerio/gateway.ts';
import { backoffMs } from '#edge/sync/pacing.ts';
import { workspaceCustomerIo } from '#edge/customerio/workspace-gateway.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { type IdentifierMode, cioIdentifier, identifiersOf } from '#shared/identity.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import { ulid } from '#edge/platform/ulid.ts';
import { directoryStub, shardStub } from '#edge/platform/stubs.ts';
import { Pacer } from '../pacer.ts';
import { type Refusal, refuse } from '../refusal.ts';
import { afterAttempt, findUnclearTrigger, isUnclear } from './delivery-state.ts';
import { type Baseline, abTestId, armLetter, armSendKey, assignArms, countResults, decide, restOf, restSendKey } from './ab-test.ts';
import { audienceOf, recipientsOf, tooManyRecipients } from './recipients.ts';
import { alarmFor, nextDue, wakeAt } from './schedule.ts';
import { journeyOps, journeyStep } from './journey.ts';
import { type SendRow, SendStore, type WelcomeRow } from './send-store.ts';
import { abTestView, sendView, welcomeView } from './views.ts';

const MAX_ATTEMPTS = 12;
/** How long one alarm keeps delivering before it hands over to the next (well inside Cloudflare's limits). */
const DRAIN_BUDGET_MS = 20_000;
/** A/B tests the panel lists. */
const AB_TESTS_LISTED = 20;

export class SendQueue extends DurableObject<Env> {
  clock: Clock = systemClock;
  private readonly store: SendStore;
  private readonly app = new Pacer();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new SendStore(ctx.storage.sql);
  }

  /** The workspace changed: this isolate's caches of it (settings, Customer.io gateway) read it afresh. */
  async forgetWorkspace(id: string): Promise<void> {
    forgetWorkspace(id);
  }

  // ---- sends -----------------------------------------------------------------------------------

  /** Queues each variation once; a key seen before returns the existing send untouched. */
  async enqueue(workspace: string, request: SendRequest): Promise<SendView[] | Refusal> {
    this.store.setWorkspace(workspace);
    const keys: string[] = [];
    for (const variation of request.variations) {
      const key = sendKey(request.broadcastId, request.draftId, variation.id);
      keys.push(key);
      if (this.store.hasSend(key)) continue;
      const segment = await this.directory(workspace).segment(variation.segmentId);
      const members = await this.directory(workspace).members(variation.segmentId);
      if (!segment || !members) return refuse(400, 'Invalid send', [{ path: `variations.${variation.id}.segmentId`, message: `no segment "${variation.segmentId}"` }]);
      const mode = await this.identifierMode(workspace);
      // Checked again after the awaits: a concurrent double click may have queued it meanwhile.
      if (this.store.hasSend(key)) continue;
      const refused = this.queue(key, request.broadcastId, request.mode, request.eventName, variation, segment.segment.name, members, null, mode);
      if (refused) return refused;
    }
    await this.wake();
    return keys.map((k) => sendView(this.store.sendByKey(k)!));
  }

  async list(limit = 50): Promise<SendView[]> {
    return this.store.recentSends(limit).map(sendView);
  }

  // ---- transactional welcome -------------------------------------------------------------------

  /** Once per reader key, whatever the replays: the directory calls this after the sign-up synced. */
  async enqueueWelcomes(workspace: string, messageId: number | string, readers: Array<{ key: string; email: string; data: Record<string, unknown> }>): Promise<void> {
    this.store.setWorkspace(workspace);
    const now = this.clock.now();
    for (const r of readers) this.store.insertWelcome({ ...r, messageId }, now);
    await this.wake();
  }

  async welcomes(limit = 50): Promise<WelcomeView[]> {
    return this.store.recentWelcomes(limit).map(welcomeView);
  }

  private async sendWelcome(cio: CustomerIo, row: WelcomeRow, mode: IdentifierMode): Promise<void> {
    const person = identifiersOf(cioIdentifier({ email: row.email, userId: null }, mode)!);
    const outcome = await cio.sendTransactional({ messageId: row.messageId, to: row.email, identifiers: person, data: row.data });
    const now = this.clock.now();
    this.store.recordWelcome(row.key, afterAttempt(row.attempts, outcome, MAX_ATTEMPTS, now), outcome.kind === 'ok' ? outcome.value.deliveryId : null, now);
  }

  // ---- A/B tests -------------------------------------------------------------------------------

  /** Idempotent by the panel's draft id: a double click starts one test. */
  async createAbTest(workspace: string, input: AbTestInput): Promise<AbTestView | Refusal> {
    this.store.setWorkspace(workspace);
    const id = abTestId(input.draftId);
    if (this.store.hasSend(armSendKey(id, 0))) return (await this.abTest(id))!;
    const detail = await this.directory(workspace).segment(input.segmentId);
    const members = await this.directory(workspace).members(input.segmentId);
    if (!detail || !members) return refuse(400, 'Invalid A/B test', [{ path: 'segmentId', message: `no segment "${input.segmentId}"` }]);
    const mode = await this.identifierMode(workspace);
    if (this.store.hasSend(armSendKey(id, 0))) return (await this.abTest(id))!;
    this.store.insertAbTest({ id, ...input }, this.clock.now());
    // Where each recipient's counters stood at the send: results count what happened after.
    const { perArm, baselines } = assignArms(id, members, input.arms.length, input.testShare);
    this.store.insertBaselines(id, baselines);
    input.arms.forEach((arm, i) => {
      this.queue(armSendKey(id, i), input.broadcastId, input.mode, 'sharpsend_send', { ...arm, segmentId: input.segmentId },
        `${detail.segment.name} · arm ${armLetter(i)}`, perArm[i]!, id, mode);
    });
    await this.wake();
    return (await this.abTest(id))!;
  }

  async abTests(): Promise<AbTestView[]> {
    const tests = await Promise.all(this.store.recentAbTestIds(AB_TESTS_LISTED).map((id) => this.abTest(id)));
    return tests.filter((t): t is AbTestView => t !== null);
  }

  async abTest(id: string): Promise<AbTestView | null> {
    const row = this.store.abTest(id);
    if (!row) return null;
    let results = row.results;
    if (row.status !== 'decided' || !results) {
      const baselines = this.store.baselines(id);
      results = countResults(baselines, await this.countersNow(baselines), row.arms.length);
    }
    return abTestView(row, results, this.store.sendsOfTest(id));
  }

  /** Picks the winner by WINNER_RULE and sends it to the segment's members who were in no arm. Once. */
  async decideAbTest(id: string): Promise<AbTestView | Refusal | null> {
    const row = this.store.abTest(id);
    if (!row) return null;
    if (row.status === 'decided') return this.abTest(id);
    const workspace = this.store.workspace()!;
    const baselines = this.store.baselines(id);
    const { results, winner } = decide(baselines, await this.countersNow(baselines), row.arms.length);
    if (winner === null) return refuse(409, 'No arm has recipients: there is no winner to pick');
    const members = await this.directory(workspace).members(row.segmentId);
    if (!members) return refuse(409, 'The test\'s segment was deleted: the winner has no audience');
    const rest = restOf(members, baselines);
    const detail = await this.directory(workspace).segment(row.segmentId);
    const mode = await this.identifierMode(workspace);
    if (this.store.hasSend(restSendKey(id))) return this.abTest(id);
    this.store.markDecided(id, winner, results, this.clock.now());
    this.queue(restSendKey(id), row.broadcastId, row.mode, 'sharpsend_send', { ...row.arms[winner]!, segmentId: row.segmentId },
      `${detail?.segment.name ?? 'segment'} · rest (winner ${armLetter(winner)})`, rest, id, mode);
    await this.wake();
    return this.abTest(id);
  }

  /** The test's recipients as the directory has them now (their counters against the baselines are the results). */
  private async countersNow(baselines: readonly Baseline[]): Promise<Map<string, ReaderSummary>> {
    const workspace = this.store.workspace();
    const current = workspace ? await this.directory(workspace).summaries(baselines.map((b) => b.key)) : [];
    return new Map(current.map((r) => [r.key, r]));
  }

  // ---- delivery (alarm) ------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    const workspace = this.store.workspace();
    const config = workspace ? await workspaceCustomerIo(this.env, workspace) : null;
    if (!workspace || !config) return;
    const { cio } = config;
    const appInterval = callIntervalMs(config.workspace.limits, 'app', 'sends');
    const broadcastInterval = config.workspace.limits.broadcastIntervalMs;
    const started = this.clock.now();
    while (this.clock.now() - started < DRAIN_BUDGET_MS) {
      const now = this.clock.now();
      const due = this.store.dueSends(now);
      // One trigger per broadcast per interval (Customer.io's limit): the rest of that broadcast waits.
      const row = nextDue(due, this.store.broadcastTimes(due), now);
      if (!row) {
        const welcome = this.store.dueWelcome(now);
        if (!welcome) break;
        await this.app.slot(appInterval);
        await this.sendWelcome(cio, welcome, config.workspace.identifierMode);
        continue;
      }
      if (row.mode === 'journey') {
        await this.sendJourney(workspace, row, config.workspace.sync.shards);
        continue;
      }
      await this.app.slot(appInterval);
      if (row.unclearAt !== null) {
        // The last attempt may have gone through: look before triggering again (no double send).
        const found = await this.reconcileUnclear(cio, row);
        if (found !== 'not_sent') continue;
        await this.app.slot(appInterval);
      }
      await this.trigger(cio, row, broadcastInterval);
    }
    await this.wake(true);
  }

  private async trigger(cio: CustomerIo, row: SendRow, broadcastInterval: number): Promise<void> {
    this.store.setBroadcastNextAt(row.broadcastId, this.clock.now() + broadcastInterval);
    const attemptAt = this.clock.now();
    const outcome = await cio.triggerBroadcast(row.broadcastId, variationData(row.variation), recipientsOf(this.store.audience(row.key)));
    const now = this.clock.now();
    const step = afterAttempt(row.attempts, outcome, MAX_ATTEMPTS, now);
    // A 429 means the broadcast's own limit: the broadcast's other sends wait out Retry-After too.
    if (step.status === 'retrying' && outcome.kind === 'retry' && outcome.status === 429) {
      this.store.setBroadcastNextAt(row.broadcastId, now + Math.max(step.waitMs, broadcastInterval));
    }
    this.store.recordTrigger(row.key, step, outcome.kind === 'ok' ? outcome.value.triggerId : null, isUnclear(outcome) ? attemptAt : null, now);
  }

  /**
   * After an unclear answer: did Customer.io take the trigger? If the broadcast's triggers show it,
   * the send is recorded as sent with that trigger; if the list cannot be read, the send waits and
   * asks again (never triggering blindly); otherwise it is triggered again.
   */
  private async reconcileUnclear(cio: CustomerIo, row: SendRow): Promise<'sent' | 'wait' | 'not_sent'> {
    const listed = await cio.broadcastTriggers(row.broadcastId);
    if (listed.kind !== 'ok') {
      const waitMs = backoffMs(Math.max(1, row.attempts), listed.kind === 'retry' ? listed.retryAfterMs : null);
      this.store.markWaiting(row.key, this.clock.now() + waitMs,
        `could not check whether the last trigger went through (${describeFailure(listed)}); it is checked again before any new trigger`);
      return 'wait';
    }
    const triggerId = findUnclearTrigger(listed.value, row.unclearAt!, this.store.triggerIds(row.broadcastId));
    if (triggerId === null) {
      this.store.clearUnclear(row.key);
      return 'not_sent';
    }
    this.store.markFoundSent(row.key, triggerId, this.clock.now());
    return 'sent';
  }

  /**
   * One step of a journey send: the next recipients' Customer.io events, through the outbox shards
   * (their throttle, their retries). The send stays due until every step is handed over.
   */
  private async sendJourney(workspace: string, row: SendRow, shards: number): Promise<void> {
    const step = journeyStep(this.store.audience(row.key), row.handedOver);
    const event = { sendKey: row.key, eventName: row.eventName, data: variationData(row.variation), timestamp: Math.floor(this.clock.now() / 1000) };
    for (const [shard, chunks] of journeyOps(step.recipients, event, shards, ulid)) {
      const stub = shardStub(this.env, workspace, shard);
      for (const ops of chunks) await stub.enqueueOps(workspace, ops);
    }
    this.store.markHandedOver(row.key, step.handedOver, step.done, this.clock.now());
  }

  // ---- internals -------------------------------------------------------------------------------

  /** How the workspace's Customer.io names people (shared/identity.ts), as the audience is stored. */
  private async identifierMode(workspace: string): Promise<IdentifierMode> {
    return (await edgeWorkspace(this.env, workspace))?.identifierMode ?? 'email_or_id';
  }

  /** Stores a send for these members (refused when a broadcast trigger could not carry them all). */
  private queue(key: string, broadcastId: number, mode: SendMode, eventName: string, variation: Variation,
    segmentName: string, members: ReaderSummary[], abTest: string | null, identifiers: IdentifierMode): Refusal | null {
    const audience = audienceOf(members, identifiers);
    const tooMany = tooManyRecipients(mode, audience.length);
    if (tooMany) return refuse(422, tooMany);
    this.store.insertSend({ key, broadcastId, mode, eventName, variation, segmentName, audience, abTest }, this.clock.now());
    return null;
  }

  /** Sets the alarm for the earliest pending send or welcome (the alarm handler always sets its next one). */
  private async wake(fromAlarm = false): Promise<void> {
    const pending = this.store.pendingSends();
    const at = wakeAt(pending, this.store.broadcastTimes(pending), this.store.nextWelcomeAt());
    if (at === null) return;
    const alarm = alarmFor(at, this.clock.now(), await this.ctx.storage.getAlarm(), fromAlarm);
    if (alarm !== null) await this.ctx.storage.setAlarm(alarm);
  }

  private directory(workspace: string) {
    return directoryStub(this.env, workspace);
  }
}
