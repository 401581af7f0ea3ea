/**
 * The panel API's answers: one home for each shape, imported by the Worker's objects and routes
 * (which produce them) and by the panel app (which reads them). Types only: nothing here runs.
 * What the API takes (its zod schemas) lives in `panel.ts` beside the rules.
 */
import type { ReaderSummary, SegmentRule, Variation, ArmResult } from './panel.ts';
import type { Limits, TagRuleSummary } from './workspace.ts';

// ---- audience -------------------------------------------------------------------------------------

export interface SegmentView {
  id: string;
  name: string;
  description: string;
  rule: SegmentRule | null;
  ruleText: string;
  count: number;
  manualAdds: number;
  manualRemoves: number;
  cioSegmentId: number | null;
  /** Members Customer.io holds (as far as the last successful calls say) and what is still to send. */
  mirrored: number;
  pending: number;
  syncError: string | null;
  syncedAt: number | null;
  createdAt: number;
  /**
   * A rule change is being evaluated over every reader (in chunks, by alarm): readers looked at so
   * far of about how many. `count` is exact again once this is null.
   */
  evaluating: { done: number; total: number } | null;
}

/** A segment of Customer.io's own (ours are marked), with its count for the first few. */
export interface CioSegment { id: number; name: string; type: string; count: number | null; ours: boolean }
export interface CioSegmentList { segments: CioSegment[]; refreshedAt: number | null; error: string | null }

export interface DayPoint { day: number; readers: number }
export interface TagHistory { days: number[]; tags: Record<string, number[]> }

/** What the directory counts. */
export interface DirectoryOverview {
  readers: number;
  tagCounts: Record<string, number>;
  activeByDay: DayPoint[];
  averageScore: number;
  /** Readers per score tenth: [0, 0.1), [0.1, 0.2), … [0.9, 1]. */
  scoreDistribution: number[];
  segments: number;
  /** Double opt-in: sign-ups waiting for their confirmation. */
  pendingSignups: number;
}

/** GET /pending-signups: sign-ups waiting for their confirmation, oldest first; pass `next` as `after`. */
export interface PendingSignup { key: string; email: string | null; pendingSince: number; lastSeen: number | null }
export interface PendingSignupPage { signups: PendingSignup[]; next: string | null; total: number }

/** GET /overview: the directory's figures plus the workspace's settings the panel shows. */
export interface Overview extends DirectoryOverview {
  workspace: string;
  customerioConfigured: boolean;
  tagRules: TagRuleSummary[];
  limits: Limits;
  tagHistory: TagHistory;
}

/** GET /segments/:id: the segment and its first members by score. */
export interface SegmentDetail { segment: SegmentView; members: ReaderSummary[] }
/**
 * An unsaved rule's reach. `estimate` false: `count` is exact (a small directory scanned, or the
 * readers an index lookup narrowed the rule to counted one by one). `estimate` true: the rule would
 * need a scan of a large directory (a negation, `ne`, a broad condition) or cannot be put in SQL, so
 * `count` is scaled from `sampled` readers drawn at random, and the true count lies within
 * `count ± margin` at 95 % confidence. `sample`: a few of the best-scored matches found.
 */
export interface SegmentPreview { count: number; total: number; sample: ReaderSummary[]; estimate: boolean; sampled: number | null; margin: number }
/** `changed` lists at most 1,000 keys for a change by tags; `changedCount` is how many it touched. */
export interface MembersChangeResult { changed: string[]; unknown: string[]; changedCount: number }
/** One page of a segment's members in key order; pass `next` as the next page's `afterKey` (null: the last page). */
export interface MemberPage { members: ReaderSummary[]; next: string | null; evaluating: SegmentView['evaluating'] }

/** GET /readers/:key: the directory's summary, the segments it is in, and its live state. */
export interface ReaderDetail { reader: ReaderSummary; segments: Array<{ id: string; name: string }>; live: unknown }

// ---- sending --------------------------------------------------------------------------------------

export type SendStatus = 'queued' | 'retrying' | 'sent' | 'failed';
export type SendMode = 'broadcast' | 'journey';

export interface Broadcast { id: number; name: string; active: boolean }
export interface BroadcastList { broadcasts: Broadcast[]; error: string | null }

export interface SendView {
  /** The idempotency key: `b<broadcast>:<draft>:<variation>` (see `sendKey`), or `ab:<test>:arm<n>|rest`. */
  key: string;
  /** The panel's draft this send came from (null for an A/B test's sends). */
  draftId: string | null;
  broadcastId: number;
  mode: SendMode;
  variation: Variation;
  segmentName: string;
  recipients: number;
  status: SendStatus;
  attempts: number;
  triggerId: number | null;
  error: string | null;
  nextAttemptAt: number | null;
  abTest: string | null;
  createdAt: number;
  sentAt: number | null;
  /** How it reaches its readers: the segment's Customer.io mirror as one trigger's filter, or recipient chunks (≤ 10,000 each). */
  audience: 'segment' | 'chunks';
  /** Its audience is still being read from the directory (`recipients` is the count at queueing until then). */
  building: boolean;
  /** Triggers (chunks) it takes, and how many went so far. */
  chunks: number;
  chunksSent: number;
  /** Recipients in the chunks sent so far. */
  recipientsSent: number;
}

/**
 * GET /workspaces/:w/sends/results?key=: one send's (variation's) results. `ours`: unique recipients
 * who opened / clicked this send's email (its broadcast, since it went out), human and machine apart,
 * from our pixel, links and webhooks (counted in the background when asked; null for a journey
 * send). `customerio`: the broadcast's own metrics, for the whole broadcast (every send of it),
 * beside ours.
 */
export interface SendResults {
  key: string;
  ours: { recipients: number; opened: number; clicked: number; openedMachine: number; clickedMachine: number; countedAt: number | null } | null;
  customerio: { broadcastId: number; sent: number; delivered: number; opened: number; clicked: number; bounced: number; unsubscribed: number } | null;
  customerioError: string | null;
}

/** POST /workspaces/:w/sends/test: the one trigger made for the editor's address. */
export interface TestSendResult { email: string; triggerId: number | null; variation: string }

/** POST /workspaces/:w/sends/preview: the distinct readers per variation (the first variation wins) and in total, before sending. */
export interface SendPreview {
  variations: Array<{ id: string; segmentId: string; segmentName: string; readers: number }>;
  total: number;
  /** `segment`: one trigger per variation with the mirror as audience; `chunks`: recipient chunks; `journey`: events. */
  via: 'segment' | 'chunks' | 'journey';
  triggers: number;
}

export interface AbTestView {
  id: string;
  name: string;
  segmentId: string;
  broadcastId: number;
  mode: SendMode;
  testShare: number;
  arms: Array<Omit<Variation, 'segmentId'>>;
  status: 'testing' | 'decided';
  winner: number | null;
  rule: string;
  results: ArmResult[];
  /** Per arm: the confidence (0-1, a two-proportion z-test of its human-open rate against the best other arm's); null with no data. */
  confidence: Array<number | null>;
  /** Said before deciding on too little data (small arms, few opens); null when the sample is enough. */
  warning: string | null;
  /** When the results were last counted over every recipient (they are recounted about every minute while testing). */
  countedAt: number | null;
  /** Decides by itself at this time (the editor's choice), if still testing. */
  autoDecideAt: number | null;
  rest: number | null;
  sends: SendView[];
  createdAt: number;
  decidedAt: number | null;
}

/** `kind`: the welcome, or a double opt-in confirmation email (the same transactional path). */
export interface WelcomeView {
  kind: 'welcome' | 'confirm';
  email: string; status: SendStatus; attempts: number; deliveryId: string | null; error: string | null; createdAt: number; sentAt: number | null;
}
export interface WelcomeList { welcomeMessageId: number | string | null; welcomes: WelcomeView[] }

// ---- connection ------------------------------------------------------------------------------------

/** One line of the connection check: passes, or fails with the fix in words. */
export interface CheckLine { id: string; ok: boolean; label: string; detail: string; fix: string | null }
export interface ConnectionReport { ok: boolean; checkedAt: number; checks: CheckLine[] }
