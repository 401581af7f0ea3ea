/**
 * A workspace's whole Customer.io budget, in one place. Every part of the edge that calls
 * Customer.io takes a fixed share of one of the workspace's limits, and the shares of each limit
 * add up to at most 90 %: clocks drift and Customer.io counts on its side, so the last 10 % is
 * head-room. Pure.
 *
 *   Track API (`limits.trackPerSecond`, 100/s by default)
 *     sync             85 %  the outbox shards' identify/event/merge batches, split evenly between shards
 *     segmentMirror     5 %  the directory's manual-segment membership calls
 *   App API (`limits.appPerSecond`, 10/s by default)
 *     backfill         45 %  paging people for the signature backfill (`npm run backfill`)
 *     directory        20 %  listing and counting Customer.io's segments, creating/deleting ours
 *     sends            25 %  broadcast triggers and transactional (welcome) emails
 *   Broadcast triggers: one per broadcast per `limits.broadcastIntervalMs` (Customer.io's own rule).
 */
import type { Limits } from '#shared/workspace.ts';

export const BUDGET = {
  track: { sync: 0.85, segmentMirror: 0.05 },
  app: { backfill: 0.45, directory: 0.2, sends: 0.25 },
} as const;

/** The most of any one limit the shares may take together. */
export const MAX_TOTAL_SHARE = 0.9;

export type Api = keyof typeof BUDGET;
export type Share<A extends Api> = keyof (typeof BUDGET)[A];

const LIMIT_OF: Record<Api, (limits: Pick<Limits, 'trackPerSecond' | 'appPerSecond'>) => number> = {
  track: (l) => l.trackPerSecond,
  app: (l) => l.appPerSecond,
};

/**
 * The spacing between calls of one caller so that its share holds in any one-second window.
 * `callers` is how many objects split the share evenly (the outbox shards): each one waits
 * `callers` times as long.
 */
export function callIntervalMs<A extends Api>(limits: Pick<Limits, 'trackPerSecond' | 'appPerSecond'>, api: A, share: Share<A>, callers = 1): number {
  const perSecond = LIMIT_OF[api](limits) * (BUDGET[api][share] as number);
  return Math.ceil((1000 * callers) / perSecond);
}

/** How long a broadcast waits between two triggers. */
export const broadcastTriggerIntervalMs = (limits: Pick<Limits, 'broadcastIntervalMs'>) => limits.broadcastIntervalMs;
