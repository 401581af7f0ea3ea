/**
 * One object per workspace: the directory of known readers the panel searches, counts and segments.
 * It is fed off the hot path, by the sync shards after each successful batch (one call per batch),
 * so it holds what Customer.io holds. It also owns our segments: their rules, manual additions and
 * removals, and their mirror in Customer.io (a manual segment whose members its alarm adds and
 * removes through the Track API, paced under a small share of the workspace limits).
 *
 * Built for a publisher's size (50,000 to 2,000,000 readers): no call reads every reader. A sync
 * batch updates the overview tables by deltas and re-evaluates only its own readers against each
 * segment; a rule change re-evaluates the segment over every reader in key-ordered chunks across
 * alarms (progress in `evaluating`); membership changes queue the Customer.io calls, which the alarm
 * drains 1,000 identifiers a call, a bounded number of calls per invocation. The SQL lives in
 * directory-store.ts, the rules in the pure modules beside it.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '#edge/env.ts';
import { forgetWorkspace } from '#edge/platform/ttl-cache.ts';
import { type Clock, systemClock } from '#edge/platform/clock.ts';
import { DAY_MS } from '#shared/reader.ts';
import { normalizeEmail } from '#shared/email-address.ts';
import {
  type MembersChange, type ReaderSummary, type SegmentInput, type SegmentRule, cioIdentifier, describeRule, inSegment,
} from '#shared/panel.ts';
import type {
  CioSegment, CioSegmentList, DirectoryOverview, MemberPage, PendingSignupPage, MembersChangeResult, SegmentDetail, SegmentPreview, SegmentView, TagHistory,
} from '#shared/panel-api.ts';
import { describeFailure } from '#edge/customerio/gateway.ts';
import { workspaceCustomerIo } from '#edge/customerio/workspace-gateway.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { backoffMs, sleep } from '#edge/sync/pacing.ts';
import { Pacer } from '../pacer.ts';
import { sendQueueStub } from '#edge/platform/stubs.ts';
import { DirectoryStore, type SegmentRow } from './directory-store.ts';
import { SCORE_BUCKETS, addChange, emptyDelta } from './overview-counts.ts';
import { segmentChanges } from './membership.ts';
import { DRAIN_ORDER, IDS_PER_CALL, type Ident, heldAfter, queueEntry } from './mirror-batches.ts';
import { emailAsId } from '#shared/identity.ts';
import { compileRule, lookupUnion, onlyScore, planLookups } from './rule-sql.ts';
import { drawsFor, randomBlocks, scaleBlocks } from './estimate.ts';
import { signingKeys } from '#edge/email/keys.ts';
import { confirmPath, signConfirmToken } from '#shared/email/confirm-tokens.ts';

/**
 * The send queue's row for a reader's confirmation email (its welcome row is the reader key itself):
 * one per wait, so a sign-up forgotten and made again, or asked again, gets a new email.
 */
export const confirmKey = (r: Pick<ReaderSummary, 'key' | 'pendingSince'>) => `confirm:${r.pendingSince}:${r.key}`;

/** `<pendingSince>:<key>`, as `pendingSignups` hands out in `next`. */
function parseCursor(after: string | null): { since: number; key: string } | null {
  const m = after ? /^(\d{1,16}):(.+)$/s.exec(after) : null;
  return m ? { since: Number(m[1]), key: m[2]! } : null;
}

const SNAPSHOT_EVERY_MS = 5 * 60_000;
const MIRROR_DEBOUNCE_MS = 1_500;
const CIO_CACHE_MS = 5 * 60_000;
const MAX_COUNTED_CIO_SEGMENTS = 10;
const WELCOME_WINDOW_MS = 7 * 86_400_000;
/** Readers per chunk of a walk (re-evaluation, backfill): about 1 MB of summaries in memory at once. */
const CHUNK = 1_000;
/** Readers a rule change evaluates inside the request: a small directory answers with its count at once. */
const INLINE_READERS = 2_000;
/** A manual change by tags touching more readers than this re-evaluates the segment in chunks instead. */
const INLINE_MANUAL = 2_000;
/** Rows of a deleted segment dropped per table per alarm. */
const PURGE_ROWS = 5_000;
/** A reader search answers at most this many; a members page at most MAX_PAGE. */
const SEARCH_LIMIT = 50;
const MAX_PAGE = 1_000;
/** Readers an unsaved rule SQL cannot express is evaluated over (in JavaScript), for an estimate. */
const ESTIMATE_SAMPLE = 5_000;
/** Rowids per block of an estimate's sample (see estimate.ts: whole blocks read few pages). */
const SAMPLE_BLOCK = 50;

export class ReaderDirectory extends DurableObject<Env> {
  clock: Clock = systemClock;
  /** Work per alarm invocation (tests lower them to step through). */
  readersPerAlarm = 5_000;
  mirrorCallsPerAlarm = 50;
  mirrorBudgetMs = 20_000;
  /**
   * Preview bounds (see `preview`). A scan reads rows in order (~1.5 µs each); a candidate from an
   * index is a random row read (~6-10 µs in a 1 GB directory, measured with node:sqlite), so an exact
   * count stops at 10,000 candidates; a sample of 10,000 readers in blocks reads about as many pages
   * as a scan of 10,000. Each stays near the 10,000-reader figure and under 300 ms at any size.
   */
  previewScanReaders = 20_000;
  previewLookupRows = 10_000;
  previewSampleReaders = 10_000;
  private readonly store: DirectoryStore;
  private readonly app = new Pacer();
  private cio: { at: number; segments: CioSegment[]; error: string | null } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new DirectoryStore(ctx.storage.sql);
    // An upgraded directory (backfill), a walk or a mirror cut short by a restart: the alarm resumes it.
    void ctx.blockConcurrencyWhile(async () => {
      if (this.hasWork() && (await ctx.storage.getAlarm()) === null) await ctx.storage.setAlarm(this.clock.now());
    });
  }

  /** The workspace changed: this isolate's caches of it (settings, Customer.io gateway) read it afresh. */
  async forgetWorkspace(id: string): Promise<void> {
    forgetWorkspace(id);
    // New credentials or limits: whatever waits for Customer.io goes now.
    if (this.hasWork()) await this.schedule(0);
  }

  // ---- feed (sync shards) --------------------------------------------------------------------

  async upsertReaders(workspace: string, readers: ReaderSummary[]): Promise<void> {
    this.store.meta.set('workspace', workspace);
    const batch = [...new Map(readers.map((r) => [r.key, r])).values()];
    const keys = batch.map((r) => r.key);
    const stored = this.store.readerCores(keys, true);
    const delta = emptyDelta();
    for (const r of batch) {
      const old = stored.get(r.key);
      // A row from before the counted tables (backfill pending) is not in them yet: count it as new.
      const before = old?.counted ? old : null;
      addChange(delta, before, r);
      this.store.writeReader(r, old);
      this.store.retag(r.key, before?.tags ?? [], r.tags);
    }
    this.store.addOverview(delta);
    let queued = false;
    const manual = this.store.manualFor(keys);
    for (const s of this.store.segments()) {
      const changes = segmentChanges(s.rule, batch, manual.get(s.id) ?? new Map(), this.store.membersOf(s.id, keys));
      this.store.applyMembership(s.id, changes);
      const want = new Map<string, Ident | null>();
      for (const r of changes.joined) want.set(r.key, cioIdentifier(r));
      for (const key of changes.left) want.set(key, null);
      // A member whose identifier changed: Customer.io must learn the new one.
      for (const r of batch) {
        const old = stored.get(r.key);
        if (!want.has(r.key) && old && (old.email !== r.email || old.userId !== r.userId) && inSegment(r, s.rule, manual.get(s.id) ?? new Map())) {
          want.set(r.key, cioIdentifier(r));
        }
      }
      this.store.requeue(s.id, want);
      queued ||= want.size > 0;
    }
    this.snapshotIfDue();
    // Also when nothing new was queued but something waits (say, for Customer.io credentials).
    if (queued || this.store.anyQueued()) await this.schedule(MIRROR_DEBOUNCE_MS);
    await this.confirmNewSignups(workspace, batch);
    await this.welcomeNewSignups(workspace, batch);
  }

  /** Readers deleted, suppressed or merged into another: gone from searches, counts and segments. */
  async removeReaders(keys: string[]): Promise<void> {
    const unique = [...new Set(keys)];
    const stored = this.store.readerCores(unique);
    const delta = emptyDelta();
    for (const old of stored.values()) if (old.counted) addChange(delta, old, null);
    this.store.addOverview(delta);
    this.store.deleteReaders(unique);
    let queued = false;
    for (const s of this.store.segments()) {
      const changes = segmentChanges(s.rule, [], new Map(), this.store.membersOf(s.id, unique));
      this.store.applyMembership(s.id, changes);
      // Customer.io drops whatever it holds for them (members or not: requeue finds what is held).
      this.store.requeue(s.id, new Map(unique.map((k) => [k, null])));
      queued ||= changes.left.length > 0;
    }
    if (queued || this.store.anyQueued()) await this.schedule(MIRROR_DEBOUNCE_MS);
  }

  /**
   * A reader who signed up through the widget gets the workspace's transactional welcome once, after
   * the sync that made them a person in Customer.io (so the send finds them). Only recent sign-ups:
   * turning the welcome on later does not mail everyone who signed up before.
   */
  private async welcomeNewSignups(workspace: string, readers: ReaderSummary[]): Promise<void> {
    const now = this.clock.now();
    // A sign-up waiting for its confirmation (double opt-in) is welcomed once it has confirmed.
    const fresh = readers.filter((r) => r.email && r.signedUpAt !== null && r.signedUpAt !== undefined && now - r.signedUpAt < WELCOME_WINDOW_MS
      && !r.pendingSince && !this.store.welcomed(r.key));
    if (!fresh.length) return;
    const ws = await edgeWorkspace(this.env, workspace);
    if (ws?.welcomeMessageId === null || ws?.welcomeMessageId === undefined) return;
    await sendQueueStub(this.env, workspace).enqueueWelcomes(workspace, ws.welcomeMessageId,
      fresh.map((r) => ({ key: r.key, email: r.email!, data: { ...r.traits, email: r.email, topics: r.facts.topics ?? [] } })));
    for (const r of fresh) this.store.markWelcomed(r.key, now);
  }

  /**
   * Double opt-in: a pending sign-up gets its confirmation email once, after the sync that made it
   * a person in Customer.io (as the welcome does, through the send queue's transactional path and
   * its pace), with the confirm link in `message_data.confirm_url`. The link names no address: its
   * token is the reader key sealed with an expiry (shared/email/confirm-tokens.ts).
   */
  private async confirmNewSignups(workspace: string, readers: ReaderSummary[]): Promise<void> {
    const pending = readers.filter((r) => r.email && r.pendingSince && r.confirmOrigin && !this.store.welcomed(confirmKey(r)));
    if (!pending.length) return;
    const ws = await edgeWorkspace(this.env, workspace);
    const optIn = ws?.doubleOptIn;
    const key = (await signingKeys(this.env, workspace))[0];
    if (!optIn?.enabled || optIn.transactionalMessageId === undefined || !key) return;
    const now = this.clock.now();
    const expiresAt = now + optIn.expiresDays * DAY_MS;
    const emails = await Promise.all(pending.map(async (r) => {
      const url = `${r.confirmOrigin!.replace(/\/+$/, '')}${confirmPath(workspace, await signConfirmToken(workspace, r.key, expiresAt, key))}`;
      return { key: confirmKey(r), email: r.email!, data: { ...r.traits, email: r.email, confirm_url: url, expires_at: Math.floor(expiresAt / 1000) } };
    }));
    await sendQueueStub(this.env, workspace).enqueueWelcomes(workspace, optIn.transactionalMessageId, emails);
    for (const r of pending) this.store.markWelcomed(confirmKey(r), now);
  }

  /** Pending sign-ups, oldest first, a page at a time from the partial index (never every reader). */
  async pendingSignups(limit: number, after: string | null): Promise<PendingSignupPage> {
    const cursor = parseCursor(after);
    const rows = this.store.pendingSignups(Math.max(1, Math.min(limit, MAX_PAGE)) + 1, cursor);
    const page = rows.slice(0, Math.max(1, Math.min(limit, MAX_PAGE)));
    const last = page.at(-1);
    return {
      signups: page.map((r) => ({ key: r.key, email: r.email, pendingSince: r.pendingSince!, lastSeen: r.lastSeen })),
      next: rows.length > page.length && last ? `${last.pendingSince}:${last.key}` : null,
      total: this.store.pendingCount(),
    };
  }

  // ---- readers and tags ----------------------------------------------------------------------

  /** Readers whose email or user id starts with the query (or whose key it is); the best-scored when empty. */
  async search(query: string, limit = SEARCH_LIMIT): Promise<ReaderSummary[]> {
    return this.store.search(query.trim(), Math.max(1, Math.min(limit, SEARCH_LIMIT)));
  }

  async reader(key: string): Promise<{ reader: ReaderSummary; segments: Array<{ id: string; name: string }> } | null> {
    const reader = this.store.reader(key);
    if (!reader) return null;
    const manual = this.store.manualFor([key]);
    const segments = this.store.segments().filter((s) => inSegment(reader, s.rule, manual.get(s.id) ?? new Map())).map((s) => ({ id: String(s.id), name: s.name }));
    return { reader, segments };
  }

  async summaries(keys: string[]): Promise<ReaderSummary[]> {
    return this.store.readersByKeys(keys);
  }

  async overview(now = this.clock.now()): Promise<DirectoryOverview> {
    const today = Math.floor(now / DAY_MS);
    const active = this.store.activeDays(today - 29, today);
    const readers = this.store.readerCount();
    const buckets = this.store.scoreBuckets();
    return {
      readers,
      tagCounts: this.store.tagCounts(),
      activeByDay: Array.from({ length: 30 }, (_, i) => today - 29 + i).map((day) => ({ day, readers: active.get(day) ?? 0 })),
      averageScore: readers ? this.store.scoreSum() / readers : 0,
      scoreDistribution: Array.from({ length: SCORE_BUCKETS }, (_, i) => buckets.get(i) ?? 0),
      segments: this.store.segments().length,
      pendingSignups: this.store.pendingCount(),
    };
  }

  /** Tag counts per day: stored daily snapshots for past days, the live counts for today. */
  async tagHistory(days = 30, now = this.clock.now()): Promise<TagHistory> {
    const today = Math.floor(now / DAY_MS);
    const dayList = Array.from({ length: days }, (_, i) => today - days + 1 + i);
    const tags: Record<string, number[]> = {};
    const ensure = (tag: string) => (tags[tag] ??= dayList.map(() => 0));
    for (const row of this.store.dailyTags(today - days + 1, today)) ensure(row.name.slice(4))[dayList.indexOf(row.day)] = row.value;
    for (const [tag, count] of Object.entries(this.store.tagCounts())) ensure(tag)[days - 1] = count;
    return { days: dayList, tags };
  }

  // ---- our segments --------------------------------------------------------------------------

  async listSegments(): Promise<SegmentView[]> {
    const pending = this.store.pendingBySegment();
    return this.store.segments().map((s) => this.view(s, pending.get(s.id) ?? 0));
  }

  async segment(id: string): Promise<SegmentDetail | null> {
    const s = this.store.segmentRow(id);
    if (!s) return null;
    return { segment: this.view(s, this.store.pendingFor(s.id)), members: this.store.topMembers(s.id, 100) };
  }

  /** Members in key order after `afterKey`, at most `limit` (≤ 1,000); `next` is the key to pass on. */
  async memberPage(id: string, afterKey = '', limit = MAX_PAGE): Promise<MemberPage | null> {
    const s = this.store.segmentRow(id);
    if (!s) return null;
    const n = Math.max(1, Math.min(MAX_PAGE, Math.floor(limit) || MAX_PAGE));
    const members = this.store.memberPage(s.id, afterKey, n);
    return { members, next: members.length === n ? members.at(-1)!.key : null, evaluating: this.evaluating(s) };
  }

  /**
   * For a send's variations in the editor's order: how many distinct readers each reaches once the
   * earlier variations have taken theirs (a reader in several segments counts for the first), and
   * the total. Counted in SQL; unknown segment ids come back in `unknown`. (Added for the send queue.)
   */
  async distinctAudience(segmentIds: string[]): Promise<{ perVariation: number[]; total: number; unknown: string[]; segments: Array<SegmentView | null> }> {
    const rows = segmentIds.map((id) => this.store.segmentRow(id));
    const unknown = segmentIds.filter((_, i) => !rows[i]);
    const perVariation: number[] = [];
    const seen: number[] = [];
    for (const row of rows) {
      if (!row) { perVariation.push(0); continue; }
      // The same segment twice: the later variation reaches no one new.
      perVariation.push(seen.includes(row.id) ? 0 : this.store.distinctMembers(row.id, seen));
      if (!seen.includes(row.id)) seen.push(row.id);
    }
    const segments = rows.map((r) => (r ? this.view(r, this.store.pendingFor(r.id)) : null));
    return { perVariation, total: perVariation.reduce((a, b) => a + b, 0), unknown, segments };
  }

  /**
   * How many readers an unsaved rule holds, bounded at any size (no call reads every reader of a
   * large directory):
   * - a directory of at most `previewScanReaders` readers, or a rule of score ranges only (see onlyScore: the score
   *   index answers it): counted exactly in SQL;
   * - otherwise, when index lookups (tags, score, reader_facts; see planLookups) narrow the rule to at
   *   most `previewLookupRows` candidate readers: counted exactly over those;
   * - otherwise (a top-level negation or `ne`, a broad condition, a rule SQL cannot express): an
   *   estimate over `previewSampleReaders` readers in random rowid blocks (`ESTIMATE_SAMPLE` when
   *   JavaScript must evaluate the rule), with its 95 % margin, labelled `estimate`.
   */
  async preview(rule: SegmentRule | null): Promise<SegmentPreview> {
    const total = this.store.readerCount();
    if (!rule) return { count: 0, total, sample: [], estimate: false, sampled: null, margin: 0 };
    const exact = (count: number, sample: ReaderSummary[]): SegmentPreview => ({ count, total, sample, estimate: false, sampled: null, margin: 0 });
    const compiled = compileRule(rule);
    if (compiled && (total <= this.previewScanReaders || onlyScore(rule))) return exact(this.store.countMatching(compiled), this.store.topMatching(compiled, 5));
    if (compiled) {
      const cap = this.previewLookupRows;
      const plan = planLookups(rule, (l) => (this.store.lookupReady(l.source) ? this.store.lookupRows(l, cap + 1) : null));
      const keys = plan && plan.cost <= cap ? lookupUnion(plan.lookups) : null;
      if (keys && keys.params.length + compiled.params.length < 100) {
        const { count, top } = this.store.countAmong(keys, compiled, 5);
        return exact(count, top);
      }
      const maxRowid = this.store.maxRowid();
      const blocks = randomBlocks(drawsFor(this.previewSampleReaders, total, maxRowid), SAMPLE_BLOCK, maxRowid);
      const { blocks: found, top } = this.store.countInBlocks(blocks, SAMPLE_BLOCK, compiled, 5);
      return { ...scaleBlocks(found, total), total, sample: top, estimate: true };
    }
    if (total <= ESTIMATE_SAMPLE) {
      const all = this.store.readersAfter('', ESTIMATE_SAMPLE).filter((r) => inSegment(r, rule, new Map())).map(({ counted: _, ...r }) => r);
      return exact(all.length, all.sort((a, b) => b.score - a.score).slice(0, 5));
    }
    const maxRowid = this.store.maxRowid();
    const rows = this.store.readersInBlocks(randomBlocks(drawsFor(ESTIMATE_SAMPLE, total, maxRowid), SAMPLE_BLOCK, maxRowid), SAMPLE_BLOCK);
    const perBlock = new Map<number, { n: number; m: number }>();
    const matched: ReaderSummary[] = [];
    for (const { block, reader } of rows) {
      const b = perBlock.get(block) ?? { n: 0, m: 0 };
      perBlock.set(block, b);
      b.n++;
      if (inSegment(reader, rule, new Map())) { b.m++; matched.push(reader); }
    }
    return { ...scaleBlocks([...perBlock.values()], total), total, sample: matched.sort((a, b) => b.score - a.score).slice(0, 5), estimate: true };
  }

  async createSegment(workspace: string, input: SegmentInput): Promise<SegmentView> {
    this.store.meta.set('workspace', workspace);
    const id = this.store.insertSegment(input.name, input.description, input.rule, this.clock.now());
    return this.evaluateAfterRuleChange(id);
  }

  async updateSegment(id: string, input: SegmentInput): Promise<SegmentView | null> {
    const s = this.store.segmentRow(id);
    if (!s) return null;
    this.store.updateSegment(s.id, input.name, input.description, input.rule, this.clock.now());
    return this.evaluateAfterRuleChange(s.id);
  }

  async deleteSegment(id: string): Promise<boolean> {
    const s = this.store.segmentRow(id);
    if (!s) return false;
    this.store.markSegmentDeleted(s.id, this.clock.now());
    await this.schedule(0);
    return true;
  }

  /** Adds (or removes) readers by email, key, or every reader carrying all the given tags. */
  async changeMembers(id: string, change: MembersChange, mode: 'add' | 'remove'): Promise<MembersChangeResult | null> {
    const s = this.store.segmentRow(id);
    if (!s) return null;
    const keys = new Set<string>();
    const unknown: string[] = [];
    const byEmail = this.store.keysByEmail([...new Set(change.emails.map(normalizeEmail))]);
    for (const email of change.emails) {
      const found = byEmail.get(normalizeEmail(email));
      if (found) for (const k of found) keys.add(k);
      else unknown.push(email);
    }
    const existing = this.store.existingKeys(change.keys);
    for (const key of change.keys) {
      if (existing.has(key)) keys.add(key);
      else unknown.push(key);
    }
    let wholeWalk = false;
    let changedCount = 0;
    const listed: string[] = [];
    if (change.tags.length) {
      const tagged = this.store.keysWithTags(change.tags, INLINE_MANUAL);
      if (tagged.count <= INLINE_MANUAL) for (const k of tagged.keys) keys.add(k);
      else {
        // Too many to carry through JavaScript: written in one statement, the segment re-evaluated in chunks.
        this.store.setManualByTags(s.id, change.tags, mode);
        wholeWalk = true;
        changedCount = tagged.count;
        listed.push(...tagged.keys.slice(0, MAX_PAGE));
      }
    }
    this.store.setManual(s.id, [...keys], mode);
    if (wholeWalk) this.store.startEvaluation(s.id);
    else this.evaluateKeys(this.store.segmentRow(s.id)!, [...keys]);
    if (keys.size || wholeWalk) await this.schedule(wholeWalk ? 0 : MIRROR_DEBOUNCE_MS);
    const changed = [...new Set([...keys, ...listed])];
    return { changed, unknown, changedCount: Math.max(changedCount, changed.length) };
  }

  // ---- Customer.io's segments (App API, cached) ------------------------------------------------

  async cioSegments(workspace: string): Promise<CioSegmentList> {
    this.store.meta.set('workspace', workspace);
    if (!this.cio) await this.refreshCio();
    else if (this.clock.now() - this.cio.at > CIO_CACHE_MS) this.ctx.waitUntil(this.refreshCio());
    return { segments: this.cio?.segments ?? [], refreshedAt: this.cio?.at ?? null, error: this.cio?.error ?? null };
  }

  private async refreshCio(): Promise<void> {
    const workspace = this.store.meta.get('workspace');
    const config = workspace ? await workspaceCustomerIo(this.env, workspace) : null;
    if (!config) {
      this.cio = { at: this.clock.now(), segments: [], error: 'this workspace has no Customer.io credentials' };
      return;
    }
    const interval = callIntervalMs(config.workspace.limits, 'app', 'directory');
    await this.app.slot(interval);
    const listed = await config.cio.listSegments();
    if (listed.kind !== 'ok') {
      this.cio = { at: this.clock.now(), segments: this.cio?.segments ?? [], error: `Customer.io answered ${describeFailure(listed)}` };
      return;
    }
    const ours = this.store.cioIdsOfOurs();
    const segments: CioSegment[] = listed.value.map((s) => ({ ...s, count: null, ours: ours.has(s.id) }));
    for (const s of segments.slice(0, MAX_COUNTED_CIO_SEGMENTS)) {
      await this.app.slot(interval);
      const counted = await config.cio.segmentCount(s.id);
      if (counted.kind === 'ok') s.count = counted.value;
    }
    this.cio = { at: this.clock.now(), segments, error: null };
  }

  // ---- the alarm: backfill, re-evaluation, the mirror in Customer.io ---------------------------

  override async alarm(): Promise<void> {
    let next: number | null = null;
    const at = (t: number) => { next = next === null ? t : Math.min(next, t); };
    // One walk at a time, each bounded: the backfill of an upgraded directory first, then re-evaluations.
    // Last, the fact table of an upgraded directory (only previews wait for it; they estimate meanwhile).
    const walking = this.backfillStep() || this.evaluationStep() || this.factsStep();
    if (walking) at(this.clock.now());
    const mirrorNext = await this.mirrorStep(walking);
    if (mirrorNext !== null) at(mirrorNext);
    this.snapshotIfDue();
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /** Readers from the old layout get their tags and figures counted, a chunk per alarm. True while some are left. */
  private backfillStep(): boolean {
    let cursor = this.store.meta.get('backfill_cursor');
    if (cursor === null) return false;
    for (let done = 0; done < this.readersPerAlarm; done += CHUNK) {
      const rows = this.store.readersAfter(cursor, CHUNK);
      const delta = emptyDelta();
      for (const r of rows) {
        if (r.counted) continue;
        addChange(delta, null, r);
        this.store.retag(r.key, [], r.tags);
        this.store.markCounted(r.key);
      }
      this.store.addOverview(delta);
      if (rows.length < CHUNK) {
        this.store.endBackfill();
        return false;
      }
      cursor = rows.at(-1)!.key;
      this.store.meta.set('backfill_cursor', cursor);
    }
    return true;
  }

  /** reader_facts for readers stored before it existed, `readersPerAlarm` per invocation. True while some are left. */
  private factsStep(): boolean {
    let cursor = this.store.meta.get('facts_cursor');
    for (let done = 0; cursor !== null && done < this.readersPerAlarm; done += CHUNK) cursor = this.store.backfillFacts(cursor, CHUNK);
    return cursor !== null;
  }

  /** Segments whose rule changed walk every reader, `readersPerAlarm` per invocation. True while one is unfinished. */
  private evaluationStep(): boolean {
    let budget = this.readersPerAlarm;
    for (const s of this.store.segments()) {
      if (s.evalCursor === null) continue;
      budget -= this.evaluateChunks(s, budget);
      if (budget <= 0) break;
    }
    return this.store.segments().some((s) => s.evalCursor !== null);
  }

  /** Walks the segment from its cursor over up to `budget` readers; returns how many it looked at. */
  private evaluateChunks(s: SegmentRow, budget: number): number {
    let cursor = s.evalCursor;
    let seen = 0;
    while (cursor !== null && seen < budget) {
      const asked = Math.min(CHUNK, budget - seen);
      const rows = this.store.ruleReadersAfter(cursor, asked);
      const finished = rows.length < asked;
      // The last chunk's range runs to the end: members or mirror rows past the last reader are stale.
      const upTo = finished ? '\u{10FFFF}' : rows.at(-1)!.key;
      const was = this.store.membersInRange(s.id, cursor, upTo);
      const changes = segmentChanges(s.rule, rows, this.store.manualInRange(s.id, cursor, upTo), was);
      this.store.applyMembership(s.id, changes);
      const members = new Set(was.keys());
      for (const r of changes.joined) members.add(r.key);
      for (const key of changes.left) members.delete(key);
      // The whole range is reconciled with Customer.io: what it holds for a reader outside the segment
      // (or under another identifier) is queued too. A pair whose membership did not move and that is
      // held as it should be is skipped: its queue entry already follows its state.
      const byKey = new Map(rows.map((r) => [r.key, r]));
      const want = new Map<string, Ident | null>();
      for (const r of changes.joined) want.set(r.key, cioIdentifier(r));
      for (const key of changes.left) want.set(key, null);
      for (const [key, held] of this.store.mirroredInRange(s.id, cursor, upTo)) {
        if (want.has(key)) continue;
        const should = members.has(key) && byKey.has(key) ? cioIdentifier(byKey.get(key)!) : null;
        if (queueEntry(held, should)) want.set(key, should);
      }
      this.store.requeue(s.id, want);
      seen += rows.length;
      cursor = finished ? null : upTo;
      this.store.advanceEvaluation(s.id, cursor, rows.length);
    }
    return seen;
  }

  /** A manual change: just these readers, against just this segment. */
  private evaluateKeys(s: SegmentRow, keys: string[]): void {
    if (!keys.length) return;
    const readers = this.store.readersByKeys(keys);
    const changes = segmentChanges(s.rule, readers, this.store.manualFor(keys, s.id).get(s.id) ?? new Map(), this.store.membersOf(s.id, keys));
    this.store.applyMembership(s.id, changes);
    const want = new Map<string, Ident | null>();
    for (const r of changes.joined) want.set(r.key, cioIdentifier(r));
    for (const key of changes.left) want.set(key, null);
    this.store.requeue(s.id, want);
  }

  /** A new or changed rule: the first readers now (a small directory is done at once), the rest by alarm. */
  private async evaluateAfterRuleChange(id: number): Promise<SegmentView> {
    this.store.startEvaluation(id);
    this.evaluateChunks(this.store.segmentRow(id)!, INLINE_READERS);
    await this.schedule(0);
    const s = this.store.segmentRow(id)!;
    return this.view(s, this.store.pendingFor(id));
  }

  /**
   * Creates and deletes our segments in Customer.io and drains the queue of membership changes, at
   * most `mirrorCallsPerAlarm` Track calls (and `mirrorBudgetMs`) per invocation, each spaced by the
   * segment mirror's share of the Track limit. Every sent call is recorded before the next, so a
   * restart resumes from the queue and repeats nothing. While a walk (backfill, re-evaluation) still
   * has chunks to do, the mirror takes at most one call per invocation and only when its slot is due,
   * so the walk is never held up by the mirror's pacing. Returns when the alarm should come back.
   */
  private async mirrorStep(walking: boolean): Promise<number | null> {
    const segments = this.store.segments('all');
    // Whether each segment has anything queued (one row each, not a count over the queue).
    const queued = new Set(segments.filter((s) => this.store.anyQueued(s.id)).map((s) => s.id));
    if (!segments.some((s) => s.deleted || s.cioId === null || queued.has(s.id))) return null;
    const workspace = this.store.meta.get('workspace');
    const config = workspace ? await workspaceCustomerIo(this.env, workspace) : null;
    if (!config) return null;
    const { cio } = config;
    const appInterval = callIntervalMs(config.workspace.limits, 'app', 'directory');
    const trackInterval = callIntervalMs(config.workspace.limits, 'track', 'segmentMirror');
    const started = Date.now();
    let calls = 0;
    let next: number | null = null;
    const at = (t: number) => { next = next === null ? t : Math.min(next, t); };
    const fail = (s: SegmentRow, message: string, retryAfterMs: number | null) => {
      const retryAt = this.clock.now() + backoffMs(s.attempts + 1, retryAfterMs);
      this.store.mirrorFailed(s.id, message, retryAt);
      at(retryAt);
    };

    for (const s of segments) {
      if (s.retryAt !== null && s.retryAt > this.clock.now()) { at(s.retryAt); continue; }
      if (s.deleted) {
        if (s.cioId !== null) {
          await this.app.slot(appInterval);
          const outcome = await cio.deleteSegment(s.cioId);
          if (outcome.kind === 'retry') { fail(s, describeFailure(outcome), outcome.retryAfterMs); continue; }
          this.store.clearCioId(s.id);
        }
        if (!this.store.purgeSegment(s.id, PURGE_ROWS)) at(this.clock.now());
        continue;
      }
      let cioId = s.cioId;
      if (cioId === null) {
        await this.app.slot(appInterval);
        const created = await cio.createSegment(`SharpSend: ${s.name}`, s.description || 'Mirrored from the SharpSend panel');
        if (created.kind !== 'ok') { fail(s, describeFailure(created), created.kind === 'retry' ? created.retryAfterMs : null); continue; }
        cioId = created.value.id;
        this.store.setCioId(s.id, cioId);
        this.cio = null;
      }
      let failed = false;
      let cut = false;
      for (const { action, idType } of DRAIN_ORDER) {
        while (!failed && !cut) {
          const batch = this.store.queued(s.id, action, idType, IDS_PER_CALL);
          if (!batch.length) break;
          if (calls >= this.mirrorCallsPerAlarm || Date.now() - started > this.mirrorBudgetMs
            || (walking && (calls > 0 || this.trackWait(trackInterval) > 0))) { cut = true; break; }
          await this.trackSlot(trackInterval);
          // Queued as the reader is known (email or id); an id-only workspace takes an email-only
          // reader as the id `email:<address>` (shared/identity.ts), translated at the call.
          const idOnly = idType === 'email' && config.workspace.identifierMode === 'id_only';
          const outcome = await cio.segmentMembers(action, cioId, batch.map((e) => (idOnly ? emailAsId(e.value) : e.value)), idOnly ? 'id' : idType);
          calls++;
          if (outcome.kind !== 'ok') {
            failed = true;
            fail(s, describeFailure(outcome), outcome.kind === 'retry' ? outcome.retryAfterMs : null);
            break;
          }
          this.recordSent(s.id, { action, idType }, batch);
        }
      }
      if (cut) { at(this.clock.now() + trackInterval); break; }
      if (!failed && (s.syncError !== null || s.syncedAt === null || queued.has(s.id))) this.store.mirrorSucceeded(s.id, this.clock.now());
    }
    return next;
  }

  /** Customer.io took the call: what it holds moves, and each pair's queue entry is recomputed from the state now. */
  private recordSent(segmentId: number, sent: { action: 'add' | 'remove'; idType: 'id' | 'email' }, batch: Array<{ key: string; value: string }>): void {
    const keys = batch.map((e) => e.key);
    const held = this.store.mirroredFor(segmentId, keys);
    for (const e of batch) {
      const before = held.get(e.key) ?? null;
      this.store.recordMirrored(segmentId, e.key, before, heldAfter(before, { ...sent, value: e.value }));
    }
    // Membership may have moved while the call was out: the entry follows what is true now.
    const members = this.store.membersOf(segmentId, keys);
    const cores = this.store.readerCores(keys);
    this.store.requeue(segmentId, new Map(keys.map((k) => [k, members.has(k) && cores.has(k) ? cioIdentifier(cores.get(k)!) : null])));
  }

  /** Spaced by the mirror's share, across restarts too (the last call's time is stored). */
  private async trackSlot(intervalMs: number): Promise<void> {
    const wait = this.trackWait(intervalMs);
    if (wait > 0) await sleep(wait);
    this.store.meta.set('mirror_call_at', Date.now());
  }

  private trackWait(intervalMs: number): number {
    return Math.min(intervalMs, this.store.meta.number('mirror_call_at') + intervalMs - Date.now());
  }

  /**
   * What the object's storage weighs: SQLite's own figure for its database (bytes on disk, not the
   * isolate's memory, which Cloudflare caps at 128 MB). Read by `npm run bench:scale`.
   */
  async usage(): Promise<{ databaseBytes: number; readers: number }> {
    return { databaseBytes: this.ctx.storage.sql.databaseSize, readers: this.store.readerCount() };
  }

  // ---- internals -----------------------------------------------------------------------------

  private hasWork(): boolean {
    return this.store.meta.get('backfill_cursor') !== null || this.store.meta.get('facts_cursor') !== null || this.store.anyQueued()
      || this.store.segments('all').some((s) => s.deleted || s.cioId === null || s.evalCursor !== null);
  }

  private async schedule(delayMs: number): Promise<void> {
    const at = this.clock.now() + delayMs;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private evaluating(s: SegmentRow): SegmentView['evaluating'] {
    return s.evalCursor === null ? null : { done: s.evalDone, total: Math.max(s.evalTotal, s.evalDone) };
  }

  private view(s: SegmentRow, pending: number): SegmentView {
    const manual = this.store.manualCounts(s.id);
    return {
      id: String(s.id), name: s.name, description: s.description, rule: s.rule, ruleText: describeRule(s.rule),
      count: s.membersCount,
      manualAdds: manual.adds,
      manualRemoves: manual.removes,
      cioSegmentId: s.cioId,
      mirrored: s.mirroredCount, pending,
      syncError: s.syncError,
      syncedAt: s.syncedAt,
      createdAt: s.createdAt,
      evaluating: this.evaluating(s),
    };
  }

  /** Today's tag counts and totals, rewritten at most every few minutes: the "over time" history. */
  private snapshotIfDue(now = this.clock.now()): void {
    const last = this.store.meta.number('snapshot_at');
    if (now - last < SNAPSHOT_EVERY_MS && Math.floor(last / DAY_MS) === Math.floor(now / DAY_MS)) return;
    this.store.writeSnapshot(Math.floor(now / DAY_MS));
    this.store.meta.set('snapshot_at', now);
  }
}
