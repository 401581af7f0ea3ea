/**
 * One object per workspace + reader: its counters, score, tags, its forward pointer once merged,
 * and its queue of Customer.io operations. Every event touches only this object; the workspace's
 * outbox shard is told once per dirty cycle ("something changed here"), not once per event.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '#edge/env.ts';
import { DAY_MS, type ReaderState, type ReaderView, type TraitValue, emptyReader, groupKey, isKnown, readerFacts } from '#shared/reader.ts';
import { type TagRule, evaluateTags } from '#shared/tag-rules.ts';
import { engagementScore } from '#shared/engagement.ts';
import { type AnyReaderEvent, type Moment, absorbReader, applyEvent } from './apply-event.ts';
import { type ReaderKey, anonymousKey, emailKey, shardOf } from './names.ts';
import { normalizeEmail } from '#shared/email-address.ts';
import type { IdentifierMode } from '#shared/identity.ts';
import { type PersonIdentifiers, personIdentifiers, readerAttributes, sameIdentifiers } from '#edge/customerio/attributes.ts';
import { ulid } from '#edge/platform/ulid.ts';
import { type Clock, systemClock } from '#edge/platform/clock.ts';
import { ReaderStore } from './reader-store.ts';
import { type EmailLedger, campaignPart } from '#shared/email/ledger.ts';
import { sameContext, sharingRules } from './access.ts';
import type { AckNews, SyncSnapshot, QueuedOp } from '#edge/sync/snapshot.ts';
import { readerSummary } from '#edge/panel/summary.ts';
import { directoryStub, readerStub, shardStub } from '#edge/platform/stubs.ts';

/** What the Worker passes with every call: the workspace settings this reader needs. */
export interface ReaderContext {
  workspace: string;
  key: ReaderKey;
  tagRules: TagRule[];
  /** A fingerprint of `tagRules` (readers/access.ts): a call may leave the rules out when the object holds these. */
  rulesVersion: string;
  attributePrefix: string;
  shards: number;
  forwardPageViews: boolean;
  /** Double opt-in is on: a first widget sign-up waits for its confirmation (null: off). */
  doubleOptIn?: { forgetAfterDays: number; origin: string } | null;
}

interface Meta {
  tags: string[];
  /** Every tag the reader ever had: lost ones are written as `tag_<name>: false`. */
  everTags: string[];
  /** The shard this reader is queued in, while it is. */
  queuedShard: number | null;
  /** Queued for a quiet change only (it waits the shard's `quietResyncMs`): a change that matters queues it again, sooner. */
  queuedQuiet?: boolean;
  /** The version of the last change that was not quiet (an ack tells the shard whether news since a snapshot matters). */
  loudVersion?: number;
  /** How Customer.io knows this person, once a sync landed (needed to merge two people). */
  identifiedAs: PersonIdentifiers | null;
  /** The email ledger's lists are rows of their own (it outgrew the state: `LEDGER_IN_STATE`), the state keeps its flags. */
  ledgerInRows?: boolean;
}

/**
 * A reader context as a call carries it: the tag rules may be left out when the object already
 * holds that `rulesVersion` (readers/access.ts `ingestEvents`).
 */
export type ReaderCall = Omit<ReaderContext, 'tagRules'> & { tagRules?: TagRule[] };

/**
 * `pending`: the batch held a sign-up and the reader now waits for its confirmation (double opt-in).
 * `needsRules`: the call left the tag rules out and this object does not hold them: nothing was
 * done, call again with them.
 */
export interface IngestResult { accepted: number; duplicates: number; pending?: boolean; needsRules?: true }

export type ConfirmOutcome = 'confirmed' | 'already' | 'unknown';

const emptyMeta = (): Meta => ({ tags: [], everTags: [], queuedShard: null, identifiedAs: null });

const SEEN_EVENTS_KEPT_MS = 30 * 24 * 3600 * 1000;
/**
 * The email ledger (shared/email/ledger.ts) stays in the state up to this many deliveries: one
 * row write for an open, no statement more. Past it the lists become rows of their own (a
 * long-time subscriber's 200 deliveries are some 50 KB of JSON, which each open would write again
 * and each cold start parse), and a hit reads and writes the few it touches.
 */
const LEDGER_IN_STATE = 24;
const RETRY_ENQUEUE_MS = 5_000;
/** A sign-up again while waiting sends a new confirmation email, at most this often. */
const RESEND_CONFIRMATION_MS = 3_600_000;
/** Browsers a forgotten pending sign-up tells to forget their pointer (one sign-up has one, or a few). */
const MAX_UNLINKED_BROWSERS = 20;
/**
 * Events that, on their own, move only engagement counters (opens, clicks, reads, a sent or
 * delivered email): such a change is quiet and waits the shard's `quietResyncMs`, unless it queued
 * an operation too (a tag it added, a forwarded page view), which makes it a change that matters.
 * A bounce, an unsubscribe or a spam report is never quiet: the panel's audiences must know now.
 */
const quietEvent = (event: AnyReaderEvent): boolean =>
  event.type === 'open' || event.type === 'click' || event.type === 'page' ||
  (event.type === 'email' && (event.metric === 'sent' || event.metric === 'delivered'));

export class ReaderObject extends DurableObject<Env> {
  private state!: ReaderState;
  private meta!: Meta;
  /** The workspace settings of the last call (null: never called, or erased); kept as one object while calls say the same. */
  private context: ReaderContext | null = null;
  private version = 0;
  /** Operations queued by this instance: a commit that queued none may be quiet. */
  private opsQueued = 0;
  private readonly store: ReaderStore;
  /** The time (a test replaces it: dedupe windows, grant expiry, resync). */
  clock: Clock = systemClock;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ReaderStore(ctx.storage.sql);
    const row = this.store.load<ReaderState, Meta & { ctx?: ReaderContext | null }, ReaderContext>(sharingRules);
    if (row) {
      // A row stored before the context had a column of its own holds it in the meta.
      const { ctx: before, ...meta } = row.meta;
      this.state = row.state;
      this.meta = meta;
      this.context = row.context ?? (before ? sharingRules(before) : null);
      this.version = row.version;
    } else {
      this.state = emptyReader('');
      this.meta = emptyMeta();
    }
  }

  // ---- events ------------------------------------------------------------------------------

  /**
   * `events`: the events, or them as JSON text, as the Worker sends them (readers/access.ts): a
   * batch crosses the call as one string for a fraction of what a structured clone of its objects
   * costs (ten page reads: some 65 µs of a request's CPU, measured in workerd).
   */
  async ingest(call: ReaderCall, events: AnyReaderEvent[] | string): Promise<IngestResult> {
    if (typeof events === 'string') events = JSON.parse(events) as AnyReaderEvent[];
    const ctx = this.withRules(call);
    if (!ctx) return { accepted: 0, duplicates: 0, needsRules: true };
    this.remember(ctx);
    const result: IngestResult = { accepted: 0, duplicates: 0 };
    const forward: AnyReaderEvent[] = [];
    const opsBefore = this.opsQueued;
    let changed = false;
    let quiet = true;
    let lastTs = 0;
    const isFresh = (event: AnyReaderEvent) => 'fresh' in event && event.fresh === true;
    // A batch applied here whole (a widget's page reads, say) has its ids checked and marked
    // together; otherwise each event is, as it comes.
    const whole = !this.state.mergedInto && !(ctx.key.startsWith('a:') && events.some((e) => e.type === 'signup'));
    const marked = whole ? this.store.seen.mark(events.filter((e) => !isFresh(e))) : null;
    for (const event of events) {
      // The common case (applied here) checks and marks the id; an event that goes on to another
      // reader (a sign-up's merge, a forward pointer) is only checked: the other marks it.
      const elsewhere = (event.type === 'signup' && ctx.key.startsWith('a:')) || Boolean(this.state.mergedInto);
      const duplicate = !isFresh(event) && (marked ? !marked.delete(event.id) : elsewhere ? this.store.seen.has(event.id) : !this.store.seen.markOne(event.id, event.ts));
      if (duplicate) {
        result.duplicates++;
        continue;
      }
      if (event.type === 'signup' && ctx.key.startsWith('a:')) {
        // The anonymous reader becomes a known one: its history and the sign-up move over in one call.
        const merged = await this.linkTo(ctx, emailKey(event.email), [event]);
        result.accepted += merged.accepted;
        result.duplicates += merged.duplicates;
        if (merged.pending) result.pending = true;
        continue;
      }
      if (this.state.mergedInto) {
        forward.push(event);
        continue;
      }
      this.apply(event);
      result.accepted++;
      changed = true;
      lastTs = Math.max(lastTs, event.ts);
      quiet &&= quietEvent(event);
    }
    if (changed) {
      // Tags once for the batch, as it leaves the reader (a widget sends a page's reads together):
      // a tag that came and went within one batch was never the reader's. A reader merged away
      // meanwhile had its tags worked out where its history went.
      if (!this.state.mergedInto) this.recomputeTags(lastTs);
      await this.commit(quiet && this.opsQueued === opsBefore);
      await this.armForget();
    }
    if (forward.length && this.state.mergedInto) {
      const target = await this.target(this.state.mergedInto as ReaderKey).ingest({ ...ctx, key: this.state.mergedInto as ReaderKey }, forward);
      result.accepted += target.accepted;
      result.duplicates += target.duplicates;
      if (target.pending) result.pending = true;
    }
    // A replayed sign-up (a retried form) hears the same answer as the first.
    if (!this.state.mergedInto && this.state.pendingSince && events.some((e) => e.type === 'signup')) result.pending = true;
    return result;
  }

  /**
   * Merges this reader into `targetKey` exactly once: the target records where the history came
   * from (replays and races add nothing), and this object keeps only a forward pointer. `events`
   * (the sign-up that caused it) are applied by the target in the same call.
   */
  async linkTo(ctx: ReaderContext, targetKey: ReaderKey, events: AnyReaderEvent[] = []): Promise<IngestResult> {
    this.remember(ctx);
    const targetCtx = { ...ctx, key: targetKey };
    if (targetKey === ctx.key) return this.ingest(ctx, events);
    return this.ctx.blockConcurrencyWhile(async () => {
      if (this.state.mergedInto === targetKey) {
        return events.length ? this.target(targetKey).ingest(targetCtx, events) : { accepted: 0, duplicates: 0 };
      }
      if (this.state.mergedInto) {
        // Re-pointed (another person signed up in the same browser): nothing left to move.
        this.state.mergedInto = targetKey;
        await this.commit();
        return events.length ? this.target(targetKey).ingest(targetCtx, events) : { accepted: 0, duplicates: 0 };
      }
      const moved = this.withWholeLedger();
      const result = await this.target(targetKey).absorb(targetCtx, ctx.key, moved, this.meta.identifiedAs, events);
      // A known reader merged into another is no longer one of the panel's readers.
      if (isKnown(moved)) await directoryStub(this.env, ctx.workspace).removeReaders([ctx.key]);
      const left = emptyReader(ctx.key);
      left.anonymousIds = moved.anonymousIds;
      left.mergedInto = targetKey;
      this.state = left;
      this.dropLedgerRows();
      this.store.clearQueued();
      await this.commit();
      return result;
    });
  }

  async absorb(ctx: ReaderContext, fromKey: string, from: ReaderState, fromIdentifiedAs: PersonIdentifiers | null, events: AnyReaderEvent[] = []): Promise<IngestResult> {
    this.remember(ctx);
    if (this.state.mergedInto) {
      return this.target(this.state.mergedInto as ReaderKey).absorb({ ...ctx, key: this.state.mergedInto as ReaderKey }, fromKey, from, fromIdentifiedAs, events);
    }
    const absorbing = !this.store.absorbed(fromKey);
    if (absorbing) {
      this.store.markAbsorbed(fromKey, this.clock.now());
      this.state = this.keepingLedger(absorbReader(this.withWholeLedger(), from));
      // Companies the absorbed reader joined before it was ever a person in Customer.io: their
      // relations go from this person now (a person who was synced carries them through the merge).
      if (!fromIdentifiedAs && isKnown(this.state)) {
        for (const g of Object.values(from.groups ?? {})) {
          this.queue({ kind: 'object', action: 'identify', objectTypeId: g.objectTypeId, objectId: g.groupId, attributes: g.traits });
        }
      }
      if (fromIdentifiedAs && this.meta.identifiedAs && !sameIdentifiers(fromIdentifiedAs, this.meta.identifiedAs)) {
        // Two people in Customer.io turned out to be one: merge them, ours as primary.
        this.queue({ kind: 'merge', primary: this.meta.identifiedAs, secondary: fromIdentifiedAs });
      }
      this.recomputeTags(this.clock.now());
    }
    const result = await this.ingest(ctx, events);
    // ingest commits only when an event was new; the absorbed history must be stored regardless.
    if (absorbing && result.accepted === 0) await this.commit();
    return result;
  }

  /**
   * A click grant for this reader is being redeemed by `browser` (an anonymous id): admitted when
   * the browser redeemed this grant before or the grant has linked fewer than `maxBrowsers`
   * browsers. Counted here, on the reader the grant names, so the bound costs one small table and
   * no extra object. Rows go once their grant has expired (it cannot be redeemed any more).
   * `unknown`: this edge holds nothing for the reader (never synced, or erased): nothing to link to.
   */
  async admitGrant(grantId: string, browser: string, maxBrowsers: number, expiresAt: number): Promise<{ admitted: boolean; already: boolean; browsers: number; unknown?: true }> {
    if (!this.context) return { admitted: false, already: false, browsers: 0, unknown: true };
    const now = this.clock.now();
    const { already, browsers } = this.store.grantBrowsers(grantId, browser, now);
    if (already) return { admitted: true, already, browsers };
    if (browsers >= maxBrowsers) return { admitted: false, already, browsers };
    this.store.addGrantBrowser(grantId, browser, expiresAt);
    return { admitted: true, already, browsers: browsers + 1 };
  }

  /**
   * The publisher's backend names this reader (Segment-style identify). A `messageId` already seen
   * here counts once (a re-sent import batch), through the same seen-id table as events.
   */
  async identify(ctx: ReaderContext, who: { userId?: string; email?: string; traits: Record<string, TraitValue> }, messageId?: string): Promise<IngestResult> {
    this.remember(ctx);
    if (this.state.mergedInto) {
      return this.target(this.state.mergedInto as ReaderKey).identify({ ...ctx, key: this.state.mergedInto as ReaderKey }, who, messageId);
    }
    const now = this.clock.now();
    if (!this.firstTime('identify', messageId, now)) return { accepted: 0, duplicates: 1 };
    if (who.userId) this.state.userId = who.userId;
    if (who.email) this.state.email = normalizeEmail(who.email);
    // The publisher's backend naming a reader is the publisher's confirmation (README "Double opt-in").
    if (ctx.doubleOptIn) this.confirmNow(now);
    this.state.traits = { ...this.state.traits, ...who.traits };
    this.state.lastSeen = Math.max(this.state.lastSeen ?? now, now);
    this.state.firstSeen ??= now;
    this.recomputeTags(now);
    await this.commit();
    return { accepted: 1, duplicates: 0 };
  }

  /**
   * The backend says this reader belongs to a company (`remove`: no longer). The company's traits
   * are kept on the reader (tag rules read them as `group.<trait>`) and, once the reader is a person
   * in Customer.io, the object and the relation go there through the sync.
   */
  async group(ctx: ReaderContext, change: { objectTypeId: string; groupId: string; traits: Record<string, TraitValue>; remove: boolean }, messageId?: string): Promise<IngestResult> {
    this.remember(ctx);
    if (this.state.mergedInto) {
      return this.target(this.state.mergedInto as ReaderKey).group({ ...ctx, key: this.state.mergedInto as ReaderKey }, change, messageId);
    }
    const now = this.clock.now();
    if (!this.firstTime('group', messageId, now)) return { accepted: 0, duplicates: 1 };
    const key = groupKey(change.objectTypeId, change.groupId);
    const groups = { ...this.state.groups };
    if (change.remove) delete groups[key];
    else groups[key] = { objectTypeId: change.objectTypeId, groupId: change.groupId, traits: { ...groups[key]?.traits, ...change.traits }, at: now };
    this.state.groups = groups;
    if (isKnown(this.state)) {
      this.queue({
        kind: 'object', action: change.remove ? 'delete_relationships' : 'identify',
        objectTypeId: change.objectTypeId, objectId: change.groupId, attributes: groups[key]?.traits ?? {},
      });
    }
    this.recomputeTags(now);
    await this.commit();
    return { accepted: 1, duplicates: 0 };
  }

  // ---- double opt-in ---------------------------------------------------------------------------

  /**
   * The reader opened a valid confirm link. Once: a reader confirmed already (or never pending: it
   * signed up before double opt-in, or the backend named it) answers `already`; a forgotten or
   * never-seen one `unknown`.
   */
  async confirm(): Promise<ConfirmOutcome> {
    if (!this.context) return 'unknown';
    if (this.state.mergedInto) return this.target(this.state.mergedInto as ReaderKey).confirm();
    if (!this.state.pendingSince) return this.state.confirmedAt || this.state.signedUpAt ? 'already' : 'unknown';
    this.confirmNow(this.clock.now());
    await this.commit();
    return 'confirmed';
  }

  private confirmNow(now: number): void {
    this.state.confirmedAt ??= now;
    this.state.pendingSince = null;
    this.state.confirmOrigin = null;
  }

  /** When a pending sign-up is forgotten (null: it is not pending). */
  private forgetAt(): number | null {
    const days = this.context?.doubleOptIn?.forgetAfterDays;
    return this.state.pendingSince && !this.state.mergedInto && days ? this.state.pendingSince + days * DAY_MS : null;
  }

  /** The forget alarm, unless an earlier alarm (a sync retry) is set: that alarm sets it again. */
  private async armForget(): Promise<void> {
    const at = this.forgetAt();
    if (at === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * A sign-up never confirmed in time: forgotten here, gone from the panel, and deleted in
   * Customer.io (it was synced as unconfirmed) through the outbox, as the server API's delete does.
   */
  private async forgetPending(): Promise<void> {
    const ctx = this.context!;
    const identifiers = this.meta.identifiedAs;
    const browsers = this.state.anonymousIds.slice(0, MAX_UNLINKED_BROWSERS);
    // Everything elsewhere first, each step safe to repeat, and our own data last: an alarm that
    // fails half way is retried by the runtime and finds the reader still here to finish with.
    // The browsers that signed up point here: their next read would make the address a reader
    // again. They become anonymous readers instead.
    await Promise.all(browsers.map((id) => readerStub(this.env, ctx.workspace, anonymousKey(id)).unlink(ctx.key)));
    await directoryStub(this.env, ctx.workspace).removeReaders([ctx.key]);
    if (identifiers) await shardStub(this.env, ctx.workspace, shardOf(ctx.key, ctx.shards)).enqueueOps(ctx.workspace, [{ type: 'person', action: 'delete', identifiers }]);
    await this.erase();
  }

  /** The reader this browser was merged into was forgotten: the browser is an anonymous reader again. */
  async unlink(from: string): Promise<void> {
    if (this.state.mergedInto !== from) return;
    const fresh = emptyReader(this.state.key);
    fresh.anonymousIds = this.state.anonymousIds;
    this.state = fresh;
    this.dropLedgerRows();
    this.version++;
    this.persist();
  }

  async view(now = this.clock.now()): Promise<ReaderView | null> {
    if (!this.context) return null;
    const facts = readerFacts(this.state, now);
    return {
      ...this.withWholeLedger(),
      known: isKnown(this.state),
      score: engagementScore(this.state.activity, now),
      tags: evaluateTags(this.context.tagRules, facts),
    };
  }

  /** Whether this edge holds anything for the reader (a webhook's person: which of its identifiers is ours), without reading it. */
  async exists(): Promise<boolean> {
    return this.context !== null;
  }

  /**
   * What the reader's email ledger holds about one campaign (a send's attribution reads its own
   * broadcast's deliveries), not the whole ledger; null when the reader has none (or this edge holds
   * nothing for it).
   */
  async campaignLedger(campaign: string): Promise<EmailLedger | null> {
    const ledger = this.state.emailLedger;
    if (!this.context || !ledger) return null;
    return this.meta.ledgerInRows ? this.store.campaignLedger(ledger, campaign) : campaignPart(ledger, campaign);
  }

  /** Our data is forgotten; returns how Customer.io knows the person so the caller can delete there too. */
  async erase(): Promise<PersonIdentifiers | null> {
    const identifiers = this.meta.identifiedAs ?? personIdentifiers(this.state);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.store.forgetRow();
    this.state = emptyReader('');
    this.meta = emptyMeta();
    this.context = null;
    return identifiers;
  }

  // ---- sync (called by the outbox shard) ---------------------------------------------------

  /** `mode`: how the workspace's Customer.io knows people (the shard reads it fresh; shared/identity.ts). */
  async syncSnapshot(maxOps = 50, mode: IdentifierMode = 'email_or_id'): Promise<SyncSnapshot | null> {
    const ctx = this.context;
    const identifiers = personIdentifiers(this.state, mode);
    if (!ctx || !identifiers || this.state.mergedInto) return null;
    const now = this.clock.now();
    const ops = this.store.queued(maxOps);
    const { attributes, omitted } = readerAttributes(this.state, this.meta.tags, this.meta.everTags, ctx.attributePrefix, now);
    // Nothing here for an ack to clear or learn: the change is handed over now, which spares the
    // reader a call per sync cycle. Written at once: a restart must not leave it thinking it is queued.
    const handedOver = ops.length === 0 && sameIdentifiers(identifiers, this.meta.identifiedAs);
    if (handedOver) {
      this.meta.queuedShard = null;
      this.meta.queuedQuiet = false;
      this.persistMeta();
    }
    return {
      key: ctx.key,
      version: this.version,
      identifiers,
      attributes,
      omitted,
      ops,
      summary: readerSummary(this.state, this.meta.tags, now),
      ...(handedOver ? { handedOver: true as const } : {}),
    };
  }

  /**
   * The shard's sync landed up to `version`/`lastSeq`. Returns what is left to send: a reader that
   * kept opening while it synced has only quiet news, which waits the quiet interval again.
   */
  async syncAck(version: number, lastSeq: number, identifiers: PersonIdentifiers): Promise<AckNews> {
    // Nothing was queued (an open, a read: counters only): no write, as seqs start at 1.
    if (lastSeq > 0) this.store.clearQueued(lastSeq);
    this.meta.identifiedAs = identifiers;
    const queued = this.outboxSize() > 0;
    // Unknown (stored before it was kept) counts as news that matters.
    const news: AckNews = queued || (this.meta.loudVersion ?? this.version) > version ? 'more' : version !== this.version ? 'quiet' : 'none';
    if (news === 'none') this.meta.queuedShard = null;
    this.meta.queuedQuiet = news === 'quiet';
    this.persistMeta();
    return news;
  }

  override async alarm(): Promise<void> {
    const forgetAt = this.forgetAt();
    if (forgetAt !== null && this.clock.now() >= forgetAt) return this.forgetPending();
    await this.enqueueForSync();
    await this.armForget();
  }

  // ---- internals ---------------------------------------------------------------------------

  private remember(ctx: ReaderContext): void {
    // The same settings keep the object held: the store writes the context only when it is another.
    if (!this.context || !sameContext(this.context, ctx)) this.context = sharingRules(ctx);
    if (!this.state.key) {
      this.state.key = ctx.key;
      if (ctx.key.startsWith('a:')) this.state.anonymousIds = [ctx.key.slice(2)];
      if (ctx.key.startsWith('e:')) this.state.email = ctx.key.slice(2);
      if (ctx.key.startsWith('u:')) this.state.userId = ctx.key.slice(2);
    }
  }

  /** The call's context with its tag rules: given, or the ones held here when they are that version. */
  private withRules(call: ReaderCall): ReaderContext | null {
    if (call.tagRules) return call as ReaderContext;
    const held = this.context;
    return held && held.rulesVersion === call.rulesVersion ? { ...call, tagRules: held.tagRules } : null;
  }

  private target(key: ReaderKey) {
    return readerStub(this.env, this.context!.workspace, key);
  }

  /**
   * A backend call's `messageId` not seen here before (a re-sent import batch counts once), marked
   * now, before any await. Prefixed by the call's kind so it never shadows an event id.
   */
  private firstTime(kind: 'identify' | 'group', messageId: string | undefined, now: number): boolean {
    if (!messageId) return true;
    const id = `${kind}:${messageId}`;
    return this.store.seen.markOne(id, now);
  }

  private apply(event: AnyReaderEvent): void {
    // A first sign-up of a reader Customer.io has never held waits for its confirmation; a reader
    // who was a person there already (synced before) or was confirmed is not asked again. Signing
    // up again while waiting (the link expired, the email got lost) starts the wait afresh, and so
    // sends a new email, at most once an hour (a form cannot be used to flood an inbox).
    const optIn = this.context!.doubleOptIn;
    const now = this.clock.now();
    const first = this.state.signedUpAt === null && !this.state.confirmedAt && !this.meta.identifiedAs;
    const again = Boolean(this.state.pendingSince) && now - this.state.pendingSince! >= RESEND_CONFIRMATION_MS;
    const pending = event.type === 'signup' && optIn && (first || again);
    // An open or a click is counted in the email ledger; kept in rows, the entries of its delivery
    // are read for it alone.
    const credited = event.type === 'open' || event.type === 'click';
    const inRows = credited && this.meta.ledgerInRows === true && this.state.emailLedger !== undefined;
    const before = inRows ? { ...this.state, emailLedger: this.store.ledgerFor(this.state.emailLedger!, event.delivery ?? null, event.campaign ?? null) } : this.state;
    // A read is a page view in Customer.io only for a known reader, and only when the workspace forwards them.
    const { state, moments } = applyEvent(before, event, { pageViews: isKnown(this.state) && this.context!.forwardPageViews });
    if (inRows) state.emailLedger = this.store.keepLedger(state.emailLedger!);
    this.state = credited && !inRows ? this.keepingLedger(state) : state;
    if (pending) {
      this.state.pendingSince = now;
      this.state.confirmOrigin = optIn.origin;
    }
    const known = isKnown(state);
    for (const moment of moments) {
      if (!known) continue; // anonymous readers are not people in Customer.io
      this.queueMoment(moment);
    }
  }

  private recomputeTags(now: number): void {
    const tags = evaluateTags(this.context!.tagRules, readerFacts(this.state, Math.max(now, this.clock.now())));
    if (isKnown(this.state)) {
      for (const tag of tags.filter((t) => !this.meta.tags.includes(t))) this.queueMoment({ kind: 'event', name: 'tag_added', ts: now, data: { tag } });
      for (const tag of this.meta.tags.filter((t) => !tags.includes(t))) this.queueMoment({ kind: 'event', name: 'tag_removed', ts: now, data: { tag } });
    }
    this.meta.tags = tags;
    this.meta.everTags = [...new Set([...this.meta.everTags, ...tags])].sort();
  }

  private queueMoment(moment: Moment): void {
    const prefixed = moment.kind === 'page' || moment.name.startsWith(this.context!.attributePrefix) || !['signed_up', 'preferences_changed', 'tag_added', 'tag_removed'].includes(moment.name)
      ? moment.name
      : `${this.context!.attributePrefix}${moment.name}`;
    this.queue({ kind: moment.kind, id: ulid(moment.ts), name: prefixed, ts: moment.ts, data: moment.data });
  }

  private queue(op: QueuedOp): void {
    this.store.queue(op);
    this.opsQueued++;
  }

  /** The state with its email ledger whole (kept in rows, the state holds its flags only). */
  private withWholeLedger(): ReaderState {
    return this.meta.ledgerInRows && this.state.emailLedger ? { ...this.state, emailLedger: this.store.wholeLedger(this.state.emailLedger) } : this.state;
  }

  /**
   * `state` with a whole ledger, as this object keeps it: in the state while it is small, as most
   * readers' is; in rows once it outgrows `LEDGER_IN_STATE` deliveries.
   */
  private keepingLedger(state: ReaderState): ReaderState {
    const ledger = state.emailLedger;
    if (ledger && ledger.deliveries.length > LEDGER_IN_STATE) {
      this.meta.ledgerInRows = true;
      return { ...state, emailLedger: this.store.replaceLedger(ledger) };
    }
    this.dropLedgerRows();
    return state;
  }

  /** The ledger's rows go (the reader's history moved, or it is another reader now). */
  private dropLedgerRows(): void {
    if (!this.meta.ledgerInRows) return;
    this.store.clearLedger();
    delete this.meta.ledgerInRows;
  }

  private outboxSize(): number {
    return this.store.queuedCount();
  }

  private persist(): void {
    this.store.save(this.state, this.meta, this.context, this.version);
  }

  /**
   * Only the bookkeeping changed (which shard holds the reader, how Customer.io knows it): the
   * state, the bulk of the row, is left as the last commit wrote it. A reader erased meanwhile has
   * no row, and gets none back.
   */
  private persistMeta(): void {
    this.store.saveMeta(this.meta);
  }

  /**
   * Stores a change and makes sure the workspace outbox will pick this reader up. `quiet`: the
   * change moved engagement counters only (see `quietEvent`).
   */
  private async commit(quiet = false): Promise<void> {
    this.version++;
    if (!quiet) this.meta.loudVersion = this.version;
    this.persist();
    // Forgetting old event ids is housekeeping: now and then is enough.
    if (this.version % 64 === 0) this.store.seen.forgetBefore(this.clock.now() - SEEN_EVENTS_KEPT_MS);
    await this.enqueueForSync(quiet);
  }

  private async enqueueForSync(quiet = false): Promise<void> {
    const ctx = this.context;
    if (!ctx || this.state.mergedInto || !isKnown(this.state)) return;
    // Queued already: the shard will see the new version when it acks and keep the reader. A
    // change that matters still tells a shard holding the reader for a quiet one (it moves it up).
    if (this.meta.queuedShard !== null && (quiet || !this.meta.queuedQuiet)) return;
    const shard = shardOf(ctx.key, ctx.shards);
    try {
      const stub = shardStub(this.env, ctx.workspace, shard);
      await stub.enqueue(ctx.workspace, ctx.key, quiet);
      // Not written on its own (that would be a second storage transaction per sync cycle): the
      // next commit or ack writes the meta with it. Lost in a restart before then, it costs one
      // more enqueue, which the shard takes as the same dirty reader.
      this.meta.queuedShard = shard;
      this.meta.queuedQuiet = quiet;
    } catch (error) {
      // The change is stored; the outbox only needs telling. Try again shortly rather than fail the event.
      console.warn(`reader ${ctx.key}: could not queue for sync, retrying: ${(error as Error).message}`);
      await this.ctx.storage.setAlarm(this.clock.now() + RETRY_ENQUEUE_MS);
    }
  }
}
