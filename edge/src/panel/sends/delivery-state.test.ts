import { describe, expect, it } from 'vitest';
import { afterAttempt, findUnclearTrigger, isUnclear } from './delivery-state.ts';

describe('a delivery attempt', () => {
  const now = 1_700_000_000_000;
  it('is sent on ok', () => {
    expect(afterAttempt(0, { kind: 'ok' }, 8, now)).toEqual({ status: 'sent', attempts: 1 });
  });
  it('retries a 429 no sooner than Retry-After, keeping Customer.io\'s words', () => {
    const step = afterAttempt(2, { kind: 'retry', status: 429, retryAfterMs: 30_000, message: 'Too many requests' }, 8, now, 0);
    expect(step).toEqual({ status: 'retrying', attempts: 3, nextAt: now + 30_000, waitMs: 30_000, error: '429: Too many requests' });
  });
  it('fails for good on a 4xx, and on a retryable failure past the last attempt', () => {
    expect(afterAttempt(0, { kind: 'reject', status: 422, message: 'data is invalid' }, 8, now)).toEqual({ status: 'failed', attempts: 1, error: '422: data is invalid' });
    expect(afterAttempt(7, { kind: 'retry', status: null, retryAfterMs: null, message: 'connection reset' }, 8, now)).toEqual({ status: 'failed', attempts: 8, error: 'no answer: connection reset' });
  });
});

describe('an unclear trigger', () => {
  const at = 1_700_000_000_000;
  it('is found among the broadcast\'s triggers when one appeared around the attempt and is not already ours', () => {
    const triggers = [{ id: 1, createdAt: at - 60_000 }, { id: 7, createdAt: at + 1_000 }];
    expect(findUnclearTrigger(triggers, at, new Set())).toBe(7);
    expect(findUnclearTrigger(triggers, at, new Set([7]))).toBeNull();
    expect(findUnclearTrigger([{ id: 9, createdAt: at + 25_000 }], at, new Set())).toBeNull();
    expect(findUnclearTrigger([], at, new Set())).toBeNull();
  });
  it('means no answer, a timeout or a 5xx; a 429 or a 4xx is a clear refusal', () => {
    expect(isUnclear({ kind: 'retry', status: null })).toBe(true);
    expect(isUnclear({ kind: 'retry', status: 502 })).toBe(true);
    expect(isUnclear({ kind: 'retry', status: 429 })).toBe(false);
    expect(isUnclear({ kind: 'reject', status: 422 })).toBe(false);
  });
});
