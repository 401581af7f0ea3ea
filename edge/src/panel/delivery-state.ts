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
