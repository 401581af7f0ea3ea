/**
 * What one delivery attempt (a broadcast trigger, a welcome email) means for its row: sent, tried
 * again later with backoff (429/5xx/no answer, up to `maxAttempts`), or failed for good with
 * Customer.io's own words. One rule for every queued send. Pure: time and jitter are parameters.
 */
import { type Failure, describeFailure } from '#edge/customerio/gateway.ts';
import { backoffMs } from '#edge/sync/pacing.ts';

export type DeliveryStatus = 'queued' | 'retrying' | 'sent' | 'failed';

export type DeliveryStep =
  | { status: 'sent'; attempts: number }
  | { status: 'retrying'; attempts: number; nextAt: number; error: string; waitMs: number }
  | { status: 'failed'; attempts: number; error: string };

export function afterAttempt(previousAttempts: number, outcome: { kind: 'ok' } | Failure, maxAttempts: number, now: number, random = Math.random()): DeliveryStep {
  const attempts = previousAttempts + 1;
  if (outcome.kind === 'ok') return { status: 'sent', attempts };
  if (outcome.kind === 'retry' && attempts < maxAttempts) {
    const waitMs = backoffMs(attempts, outcome.retryAfterMs, random);
    return { status: 'retrying', attempts, nextAt: now + waitMs, waitMs, error: describeFailure(outcome) };
  }
  return { status: 'failed', attempts, error: describeFailure(outcome) };
}

/**
 * Whether a trigger whose answer was unclear (no answer, a timeout, a 5xx) went through after all.
 * Customer.io triggers carry no idempotency key, so before trying again we list the broadcast's
 * triggers: one created from a little before our attempt to the end of its timeout, and not
 * already recorded by another of our sends, is ours. Triggers of one broadcast are at least the
 * broadcast interval apart (10 s), so two of ours never share that window.
 */
export const UNCLEAR_WINDOW_MS = { before: 2_000, after: 20_000 };

export function findUnclearTrigger(triggers: Array<{ id: number; createdAt: number }>, attemptAt: number, knownTriggerIds: ReadonlySet<number>): number | null {
  const match = triggers.find((t) => !knownTriggerIds.has(t.id)
    && t.createdAt >= attemptAt - UNCLEAR_WINDOW_MS.before && t.createdAt <= attemptAt + UNCLEAR_WINDOW_MS.after);
  return match ? match.id : null;
}

/** A failure after which the call may have taken effect (Customer.io may have accepted it). */
export const isUnclear = (outcome: { kind: string; status?: number | null }): boolean =>
  outcome.kind === 'retry' && (outcome.status === null || outcome.status === undefined || outcome.status >= 500 || outcome.status === 408);
