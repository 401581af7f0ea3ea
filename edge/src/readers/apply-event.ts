/**
 * How one event changes a reader: pure, so the counting rules are tested without a runtime.
 * The reader object stores the result and queues the returned moments for Customer.io.
 */
import type { ReaderEvent } from '#shared/protocol.ts';
import { normalizeEmail } from '#shared/email-address.ts';
import { type ReaderState, DAY_MS } from '#shared/reader.ts';
import { POINTS, addPoints, combine, readPoints } from '#shared/engagement.ts';
import { type EmailMetric, credit, emptyLedger, ledgerToChange, mergeLedgers } from '#shared/email/ledger.ts';
import type { EmailStatusMetric } from '#shared/email/webhook.ts';

/** A Customer.io event worth sending ("meaningful moments"); page reads only when asked for. */
export interface Moment {
  name: string;
  data: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  ts: number;
  /** `page` events go to Customer.io as page views, the rest as events. */
  kind: 'event' | 'page';
}

/**
 * Events the edge itself makes (the server API, the pixel and click endpoints). `fresh`: the id was
 * minted for this very hit and no one retries it, so it is not looked up among the ids seen (nor
 * stored there: a reader's opens would fill that table for nothing).
 */
export type EdgeEvent =
  | { type: 'open'; id: string; ts: number; human: boolean; campaign?: string; delivery?: string; kind?: string; via?: 'edge' | 'webhook'; fresh?: true }
  | { type: 'click'; id: string; ts: number; human: boolean; category?: string; url?: string; campaign?: string; delivery?: string; kind?: string; via?: 'edge' | 'webhook'; fresh?: true }
  /** Customer.io's delivery events (reporting webhooks): sends, bounces, unsubscribes, spam reports. */
  | { type: 'email'; id: string; ts: number; metric: EmailStatusMetric; campaign?: string; delivery?: string };

export type AnyReaderEvent = ReaderEvent | EdgeEvent;

export const CONTINUED_READ_MS = 30 * 60_000;

const bump = (counters: Record<string, number>, name: string, by = 1) => {
  counters[name] = (counters[name] ?? 0) + by;
};

function touch(r: ReaderState, ts: number): void {
  r.firstSeen = r.firstSeen === null ? ts : Math.min(r.firstSeen, ts);
  r.lastSeen = r.lastSeen === null ? ts : Math.max(r.lastSeen, ts);
}

function markActiveDay(r: ReaderState, ts: number): void {
  const day = Math.floor(ts / DAY_MS);
  if (!r.activeDays.includes(day)) r.activeDays = [...r.activeDays, day].sort((a, b) => a - b).slice(-60);
}

/** Customer.io takes event (and page view) names of at most 100 bytes. */
export const MAX_EVENT_NAME_BYTES = 100;

/**
 * A page view's name: the URL's path (a query string or a fragment would split one article into many
 * names), cut at a character boundary to fit Customer.io's 100 bytes; the full URL goes beside it
 * as the `url` attribute.
 */
export function pageViewName(url: string): string {
  let path: string;
  try {
    const raw = new URL(url).pathname || '/';
    // Readable in Customer.io's activity log: `/café`, not `/caf%C3%A9`.
    try { path = decodeURIComponent(raw); } catch { path = raw; }
  } catch {
    path = url;
  }
  const encoder = new TextEncoder();
  if (encoder.encode(path).byteLength <= MAX_EVENT_NAME_BYTES) return path;
  let cut = '';
  for (const ch of path) {
    if (encoder.encode(cut + ch).byteLength > MAX_EVENT_NAME_BYTES) break;
    cut += ch;
  }
  return cut;
}

/**
 * `pageViews: false`: page reads make no moment, as the caller would drop it (an anonymous reader,
 * or a workspace that does not forward page views, the default): its name is not worked out.
 */
export function applyEvent(prev: ReaderState, event: AnyReaderEvent, { pageViews = true } = {}): { state: ReaderState; moments: Moment[] } {
  // A copy of what events change, not of the whole reader: a reader's email ledger alone holds up
  // to 200 deliveries (tens of KB), which a deep copy per event would walk. Every nested value an
  // event changes is replaced here or below, never changed in place (a node test freezes `prev`).
  const r: ReaderState = { ...prev, counters: { ...prev.counters } };
  const moments: Moment[] = [];
  if (event.type !== 'email') touch(r, event.ts); // being sent an email is not being seen
  switch (event.type) {
    case 'page': {
      // The widget sends a read each time the page is hidden; the same page again within
      // 30 minutes is the reader coming back to the tab: more engaged time, not another read.
      const continued = r.lastRead?.url === event.url && event.ts - r.lastRead.at >= 0 && event.ts - r.lastRead.at < CONTINUED_READ_MS;
      r.lastRead = { url: event.url, at: event.ts };
      bump(r.counters, 'engaged_ms', event.engagedMs);
      if (!continued) bump(r.counters, 'reads');
      if (event.category) {
        r.categoryReadAt = { ...r.categoryReadAt, [event.category]: Math.max(r.categoryReadAt?.[event.category] ?? 0, event.ts) };
        if (!continued) bump(r.counters, `reads.${event.category}`);
        bump(r.counters, `engaged_ms.${event.category}`, event.engagedMs);
      }
      const points = readPoints(event.engagedMs, event.scrollDepth);
      r.activity = addPoints(r.activity, continued ? points - readPoints(0, event.scrollDepth) : points, event.ts);
      markActiveDay(r, event.ts);
      if (pageViews) moments.push({
        kind: 'page', name: pageViewName(event.url), ts: event.ts,
        data: { url: event.url, category: event.category ?? null, engaged_ms: event.engagedMs, scroll_depth: event.scrollDepth, title: event.title ?? null },
      });
      break;
    }
    case 'preferences': {
      bump(r.counters, 'picks');
      r.activity = addPoints(r.activity, POINTS.pick, event.ts);
      const before = r.topics.join(',');
      r.topics = [...new Set(event.topics)].sort();
      if (r.topics.join(',') !== before) {
        moments.push({ kind: 'event', name: 'preferences_changed', ts: event.ts, data: { topics: r.topics } });
      }
      break;
    }
    case 'signup': {
      const firstSignup = r.signedUpAt === null;
      r.email = normalizeEmail(event.email);
      r.consent = event.consent;
      if (event.topics.length) r.topics = [...new Set([...r.topics, ...event.topics])].sort();
      if (firstSignup) {
        r.signedUpAt = event.ts;
        r.activity = addPoints(r.activity, POINTS.signup, event.ts);
        moments.push({ kind: 'event', name: 'signed_up', ts: event.ts, data: { topics: r.topics, consent: event.consent } });
      }
      break;
    }
    case 'track':
      moments.push({ kind: 'event', name: event.name, ts: event.ts, data: event.properties });
      break;
    case 'open':
    case 'click': {
      // Counted once per delivery whether the pixel/link or the webhook saw it (shared/email/ledger.ts).
      const metric: EmailMetric = `${event.type === 'open' ? 'opens' : 'clicks'}${event.human ? '' : '_machine'}`;
      r.emailLedger = r.emailLedger ? ledgerToChange(r.emailLedger) : emptyLedger();
      const { delta, firstHumanOpenOfCampaign } = credit(r.emailLedger, metric, event.via ?? 'edge', event.ts, event.delivery ?? null, event.campaign ?? null);
      if (delta <= 0) break;
      bump(r.counters, metric, delta);
      if (!event.human && event.kind) bump(r.counters, `${metric}.${event.kind}`, delta);
      if (firstHumanOpenOfCampaign) bump(r.counters, 'opens_unique');
      if (event.type === 'click' && event.human && event.category) bump(r.counters, `clicks.${event.category}`, delta);
      if (event.human) r.activity = addPoints(r.activity, event.type === 'open' ? POINTS.open : POINTS.click, event.ts);
      break;
    }
    case 'email': {
      r.emailLedger = r.emailLedger ? ledgerToChange(r.emailLedger) : emptyLedger();
      const counter = { sent: 'emails_sent', delivered: 'emails_delivered', bounced: 'bounces', failed: 'email_failures', unsubscribed: 'unsubscribes', spammed: 'spam_reports' }[event.metric];
      bump(r.counters, counter);
      if (event.metric === 'bounced') r.emailLedger.bouncedAt = event.ts;
      if (event.metric === 'unsubscribed') r.emailLedger.unsubscribedAt = event.ts;
      if (event.metric === 'spammed') r.emailLedger.spamAt = event.ts;
      break;
    }
  }
  return { state: r, moments };
}

/** Moves an absorbed reader's history into this one. Counting once is the caller's job (merged_from). */
export function absorbReader(into: ReaderState, from: ReaderState): ReaderState {
  const r: ReaderState = structuredClone(into);
  for (const [name, value] of Object.entries(from.counters)) bump(r.counters, name, value);
  r.activity = combine(r.activity, from.activity);
  r.activeDays = [...new Set([...r.activeDays, ...from.activeDays])].sort((a, b) => a - b).slice(-60);
  r.topics = [...new Set([...r.topics, ...from.topics])].sort();
  r.anonymousIds = [...new Set([...r.anonymousIds, ...from.anonymousIds])];
  r.traits = { ...from.traits, ...r.traits };
  if (from.groups) r.groups = { ...from.groups, ...r.groups };
  for (const [category, at] of Object.entries(from.categoryReadAt ?? {})) {
    r.categoryReadAt = { ...r.categoryReadAt, [category]: Math.max(r.categoryReadAt?.[category] ?? 0, at) };
  }
  if (from.firstSeen !== null) touch(r, from.firstSeen);
  if (from.lastSeen !== null) touch(r, from.lastSeen);
  if (r.signedUpAt === null) r.signedUpAt = from.signedUpAt;
  r.email ??= from.email;
  r.userId ??= from.userId;
  // A confirmation is kept through a merge; a pending sign-up is not (its forget alarm is the other object's).
  if (!r.confirmedAt && from.confirmedAt) r.confirmedAt = from.confirmedAt;
  const ledger = mergeLedgers(r.emailLedger, from.emailLedger);
  if (ledger) r.emailLedger = ledger;
  return r;
}
