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
import { type AbTestInput, pickWinner, sendKey, variationData, type SendPreviewRequest, type SendRequest, type TestSendRequest } from '#shared/panel.ts';
import type { AbTestView, SendPreview, SendResults, SendView, TestSendResult, WelcomeView } from '#shared/panel-api.ts';
import { type CustomerIo, describeFailure } from '#edge/customerio/gateway.ts';
import { backoffMs } from '#edge/sync/pacing.ts';
import { workspaceCustomerIo } from '#edge/customerio/workspace-gateway.ts';
import { type IdentifierMode, cioIdentifier, identifiersOf } from '#shared/identity.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import { ulid } from '#edge/platform/ulid.ts';
import { directoryStub, readerStub, shardStub } from '#edge/platform/stubs.ts';
import { Pacer } from '../pacer.ts';
import { type Refusal, refuse } from '../refusal.ts';
import { afterAttempt, findUnclearTrigger, isUnclear } from './delivery-state.ts';
import { abTestId, armLetter, armSendKey, restSendKey } from './ab-test.ts';
import { outcomeOf } from './attribution.ts';
import { MAX_RECIPIENTS, mirrorFilters, recipientsOf } from './recipients.ts';
import { alarmFor, nextDue, wakeAt } from './schedule.ts';
import { JOURNEY_STEP, journeyOps, journeyStep } from './journey.ts';
import { type AbTestRow, type Claim, type SendRow, SendStore, type WelcomeRow } from './send-store.ts';
import { fnv1a } from '#shared/crypto.ts';
import type { EmailLedger } from '#shared/email/ledger.ts';
import { abTestView, sendView, welcomeView } from './views.ts';

const MAX_ATTEMPTS = 12;
/** How long one alarm keeps delivering before it hands over to the next (well inside Cloudflare's limits). */
const DRAIN_BUDGET_MS = 20_000;
/** A/B tests the panel lists. */
const AB_TESTS_LISTED = 20;
/** Members read from the directory per step while a send's audience is built (the directory's page cap). */
const BUILD_PAGE = 1_000;
/** A/B recount: readers looked at per step, reader objects asked at once, and how often a running test is recounted. */
const SCAN_PAGE = 100;
const SCAN_PARALLEL = 10;
const SCAN_EVERY_MS = 60_000;
/** A test's results shown in the panel are at most about this old (the panel asks; the alarm recounts). */
const FRESH_MS = 5_000;
/** Sends' own results are counted (when the panel asks, at most every FRESH_MS) for a week after they went out. */
const RESULTS_FOR_MS = 7 * 86_400_000;

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

  /**
   * Queues each variation once; a key seen before returns the existing send untouched. The
   * variations' distinct audience is counted in SQL by the directory now; the members themselves
   * are read by the alarm in pages (any segment size), or, when every segment's Customer.io mirror
   * is in sync, each variation goes as one trigger with the mirror as its audience filter.
   */
  async enqueue(workspace: string, request: SendRequest): Promise<SendView[] | Refusal> {
    this.store.setWorkspace(workspace);
    const keys = request.variations.map((v) => sendKey(request.broadcastId, request.draftId, v.id));
    if (!keys.every((k) => this.store.hasSend(k))) {
      const audience = await this.directory(workspace).distinctAudience(request.variations.map((v) => v.segmentId));
      const unknown = request.variations.find((v) => audience.unknown.includes(v.segmentId));
      if (unknown) return refuse(400, 'Invalid send', [{ path: `variations.${unknown.id}.segmentId`, message: `no segment "${unknown.segmentId}"` }]);
      // A segment whose rule is still being evaluated has only part of its members: sending now would miss readers.
      const counting = audience.segments.find((x) => x?.evaluating);
      if (counting?.evaluating) {
        return refuse(409, `Segment "${counting.name}" is still being counted (${counting.evaluating.done} of ${counting.evaluating.total} readers looked at): send once it is done`);
      }
      const filters = request.mode === 'broadcast' ? mirrorFilters(audience.segments) : null;
      const grp = `b${request.broadcastId}:${request.draftId}`;
      // Checked again after the await: a concurrent double click may have queued it meanwhile.
      request.variations.forEach((variation, i) => {
        if (this.store.hasSend(keys[i]!)) return;
        this.store.insertSend({
          key: keys[i]!, grp, position: i, segmentId: variation.segmentId, broadcastId: request.broadcastId, mode: request.mode,
          eventName: request.eventName, variation, segmentName: audience.segments[i]!.name, abTest: null,
          expected: audience.perVariation[i]!, filter: filters?.[i] ?? null,
        }, this.clock.now());
      });
      await this.wake();
    }
    return keys.map((k) => this.view(this.store.sendByKey(k)!));
  }

  /** Before sending: the distinct readers per variation (first variation wins) and in total, and how it would go. */
  async preview(workspace: string, request: SendPreviewRequest): Promise<SendPreview | Refusal> {
    const audience = await this.directory(workspace).distinctAudience(request.variations.map((v) => v.segmentId));
    const unknown = request.variations.find((v) => audience.unknown.includes(v.segmentId));
    if (unknown) return refuse(400, 'Invalid send', [{ path: `variations.${unknown.id}.segmentId`, message: `no segment "${unknown.segmentId}"` }]);
    const filters = request.mode === 'broadcast' ? mirrorFilters(audience.segments) : null;
    return {
      variations: request.variations.map((v, i) => ({ id: v.id, segmentId: v.segmentId, segmentName: audience.segments[i]!.name, readers: audience.perVariation[i]! })),
      total: audience.total,
      via: request.mode === 'journey' ? 'journey' : filters ? 'segment' : 'chunks',
      triggers: request.mode === 'journey' ? 0 : filters ? request.variations.length : audience.perVariation.reduce((n, r) => n + Math.ceil(r / MAX_RECIPIENTS), 0),
    };
  }

  /**
   * "Send a test to me": the variation through the same broadcast to one address only
   * (`emails: [address]`, without email_ignore_missing, so an address that is not a Customer.io
   * person is Customer.io's clear 422 rather than a silent nothing). It is no send: not queued, no
   * idempotency key, never in the send list, its trigger kept apart (never mistaken for a real
   * send's unclear trigger). It takes the broadcast's slot like any trigger, so a real send waits
   * out the interval after it; within the interval the answer is a 409 saying when to try.
   */
  async sendTest(workspace: string, input: TestSendRequest): Promise<TestSendResult | Refusal> {
    this.store.setWorkspace(workspace);
    const config = await workspaceCustomerIo(this.env, workspace);
    if (!config) return refuse(409, 'This workspace has no Customer.io credentials');
    const waitMs = this.store.broadcastNextAt(input.broadcastId) - this.clock.now();
    if (waitMs > 0) return refuse(409, `Broadcast #${input.broadcastId} was triggered moments ago: try the test again in ${Math.ceil(waitMs / 1000)} s`);
    this.store.setBroadcastNextAt(input.broadcastId, this.clock.now() + config.workspace.limits.broadcastIntervalMs);
    await this.app.slot(callIntervalMs(config.workspace.limits, 'app', 'sends'));
    const outcome = await config.cio.triggerBroadcast(input.broadcastId, { ...variationData(input.variation), test: true }, { emails: [input.email] });
    // Counted again from the answer: Customer.io's interval runs from when it took the trigger, after the pacer's wait.
    this.store.setBroadcastNextAt(input.broadcastId, this.clock.now() + config.workspace.limits.broadcastIntervalMs);
    const triggerId = outcome.kind === 'ok' ? outcome.value.triggerId : null;
    this.store.recordTestSend(input.broadcastId, input.email, input.variation.id, triggerId, outcome.kind === 'ok' ? null : describeFailure(outcome), this.clock.now());
    await this.wake();
    if (outcome.kind !== 'ok') {
      return refuse(outcome.kind === 'retry' && outcome.status === 429 ? 409 : 422, `Customer.io did not take the test send (${describeFailure(outcome)})`);
    }
    return { email: input.email, triggerId, variation: input.variation.id };
  }

  async list(limit = 50): Promise<SendView[]> {
    return this.store.recentSends(limit).map((r) => this.view(r));
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

  /**
   * Idempotent by the panel's draft id: a double click starts one test. The alarm reads the
   * segment's members in pages and then splits them exactly (see SendStore.assignArms).
   */
  async createAbTest(workspace: string, input: AbTestInput): Promise<AbTestView | Refusal> {
    this.store.setWorkspace(workspace);
    const id = abTestId(input.draftId);
    if (this.store.hasSend(armSendKey(id, 0))) return (await this.abTest(id))!;
    const detail = await this.directory(workspace).segment(input.segmentId);
    if (!detail) return refuse(400, 'Invalid A/B test', [{ path: 'segmentId', message: `no segment "${input.segmentId}"` }]);
    const counting = detail.segment.evaluating;
    if (counting) return refuse(409, `Segment "${detail.segment.name}" is still being counted (${counting.done} of ${counting.total} readers looked at): start the test once it is done`);
    if (this.store.hasSend(armSendKey(id, 0))) return (await this.abTest(id))!;
    this.store.insertAbTest({ id, ...input, autoDecideMs: input.autoDecideHours === null ? null : Math.round(input.autoDecideHours * 3_600_000) }, this.clock.now());
    input.arms.forEach((arm, i) => {
      this.store.insertSend({
        key: armSendKey(id, i), grp: id, position: i, segmentId: i === 0 ? input.segmentId : null, broadcastId: input.broadcastId, mode: input.mode,
        eventName: 'sharpsend_send', variation: { ...arm, segmentId: input.segmentId }, segmentName: `${detail.segment.name} · arm ${armLetter(i)}`,
        abTest: id, expected: 0,
      }, this.clock.now());
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
    const results = row.status === 'decided' && row.results ? row.results : this.store.armResults(id, row.arms.length);
    // Someone is looking: a count older than FRESH_MS is redone at the next alarm rather than at the minute.
    const now = this.clock.now();
    if (row.status === 'testing' && row.countedAt !== null && row.countedAt < now - FRESH_MS && (row.nextScanAt ?? 0) > now) {
      this.store.setScan(id, null, row.countedAt, now);
      await this.wake();
    }
    return abTestView(row, results, this.store.sendsOfTest(id));
  }

  /**
   * Picks the winner by WINNER_RULE from the results as last counted (the test's own deliveries)
   * and sends it to the segment's readers who were in no arm (as read at the start). Once.
   */
  async decideAbTest(id: string): Promise<AbTestView | Refusal | null> {
    const row = this.store.abTest(id);
    if (!row) return null;
    if (row.status === 'decided') return this.abTest(id);
    if (this.store.sendsOfTest(id).some((s) => !s.built)) return refuse(409, 'The test\'s arms are still being prepared: decide once they are sent');
    const results = this.store.armResults(id, row.arms.length);
    const winner = pickWinner(results);
    if (winner === null) return refuse(409, 'No arm has recipients: there is no winner to pick');
    if (this.store.hasSend(restSendKey(id))) return this.abTest(id);
    const arm0 = this.store.sendByKey(armSendKey(id, 0));
    const segmentName = arm0?.segmentName.replace(/ · arm A$/, '') ?? 'segment';
    this.store.markDecided(id, winner, results, this.clock.now());
    this.store.insertSend({
      key: restSendKey(id), grp: id, position: row.arms.length, segmentId: row.segmentId, broadcastId: row.broadcastId, mode: row.mode,
      eventName: 'sharpsend_send', variation: { ...row.arms[winner]!, segmentId: row.segmentId },
      segmentName: `${segmentName} · rest (winner ${armLetter(winner)})`, abTest: id, claimed: true,
    }, this.clock.now());
    await this.wake();
    return this.abTest(id);
  }

  /** What each reader's email ledger holds about the broadcast (its campaign); undefined for none, or a reader that could not be reached. */
  private broadcastLedgers(workspace: string, keys: readonly string[], broadcastId: number): Promise<Array<EmailLedger | undefined>> {
    return Promise.all(keys.map((key) => readerStub(this.env, workspace, key).campaignLedger(String(broadcastId)).then((l) => l ?? undefined, () => undefined)));
  }

  /** One page of a send's recount (as an A/B arm's: its broadcast, since it went out); the panel asking for results starts one. */
  private async countStep(workspace: string, send: { key: string; broadcastId: number; cursor: string; since: number }): Promise<void> {
    const page = this.store.claimedKeysAfter(send.key, send.cursor, SCAN_PAGE);
    for (let i = 0; i < page.length; i += SCAN_PARALLEL) {
      const part = page.slice(i, i + SCAN_PARALLEL);
      const ledgers = await this.broadcastLedgers(workspace, part, send.broadcastId);
      part.forEach((key, j) => this.store.recordClaimOutcome(send.key, key, outcomeOf(ledgers[j], send.broadcastId, send.since)));
    }
    const now = this.clock.now();
    if (page.length === SCAN_PAGE) this.store.setCount(send.key, page.at(-1)!, null, null);
    else this.store.setCount(send.key, null, now, null);
  }

  /** One send's results: ours (recounted in the background; asked for, a stale count is redone soon) and Customer.io's broadcast metrics. */
  async results(workspace: string, key: string): Promise<SendResults | null> {
    const row = this.store.sendByKey(key);
    if (!row) return null;
    const now = this.clock.now();
    let ours: SendResults['ours'] = null;
    if (row.mode === 'broadcast') {
      const { nextCountAt, ...counts } = this.store.sendCounts(key);
      ours = counts;
      if (row.status === 'sent' && !row.abTest && (counts.countedAt === null || counts.countedAt < now - FRESH_MS) && nextCountAt === null) {
        this.store.setCount(key, null, counts.countedAt, now);
        await this.wake();
      }
    }
    const config = await workspaceCustomerIo(this.env, workspace);
    const metrics = config ? await config.cio.broadcastMetrics(row.broadcastId) : null;
    return {
      key, ours,
      customerio: metrics?.kind === 'ok' ? { broadcastId: row.broadcastId, ...metrics.value } : null,
      customerioError: !config ? 'no Customer.io credentials' : metrics && metrics.kind !== 'ok' ? describeFailure(metrics) : null,
    };
  }

  /**
   * One page of a test's recount: each arm recipient's reader ledger says whether they opened or
   * clicked the test's own email (its broadcast, since its arm went out: attribution.ts). Bounded
   * (SCAN_PAGE readers a step); when the last page is done the next recount is SCAN_EVERY_MS away.
   */
  private async scanStep(workspace: string, test: AbTestRow): Promise<void> {
    const cursor = this.store.scanCursor(test.id);
    const page = this.store.baselineKeysAfter(test.id, cursor, SCAN_PAGE);
    const since = test.arms.map((_, i) => this.store.armSentAt(armSendKey(test.id, i)) ?? test.createdAt);
    for (let i = 0; i < page.length; i += SCAN_PARALLEL) {
      const part = page.slice(i, i + SCAN_PARALLEL);
      const ledgers = await this.broadcastLedgers(workspace, part.map((r) => r.key), test.broadcastId);
      part.forEach((r, j) => this.store.recordOutcome(test.id, r.key, outcomeOf(ledgers[j], test.broadcastId, since[r.arm]!)));
    }
    const now = this.clock.now();
    if (page.length === SCAN_PAGE) this.store.setScan(test.id, page.at(-1)!.key, null, null);
    else this.store.setScan(test.id, null, now, now + SCAN_EVERY_MS);
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
      // Reading audiences from the directory needs no Customer.io slot: it goes first, a page a step.
      const building = this.store.nextToBuild();
      if (building) {
        await this.buildStep(workspace, building, config.workspace.identifierMode);
        continue;
      }
      // A/B recounts and automatic decisions: bounded steps of their own, no Customer.io slot either.
      const scan = this.store.scanDue(now);
      if (scan) {
        await this.scanStep(workspace, scan);
        continue;
      }
      const count = this.store.countDue(now, RESULTS_FOR_MS);
      if (count) {
        await this.countStep(workspace, count);
        continue;
      }
      const auto = this.store.autoDecideDue(now);
      if (auto) {
        await this.decideAbTest(auto);
        continue;
      }
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
    // The mirror's filter (one trigger), or the send's next chunk of at most MAX_RECIPIENTS readers.
    const recipients = row.filter ?? recipientsOf(this.store.chunkAudience(row.key, row.chunksSent));
    const outcome = await cio.triggerBroadcast(row.broadcastId, variationData(row.variation), recipients);
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
    const step = journeyStep(this.store.audienceSlice(row.key, row.handedOver, JOURNEY_STEP), 0);
    const handedOver = row.handedOver + step.handedOver;
    const event = { sendKey: row.key, eventName: row.eventName, data: variationData(row.variation), timestamp: Math.floor(this.clock.now() / 1000) };
    for (const [shard, chunks] of journeyOps(step.recipients, event, shards, ulid)) {
      const stub = shardStub(this.env, workspace, shard);
      for (const ops of chunks) await stub.enqueueOps(workspace, ops);
    }
    this.store.markHandedOver(row.key, handedOver, handedOver >= row.recipients, this.clock.now());
  }

  /**
   * One page of a send's segment read into its claims (a reader an earlier variation of the same
   * send claimed stays with it). The cursor is stored with the page, so a restart goes on from the
   * next page. The last page numbers the send's chunks; for an A/B test it first splits the arms.
   */
  private async buildStep(workspace: string, row: SendRow, mode: IdentifierMode): Promise<void> {
    const page = await this.directory(workspace).memberPage(row.segmentId ?? '', row.buildCursor ?? '', BUILD_PAGE);
    if (!page) {
      const error = 'the segment was deleted before its members were read: nothing was sent';
      for (const s of row.abTest ? this.store.sendsOfTest(row.abTest) : [row]) this.store.failBuild(s.key, error);
      return;
    }
    const claims: Claim[] = [];
    for (const m of page.members) {
      const ident = cioIdentifier(m, mode);
      if (!ident) continue;
      claims.push({ key: m.key, ...ident, rank: row.abTest ? fnv1a(`${row.abTest}:${m.key}`) : 0, opens: m.counters.opens ?? 0, clicks: m.counters.clicks ?? 0 });
    }
    this.ctx.storage.transactionSync(() => {
      this.store.claim(row.grp, row.key, claims);
      if (page.next !== null) {
        this.store.setBuildCursor(row.key, page.next);
        return;
      }
      if (!row.abTest) {
        this.store.finishBuild(row.key);
        return;
      }
      const test = this.store.abTest(row.abTest)!;
      this.store.assignArms(test.id, row.grp, armSendKey(test.id, 0).slice(0, -1), restSendKey(test.id), test.arms.length, test.testShare);
      for (let i = 0; i < test.arms.length; i++) this.store.finishBuild(armSendKey(test.id, i));
    });
  }

  // ---- internals -------------------------------------------------------------------------------

  /** A send as the panel reads it, with the triggers of its chunks. */
  private view(row: SendRow): SendView {
    return sendView(row, this.store.sentChunks(row.key).reduce((n, c) => n + c.recipients, 0) || (row.status === 'sent' && row.chunks <= 1 ? row.recipients : 0));
  }

  /** Sets the alarm for the earliest pending send or welcome (the alarm handler always sets its next one). */
  private async wake(fromAlarm = false): Promise<void> {
    const pending = this.store.pendingSends();
    const welcomeAt = this.store.nextWelcomeAt();
    const abAt = [this.store.nextAbWork(), this.store.nextCountAt(this.clock.now(), RESULTS_FOR_MS)].reduce<number | null>(
      (a, b) => (a === null ? b : b === null ? a : Math.min(a, b)), null);
    // Welcomes and A/B recounts are both "other work at a time": the earlier of the two.
    const other = welcomeAt === null ? abAt : abAt === null ? welcomeAt : Math.min(welcomeAt, abAt);
    const at = wakeAt(pending, this.store.broadcastTimes(pending), other);
    if (at === null) {
      // Nothing left: an alarm set during this handler (a decision queuing the rest, since sent) is stale.
      if (fromAlarm) await this.ctx.storage.deleteAlarm();
      return;
    }
    const alarm = alarmFor(at, this.clock.now(), await this.ctx.storage.getAlarm(), fromAlarm);
    if (alarm !== null) await this.ctx.storage.setAlarm(alarm);
  }

  private directory(workspace: string) {
    return directoryStub(this.env, workspace);
  }
}
