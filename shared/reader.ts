/**
 * A reader as the edge keeps it, and the facts tag rules see. Pure data and functions:
 * the reader object stores `ReaderState`, the panel and server API return `ReaderView`.
 */
import { type Activity, engagementScore } from './engagement.ts';
import type { Facts, FactValue } from './tag-rules.ts';
import type { EmailLedger } from './email/ledger.ts';

export type TraitValue = string | number | boolean | null;

/** Counter names: reads, engaged_ms, picks, opens, opens_machine, clicks, clicks_machine,
 *  and per content category `reads.<cat>`, `engaged_ms.<cat>`, `clicks.<cat>`. */
export type Counters = Record<string, number>;

export interface ReaderState {
  /** `a:<anonymousId>`, `e:<email>` or `u:<userId>`: the reader object's name within its workspace. */
  key: string;
  email: string | null;
  userId: string | null;
  /** Anonymous ids merged into this reader (Customer.io merges their activity through `anonymous_id`). */
  anonymousIds: string[];
  topics: string[];
  traits: Record<string, TraitValue>;
  counters: Counters;
  activity: Activity;
  /** UTC day numbers (ms / 86,400,000) on which the reader read, newest last, the last 60 only. */
  activeDays: number[];
  firstSeen: number | null;
  lastSeen: number | null;
  signedUpAt: number | null;
  consent: boolean | null;
  /** Set once this reader was merged into another: later events follow the pointer. */
  mergedInto: string | null;
  /** The last page read, so a reader coming back to the same tab adds time, not another read. */
  lastRead?: { url: string; at: number } | null;
  /** Companies (Customer.io objects) the reader belongs to, by `<objectTypeId>:<groupId>` (server API group call). */
  groups?: Record<string, ReaderGroup>;
  /** When each content category was last read: the most recent categories go to Customer.io first. */
  categoryReadAt?: Record<string, number>;
  /**
   * Double opt-in (README "Double opt-in"): when a widget sign-up started waiting for its
   * confirmation (null once confirmed), when it was confirmed (or the publisher's backend named the
   * reader), and the edge origin the sign-up came to (the confirm link's host).
   */
  pendingSince?: number | null;
  confirmedAt?: number | null;
  confirmOrigin?: string | null;
  /** Opens, clicks and delivery events per delivery and campaign (shared/email/ledger.ts); absent until the first. */
  emailLedger?: EmailLedger;
}

export interface ReaderGroup { objectTypeId: string; groupId: string; traits: Record<string, TraitValue>; at: number }

export const groupKey = (objectTypeId: string, groupId: string) => `${objectTypeId}:${groupId}`;

export interface ReaderView extends ReaderState {
  known: boolean;
  score: number;
  tags: string[];
}

export const DAY_MS = 86_400_000;

export function emptyReader(key: string): ReaderState {
  return {
    key, email: null, userId: null, anonymousIds: [], topics: [], traits: {}, counters: {},
    activity: { value: 0, at: 0 }, activeDays: [], firstSeen: null, lastSeen: null,
    signedUpAt: null, consent: null, mergedInto: null,
  };
}

export const isKnown = (r: Pick<ReaderState, 'email' | 'userId'>): boolean => Boolean(r.email || r.userId);

/** The facts tag rules and segment rules are written against (README "Tag rules" lists them). */
export function readerFacts(r: ReaderState, now: number): Facts {
  const facts: Record<string, FactValue> = {
    score: engagementScore(r.activity, now),
    known: isKnown(r),
    topics: r.topics,
    active_days_30: r.activeDays.filter((d) => d > Math.floor(now / DAY_MS) - 30).length,
    engaged_minutes: Math.floor((r.counters.engaged_ms ?? 0) / 60_000),
  };
  for (const name of ['reads', 'picks', 'opens', 'opens_machine', 'opens_unique', 'clicks', 'clicks_machine', 'bounces', 'unsubscribes', 'spam_reports']) {
    facts[name] = r.counters[name] ?? 0;
  }
  const reads = r.counters.reads ?? 0;
  for (const [name, value] of Object.entries(r.counters)) {
    if (!name.includes('.')) continue;
    facts[name] = value;
    if (name.startsWith('reads.') && reads > 0) facts[`read_share.${name.slice(6)}`] = value / reads;
  }
  if (r.signedUpAt !== null) facts.days_since_signup = Math.floor((now - r.signedUpAt) / DAY_MS);
  // Double opt-in: present only while a sign-up waits for its confirmation, so a segment rule can
  // leave such readers out (`{"not": {"fact": "pending_confirmation", "op": "exists"}}`).
  if (r.pendingSince) facts.pending_confirmation = true;
  if (r.lastSeen !== null) facts.days_since_last_seen = Math.floor((now - r.lastSeen) / DAY_MS);
  if (r.email) facts.email = r.email;
  for (const [name, value] of Object.entries(r.traits)) {
    if (value !== null) facts[`trait.${name}`] = value;
  }
  // The companies' traits: `group.<trait>` (where two groups share a trait, the latest joined wins)
  // and `groups`, the group ids.
  const groups = Object.values(r.groups ?? {}).sort((a, b) => a.at - b.at);
  if (groups.length) facts.groups = groups.map((g) => g.groupId);
  for (const g of groups) {
    for (const [name, value] of Object.entries(g.traits)) if (value !== null) facts[`group.${name}`] = value;
  }
  return facts;
}

/** The content category the reader reads most (by reads, then engaged time), if any. */
export function preferredContent(r: ReaderState): string | null {
  let best: string | null = null;
  let bestScore = 0;
  for (const [name, reads] of Object.entries(r.counters)) {
    if (!name.startsWith('reads.')) continue;
    const category = name.slice(6);
    const score = reads * 1e9 + (r.counters[`engaged_ms.${category}`] ?? 0);
    if (score > bestScore) [best, bestScore] = [category, score];
  }
  return best ?? r.topics[0] ?? null;
}
